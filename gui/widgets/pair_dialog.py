"""Dialog to set up (or edit) one folder pair: local folder, account, container, mode.

The folder comes from the native folder picker or is typed; the account from the
configured ones (or a new one through :class:`AccountDialog`); the container from
:class:`ContainerPicker`, which lists the account's containers and creates new ones.
On accept, ``result_pair`` holds the new :class:`PairConfig`; the caller adds it to
the config and saves. A folder that overlaps another pair's folder is refused: two
pairs writing into the same files would fight each other.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from blobsync.core.app.secrets import load_secret
from blobsync.core.app.settings import DEFAULT_INTERVAL_S, AppConfig, PairConfig
from blobsync.core.errors import ConfigError
from blobsync.core.models import SyncMode
from blobsync.core.names import container_name_problem

from ..controller import credentials_for_account
from .account_dialog import AccountDialog
from .container_picker import ContainerPicker, Creator, Lister, _create_container, _list_containers

MODE_TEXT = {
    SyncMode.TWO_WAY: "Two-way: changes on either side are copied to the other",
    SyncMode.UPLOAD: "Upload only: the container mirrors this folder",
    SyncMode.DOWNLOAD: "Download only: this folder mirrors the container",
}


def _overlaps(a: str, b: str) -> bool:
    """True when one folder is the other or inside it."""
    a_path, b_path = Path(os.path.realpath(a)), Path(os.path.realpath(b))
    return a_path == b_path or a_path.is_relative_to(b_path) or b_path.is_relative_to(a_path)


class PairDialog(QDialog):
    """Add or edit a folder pair; ``result_pair`` is set when the user saved."""

    def __init__(
        self,
        config: AppConfig,
        pair: PairConfig | None = None,
        parent: QWidget | None = None,
        secret_loader: Callable[[str], str] = load_secret,
        *,
        lister: Lister = _list_containers,
        creator: Creator = _create_container,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit folder pair" if pair else "Add folder pair")
        self.config = config
        self.pair = pair
        self.result_pair: PairConfig | None = None
        self._secret_loader = secret_loader
        self.account_dialog: AccountDialog | None = None

        self.folder_edit = QLineEdit(objectName="folderEdit")
        self.folder_edit.setPlaceholderText(str(Path.home() / "BlobSync"))
        self.browse_button = QPushButton("Choose…", objectName="browseButton")
        self.browse_button.clicked.connect(self.browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self.browse_button)

        self.account_combo = QComboBox(objectName="accountCombo")
        self.add_account_button = QPushButton("Add account…", objectName="addAccountButton")
        self.add_account_button.clicked.connect(self._on_add_account_clicked)
        account_row = QHBoxLayout()
        account_row.addWidget(self.account_combo, 1)
        account_row.addWidget(self.add_account_button)

        self.picker = ContainerPicker(self, lister=lister, creator=creator)
        self.mode_combo = QComboBox(objectName="modeCombo")
        for mode, text in MODE_TEXT.items():
            self.mode_combo.addItem(text, mode.value)

        self.error_label = QLabel(objectName="pairError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b00020;")

        form = QFormLayout()
        form.addRow("Local folder:", folder_row)
        form.addRow("Account:", account_row)
        form.addRow("Container:", self.picker)
        form.addRow("Mode:", self.mode_combo)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.resize(640, self.sizeHint().height())

        self._fill_accounts(pair.account if pair else None)
        self.account_combo.currentIndexChanged.connect(self._on_account_changed)
        if pair is not None:
            self.folder_edit.setText(pair.local_root)
            self.mode_combo.setCurrentIndex(self.mode_combo.findData(pair.mode.value))
        self._on_account_changed()
        if pair is not None:
            self.picker.set_selected(pair.container)

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
            creds = credentials_for_account(self.config.accounts[name], self._secret_loader)
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
        dialog = AccountDialog(self.config, self)
        dialog.accepted.connect(self._on_account_added)
        self.account_dialog = dialog
        dialog.open()
        return dialog

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
        for other in self.config.pairs:
            if other is self.pair:
                continue
            if _overlaps(folder, other.local_root):
                return (
                    f"This folder overlaps {other.local_root}, which another pair already "
                    "syncs; choose a separate folder."
                )
            if other.account == account and other.container == container:
                # Two folders on one container would undo each other's changes (an
                # upload-only pair deletes every blob its folder does not have).
                return (
                    f"The container {container} is already synced with {other.local_root}; "
                    "choose another container."
                )
        return None

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
        account = self.selected_account()
        container = self.picker.selected_container()
        assert account is not None and container is not None  # checked by problem()
        self.result_pair = PairConfig(
            local_root=folder,
            account=account,
            container=container,
            mode=self.selected_mode(),
            interval_s=self.pair.interval_s if self.pair else DEFAULT_INTERVAL_S,
            paused=self.pair.paused if self.pair else False,
        )
        super().accept()
