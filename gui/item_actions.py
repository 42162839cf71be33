"""Per-item actions plugged into the main window's views from outside: *Copy link* and
the archived blobs with *Rehydrate*.

The issues view and the pairs view stay unaware of them: :func:`attach_item_actions`
adds a context menu to the issues table (*Copy link* for the item, and for a
conflict's copy), puts the :class:`~.widgets.archived_panel.ArchivedPanel` and one
status line into the issues view's layout, feeds the panel from
:class:`~.notices.Notices`, and gives the pairs table a context menu with *Copy link to
a file…* (a file of that pair's folder, chosen in the file dialog) and, when the
pair's SAS expires soon or has expired (or its sign-in lapsed), *Update the SAS…* /
*Sign in again…*: the account dialog, saving new credentials under the same name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QPoint, Qt, Slot
from PySide6.QtWidgets import QBoxLayout, QFileDialog, QLabel, QMenu, QWidget

from blobsync.core.app.settings import AppConfig
from blobsync.core.credentials import Credentials, SecretKind
from blobsync.core.models import ArchivedBlob
from blobsync.core.remote.base import LinkDuration

from .controller import Controller
from .qt_helpers import named
from .views.issues_view import IssuesView
from .views.pairs_view import PairsView
from .widgets.account_dialog import AccountDialog, AccountKind
from .widgets.archived_panel import ArchivedPanel
from .widgets.link_menu import LINK_CHOICES, LinkMaker

_DIALOG_KIND = {
    SecretKind.CONNECTION_STRING: AccountKind.CONNECTION_STRING,
    SecretKind.ACCOUNT_KEY: AccountKind.KEY,
    SecretKind.SAS: AccountKind.SAS,
    SecretKind.ENTRA: AccountKind.ENTRA,
}

#: Picks a file to link to: (parent, start folder) -> path, or "" when cancelled.
FilePicker = Callable[[QWidget, str], str]


def _pick_file(parent: QWidget, start: str) -> str:
    path, _filter = QFileDialog.getOpenFileName(parent, "Choose the file to link to", start)
    return path


class ItemActions(QObject):
    """The actions of one main window (kept alive by it)."""

    def __init__(self, issues: IssuesView, pairs: PairsView, controller: Controller) -> None:
        super().__init__(issues)
        self.issues = issues
        self.pairs = pairs
        self.controller = controller
        self.links = LinkMaker(controller.service, self)
        self.file_picker: FilePicker = _pick_file
        self.menu: QMenu | None = None  # the last context menu (tests drive it)
        #: Extra arguments for the account dialog (tests give it a fake sign-in).
        self.dialog_kwargs: dict[str, Any] = {}
        self.renew_dialog: AccountDialog | None = None

        self.archived = named(
            ArchivedPanel(controller.service, issues, label_of=self._label), "archivedPanel"
        )
        self.status = named(QLabel(), "itemActionStatus")
        self.status.setWordWrap(True)
        self.status.hide()
        layout = issues.layout()
        if isinstance(layout, QBoxLayout):
            # The status line under the issue's details; the archived blobs below the
            # issues' buttons (they are a state of their own, with their own action).
            layout.insertWidget(layout.indexOf(issues.detail_row) + 1, self.status)
            layout.addWidget(self.archived)

        issues.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        issues.table.customContextMenuRequested.connect(self._on_issue_menu)
        pairs.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        pairs.table.customContextMenuRequested.connect(self._on_pair_menu)
        self.links.finished.connect(self._say)
        self.archived.rehydrated.connect(self._on_rehydrated)
        notices = getattr(controller, "notices", None)
        if notices is not None:
            notices.archived_changed.connect(self._on_archived_changed)
        controller.pairs_changed.connect(self._on_pairs_changed)

    def _label(self, pair_id: str) -> str:
        pair = self.controller.pair(pair_id)
        return f"{Path(pair.local_root).name} ↔ {pair.container}" if pair else pair_id

    # ---- the issues table --------------------------------------------------------

    def issue_menu(self) -> QMenu | None:
        """The context menu for the selected issue (None when not exactly one)."""
        rows = self.issues.selected_rows()
        if len(rows) != 1:
            return None
        row = rows[0]
        menu = QMenu(self.issues)
        menu.setObjectName("issueContextMenu")
        self.links.add_menu(menu, row.pair_id, row.issue.rel_path)
        copy = row.issue.conflict_copy
        if copy:
            sub = menu.addMenu("Copy link to your copy")
            for duration, text in LINK_CHOICES:
                action = sub.addAction(text)
                action.triggered.connect(
                    lambda _=False, d=duration, p=row.pair_id, c=copy: self.links.copy_link(p, c, d)
                )
        self.menu = menu
        return menu

    @Slot(QPoint)
    def _on_issue_menu(self, where: QPoint) -> None:
        menu = self.issue_menu()
        if menu is not None:
            menu.popup(self.issues.table.viewport().mapToGlobal(where))

    # ---- the pairs table ---------------------------------------------------------

    def pair_menu(self) -> QMenu | None:
        pair_id = self.pairs.selected_pair_id()
        if not pair_id:
            return None
        menu = QMenu(self.pairs)
        menu.setObjectName("pairContextMenu")
        sub = menu.addMenu("Copy link to a file…")
        for duration, text in LINK_CHOICES:
            action = sub.addAction(text)
            action.triggered.connect(
                lambda _=False, d=duration, p=pair_id: self.link_to_chosen_file(p, d)
            )
        renew = self._renew_words(pair_id)
        if renew:
            action = menu.addAction(renew)
            action.setObjectName("renewAccountAction")
            action.triggered.connect(lambda _=False, p=pair_id: self.renew_account(p))
        self.menu = menu
        return menu

    def _renew_words(self, pair_id: str) -> str:
        """ "Update the SAS…" / "Sign in again…" when the pair's credentials end, or ""."""
        pair = self.controller.pair(pair_id)
        account = self.controller.config.accounts.get(pair.account) if pair else None
        if account is None:
            return ""
        status = self.controller.status(pair_id)
        if not (status.signed_out or status.expires_soon):
            return ""
        return "Sign in again…" if account.kind is SecretKind.ENTRA else "Update the SAS…"

    def renew_account(self, pair_id: str) -> AccountDialog | None:
        """The account dialog for the pair's account: new credentials, same name."""
        pair = self.controller.pair(pair_id)
        account = self.controller.config.accounts.get(pair.account) if pair else None
        if account is None:
            return None
        others = AppConfig(
            accounts={k: v for k, v in self.controller.config.accounts.items() if k != account.name}
        )
        ctl = self.controller

        def replace(label: str, creds: Credentials, plain: bool) -> Any:
            return ctl.update_account(
                label, creds, allow_plaintext=plain, same_storage_account=True
            )

        dialog = AccountDialog(others, replace, self.pairs.window(), **self.dialog_kwargs)
        dialog.setWindowTitle(f"Update the account {account.name}")
        dialog.set_kind(_DIALOG_KIND[account.kind])
        dialog.name_edit.setText(account.name)
        dialog.name_edit.setEnabled(False)
        if account.kind in (SecretKind.ENTRA, SecretKind.ACCOUNT_KEY):
            dialog.url_edit.setText(account.account_url)
        self.renew_dialog = dialog
        dialog.open()
        return dialog

    @Slot(QPoint)
    def _on_pair_menu(self, where: QPoint) -> None:
        menu = self.pair_menu()
        if menu is not None:
            menu.popup(self.pairs.table.viewport().mapToGlobal(where))

    def link_to_chosen_file(self, pair_id: str, duration: LinkDuration) -> None:
        """Choose a file of the pair's folder, then copy a link to it."""
        pair = self.controller.pair(pair_id)
        if pair is None:
            return
        path = self.file_picker(self.pairs, pair.local_root)
        if not path:
            return
        root = os.path.abspath(pair.local_root)
        full = os.path.abspath(path)
        if os.path.commonpath([root, full]) != root or full == root:
            self._say(f"{path} is not in the folder {pair.local_root}.", False)
            return
        self.links.copy_link(pair_id, Path(os.path.relpath(full, root)).as_posix(), duration)

    # ---- archived blobs ----------------------------------------------------------

    @Slot(str, object)
    def _on_archived_changed(self, pair_id: str, blobs: object) -> None:
        if isinstance(blobs, list) and self.controller.pair(pair_id) is not None:
            self.archived.set_blobs(pair_id, [b for b in blobs if isinstance(b, ArchivedBlob)])

    @Slot(str)
    def _on_rehydrated(self, pair_id: str) -> None:
        # The listing then says "rehydrating" (Azure), or the blob is readable (at once
        # on Azurite) and this sync downloads it.
        self.controller.sync_now(pair_id)

    @Slot()
    def _on_pairs_changed(self) -> None:
        current = {p.pair_id for p in self.controller.pairs()}
        for pair_id in {p for p, _b in self.archived.rows()} - current:
            self.archived.remove_pair(pair_id)

    @Slot(str, bool)
    def _say(self, message: str, ok: bool) -> None:
        self.status.setText(message)
        self.status.setStyleSheet(f"color: {'#1b7f3b' if ok else '#b00020'};")
        self.status.show()


def attach_item_actions(
    issues: IssuesView, pairs: PairsView, controller: Controller
) -> ItemActions:
    """Plug *Copy link* and the archived blobs into the main window's views."""
    return ItemActions(issues, pairs, controller)
