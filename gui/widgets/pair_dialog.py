"""Dialog to set up (or edit) one folder pair: local folder, account, container (and a
path inside it), mode, what happens on a conflict (``PairConfig.conflict_rule``: keep
both unless the user picks a winner; only two-way pairs have conflicts), and what syncs
(selective sync and patterns, :class:`PairFilters`).

The folder comes from the native folder picker or is typed; the account from the
configured ones (or a new one through :class:`AccountDialog`); the container from
:class:`ContainerPicker`, which lists the account's containers and creates new ones.
On accept, ``result_pair`` holds the new :class:`PairConfig`; the caller adds it
through the controller. The rules for a new pair (no overlapping folders, no two pairs
on overlapping paths of one container) are the application layer's
(:func:`blobsync.core.app.pairs.new_pair_problem`), checked here as the user types.
An account added from here goes through ``host.add_account`` at once, like one added
from the main window.

As soon as an existing container is chosen, the permission check runs
(:class:`~.permissions.PermissionCheck`) and its answer is shown before the first
sync: when the account may not delete there, the pair is saved with deletions kept as
issues (``PairConfig.remote_deletes``); a mode it cannot sync at all is refused, with
the modes it can.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QTimer, Slot
from PySide6.QtWidgets import (
    QCheckBox,
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
from blobsync.core.app.recovery import RULE_WORDS
from blobsync.core.app.schedule import DEFAULT_BEACON_INTERVAL_S, DEFAULT_INTERVAL_S
from blobsync.core.app.selection import container_folders, pair_folders
from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig
from blobsync.core.credentials import Credentials
from blobsync.core.errors import ConfigError
from blobsync.core.models import ConflictRule, RemoteDeletePolicy, SyncMode
from blobsync.core.names import container_name_problem
from blobsync.core.remote.probe import PermissionReport

from ..qt_helpers import dialog_buttons, named
from .account_dialog import AccountDialog
from .container_picker import ContainerPicker, Creator, Lister
from .pair_filters import PairFilters
from .path_picker import ContainerFolderLister, ContainerPathPicker
from .permissions import PermissionCheck, Prober, check_permissions
from .selective_sync import PairFolderLister

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
        prober: Prober = check_permissions,
        folder_lister: ContainerFolderLister = container_folders,
        pair_folder_lister: PairFolderLister = pair_folders,
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
        self.path_picker = ContainerPathPicker(self, lister=folder_lister)
        self.filters = PairFilters(self, lister=pair_folder_lister)
        self.mode_combo = named(QComboBox(), "modeCombo")
        for mode, text in MODE_TEXT.items():
            self.mode_combo.addItem(text, mode.value)
        self.conflict_combo = named(QComboBox(), "conflictRuleCombo")
        for rule, text in RULE_WORDS.items():
            self.conflict_combo.addItem(text, rule.value)
        self.conflict_combo.setToolTip(
            "When a file changed here and in the container since the last sync. Keep "
            "both keeps yours as a conflict copy for you to decide; the others pick a "
            "winner at once, and the version that loses goes to the recycle bin."
        )
        rule = pair.conflict_rule if pair is not None else ConflictRule.KEEP_BOTH
        self.conflict_combo.setCurrentIndex(self.conflict_combo.findData(rule.value))
        self.permission_check = named(PermissionCheck(self, prober=prober), "pairPermission")
        self._checked_for: tuple[str, str] | None = None
        self.picker.container_changed.connect(self._on_container_changed)

        self.beacon_check = named(
            QCheckBox("Pick up changes from other machines within seconds"), "beaconCheck"
        )
        self.beacon_check.setToolTip(
            "Reads a tiny marker in the container every few seconds (one small request, "
            "no data while nothing changed). Off: changes from other machines arrive at "
            "the periodic check."
        )
        self.beacon_check.setChecked(pair.beacon if pair is not None else True)

        self.error_label = named(QLabel(), "pairError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b00020;")

        form = QFormLayout()
        form.addRow("Local folder:", folder_row)
        form.addRow("Account:", account_row)
        form.addRow("Container:", self.picker)
        form.addRow("Path in container:", self.path_picker)
        form.addRow("Mode:", self.mode_combo)
        form.addRow("On conflict:", self.conflict_combo)
        form.addRow("", self.beacon_check)

        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.buttons = dialog_buttons(self)
        layout = QVBoxLayout(self)
        # The dialog grows with a long error instead of clipping it.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        layout.addLayout(form)
        layout.addWidget(self.permission_check)
        layout.addWidget(self.filters, 1)
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
        self._setup_filters(pair)
        # A message shown after Save goes (or changes) as soon as the fields change.
        self.folder_edit.textChanged.connect(self._recheck)
        self.picker.container_changed.connect(self._recheck)
        self.mode_combo.currentIndexChanged.connect(self._recheck)
        self.mode_combo.currentIndexChanged.connect(self._on_mode_changed)
        self._on_mode_changed()

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

    def selected_conflict_rule(self) -> ConflictRule:
        return ConflictRule(self.conflict_combo.currentData())

    @Slot()
    def _on_mode_changed(self, *_: object) -> None:
        # A mirror never has conflicts: one side always wins. The rule is kept for
        # when the pair becomes two-way again.
        self.conflict_combo.setEnabled(self.selected_mode() is SyncMode.TWO_WAY)

    @Slot()
    def _on_account_changed(self, *_: object) -> None:
        name = self.selected_account()
        self.error_label.clear()
        self._checked_for = None
        self.permission_check.clear()
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

    @Slot(str)
    def _on_container_changed(self, container: str) -> None:
        """Check the permissions in a chosen existing container (a new one: at its first
        sync, when it exists)."""
        account = self.selected_account()
        self._checked_for = None
        self.permission_check.clear()
        if account is None or container not in self.picker.container_names():
            return
        try:
            creds = self.host.credentials(account)
        except ConfigError:
            return
        self._checked_for = (account, container)
        self.permission_check.check(creds, container)

    def permission_report(self) -> PermissionReport | None:
        """The permission check of the chosen account and container, if it finished."""
        if self._checked_for != (self.selected_account(), self.picker.selected_container()):
            return None
        return self.permission_check.report

    # ---- what syncs ----------------------------------------------------------------

    def _setup_filters(self, pair: PairConfig | None) -> None:
        """Feed the path picker and the "what syncs" part from the fields above them."""
        self.resize(max(self.width(), 760), max(self.height(), 700))
        self._folder_timer = QTimer(self)  # one listing after typing stops, not one a key
        self._folder_timer.setSingleShot(True)
        self._folder_timer.setInterval(400)
        self._folder_timer.timeout.connect(self._on_folder_settled)
        self.folder_edit.textChanged.connect(self._folder_timer.start)
        self._path_timer = QTimer(self)  # likewise for a path typed in the container
        self._path_timer.setSingleShot(True)
        self._path_timer.setInterval(400)
        self._path_timer.timeout.connect(self._on_remote_changed)
        self.path_picker.path_changed.connect(self._path_timer.start)
        self.account_combo.currentIndexChanged.connect(self._on_remote_changed)
        self.picker.container_changed.connect(self._on_remote_changed)
        if pair is not None:
            self.path_picker.set_path(pair.prefix)
            self.filters.load(pair)
        self._on_folder_settled()
        self._on_remote_changed()

    def _typed_folder(self) -> Path | None:
        text = self.folder_edit.text().strip()
        return Path(os.path.abspath(os.path.expanduser(text))) if text else None

    @Slot()
    def _on_folder_settled(self) -> None:
        self._folder_timer.stop()
        self.filters.set_local_root(self._typed_folder())

    @Slot()
    def _on_remote_changed(self, *_: object) -> None:
        self._path_timer.stop()
        account = self.selected_account()
        container = self.picker.selected_container()
        creds: Credentials | None = None
        if account is not None and container is not None:
            try:
                creds = self.host.credentials(account)
            except ConfigError:
                creds = None  # said under the account already
        self.path_picker.set_container(creds, container if creds else None)
        prefix = self.path_picker.path() if self.path_picker.problem() is None else ""
        self.filters.set_remote(creds, container if creds else None, prefix)

    # ---- save --------------------------------------------------------------------

    def problem(self) -> str | None:
        """Why the fields do not make a valid pair yet, or None."""
        where_problem = self.path_picker.problem() or self.filters.problem()
        if where_problem:
            return where_problem
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
        report = self.permission_report()
        if report is not None and not report.supports(self.selected_mode()):
            usable = [MODE_TEXT[m].split(":")[0].lower() for m in SyncMode if report.supports(m)]
            choice = f" Choose {' or '.join(usable)}." if usable else ""
            return f"{report.describe()}{choice}"
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
            remote_deletes=self._remote_deletes(account, container),
            prefix=self.path_picker.path(),
            patterns=self.filters.patterns(),
            use_defaults=self.filters.use_defaults(),
            excluded_folders=self.filters.excluded_folders(),
            beacon=self.beacon_check.isChecked(),
            conflict_rule=self.selected_conflict_rule(),
            beacon_interval_s=(
                self.pair.beacon_interval_s if self.pair else int(DEFAULT_BEACON_INTERVAL_S)
            ),
        )

    def _remote_deletes(self, account: str, container: str) -> RemoteDeletePolicy:
        """From the permission check; else what the pair had (same account and container)."""
        report = self.permission_report()
        if report is not None and report.container_exists:
            return report.delete_policy()
        if self.pair is not None and (self.pair.account, self.pair.container) == (
            account,
            container,
        ):
            return self.pair.remote_deletes
        return RemoteDeletePolicy.APPLY

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
