"""The tray icon: a small state machine from the app's :class:`Overview` to icon + tooltip.

:func:`tray_look` is pure (unit-tested): one icon per state (idle, syncing, paused,
offline, error, attention). Rule: whenever items are pending, the state is never
"idle"; the tooltip always says how many items need attention. :class:`Tray` wraps
``QSystemTrayIcon``: its menu is rebuilt each time it is shown (Sync now, Pause/Resume,
Open BlobSync, Open folder, "N items need attention…", the five latest changes under
"Recent changes" — each opens its file, or the folder it was in when it is gone — and
"All activity…", Quit) and it shows notifications the controller asks for (new
conflicts, errors, what a restore or undo did). The latest changes are read off the GUI
thread after every finished sync, so opening the menu never waits for the database.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from blobsync.core.app.recovery import PairChange, change_words
from blobsync.core.app.status import (
    Overview,
    PairState,
    attention_words,
    plural,
    waiting_words,
)

from .controller import Controller
from .icons import load_icon
from .models.activity_model import ActivityQuery, HistoryLoader

#: How many of the latest changes the tray menu lists.
RECENT_IN_MENU = 5

#: One icon per state; states without one of their own borrow one ("Checking…" the
#: "not synced yet" one, an expiring SAS the warning, an expired sign-in the error).
_ICON_OF = {
    PairState.UNKNOWN: PairState.NEW,
    PairState.EXPIRES_SOON: PairState.ATTENTION,
    PairState.SIGN_IN_EXPIRED: PairState.ERROR,
}
ICON_NAMES = {state: f"tray-{_ICON_OF.get(state, state).value}.svg" for state in PairState}


@dataclass(frozen=True, slots=True)
class TrayLook:
    """What the tray shows for one overview."""

    state: PairState
    icon_name: str
    tooltip: str


def format_time(epoch: float | None, now: float | None = None) -> str:
    """'never', 'just now', '5 min ago', or a clock time / date for older ones."""
    if epoch is None:
        return "never"
    now = time.time() if now is None else now
    ago = now - epoch
    if ago < 60:
        return "just now"
    if ago < 3600:
        return f"{int(ago // 60)} min ago"
    if ago < 86400:
        return time.strftime("%H:%M", time.localtime(epoch))
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(epoch))


def tray_state(ov: Overview) -> PairState:
    """The one state the tray shows; never IDLE while anything is pending or wrong."""
    return ov.state()


def tray_look(ov: Overview, now: float | None = None) -> TrayLook:
    """Icon name and tooltip for an overview."""
    state = tray_state(ov)
    head = {
        PairState.IDLE: "Up to date",
        PairState.SYNCING: "Syncing…",
        PairState.PAUSED: "Paused",
        PairState.OFFLINE: "Offline: cannot reach the storage account",
        PairState.ERROR: "Error",
        PairState.ATTENTION: "Needs attention",
        PairState.EXPIRES_SOON: "A SAS expires within a week",
        PairState.SIGN_IN_EXPIRED: "Sign-in expired",
        PairState.UNFINISHED: f"Not finished — {waiting_words(ov.waiting)}",
        PairState.NEW: "Not synced yet" if ov.pairs else "No folders synced yet",
        PairState.UNKNOWN: "Checking…",
        PairState.REVIEW: "Stopped for safety: deletions to review",
        PairState.MISSING: "Folder missing",
    }[state]
    lines = [f"BlobSync — {head}"]
    if state in (PairState.ERROR, PairState.SIGN_IN_EXPIRED) and ov.error_message:
        lines.append(ov.error_message)
    if ov.paused and state is not PairState.PAUSED:
        lines.append("Paused")
    if ov.pending:
        lines.append(attention_words(ov.pending))
    for other, words in (
        (PairState.REVIEW, "stopped for safety"),
        (PairState.MISSING, "folder missing"),
        (PairState.UNFINISHED, "not finished"),
    ):
        n = ov.count(other)
        if n and (state is not other or ov.pairs > 1):
            lines.append(f"{plural(n, 'pair')}: {words}")
    if state is PairState.PAUSED and ov.waiting:
        lines.append(waiting_words(ov.waiting).capitalize())
    lines.append(f"Last sync: {format_time(ov.last_sync, now)}")
    return TrayLook(state, ICON_NAMES[state], "\n".join(lines))


class Tray(QObject):
    """The system tray icon and its menu."""

    show_window_requested = Signal()
    show_issues_requested = Signal()
    review_requested = Signal()  # a pair stopped for safety: open its deletion review
    show_activity_requested = Signal()
    quit_requested = Signal()

    def __init__(self, controller: Controller, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.icon = QSystemTrayIcon(self)
        #: Opens a file or folder in the desktop's handler; False when none could (tests
        #: replace it).
        self.url_opener: Callable[[QUrl], bool] = lambda url: bool(QDesktopServices.openUrl(url))
        self.menu = QMenu()
        self.menu.aboutToShow.connect(self.rebuild_menu)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        self.look = tray_look(controller.overview())
        controller.overview_changed.connect(self.update_look)
        controller.notify.connect(self.show_notification)
        #: The latest changes (every pair), as last read; the menu lists them.
        self.recent: list[PairChange] = []
        self.recent_loader = HistoryLoader(controller.history, self)
        self.recent_loader.loaded.connect(self._on_recent)
        controller.history_changed.connect(self.load_recent)
        self.update_look(controller.overview())
        self.rebuild_menu()
        self.load_recent()

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def update_look(self, overview: Overview) -> None:
        self.look = tray_look(overview)
        self.icon.setIcon(load_icon(self.look.icon_name))
        self.icon.setToolTip(self.look.tooltip)

    def show_notification(self, title: str, message: str, is_error: bool) -> None:
        if not self.icon.isVisible() or not QSystemTrayIcon.supportsMessages():
            return
        kind = (
            QSystemTrayIcon.MessageIcon.Critical
            if is_error
            else QSystemTrayIcon.MessageIcon.Warning
        )
        self.icon.showMessage(title, message, kind, 8000)

    def rebuild_menu(self) -> None:
        """Fresh menu items with current counts (called whenever the menu opens)."""
        ctl = self.controller
        ov = ctl.overview()
        menu = self.menu
        menu.clear()
        sync = QAction("Sync now", menu)
        sync.setEnabled(bool(ctl.pairs()) and not ov.paused)
        sync.triggered.connect(ctl.sync_all)
        menu.addAction(sync)
        pause = QAction("Resume" if ov.paused else "Pause", menu)
        pause.triggered.connect(self._toggle_pause)
        menu.addAction(pause)
        menu.addSeparator()
        open_app = QAction("Open BlobSync", menu)
        open_app.triggered.connect(self.show_window_requested)
        menu.addAction(open_app)
        pairs = ctl.pairs()
        if len(pairs) <= 1:
            folder = QAction("Open folder", menu)
            folder.setEnabled(bool(pairs))
            if pairs:
                root = pairs[0].local_root
                folder.triggered.connect(lambda _=False, r=root: self._open_folder(r))
            menu.addAction(folder)
        else:
            sub = menu.addMenu("Open folder")
            for pair in pairs:
                act = QAction(f"{Path(pair.local_root).name} ↔ {pair.container}", sub)
                act.triggered.connect(lambda _=False, r=pair.local_root: self._open_folder(r))
                sub.addAction(act)
        if ov.count(PairState.MISSING):
            missing = QAction("Folder missing: locate it…", menu)
            missing.triggered.connect(self.show_window_requested)
            menu.addAction(missing)
        if ov.count(PairState.REVIEW):
            review = QAction("Review deletions…", menu)
            review.triggered.connect(self.review_requested)
            menu.addAction(review)
        if ov.pending:
            attention = QAction(attention_words(ov.pending) + "…", menu)
            attention.triggered.connect(self.show_issues_requested)
            menu.addAction(attention)
        self._add_recent(menu)
        menu.addSeparator()
        quit_action = QAction("Quit", menu)
        quit_action.triggered.connect(self.quit_requested)
        menu.addAction(quit_action)

    def load_recent(self) -> None:
        """Read the latest changes again (off the GUI thread)."""
        self.recent_loader.load(ActivityQuery(limit=RECENT_IN_MENU))

    def _on_recent(self, _number: int, rows: object) -> None:
        if isinstance(rows, list):
            self.recent = rows[:RECENT_IN_MENU]
            if not self.menu.isVisible():
                self.rebuild_menu()

    def _add_recent(self, menu: QMenu) -> None:
        """The "Recent changes" section: one entry per change, "name — what happened",
        then a way to the whole Activity view."""
        if not self.recent:
            return
        menu.addSeparator()
        head = QAction("Recent changes", menu)
        head.setEnabled(False)
        menu.addAction(head)
        for row in self.recent:
            name = Path(row.change.rel_path).name or row.change.rel_path
            act = QAction(f"{name} — {change_words(row.change)}", menu)
            where = row.local_path()
            act.setToolTip(str(where) if where is not None else row.change.rel_path)
            act.setEnabled(where is not None)
            act.triggered.connect(lambda _=False, r=row: self.open_change(r))
            menu.addAction(act)
        everything = QAction("All activity…", menu)
        everything.triggered.connect(self.show_activity_requested)
        menu.addAction(everything)

    def open_change(self, row: PairChange) -> bool:
        """Open the changed file; when it is gone, the folder it was in."""
        where = row.local_path()
        if where is None or row.pair is None:
            return False
        if where.is_file():
            return self._open(str(where))
        folder = str(where.parent)
        while not os.path.isdir(folder) and len(folder) > len(row.pair.local_root):
            folder = os.path.dirname(folder)
        return self._open(folder)

    def _toggle_pause(self) -> None:
        self.controller.set_paused(not self.controller.everything_paused())

    def _open_folder(self, local_root: str) -> None:
        self._open(local_root)

    def _open(self, path: str) -> bool:
        if not self.url_opener(QUrl.fromLocalFile(path)):
            self.show_notification("No file manager", f"No file manager could open {path}.", True)
            return False
        return True

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.show_window_requested.emit()
