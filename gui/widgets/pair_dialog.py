"""Dialog to set up (or edit) one folder pair: local folder, account, container, mode.

The folder comes from the native folder picker or is typed; the account from the
configured ones (or a new one through :class:`AccountDialog`); the container from
:class:`ContainerPicker`, which lists the account's containers and creates new ones.
On accept, ``result_pair`` holds the new :class:`PairConfig`; the caller adds it
through the controller. The rules for a new pair (no overlapping folders, one folder
per container) are the application layer's
(:func:`blobsync.core.app.pairs.new_pair_problem`), checked here as the user types.
An account added from here goes through ``host.add_account`` at once, like one added
from the main window.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from blobsync.core.app.accounts import create_container, list_containers
from blobsync.core.app.pairs import new_pair_problem
from blobsync.core.app.schedule import DEFAULT_INTERVAL_S
from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig
from blobsync.core.credentials import Credentials
from blobsync.core.errors import ConfigError
from blobsync.core.models import SyncMode
from blobsync.core.names import container_name_problem

from ..qt_helpers import dialog_buttons, named
from .account_dialog import AccountDialog
from .container_picker import ContainerPicker, Creator, Lister

MODE_TEXT = {
    SyncMode.TWO_WAY: "Two-way: changes on either side are copied to the other",
    SyncMode.UPLOAD: "Upload only: the container mirrors this folder",
    SyncMode.DOWNLOAD: "Download only: this folder mirrors the container",
}


class PairDialogHost(Protocol):
    """What the dialog needs from the app (the controller, or the service in tests)."""

    @property
    def config(self) -> AppConfig: ...

    def credentials(self, account_name: str) -> Credentials: ...

    def add_account(
        self, label: str, creds: Credentials, *, allow_plaintext: bool = False
    ) -> AccountConfig: ...


class PairDialog(QDialog):
    """Add or edit a folder pair; ``result_pair`` is set when the user saved."""

    def __init__(
        self,
        host: PairDialogHost,
        pair: PairConfig | None = None,
        parent: QWidget | None = None,
        *,
        lister: Lister = list_containers,
        creator: Creator = create_container,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit folder pair" if pair else "Add folder pair")
        self.host = host
        self.config = host.config
        self.pair = pair
        self.result_pair: PairConfig | None = None
        self.account_dialog: AccountDialog | None = None

        self.folder_edit = named(QLineEdit(), "folderEdit")
        self.folder_edit.setPlaceholderText(str(Path.home() / "BlobSync"))
        self.browse_button = named(QPushButton("Choose…"), "browseButton")
        self.browse_button.clicked.connect(self.browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self.browse_button)

        self.account_combo = named(QComboBox(), "accountCombo")
        self.add_account_button = named(QPushButton("Add account…"), "addAccountButton")
        self.add_account_button.clicked.connect(self._on_add_account_clicked)
        account_row = QHBoxLayout()
        account_row.addWidget(self.account_combo, 1)
        account_row.addWidget(self.add_account_button)

        self.picker = ContainerPicker(self, lister=lister, creator=creator)
        self.mode_combo = named(QComboBox(), "modeCombo")
        for mode, text in MODE_TEXT.items():
            self.mode_combo.addItem(text, mode.value)

        self.error_label = named(QLabel(), "pairError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b00020;")

        form = QFormLayout()
        form.addRow("Local folder:", folder_row)
        form.addRow("Account:", account_row)
        form.addRow("Container:", self.picker)
        form.addRow("Mode:", self.mode_combo)

        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.buttons = dialog_buttons(self)
        layout = QVBoxLayout(self)
        # The dialog grows with a long error instead of clipping it.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.resize(680, self.sizeHint().height())

        self._fill_accounts(pair.account if pair else None)
        self.account_combo.currentIndexChanged.connect(self._on_account_changed)
        if pair is not None:
            self.folder_edit.setText(pair.local_root)
            self.mode_combo.setCurrentIndex(self.mode_combo.findData(pair.mode.value))
        self._on_account_changed()
        if pair is not None:
            self.picker.set_selected(pair.container)
        # A message shown after Save goes (or changes) as soon as the fields change.
        self.folder_edit.textChanged.connect(self._recheck)
        self.picker.container_changed.connect(self._recheck)
        self.mode_combo.currentIndexChanged.connect(self._recheck)

    @Slot()
    def _recheck(self, *_: object) -> None:
        if self.error_label.text():
            self.error_label.setText(self.problem() or "")

    # ---- fields ------------------------------------------------------------------

    def _fill_accounts(self, select: str | None) -> None:
        self.account_combo.blockSignals(True)
        self.account_combo.clear()
        for name in sorted(self.config.accounts):
            self.account_combo.addItem(name, name)
        if select is not None and self.account_combo.findData(select) >= 0:
            self.account_combo.setCurrentIndex(self.account_combo.findData(select))
        self.account_combo.blockSignals(False)

    def selected_account(self) -> str | None:
        data = self.account_combo.currentData()
        return str(data) if data else None

    def selected_mode(self) -> SyncMode:
        return SyncMode(self.mode_combo.currentData())

    @Slot()
    def _on_account_changed(self, *_: object) -> None:
        name = self.selected_account()
        self.error_label.clear()
        if name is None:
            self.picker.set_credentials(None)
            self.error_label.setText("Add a storage account first.")
            return
        try:
            creds = self.host.credentials(name)
        except ConfigError as exc:
            self.picker.set_credentials(None)
            self.error_label.setText(exc.message)
            return
        self.picker.set_credentials(creds)

    @Slot()
    def browse(self) -> None:
        """The native folder picker, starting at the typed folder (or home)."""
        start = self.folder_edit.text().strip() or str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Choose the folder to sync", start)
        if folder:
            self.folder_edit.setText(folder)

    @Slot()
    def _on_add_account_clicked(self) -> None:
        self.open_account_dialog()

    def open_account_dialog(self) -> AccountDialog:
        """Add an account without leaving this dialog (window-modal, non-blocking)."""
        dialog = AccountDialog(self.config, self._save_account, self)
        dialog.accepted.connect(self._on_account_added)
        self.account_dialog = dialog
        dialog.open()
        return dialog

    def _save_account(self, label: str, creds: Credentials, allow_plaintext: bool) -> AccountConfig:
        return self.host.add_account(label, creds, allow_plaintext=allow_plaintext)

    @Slot()
    def _on_account_added(self) -> None:
        dialog = self.account_dialog
        if dialog is not None and dialog.saved_account is not None:
            self._fill_accounts(dialog.saved_account.name)
            self._on_account_changed()

    # ---- save --------------------------------------------------------------------

    def problem(self) -> str | None:
        """Why the fields do not make a valid pair yet, or None."""
        text = self.folder_edit.text().strip()
        if not text:
            return "Choose the local folder to sync."
        folder = os.path.abspath(os.path.expanduser(text))
        if os.path.exists(folder) and not os.path.isdir(folder):
            return f"{folder} is a file, not a folder."
        account = self.selected_account()
        if account is None:
            return "Choose a storage account."
        container = self.picker.selected_container()
        if container is None:
            return "Choose a container, or create one with New container…"
        name_problem = container_name_problem(container)
        if name_problem:
            return name_problem
        return new_pair_problem(self.config, self._pair_from_fields(folder), replacing=self.pair)

    def _pair_from_fields(self, folder: str) -> PairConfig:
        account = self.selected_account()
        container = self.picker.selected_container()
        assert account is not None and container is not None  # checked by problem()
        return PairConfig(
            local_root=folder,
            account=account,
            container=container,
            mode=self.selected_mode(),
            interval_s=self.pair.interval_s if self.pair else int(DEFAULT_INTERVAL_S),
            name=self.pair.name if self.pair else "",
        )

    def accept(self) -> None:
        """Check the fields, create a missing folder, build ``result_pair``."""
        problem = self.problem()
        if problem:
            self.error_label.setText(problem)
            return
        folder = os.path.abspath(os.path.expanduser(self.folder_edit.text().strip()))
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            self.error_label.setText(f"Cannot create {folder}: {exc.strerror or exc}.")
            return
        self.result_pair = self._pair_from_fields(folder)
        super().accept()
