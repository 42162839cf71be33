"""Choose a container of an account, or create a new one with its name checked as you type.

Listing and creating run off the GUI thread (:mod:`.background`) through the
application layer (:mod:`blobsync.core.app.accounts`); the rules for names come from
:func:`blobsync.core.names.container_name_problem`, so the dialog refuses exactly what
Azure would refuse (Azurite accepts more than Azure does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from blobsync.core.app.accounts import create_container, list_containers
from blobsync.core.credentials import Credentials
from blobsync.core.names import container_name_problem

from ..qt_helpers import dialog_buttons, named
from .account_dialog import describe_error
from .background import run_in_background

Lister = Callable[[Credentials], list[str]]
Creator = Callable[[Credentials, str], bool]


class NewContainerDialog(QDialog):
    """Ask for a new container name; OK only while the name is valid; creates it."""

    def __init__(
        self,
        creds: Credentials,
        existing: list[str],
        parent: QWidget | None = None,
        creator: Creator = create_container,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New container")
        self._creds = creds
        self._existing = set(existing)
        self._creator = creator
        self._creating = False
        self.created_name: str | None = None

        intro = QLabel(
            "3–63 characters: lowercase letters, digits and single hyphens, "
            "starting and ending with a letter or digit."
        )
        intro.setWordWrap(True)
        self.edit = named(QLineEdit(), "newContainerEdit")
        self.edit.setPlaceholderText("e.g. family-photos")
        self.edit.setMaxLength(80)  # long enough to show the "too long" message
        self.error = named(QLabel(), "newContainerError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020;")
        self.buttons = dialog_buttons(
            self, QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Create")

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.edit)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.resize(420, self.sizeHint().height())
        self.edit.textChanged.connect(self._validate)
        self._validate("")

    def problem(self) -> str | None:
        """Why the typed name cannot be created, or None."""
        name = self.edit.text()
        if not name:
            return ""  # nothing typed yet: no message, but no OK either
        problem = container_name_problem(name)
        if problem is None and name in self._existing:
            return "A container with this name already exists; pick it from the list."
        return problem

    @Slot(str)
    def _validate(self, _text: str) -> None:
        problem = self.problem()
        self.error.setText(problem or "")
        self.ok_button.setEnabled(problem is None and not self._creating)

    def accept(self) -> None:
        """Create the container off the GUI thread; close when the service said yes."""
        if self.problem() is not None or self._creating:
            return
        name = self.edit.text()
        self._creating = True
        self.edit.setEnabled(False)
        self.ok_button.setEnabled(False)
        self.error.setStyleSheet("color: #555555;")
        self.error.setText(f"Creating {name} …")
        creds, creator = self._creds, self._creator
        run_in_background(lambda: creator(creds, name), self._on_created, self)

    def _on_created(self, _result: Any, error: BaseException | None) -> None:
        self._creating = False
        self.edit.setEnabled(True)
        if error is not None:
            self.error.setStyleSheet("color: #b00020;")
            self.error.setText(describe_error(error, self._creds.secret))
            self.ok_button.setEnabled(True)
            return
        self.created_name = self.edit.text()
        super().accept()


class ContainerPicker(QWidget):
    """A combo of the account's containers, a refresh button and "New container…"."""

    container_changed = Signal(str)
    #: Emitted after every listing attempt (True when it worked); handy for tests.
    loaded = Signal(bool)

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        lister: Lister = list_containers,
        creator: Creator = create_container,
    ) -> None:
        super().__init__(parent)
        self._lister = lister
        self._creator = creator
        self._creds: Credentials | None = None
        self._wanted: str | None = None
        self._names: list[str] = []
        self._generation = 0
        self.new_dialog: NewContainerDialog | None = None

        self.combo = named(QComboBox(), "containerCombo")
        self.combo.setMinimumWidth(220)
        self.combo.currentIndexChanged.connect(self._on_index_changed)
        self.refresh_button = named(QPushButton("Refresh"), "refreshContainersButton")
        self.refresh_button.clicked.connect(self.refresh)
        self.new_button = named(QPushButton("New container…"), "newContainerButton")
        self.new_button.clicked.connect(self._on_new_clicked)
        self.status = named(QLabel(), "containerStatus")
        self.status.setWordWrap(True)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.combo, 1)
        row.addWidget(self.refresh_button)
        row.addWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.status)
        self._update_enabled()

    # ---- public API ----------------------------------------------------------------

    def set_credentials(self, creds: Credentials | None) -> None:
        """Use this account from now on (None: no account) and list its containers."""
        self._creds = creds
        self._wanted = None  # call set_selected() afterwards to preselect one
        self._names = []
        self.combo.clear()
        self._update_enabled()
        if creds is None:
            self.status.setText("Choose an account first.")
            return
        self.refresh()

    def set_selected(self, name: str | None) -> None:
        """Select ``name`` now, or as soon as the listing shows it."""
        self._wanted = name
        if name is not None:
            index = self.combo.findData(name)
            if index >= 0:
                self.combo.setCurrentIndex(index)

    def selected_container(self) -> str | None:
        """The chosen container name, or None."""
        data = self.combo.currentData()
        return str(data) if data else None

    def container_names(self) -> list[str]:
        """The names from the last successful listing."""
        return list(self._names)

    @Slot()
    def refresh(self) -> None:
        """List the containers again (off the GUI thread)."""
        if self._creds is None:
            return
        self._generation += 1
        generation, creds, lister = self._generation, self._creds, self._lister
        self.status.setStyleSheet("color: #555555;")
        self.status.setText("Loading containers …")
        self.refresh_button.setEnabled(False)
        run_in_background(
            lambda: lister(creds),
            lambda result, error: self._on_listed(generation, result, error),
            self,
        )

    def _on_listed(self, generation: int, result: Any, error: BaseException | None) -> None:
        if generation != self._generation:
            return  # the account changed meanwhile: an old answer
        self.refresh_button.setEnabled(self._creds is not None)
        if error is not None:
            self.status.setStyleSheet("color: #b00020;")
            secret = self._creds.secret if self._creds else ""
            self.status.setText(describe_error(error, secret))
            self.loaded.emit(False)
            return
        self._names = sorted(str(name) for name in result)
        wanted = self._wanted or self.selected_container()
        self.combo.blockSignals(True)
        self.combo.clear()
        for name in self._names:
            self.combo.addItem(name, name)
        if wanted and wanted not in self._names:
            self.combo.addItem(f"{wanted} (will be created)", wanted)
        index = self.combo.findData(wanted) if wanted else 0
        self.combo.setCurrentIndex(max(index, 0))
        self.combo.blockSignals(False)
        count = len(self._names)
        self.status.setStyleSheet("color: #555555;")
        self.status.setText(
            f"{count} container{'s' if count != 1 else ''} in this account."
            if count
            else "This account has no containers yet: create one with New container…"
        )
        self._update_enabled()
        self._on_index_changed()
        self.loaded.emit(True)

    @Slot()
    def _on_new_clicked(self) -> None:
        self.open_new_container_dialog()

    def open_new_container_dialog(self) -> NewContainerDialog | None:
        """Open the (window-modal, non-blocking) New container dialog."""
        if self._creds is None:
            return None
        dialog = NewContainerDialog(self._creds, self._names, self, creator=self._creator)
        dialog.accepted.connect(self._on_new_container_accepted)
        self.new_dialog = dialog
        dialog.open()
        return dialog

    @Slot()
    def _on_new_container_accepted(self) -> None:
        dialog = self.new_dialog
        if dialog is not None and dialog.created_name:
            self._wanted = dialog.created_name
            self.refresh()

    # ---- internals -------------------------------------------------------------------

    def _update_enabled(self) -> None:
        has_account = self._creds is not None
        self.combo.setEnabled(has_account and self.combo.count() > 0)
        self.refresh_button.setEnabled(has_account)
        self.new_button.setEnabled(has_account)

    @Slot()
    def _on_index_changed(self, *_: object) -> None:
        name = self.selected_container()
        if name:
            self.container_changed.emit(name)
