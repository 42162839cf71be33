"""The "needs attention" list: every skipped item with its reason, and what to do about it.

The view never touches the engine: it asks for a resolution with the
``resolve_requested(pair_id, rel_paths, resolution)`` signal (one emission per pair),
which the controller turns into ``SyncEngine.resolve`` calls off the GUI thread.
Buttons follow the selection: Retry for any selected item, Keep mine / Take theirs /
Keep both only when every selected item is a conflict (any number of them, across
pairs), Show in folder for one item, Compare versions… (beside the item's details) for
one kept-both conflict: the conflict center
(:class:`~..widgets.conflict_center.ConflictCenter`: both versions side by side, a diff
for text), fed by ``sides_provider`` (the controller's ``conflict_sides``).
Keep mine and Take theirs each send one version to a recycle bin, so they ask first
(``confirm``), naming how many items and the first of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QItemSelection, QPoint, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from blobsync.core.app.status import plural
from blobsync.core.engine import Resolution
from blobsync.core.engine.recovery import ConflictSides
from blobsync.core.errors import BlobSyncError
from blobsync.core.models import Issue, IssueKind

from ..models.issues_model import IssueRow, IssuesModel
from ..qt_helpers import named
from ..widgets.conflict_center import ConflictCenter
from .moved_out_actions import MovedOutActions

#: Paths named in the confirmation of a resolution that sends versions to a bin.
FIRST_PATHS = 5

#: (pair_id, rel_path) -> both versions of a kept-both conflict, or None.
SidesProvider = Callable[[str, str], ConflictSides | None]


def _ask(parent: QWidget, title: str, text: str) -> bool:
    answer = QMessageBox.question(
        parent,
        title,
        text,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes


def confirm_words(resolution: Resolution, rel_paths: list[str]) -> tuple[str, str]:
    """(title, text) of the question before Keep mine / Take theirs on these items."""
    count = len(rel_paths)
    items = plural(count, "conflict")
    if resolution is Resolution.KEEP_MINE:
        title = "Keep your version?"
        what = f"Keep your version of {items}?" if count > 1 else "Keep your version?"
    else:
        title = "Take their version?"
        what = f"Take their version of {items}?" if count > 1 else "Take their version?"
    what += " For each, the other" if count > 1 else " The other"
    what += " version goes to the recycle bin, where you can restore it from."
    names = "\n".join(f"  {path}" for path in rel_paths[:FIRST_PATHS])
    if count > FIRST_PATHS:
        names += f"\n  … and {plural(count - FIRST_PATHS, 'more', 'more')}"
    return title, f"{what}\n\n{names}"


class IssuesView(QWidget):
    """Table of pending issues with Retry / conflict / Show in folder actions."""

    #: (pair_id, rel_paths, Resolution value)
    resolve_requested = Signal(str, list, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = IssuesModel(self)
        self._roots: dict[str, str] = {}
        #: Opens a folder in the file manager; tests replace it.
        self.url_opener: Callable[[QUrl], Any] = QDesktopServices.openUrl
        #: Both versions of a conflict (the main window gives the controller's).
        self.sides_provider: SidesProvider | None = None
        #: Asks (title, text) before a choice that sends versions to a bin; tests replace it.
        self.confirm: Callable[[str, str], bool] = lambda title, text: _ask(self, title, text)
        #: The open conflict center, if any, and the (pair_id, rel_path) it shows.
        self.conflict_center: ConflictCenter | None = None
        self._center_key: tuple[str, str] | None = None

        self.summary = named(QLabel(), "issuesSummary")
        self.summary.setWordWrap(True)
        #: What stops a pair besides its items (a missing folder, a safety stop, an error).
        self.notice = named(QLabel(), "issuesNotice")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #b00020;")
        self.notice.hide()

        self.table = named(QTableView(), "issuesTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(IssuesModel.ITEM, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(IssuesModel.PROBLEM, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(IssuesModel.DETAILS, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(IssuesModel.FOLDER, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setColumnWidth(IssuesModel.ITEM, 220)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.table.doubleClicked.connect(self._on_double_clicked)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._on_context_menu)

        self.detail = named(QLabel(), "issueDetail")
        self.detail.setWordWrap(True)

        def button(name: str, text: str, tip: str) -> QPushButton:
            btn = named(QPushButton(text), name)
            btn.setToolTip(tip)
            return btn

        self.retry_button = button("retryButton", "Re&try", "Try the selected items again")
        self.retry_all_button = button(
            "retryAllButton",
            "Retry a&ll",
            "Try every item again (conflicts stay until you choose what to keep)",
        )
        self.keep_mine_button = button(
            "keepMineButton", "Keep &mine", "Upload this computer's version over the other one"
        )
        self.take_theirs_button = button(
            "takeTheirsButton", "Ta&ke theirs", "Replace this computer's version with the other one"
        )
        self.keep_both_button = button(
            "keepBothButton", "Keep &both", "Keep both versions under different names"
        )
        self.ignore_button = button(
            "ignoreButton",
            "I&gnore",
            "Leave the selected items alone from now on: not synced, not listed again",
        )
        self.show_in_folder_button = button(
            "showInFolderButton", "Show in f&older", "Open the folder that holds this item"
        )
        self.compare_button = button(
            "compareButton",
            "&Compare versions…",
            "Both versions side by side: size, time, machine, and a diff for text",
        )
        self.compare_button.clicked.connect(self._on_compare)
        self.retry_button.clicked.connect(self._on_retry)
        self.retry_all_button.clicked.connect(self._on_retry_all)
        self.keep_mine_button.clicked.connect(self._on_keep_mine)
        self.take_theirs_button.clicked.connect(self._on_take_theirs)
        self.keep_both_button.clicked.connect(self._on_keep_both)
        self.show_in_folder_button.clicked.connect(self._on_show_in_folder)
        self.ignore_button.clicked.connect(self._on_ignore)

        buttons = QHBoxLayout()
        for btn in (self.retry_button, self.retry_all_button):
            buttons.addWidget(btn)
        buttons.addSpacing(8)
        for btn in (self.keep_mine_button, self.take_theirs_button, self.keep_both_button):
            buttons.addWidget(btn)
        buttons.addStretch(1)
        buttons.addWidget(self.ignore_button)
        buttons.addWidget(self.show_in_folder_button)
        self.moved_out = MovedOutActions(self, buttons, self._emit, self.selected_rows)

        layout = QVBoxLayout(self)
        layout.addWidget(self.notice)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        # The selected item's details, with Compare versions… beside them for a
        # kept-both conflict (shown only then, so the button row below keeps its width
        # on small screens; a conflict's details take two lines, as high as the button).
        self.detail_row = named(QWidget(), "issueDetailRow")
        detail_layout = QHBoxLayout(self.detail_row)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.detail, 1)
        detail_layout.addWidget(self.compare_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.detail_row)
        layout.addLayout(buttons)
        self._refresh()

    # ---- feeding -----------------------------------------------------------------

    def set_issues(self, pair_id: str, issues: list[Issue]) -> None:
        """Show these pending issues for the pair (replacing what it had).

        The selection survives the refresh for items still pending, so a sync that
        finishes while the user is choosing does not drop their choice.
        """
        keep = {(row.pair_id, row.issue.rel_path) for row in self.selected_rows()}
        self.model.set_issues(pair_id, issues)
        if keep:
            self._select(keep)
        self._refresh()
        self._check_center()

    def set_pair_info(self, pair_id: str, local_root: str, label: str | None = None) -> None:
        """Where the pair's folder is (for Show in folder) and its name in the list."""
        self._roots[pair_id] = local_root
        self.model.set_pair_label(pair_id, label or os.path.basename(local_root.rstrip(os.sep)))

    def set_notice(self, text: str) -> None:
        """Say what stops a pair besides its items ("" hides it)."""
        if text != self.notice.text():
            self.notice.setText(text)
            self.notice.setVisible(bool(text))
            self._refresh()

    def remove_pair(self, pair_id: str) -> None:
        """Drop a pair's issues after it was removed."""
        self.model.remove_pair(pair_id)
        self._roots.pop(pair_id, None)
        self._refresh()
        self._check_center()

    # ---- selection ---------------------------------------------------------------

    def selected_rows(self) -> list[IssueRow]:
        """The selected rows, in display order."""
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.model.row_at(row) for row in rows if row < self.model.rowCount()]

    def select_rel_paths(self, rel_paths: list[str]) -> None:
        """Select the rows of these items (any pair)."""
        wanted = set(rel_paths)
        self._select(
            {(r.pair_id, r.issue.rel_path) for r in self.model.rows() if r.issue.rel_path in wanted}
        )

    def _select(self, keys: set[tuple[str, str]]) -> None:
        self.table.clearSelection()
        selection = self.table.selectionModel()
        flags = selection.SelectionFlag.Select | selection.SelectionFlag.Rows
        for row, item in enumerate(self.model.rows()):
            if (item.pair_id, item.issue.rel_path) in keys:
                selection.select(self.model.index(row, 0), flags)

    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(self, *_: object) -> None:
        self._refresh()

    def _refresh(self) -> None:
        selected = self.selected_rows()
        self.moved_out.refresh(selected)
        total = self.model.rowCount()
        conflicts = self.model.conflict_count()
        if total == 0:
            self.summary.setText(
                "No items need your attention."
                if self.notice.text()
                else "Nothing needs your attention."
            )
        else:
            words = f"{total} item{'s' if total != 1 else ''} need{'s' if total == 1 else ''} "
            words += "your attention"
            if conflicts:
                words += f" ({conflicts} conflict{'s' if conflicts != 1 else ''})"
            self.summary.setText(words + ". Select an item to see what you can do.")
        self.retry_button.setEnabled(bool(selected))
        self.retry_all_button.setEnabled(
            any(r.issue.kind is not IssueKind.CONFLICT for r in self.model.rows())
        )
        all_conflicts = bool(selected) and all(row.is_conflict for row in selected)
        for btn in (self.keep_mine_button, self.take_theirs_button, self.keep_both_button):
            btn.setEnabled(all_conflicts)
        self.ignore_button.setEnabled(
            bool(selected) and not any(r.issue.kind is IssueKind.CONFLICT for r in selected)
        )
        self.show_in_folder_button.setEnabled(
            len(selected) == 1 and selected[0].pair_id in self._roots
        )
        comparable = len(selected) == 1 and self._comparable(selected[0])
        self.compare_button.setEnabled(comparable)
        self.compare_button.setVisible(comparable)
        if len(selected) == 1:
            issue = selected[0].issue
            text = f"<b>{_escape(issue.rel_path)}</b> — {_escape(issue.describe())}<br>"
            text += _escape(issue.message)
            if issue.conflict_copy and issue.conflict_copy not in issue.message:
                text += f"<br>Your version was kept as <i>{_escape(issue.conflict_copy)}</i>."
            self.detail.setText(text)
        elif selected:
            text = f"{len(selected)} items selected."
            if all_conflicts:
                text += " Keep mine, Take theirs or Keep both applies to all of them."
            self.detail.setText(text)
        else:
            self.detail.setText("")

    # ---- actions -----------------------------------------------------------------

    def _emit(self, rows: list[IssueRow], resolution: Resolution) -> None:
        by_pair: dict[str, list[str]] = {}
        for row in rows:
            by_pair.setdefault(row.pair_id, []).append(row.issue.rel_path)
        for pair_id, rel_paths in by_pair.items():
            self.resolve_requested.emit(pair_id, rel_paths, resolution.value)

    @Slot()
    def _on_retry(self) -> None:
        self._emit(self.selected_rows(), Resolution.RETRY)

    @Slot()
    def _on_retry_all(self) -> None:
        # Conflicts stay until the user chooses: retrying cannot settle them.
        rows = [r for r in self.model.rows() if r.issue.kind is not IssueKind.CONFLICT]
        self._emit(rows, Resolution.RETRY)

    def _emit_conflict(self, resolution: Resolution) -> None:
        rows = self.selected_rows()
        if rows and all(row.is_conflict for row in rows):
            self.resolve_rows(rows, resolution)

    def resolve_rows(self, rows: list[IssueRow], resolution: Resolution) -> bool:
        """Ask for ``resolution`` of these conflicts, after a confirmation when it sends
        one version of each to a recycle bin; False if the user said no."""
        if resolution in (Resolution.KEEP_MINE, Resolution.TAKE_THEIRS):
            title, text = confirm_words(resolution, [r.issue.rel_path for r in rows])
            if not self.confirm(title, text):
                return False
        self._emit(rows, resolution)
        return True

    @Slot()
    def _on_ignore(self) -> None:
        rows = self.selected_rows()
        if rows and not any(r.issue.kind is IssueKind.CONFLICT for r in rows):
            self._emit(rows, Resolution.IGNORE)

    @Slot()
    def _on_keep_mine(self) -> None:
        self._emit_conflict(Resolution.KEEP_MINE)

    @Slot()
    def _on_take_theirs(self) -> None:
        self._emit_conflict(Resolution.TAKE_THEIRS)

    @Slot()
    def _on_keep_both(self) -> None:
        self._emit_conflict(Resolution.KEEP_BOTH)

    @Slot()
    def _on_show_in_folder(self) -> None:
        rows = self.selected_rows()
        if len(rows) != 1:
            return
        folder = self.folder_of(rows[0])
        if folder is not None and not self.url_opener(QUrl.fromLocalFile(folder)):
            # A desktop without a file manager: say so, and where the item is.
            self.detail.setText(
                f"No file manager could open the folder. The item is in {_escape(folder)}."
            )

    def context_menu(self) -> QMenu:
        """The right-click menu: the buttons' actions for the selection."""
        menu = QMenu(self)
        for btn in (
            self.retry_button,
            self.compare_button,
            self.keep_mine_button,
            self.take_theirs_button,
            self.keep_both_button,
            self.ignore_button,
            self.show_in_folder_button,
        ):
            act = QAction(btn.text(), menu)
            act.setEnabled(btn.isEnabled())
            act.triggered.connect(btn.click)
            menu.addAction(act)
        return menu

    def _on_context_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        if not self.table.selectionModel().isRowSelected(index.row()):
            self.table.selectRow(index.row())
        self.context_menu().popup(self.table.viewport().mapToGlobal(pos))

    def _on_double_clicked(self, *_: object) -> None:
        rows = self.selected_rows()
        if len(rows) == 1 and self._comparable(rows[0]):
            self.open_conflict_center(rows[0])
        else:
            self._on_show_in_folder()

    # ---- the conflict center -----------------------------------------------------

    def _pending(self, pair_id: str, rel_path: str) -> bool:
        """Whether this conflict is still pending (not settled meanwhile)."""
        return any(
            (r.pair_id, r.issue.rel_path) == (pair_id, rel_path) and r.is_conflict
            for r in self.model.rows()
        )

    def _check_center(self) -> None:
        """The open conflict center's conflict went away: nothing is left to choose."""
        center, key = self.conflict_center, self._center_key
        if center is not None and key is not None and not self._pending(*key):
            center.settled()

    def _comparable(self, row: IssueRow) -> bool:
        """A kept-both conflict of a pair whose folder is known."""
        issue = row.issue
        return (
            issue.kind is IssueKind.CONFLICT
            and bool(issue.conflict_copy)
            and row.pair_id in self._roots
        )

    @Slot()
    def _on_compare(self) -> None:
        rows = self.selected_rows()
        if len(rows) == 1 and self._comparable(rows[0]):
            self.open_conflict_center(rows[0])

    def open_conflict_center(self, row: IssueRow) -> ConflictCenter:
        """Both versions of this conflict side by side (non-modal); its choice comes
        back here, through the same confirmation as the buttons."""
        sides: ConflictSides | None = None
        problem = ""
        if self.sides_provider is not None:
            try:
                sides = self.sides_provider(row.pair_id, row.issue.rel_path)
            except (BlobSyncError, OSError) as exc:
                problem = f"The details could not be read: {exc}"
            if sides is None and not problem:
                problem = "The details of this conflict are not recorded any more."
        if self.conflict_center is not None:
            self.conflict_center.close()
        dialog = ConflictCenter(
            row.issue,
            self._roots.get(row.pair_id, ""),
            sides,
            problem=problem,
            parent=self,
            url_opener=self.url_opener,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.conflict_center = dialog
        self._center_key = (row.pair_id, row.issue.rel_path)

        def chosen(resolution: Resolution) -> None:
            # Settled meanwhile (another machine, a sync): a choice would act on a file
            # that is no conflict any more.
            if not self._pending(row.pair_id, row.issue.rel_path):
                dialog.settled()
            elif self.resolve_rows([row], resolution):
                dialog.accept()

        def gone(_result: int) -> None:
            if self.conflict_center is dialog:
                self.conflict_center = None
                self._center_key = None

        dialog.chosen.connect(chosen)
        dialog.finished.connect(gone)
        dialog.setWindowModality(Qt.WindowModality.NonModal)
        dialog.show()
        return dialog

    def folder_of(self, row: IssueRow) -> str | None:
        """The local folder that holds the item (its parent), or None if unknown."""
        root = self._roots.get(row.pair_id)
        if root is None:
            return None
        parent = os.path.dirname(row.issue.rel_path)
        folder = os.path.join(root, *parent.split("/")) if parent else root
        # A vanished sub-folder: open the nearest folder that still exists.
        while not os.path.isdir(folder) and len(folder) > len(root):
            folder = os.path.dirname(folder)
        return os.path.normpath(folder)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
