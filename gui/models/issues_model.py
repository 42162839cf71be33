"""Table model of the items that need the user: one row per pending issue, per pair.

Rows come from :meth:`SyncEngine.pending_issues` (through the controller); the model
only shows them in words (``Issue.describe()`` + ``Issue.message``) and tells the view
which resolutions make sense for a row. Kept free of widgets so it is tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QStyle

from blobsync.core.models import Issue, IssueKind

from .rows import RowsModel

#: Issue kinds for which Keep mine / Take theirs / Keep both make sense.
CONFLICT_KINDS = frozenset({IssueKind.CONFLICT, IssueKind.CONCURRENT_CHANGE})


@dataclass(frozen=True, slots=True)
class IssueRow:
    """One row: which pair the issue belongs to, and the issue itself."""

    pair_id: str
    issue: Issue

    @property
    def is_conflict(self) -> bool:
        return self.issue.kind in CONFLICT_KINDS


class IssuesModel(RowsModel[IssueRow]):
    """Pending issues of every pair, grouped by pair, in the order the engine gave them."""

    COLUMNS = ("Item", "Problem", "Details", "Folder")
    ITEM, PROBLEM, DETAILS, FOLDER = range(4)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._by_pair: dict[str, list[Issue]] = {}
        self._labels: dict[str, str] = {}
        self._rows: list[IssueRow] = []

    # ---- feeding -----------------------------------------------------------------

    def set_issues(self, pair_id: str, issues: list[Issue]) -> None:
        """Replace the issues of one pair (an empty list clears it)."""
        self.beginResetModel()
        if issues:
            self._by_pair[pair_id] = list(issues)
        else:
            self._by_pair.pop(pair_id, None)
        self._rebuild()
        self.endResetModel()

    def remove_pair(self, pair_id: str) -> None:
        """Forget a pair that was removed from the settings."""
        self.set_issues(pair_id, [])
        self._labels.pop(pair_id, None)

    def set_pair_label(self, pair_id: str, label: str) -> None:
        """The words shown in the Folder column for this pair (default: the pair id)."""
        self._labels[pair_id] = label
        if self._rows:
            top = self.index(0, self.FOLDER)
            bottom = self.index(len(self._rows) - 1, self.FOLDER)
            self.dataChanged.emit(top, bottom, [Qt.ItemDataRole.DisplayRole])

    def _rebuild(self) -> None:
        self._rows = [
            IssueRow(pair_id, issue)
            for pair_id, issues in self._by_pair.items()
            for issue in issues
        ]

    # ---- reading -----------------------------------------------------------------

    def row_at(self, row: int) -> IssueRow:
        """The row's pair and issue. Raises IndexError."""
        return self._rows[row]

    def rows(self) -> list[IssueRow]:
        """Every row, in display order."""
        return list(self._rows)

    def issue_count(self, pair_id: str | None = None) -> int:
        """Number of pending issues, of one pair or of all."""
        if pair_id is None:
            return len(self._rows)
        return len(self._by_pair.get(pair_id, []))

    def conflict_count(self) -> int:
        """Number of rows that are conflicts (for badges and the tray menu)."""
        return sum(1 for row in self._rows if row.is_conflict)

    def pair_ids(self) -> list[str]:
        """Pairs that have at least one pending issue."""
        return list(self._by_pair)

    # ---- QAbstractTableModel -------------------------------------------------------

    def cell(self, row: IssueRow, column: int, role: int) -> Any:
        issue = row.issue
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.ITEM:
                return issue.rel_path
            if column == self.PROBLEM:
                return issue.describe()
            if column == self.DETAILS:
                return issue.message
            if column == self.FOLDER:
                return self._labels.get(row.pair_id, row.pair_id)
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = f"{issue.rel_path}\n{issue.describe()}\n{issue.message}"
            if issue.conflict_copy:
                tip += f"\nYour copy was kept as: {issue.conflict_copy}"
            if not issue.retryable:
                tip += "\nRetrying will not help until the cause is fixed."
            return tip
        if role == Qt.ItemDataRole.DecorationRole and column == self.ITEM:
            return _kind_icon(issue.kind)
        return None


def _kind_icon(kind: IssueKind) -> Any:
    """A standard icon: warning for conflicts and races, critical for errors."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return None
    style = app.style()
    if kind in CONFLICT_KINDS:
        return style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
    if kind in (IssueKind.SYMLINK, IssueKind.NAME_NOT_ALLOWED, IssueKind.NAME_COLLISION):
        return style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation)
    return style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical)
