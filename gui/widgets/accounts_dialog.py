"""The Accounts view: every saved storage account, with Test, Edit…, Change secret…,
Remove and Add…, and the details of the selected one.

Everything goes through the controller (the shared
:class:`~blobsync.core.app.service.AppService`, the same calls as ``blobsync account
...``). Removing asks twice in place: an account that folder pairs use says which, and
the second click removes them too (no file or blob is touched). For the local emulator
the details show its endpoint and offer *Copy connection string* (its key is Azurite's
published development key), so a second machine or the CLI can reach the demo
container; no other secret is ever shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from blobsync.core.app.accounts import uses_published_key
from blobsync.core.app.settings import AccountConfig, PairConfig
from blobsync.core.app.status import plural
from blobsync.core.credentials import Credentials, SecretKind
from blobsync.core.errors import BlobSyncError

from ..controller import Controller
from ..qt_helpers import named
from .account_dialog import AccountDialog, describe_error
from .background import run_in_background

KIND_WORDS = {
    SecretKind.CONNECTION_STRING: "Connection string",
    SecretKind.ACCOUNT_KEY: "Account key",
    SecretKind.SAS: "SAS",
}


def secret_words(account: AccountConfig) -> str:
    """Where the account's secret is kept, in a few words."""
    if not account.has_secret:
        return "Not needed (emulator)"
    if account.plaintext_secret_file:
        return "⚠ Plain text file (insecure)"
    return "OS keyring"


class AccountsDialog(QDialog):
    """List and manage the saved accounts (non-modal; the window keeps one open)."""

    COLUMNS = ("Name", "Storage account", "Connect with", "Secret kept in", "Used by")

    def __init__(self, controller: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("accountsDialog")
        self.setWindowTitle("Storage accounts")
        self.controller = controller
        self.account_dialog: AccountDialog | None = None
        self._confirm_remove: str | None = None  # the account a second Remove removes
        self._testing: set[str] = set()

        self.table = named(QTableWidget(0, len(self.COLUMNS)), "accountsTable")
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.doubleClicked.connect(lambda _i: self.edit())

        self.details = named(QLabel(), "accountDetails")
        self.details.setWordWrap(True)
        self.copy_button = named(QPushButton("&Copy connection string"), "copyConnectionButton")
        self.copy_button.setToolTip(
            "For another machine or the command line (AZURE_STORAGE_CONNECTION_STRING): "
            "the emulator's key is Azurite's published development key, not a secret."
        )
        self.copy_button.clicked.connect(self.copy_connection_string)
        self.status = named(QLabel(), "accountsStatus")
        self.status.setWordWrap(True)

        def button(text: str, name: str, slot: Any, tip: str) -> QPushButton:
            btn = named(QPushButton(text), name)
            btn.setToolTip(tip)
            btn.clicked.connect(slot)
            return btn

        self.add_button = button("&Add…", "addAccountButton", self.add, "Add a storage account")
        self.test_button = button(
            "&Test", "testAccountButton", self.test, "Connect with the saved secret"
        )
        self.edit_button = button(
            "&Edit…", "editAccountButton", self.edit, "Rename the account or change how it connects"
        )
        self.rekey_button = button(
            "Change &secret…",
            "rekeyAccountButton",
            self.change_secret,
            "Give the account a new key, SAS or connection string",
        )
        self.remove_button = button(
            "&Remove", "removeAccountButton", self.remove, "Forget the account and its secret"
        )
        row = QHBoxLayout()
        for btn in (self.add_button, self.test_button, self.edit_button, self.rekey_button):
            row.addWidget(btn)
        row.addStretch(1)
        row.addWidget(self.remove_button)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        details_row = QHBoxLayout()
        details_row.addWidget(self.details, 1)
        details_row.addWidget(self.copy_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addLayout(details_row)
        layout.addWidget(self.status)
        layout.addWidget(close)
        self.resize(880, 420)
        controller.accounts_changed.connect(self.reload)
        controller.pairs_changed.connect(self.reload)
        self.reload()

    # ---- the list ----------------------------------------------------------------

    def accounts(self) -> list[AccountConfig]:
        return self.controller.service.accounts()

    def selected(self) -> AccountConfig | None:
        rows = self.table.selectionModel().selectedRows()
        accounts = self.accounts()
        if not rows or rows[0].row() >= len(accounts):
            return None
        return accounts[rows[0].row()]

    def select(self, label: str) -> None:
        for row, account in enumerate(self.accounts()):
            if account.name == label:
                self.table.selectRow(row)
                return

    @Slot()
    def reload(self) -> None:
        keep = self.selected()
        accounts = self.accounts()
        self.table.setRowCount(len(accounts))
        for row, account in enumerate(accounts):
            used = self.controller.service.pairs_using(account.name)
            kind = "Local emulator" if uses_published_key(account) else KIND_WORDS[account.kind]
            values = (
                account.name,
                account.account_url,
                kind,
                secret_words(account),
                ", ".join(_pair_name(p) for p in used) or "—",
            )
            for col, text in enumerate(values):
                self.table.setItem(row, col, QTableWidgetItem(text))
        if keep is not None and any(a.name == keep.name for a in accounts):
            self.select(keep.name)
        elif accounts:
            self.table.selectRow(0)
        self._on_selection()

    @Slot()
    def _on_selection(self) -> None:
        account = self.selected()
        if self._confirm_remove is not None and (
            account is None or account.name != self._confirm_remove
        ):
            self._cancel_remove()
        has = account is not None
        for btn in (self.test_button, self.edit_button, self.remove_button):
            btn.setEnabled(has)
        self.rekey_button.setEnabled(has and not (account and uses_published_key(account)))
        if account is None:
            self.details.setText("No accounts yet: add one to start.")
            self.copy_button.hide()
            return
        shared = self.controller.service.shareable_connection_string(account.name)
        used = self.controller.service.pairs_using(account.name)
        text = (
            f"<b>{_escape(account.name)}</b>: {_escape(account.account_name)} at "
            f"{_escape(account.account_url)}, used by {plural(len(used), 'folder pair')}."
        )
        if shared:
            text += (
                "<br>The local storage emulator (Azurite), reachable from this computer. "
                "Another machine or the command line can use its connection string."
            )
        self.details.setText(text)
        self.copy_button.setVisible(shared is not None)

    # ---- actions -----------------------------------------------------------------

    @Slot()
    def copy_connection_string(self) -> None:
        account = self.selected()
        shared = (
            self.controller.service.shareable_connection_string(account.name) if account else None
        )
        if shared:
            QApplication.clipboard().setText(shared)
            self._say("Connection string copied to the clipboard.", "ok")

    @Slot()
    def test(self) -> None:
        account = self.selected()
        if account is None or account.name in self._testing:
            return
        try:
            creds = self.controller.credentials(account.name)
        except BlobSyncError as exc:
            self._say(describe_error(exc), "error")
            return
        self._testing.add(account.name)
        self._say(f"Testing {account.name} ({creds.account_url}) …", "busy")
        label = account.name
        service = self.controller.service  # the worker must not hold the dialog
        run_in_background(
            lambda: service.test_account(label),
            lambda _r, error: self._on_tested(label, error),
            self,
        )

    def _on_tested(self, label: str, error: BaseException | None) -> None:
        self._testing.discard(label)
        if error is None:
            self._say(f"Connection works: {label} answered.", "ok")
        else:
            self._say(f"{label}: {describe_error(error)}", "error")

    def is_testing(self) -> bool:
        return bool(self._testing)

    @Slot()
    def add(self) -> None:
        def save(label: str, creds: Credentials, allow_plaintext: bool) -> AccountConfig:
            return self.controller.add_account(label, creds, allow_plaintext=allow_plaintext)

        self._open(AccountDialog(self.controller.config, save, self))

    @Slot()
    def edit(self) -> AccountDialog | None:
        account = self.selected()
        if account is None:
            return None
        dialog = AccountDialog(
            self.controller.config,
            self._refuse_add,
            self,
            editing=account,
            save_edit=self._save_edit,
            current=self.controller.credentials,
        )
        self._open(dialog)
        return dialog

    @Slot()
    def change_secret(self) -> AccountDialog | None:
        dialog = self.edit()
        if dialog is not None:
            dialog.setWindowTitle(
                f"Change the secret — {dialog.editing.name if dialog.editing else ''}"
            )
            dialog.focus_secret()
        return dialog

    def _open(self, dialog: AccountDialog) -> None:
        self.account_dialog = dialog
        dialog.accepted.connect(self._after_edit)
        dialog.open()

    def _after_edit(self) -> None:
        dialog = self.account_dialog
        if dialog is not None and dialog.saved_account is not None:
            self.reload()
            self.select(dialog.saved_account.name)
            self._say(f"Account {dialog.saved_account.name} saved.", "ok")

    @staticmethod
    def _refuse_add(label: str, creds: Credentials, allow_plaintext: bool) -> AccountConfig:
        raise AssertionError("an edit dialog saves through save_edit")

    def _save_edit(
        self, old: str, new: str, creds: Credentials | None, allow_plaintext: bool
    ) -> AccountConfig:
        account = self.controller.config.accounts[old]
        if new != old:
            account = self.controller.rename_account(old, new)
        if creds is not None:
            account = self.controller.update_account(
                account.name, creds, allow_plaintext=allow_plaintext
            )
        return account

    @Slot()
    def remove(self) -> None:
        """First click: say what goes (and which pairs); second click: remove."""
        account = self.selected()
        if account is None:
            return
        used = self.controller.service.pairs_using(account.name)
        if self._confirm_remove != account.name:
            self._confirm_remove = account.name
            if used:
                names = ", ".join(_pair_name(p) for p in used)
                self._say(
                    f"{account.name} is used by {plural(len(used), 'folder pair')} "
                    f"({names}). Removing the account removes {'them' if len(used) > 1 else 'it'} "
                    "too; no file or blob is deleted.",
                    "error",
                )
                self.remove_button.setText(f"Remove with {plural(len(used), 'pair')}")
            else:
                self._say(f"Remove {account.name} and its secret from this computer?", "error")
                self.remove_button.setText("Remove for good")
            return
        try:
            removed = self.controller.remove_account(account.name, with_pairs=True)
        except (BlobSyncError, OSError) as exc:
            self._say(f"Cannot remove {account.name}: {exc}", "error")
            return
        self._cancel_remove()
        extra = f" and {plural(len(removed), 'folder pair')}" if removed else ""
        self._say(f"Removed {account.name}{extra}.", "ok")

    def _cancel_remove(self) -> None:
        self._confirm_remove = None
        self.remove_button.setText("&Remove")

    def _say(self, text: str, state: str) -> None:
        colours = {"ok": "#1b7f3b", "error": "#b00020", "busy": "#555555"}
        self.status.setText(text)
        self.status.setProperty("state", state)
        self.status.setStyleSheet(f"color: {colours[state]};")


def _pair_name(pair: PairConfig) -> str:
    return pair.name or Path(pair.local_root).name or pair.local_root


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
