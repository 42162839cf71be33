"""The main window: pairs on top, progress and issues below, app-wide actions in a toolbar.

It holds no state of its own beyond widgets: everything goes through the
:class:`~blobsync.gui.controller.Controller`. Closing it keeps BlobSync running in the
tray when a tray exists (``keep_in_tray``); otherwise closing quits.
"""

from __future__ import annotations

import functools
import html
import logging
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from blobsync.core import __version__
from blobsync.core.app.selection import exclusion_summary, exclusions_by_rule
from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig
from blobsync.core.app.status import Overview, PairState, plural
from blobsync.core.credentials import Credentials
from blobsync.core.models import ActionKind, SyncResult

from . import geometry, menus
from .controller import Controller
from .icons import app_icon
from .item_actions import attach_item_actions
from .tray import tray_look
from .views.activity_view import ActivityView
from .views.issues_view import IssuesView
from .views.pairs_view import PairsView
from .views.progress_view import ProgressView

log = logging.getLogger(__name__)

PLAN_WORDS = {
    ActionKind.UPLOAD: "Upload",
    ActionKind.DOWNLOAD: "Download",
    ActionKind.DELETE_REMOTE: "Delete in container",
    ActionKind.DELETE_LOCAL: "Delete in folder",
    ActionKind.CONFLICT: "Conflict: keep both",
    ActionKind.ISSUE: "Skip",
}


def pair_name(pair: PairConfig) -> str:
    """What the window calls a pair: its name, or its folder's."""
    return pair.name or Path(pair.local_root).name or pair.local_root


class PreviewDialog(QDialog):
    """The plan of a dry run: what a sync would do, before anything changes."""

    def __init__(self, title: str, result: SyncResult, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("previewDialog")
        self.setWindowTitle(f"Preview — {title}")
        actions = [a for a in result.planned if a.kind in PLAN_WORDS]
        summary = QLabel(
            "Nothing to do: everything is in sync."
            if not actions
            else f"A sync would make {plural(len(actions), 'change')}. Nothing has been "
            "changed yet.",
            self,
        )
        summary.setObjectName("previewSummary")
        summary.setWordWrap(True)
        # What the filter rules kept out, rule by rule (most items first).
        left_out = exclusion_summary(result.excluded)
        ranked = exclusions_by_rule(result.excluded)
        self.exclusions = QLabel(
            html.escape(left_out)
            + "".join(f"<br>&nbsp;&nbsp;{n:,} — {html.escape(rule)}" for rule, n in ranked[:8])
            + (f"<br>&nbsp;&nbsp;… and {len(ranked) - 8:,} more rules" if len(ranked) > 8 else ""),
            self,
        )
        self.exclusions.setObjectName("previewExclusions")
        self.exclusions.setTextFormat(Qt.TextFormat.RichText)
        self.exclusions.setWordWrap(True)
        self.exclusions.setVisible(bool(left_out))
        self.table = QTableWidget(len(actions), 2, self)
        self.table.setObjectName("previewTable")
        self.table.setHorizontalHeaderLabels(["Action", "Item"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        for row, action in enumerate(actions):
            self.table.setItem(row, 0, QTableWidgetItem(PLAN_WORDS[action.kind]))
            self.table.setItem(row, 1, QTableWidgetItem(action.rel_path))
        self.table.resizeColumnToContents(0)
        buttons = QDialogButtonBox(self)
        self.sync_button = buttons.addButton("Sync now", QDialogButtonBox.ButtonRole.AcceptRole)
        self.sync_button.setObjectName("previewSyncButton")
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addWidget(self.exclusions)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(640, 420)


class MainWindow(QMainWindow):
    """BlobSync's window. ``MainWindow(controller)``; ``bring_to_front()`` to raise it."""

    def __init__(self, controller: Controller | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if controller is None:  # e.g. the self-check: an empty, unscheduled app
            controller = Controller(AppConfig(), schedule=False, save=lambda _c: None)
        self.controller = controller
        self.keep_in_tray = False  # set by the app when a system tray shows our icon
        self.preview_dialog: PreviewDialog | None = None
        self.account_dialog: QDialog | None = None  # the last one opened (tests drive it)
        self.pair_dialog: QDialog | None = None
        self.settings_dialog: QDialog | None = None
        self.review_dialog: QDialog | None = None  # the open deletion review
        self.accounts_dialog: QDialog | None = None
        self.setObjectName("mainWindow")
        self.setWindowTitle("BlobSync")
        self.setWindowIcon(app_icon())

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        self.add_account_action = QAction("Add account…", self)
        self.add_account_action.triggered.connect(lambda _checked=False: self.add_account())
        self.accounts_action = QAction("&Accounts…", self)
        self.accounts_action.setToolTip("List, test, edit and remove storage accounts")
        self.accounts_action.triggered.connect(lambda _checked=False: self.show_accounts())
        self.sync_all_action = QAction("Sync all", self)
        self.sync_all_action.triggered.connect(controller.sync_all)
        self.pause_action = QAction("Pause", self)
        self.pause_action.triggered.connect(self.toggle_pause)
        self.settings_action = QAction("Settings…", self)
        self.settings_action.triggered.connect(lambda _checked=False: self.edit_settings())
        self.activity_action = QAction("Activity", self)
        self.activity_action.setToolTip(
            "What changed in every pair, and who changed it; restore or undo (Ctrl+H)"
        )
        self.activity_action.setShortcut("Ctrl+H")
        self.activity_action.triggered.connect(lambda _checked=False: self.show_activity())
        for action, name in (
            (self.accounts_action, "accountsButton"),
            (self.sync_all_action, "syncAllButton"),
            (self.pause_action, "pauseButton"),
            (self.activity_action, "activityButton"),
            (self.settings_action, "settingsButton"),
        ):
            toolbar.addAction(action)
            widget = toolbar.widgetForAction(action)
            if widget is not None:
                widget.setObjectName(name)

        self.banner = QFrame(self)
        self.banner.setObjectName("banner")
        self.banner.setFrameShape(QFrame.Shape.StyledPanel)
        self.banner_label = QLabel(self.banner)
        self.banner_label.setObjectName("bannerLabel")
        self.banner_label.setWordWrap(True)
        self.banner_button = QPushButton(self.banner)
        self.banner_button.setObjectName("bannerButton")
        self.banner_button.hide()
        self.banner_button2 = QPushButton(self.banner)
        self.banner_button2.setObjectName("bannerButton2")
        self.banner_button2.hide()
        banner_layout = QHBoxLayout(self.banner)
        banner_layout.addWidget(self.banner_label, 1)
        banner_layout.addWidget(self.banner_button)
        banner_layout.addWidget(self.banner_button2)
        self.banner.hide()
        self._banner_callback: Callable[[], object] | None = None
        self._banner_callback2: Callable[[], object] | None = None
        self._banner_until_pairs = False
        self.banner_button.clicked.connect(self._on_banner_button)
        self.banner_button2.clicked.connect(self._on_banner_button2)
        #: Asks for a folder: (title, start folder) -> chosen folder or "" (tests replace it).
        self.folder_picker: Callable[[str, str], str] = lambda title, start: (
            QFileDialog.getExistingDirectory(self, title, start)
        )

        self.pairs_view = PairsView(controller, self)
        #: Opens a folder in the desktop's file manager; False when none could (tests
        #: replace it).
        self.url_opener: menus.UrlOpener = menus.default_opener
        self.menu_actions = menus.build_menus(self)
        self.progress_view = ProgressView(controller, self)
        self.issues_view = self._make_issues_view()
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("bottomTabs")
        self.tabs.addTab(self.progress_view, "Progress")
        self.tabs.addTab(self.issues_view, "Issues")
        self.activity_view = ActivityView(controller, self)
        self.activity_view.opener = functools.partial(menus.open_folder, self)
        self.tabs.addTab(self.activity_view, "Activity")

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.pairs_view)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 2)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.addWidget(self.banner)
        layout.addWidget(splitter, 1)
        self.setCentralWidget(central)
        geometry.place(self)  # the remembered place, or a first size from the screen
        self._placed = False

        self.pairs_view.add_requested.connect(self.add_pair)
        self.pairs_view.edit_requested.connect(self.edit_pair)
        self.pairs_view.remove_requested.connect(self.remove_pair)
        self.pairs_view.locate_requested.connect(self.locate_folder)
        self.pairs_view.review_requested.connect(self.review_deletions)
        self.pairs_view.open_folder_requested.connect(self._open_pair_folder)
        self.pairs_view.selection_changed.connect(self._on_selection)
        controller.overview_changed.connect(self._on_overview)
        controller.issues_changed.connect(self._on_issues_changed)
        controller.preview_ready.connect(self._on_preview_ready)
        controller.pairs_changed.connect(self._on_pairs_changed)
        controller.pair_updated.connect(self._on_pair_updated)
        self._safety_banner_for: str | None = None
        self._issue_pairs: set[str] = set()
        self._on_overview(controller.overview())
        self._on_pairs_changed()
        self._on_selection(self.pairs_view.selected_pair_id() or "")

    def _make_issues_view(self) -> IssuesView:
        view = IssuesView(self)
        view.resolve_requested.connect(self.controller.resolve)
        view.sides_provider = self.controller.conflict_sides  # the conflict center's facts
        # Copy link, and the archived blobs with Rehydrate (gui/item_actions.py).
        self.item_actions = attach_item_actions(view, self.pairs_view, self.controller)
        return view

    def add_account(self, then: Callable[[], object] | None = None) -> None:
        """Open the account dialog (non-blocking); ``then`` runs after a saved account."""
        from .widgets.account_dialog import AccountDialog

        dialog = AccountDialog(self.controller.config, self._save_account, parent=self)
        self.account_dialog = dialog

        def saved() -> None:
            if dialog.saved_account is not None and then is not None:
                then()

        dialog.accepted.connect(saved)
        dialog.open()

    def show_accounts(self) -> QDialog:
        """The Accounts view (non-modal, one at a time)."""
        from .widgets.accounts_dialog import AccountsDialog

        dialog = self.accounts_dialog
        if dialog is None or not dialog.isVisible():
            dialog = AccountsDialog(self.controller, self)
            self.accounts_dialog = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def _save_account(self, label: str, creds: Credentials, allow_plaintext: bool) -> AccountConfig:
        return self.controller.add_account(label, creds, allow_plaintext=allow_plaintext)

    def add_pair(self) -> None:
        """Open the pair dialog (after the account dialog when there is no account yet)."""
        if not self.controller.config.accounts:
            self.add_account(then=self.add_pair)
            return
        self._open_pair_dialog(None)

    def edit_pair(self, pair_id: str) -> None:
        if self.controller.pair(pair_id) is not None:
            self._open_pair_dialog(pair_id)

    def _open_pair_dialog(self, pair_id: str | None) -> None:
        from .widgets.pair_dialog import PairDialog

        pair = self.controller.pair(pair_id) if pair_id else None
        dialog = PairDialog(self.controller, pair, parent=self)
        self.pair_dialog = dialog

        def saved() -> None:
            if dialog.result_pair is not None:
                self._apply_pair(pair_id, dialog.result_pair)

        dialog.accepted.connect(saved)
        dialog.open()

    def _apply_pair(self, old_id: str | None, pair: object) -> bool:
        from blobsync.core.app.settings import PairConfig
        from blobsync.core.errors import BlobSyncError

        assert isinstance(pair, PairConfig)
        try:
            os.makedirs(pair.local_root, exist_ok=True)
            if old_id is None:
                self.controller.add_pair(pair)
            else:
                self.controller.update_pair(old_id, pair)
        except (OSError, BlobSyncError) as exc:
            QMessageBox.warning(self, "Cannot use this folder", str(exc))
            return False
        self.pairs_view.select_pair(pair.pair_id)
        return True

    def remove_pair(self, pair_id: str) -> None:
        pair = self.controller.pair(pair_id)
        if pair is None:
            return
        answer = QMessageBox.question(
            self,
            "Remove folder pair",
            f"Stop syncing {pair.local_root} with {pair.container}? No file or blob is deleted.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.controller.remove_pair(pair_id)

    # ---- app-wide --------------------------------------------------------------------

    def edit_settings(self) -> bool:
        """Bandwidth limits, check interval, start at login, machine name, recycle bins;
        True if saved."""
        from blobsync.gui.widgets.settings_dialog import SettingsDialog

        dialog = SettingsDialog(
            self.controller.config, self, set_machine_name=self.controller.service.set_machine_name
        )
        self.settings_dialog = dialog
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return False
        self.controller.settings_changed()
        return True

    def toggle_pause(self) -> None:
        self.controller.set_paused(not self.controller.everything_paused())

    def sync_selected(self) -> None:
        """Sync the selected pair now (Ctrl+S); say why not when it cannot."""
        pair_id = self.pairs_view.selected_pair_id()
        if pair_id is None:
            return
        if not self.controller.sync_now(pair_id):
            self._explain_no_sync(pair_id)

    def _explain_no_sync(self, pair_id: str) -> None:
        state = self.controller.pair_state(pair_id)
        if self.controller.everything_paused() or self.controller.is_paused(pair_id):
            self.show_banner(
                "This pair is paused, so it did not sync.",
                "Resume and sync",
                functools.partial(self._resume_and_sync, pair_id),
            )
        elif state is PairState.MISSING:
            self._on_pair_updated(pair_id)

    def _resume_and_sync(self, pair_id: str) -> None:
        if self.controller.everything_paused():
            self.controller.set_paused(False)
        if self.controller.is_paused(pair_id):
            self.controller.set_pair_paused(pair_id, False)
        self.controller.sync_now(pair_id)

    def refresh(self) -> None:
        """Re-read every pair's state and issues (F5)."""
        self.controller.refresh_all()

    def show_banner(
        self,
        text: str,
        button: str | None = None,
        callback: Callable[[], object] | None = None,
        second: tuple[str, Callable[[], object]] | None = None,
        *,
        until_pairs: bool = False,
    ) -> None:
        """A message above the pairs, with up to two one-click actions; ``until_pairs``:
        it goes away once a folder pair exists (the demo offer)."""
        self._banner_until_pairs = until_pairs
        self.banner_label.setText(text)
        self._banner_callback = callback
        self.banner_button.setVisible(button is not None)
        if button is not None:
            self.banner_button.setText(button)
        self.banner_button2.setVisible(second is not None)
        self._banner_callback2 = second[1] if second is not None else None
        if second is not None:
            self.banner_button2.setText(second[0])
        self.banner.show()

    def hide_banner(self) -> None:
        self.banner.hide()
        self._banner_callback = self._banner_callback2 = None
        self._banner_until_pairs = False
        self._safety_banner_for = None

    def _on_banner_button2(self) -> None:
        callback = self._banner_callback2
        self.hide_banner()
        if callback is not None:
            callback()

    def _on_banner_button(self) -> None:
        callback = self._banner_callback
        self.hide_banner()
        if callback is not None:
            callback()

    def bring_to_front(self) -> None:
        """Show, un-minimise and raise (second launch, tray click)."""
        self.show()
        self.setWindowState(
            (self.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive
        )
        self.raise_()
        self.activateWindow()

    def show_issues(self) -> None:
        """Bring the window forward on the issues tab, at a pair that needs attention."""
        self.bring_to_front()
        for pair in self.controller.pairs():
            if self.controller.status(pair.pair_id).issues:
                self.pairs_view.select_pair(pair.pair_id)
                break
        self.tabs.setCurrentWidget(self.issues_view)

    def show_activity(self) -> None:
        """Bring the window forward on the Activity tab (toolbar, Ctrl+H, the tray)."""
        self.bring_to_front()
        self.tabs.setCurrentWidget(self.activity_view)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._placed:
            self._placed = True
            # The window manager adds its frame when the window is mapped: fit again then.
            QTimer.singleShot(0, self._keep_on_screen)

    def _keep_on_screen(self) -> None:
        geometry.keep_on_screen(self)

    def closeEvent(self, event: QCloseEvent) -> None:
        geometry.remember(self)
        if self.keep_in_tray:
            event.ignore()
            self.hide()
        else:
            event.accept()

    # ---- signal handlers -------------------------------------------------------------

    def _on_overview(self, overview: Overview) -> None:
        self.pause_action.setText("Resume" if overview.paused else "Pause")
        self.menu_actions.pause.setText(
            "&Resume everything" if overview.paused else "&Pause everything"
        )
        self.sync_all_action.setEnabled(not overview.paused and bool(self.controller.pairs()))
        look = tray_look(overview)
        self.statusBar().showMessage(look.tooltip.replace("\n", " · "))
        headline = look.tooltip.splitlines()[0].removeprefix("BlobSync — ")
        self.setWindowTitle(f"BlobSync {__version__} — {headline}")
        self.tabs.setTabText(1, f"Issues ({overview.pending})" if overview.pending else "Issues")

    def _on_selection(self, pair_id: str) -> None:
        if pair_id:
            self.progress_view.show_pair(pair_id)

    def _on_pair_updated(self, pair_id: str) -> None:
        """Point at the deletion review when a safety valve stopped this pair's sync,
        and at Locate… / Remove pair when its folder is missing."""
        status = self.controller.status(pair_id)
        failure = status.failure
        self._update_notice()
        if self.controller.pair_state(pair_id) is PairState.MISSING:
            if self._safety_banner_for == (pair_id + "/missing") and self.banner.isVisible():
                return
            pair = self.controller.pair(pair_id)
            if pair is None:
                return
            self.show_banner(
                f"Folder missing ({pair_name(pair)}): {pair.local_root} is not there (moved, "
                "deleted, or a drive not mounted). Nothing syncs until it is back.",
                "Locate…",
                functools.partial(self.locate_folder, pair_id),
                ("Remove pair", functools.partial(self.remove_pair, pair_id)),
            )
            self._safety_banner_for = pair_id + "/missing"
            return
        if self._safety_banner_for == pair_id + "/missing":
            self.hide_banner()
        if failure is not None and failure.safety is not None and not status.syncing:
            if self._safety_banner_for == pair_id and self.banner.isVisible():
                return
            pair = self.controller.pair(pair_id)
            name = pair_name(pair) if pair else ""
            facts = failure.safety
            self._safety_banner_for = pair_id
            self.show_banner(
                f"{failure.title} ({name}): {failure.message} "
                f"Review the {plural(facts.deletes, 'file')} it would delete and choose "
                "what to do.",
                "Review deletions…",
                functools.partial(self.review_deletions, pair_id),
            )
        elif self._safety_banner_for == pair_id and (status.syncing or failure is None):
            self._safety_banner_for = None
            self.hide_banner()

    def locate_folder(self, pair_id: str) -> bool:
        """Ask where the pair's folder went and follow it (keeping the pair's state)."""
        from blobsync.core.errors import BlobSyncError

        pair = self.controller.pair(pair_id)
        if pair is None:
            return False
        start = os.path.dirname(pair.local_root.rstrip(os.sep)) or str(Path.home())
        while not os.path.isdir(start) and os.path.dirname(start) != start:
            start = os.path.dirname(start)
        folder = self.folder_picker(f"Where is the folder {pair_name(pair)} now?", start)
        if not folder:
            self._on_pair_updated(pair_id)
            return False
        try:
            self.controller.relocate_pair(pair_id, folder)
        except (BlobSyncError, OSError) as exc:
            self.show_banner(
                f"Cannot use this folder: {exc}",
                "Locate…",
                functools.partial(self.locate_folder, pair_id),
                ("Remove pair", functools.partial(self.remove_pair, pair_id)),
            )
            self._safety_banner_for = pair_id + "/missing"
            return False
        self.hide_banner()
        return True

    def _update_notice(self) -> None:
        """The Issues tab says what stops a pair besides its items."""
        words = []
        for pair in self.controller.pairs():
            state = self.controller.pair_state(pair.pair_id)
            if state is PairState.MISSING:
                words.append(f"The folder of {pair_name(pair)} is missing: {pair.local_root}.")
            elif state is PairState.REVIEW:
                words.append(f"{pair_name(pair)} was stopped for safety: deletions to review.")
            elif state in (PairState.ERROR, PairState.OFFLINE):
                failure = self.controller.status(pair.pair_id).failure
                if failure is not None:
                    words.append(f"{pair_name(pair)}: {failure.title}: {failure.message}")
        self.issues_view.set_notice(" ".join(words))

    def _open_pair_folder(self, pair_id: str) -> None:
        pair = self.controller.pair(pair_id)
        if pair is not None:
            menus.open_folder(self, pair.local_root, f"the folder of {pair_name(pair)}")

    def review_first(self) -> None:
        """Open the deletion review of the first pair stopped for safety."""
        for pair in self.controller.pairs():
            failure = self.controller.status(pair.pair_id).failure
            if failure is not None and failure.safety is not None:
                self.review_deletions(pair.pair_id)
                return

    def review_deletions(self, pair_id: str) -> None:
        """Open the deletion review of a pair stopped for safety (non-blocking)."""
        from .widgets.deletion_review import DeletionReview

        pair = self.controller.pair(pair_id)
        failure = self.controller.status(pair_id).failure
        if pair is None or failure is None or failure.safety is None:
            return
        self.bring_to_front()
        dialog = DeletionReview(pair_name(pair), failure.safety, self)
        self.review_dialog = dialog

        def chosen() -> None:
            self._on_review(pair_id, dialog)

        dialog.accepted.connect(chosen)
        dialog.finished.connect(lambda _r: self._after_review(pair_id))
        dialog.open()

    def _on_review(self, pair_id: str, dialog: QDialog) -> None:
        from .widgets.deletion_review import DeletionReview, ReviewChoice

        assert isinstance(dialog, DeletionReview)
        choice = dialog.choice
        if choice is ReviewChoice.RESTORE:
            self.controller.sync_now(pair_id, restore_deleted=True)
        elif choice is ReviewChoice.DELETE:
            self.controller.sync_now(pair_id, confirmed_deletes=dialog.facts.deletes)
        elif choice is ReviewChoice.PAUSE:
            self.controller.set_pair_paused(pair_id, True)

    def _after_review(self, pair_id: str) -> None:
        self.review_dialog = None
        self._on_pair_updated(pair_id)

    def _on_pairs_changed(self) -> None:
        """Keep the issues list's pairs in step with the configured pairs."""
        if self._banner_until_pairs and self.controller.pairs():
            self.hide_banner()
        current = {p.pair_id for p in self.controller.pairs()}
        for pair_id in self._issue_pairs - current:
            self.issues_view.remove_pair(pair_id)
        self._issue_pairs &= current
        for pair in self.controller.pairs():
            self._on_issues_changed(pair.pair_id, self.controller.status(pair.pair_id).issues)

    def _on_issues_changed(self, pair_id: str, issues: object) -> None:
        """The issues list shows every pair's pending items."""
        pair = self.controller.pair(pair_id)
        if pair is None or not isinstance(issues, list):
            return
        self.issues_view.set_pair_info(
            pair_id, pair.local_root, f"{Path(pair.local_root).name} ↔ {pair.container}"
        )
        self._issue_pairs.add(pair_id)
        self.issues_view.set_issues(pair_id, list(issues))

    def _sync_from_preview(self, pair_id: str) -> None:
        if not self.controller.sync_now(pair_id):
            self._explain_no_sync(pair_id)

    def _on_preview_ready(self, pair_id: str, result: SyncResult) -> None:
        pair = self.controller.pair(pair_id)
        if pair is None:
            return
        dialog = PreviewDialog(f"{pair.local_root} ↔ {pair.container}", result, self)
        self.preview_dialog = dialog
        dialog.accepted.connect(lambda pid=pair_id: self._sync_from_preview(pid))
        dialog.finished.connect(lambda _r: setattr(self, "preview_dialog", None))
        dialog.open()
