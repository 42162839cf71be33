"""The "needs attention" list: every skipped item with its reason, and what to do about it.

The view never touches the engine: it asks for a resolution with the
``resolve_requested(pair_id, rel_paths, resolution)`` signal (one emission per pair),
which the controller turns into ``SyncEngine.resolve`` calls off the GUI thread.
Buttons follow the selection: Retry for any selected item, Keep mine / Take theirs /
Keep both only when every selected item is a conflict, Show in folder for one item.
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
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from blobsync.core.engine import Resolution
from blobsync.core.models import Issue, IssueKind

from ..models.issues_model import IssueRow, IssuesModel
from ..qt_helpers import named
from .moved_out_actions import MovedOutActions


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
        layout.addWidget(self.detail)
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
        if len(selected) == 1:
            issue = selected[0].issue
            text = f"<b>{_escape(issue.rel_path)}</b> — {_escape(issue.describe())}<br>"
            text += _escape(issue.message)
            if issue.conflict_copy and issue.conflict_copy not in issue.message:
                text += f"<br>Your version was kept as <i>{_escape(issue.conflict_copy)}</i>."
            self.detail.setText(text)
        elif selected:
            self.detail.setText(f"{len(selected)} items selected.")
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
            self._emit(rows, resolution)

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
        self._on_show_in_folder()

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
