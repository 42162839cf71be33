"""The Activity table: recent changes of every pair, newest first, and their loader.

Rows are :class:`~blobsync.core.app.recovery.PairChange` (a history row with its pair),
shown in the words both clients share (``change_words``: "Deleted here: deleted on
laptop-2"). :class:`HistoryLoader` reads the history database on Qt's thread pool, so
a busy database (another process writing) never stalls the window; each answer
carries the number of the request it answers and only the newest one is kept. The
model holds no widgets and is tested alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QObject,
    Qt,
    QThreadPool,
    Signal,
)

from blobsync.core.app.progress import human_bytes
from blobsync.core.app.recovery import (
    KIND_GROUPS,
    UNSAVED_PAIR,
    HistoryReader,
    PairChange,
    change_words,
    when_words,
)
from blobsync.core.app.settings import PairConfig

from .rows import RowsModel

log = logging.getLogger(__name__)


#: At most this many changes in the view (the newest); the filters narrow it down.
ACTIVITY_LIMIT = 500

#: The kind filter's choices: label -> KIND_GROUPS key (None: every kind).
KIND_CHOICES: tuple[tuple[str, str | None], ...] = (
    ("All changes", None),
    *((name.capitalize(), name) for name in KIND_GROUPS),
)


def pair_label(pair: PairConfig | None) -> str:
    """What the Activity view calls a pair: its name, or its folder's."""
    if pair is None:
        return UNSAVED_PAIR
    return pair.name or Path(pair.local_root).name or pair.local_root


@dataclass(frozen=True, slots=True)
class ActivityQuery:
    """What to read: one pair (by id) or all, one kind group or all, a text found in
    the path or the machine name, one run."""

    pair_id: str | None = None
    group: str | None = None
    text: str = ""
    limit: int = ACTIVITY_LIMIT
    run_id: str | None = None

    def read(self, reader: HistoryReader) -> list[PairChange]:
        """The matching changes, newest first (a query for a pair that has none, or
        that is not configured any more, gives none)."""
        pair = None
        if self.pair_id is not None:
            pair = next((p for p in reader.keys.values() if p.pair_id == self.pair_id), None)
            if pair is None:
                return []
        kinds = KIND_GROUPS[self.group] if self.group is not None else None
        return reader.changes(
            pair=pair, kinds=kinds, text=self.text or None, run_id=self.run_id, limit=self.limit
        )


class HistoryLoader(QObject):
    """Reads the history off the GUI thread. ``load(...)`` returns a request number;
    ``loaded(number, rows)`` answers it on the GUI thread (``rows`` is a
    ``list[PairChange]``, empty when the database could not be read)."""

    loaded = Signal(int, object)
    _answer = Signal(int, object)  # emitted on a pool thread, delivered on ours

    def __init__(self, reader: Callable[[], HistoryReader], parent: QObject | None = None):
        super().__init__(parent)
        self._reader = reader
        self._asked = 0
        self.answered = 0  # the newest request answered so far
        # Queued explicitly: the answer must reach the GUI thread whichever thread emits.
        self._answer.connect(self._on_answer, Qt.ConnectionType.QueuedConnection)

    def load(self, query: ActivityQuery) -> int:
        self._asked += 1
        number = self._asked
        reader = self._reader()  # on the GUI thread: the pairs as configured now

        def work() -> None:
            try:
                rows = query.read(reader)
            except Exception:  # a locked or unreadable database: an empty list, logged
                log.exception("reading the history failed")
                rows = []
            try:
                self._answer.emit(number, rows)
            except RuntimeError:  # the loader was deleted meanwhile (window closed)
                pass

        QThreadPool.globalInstance().start(work)
        return number

    @property
    def idle(self) -> bool:
        """True when every request has been answered."""
        return self.answered == self._asked

    def _on_answer(self, number: int, rows: object) -> None:
        self.loaded.emit(number, rows)
        self.answered = max(self.answered, number)


class ActivityModel(RowsModel[PairChange]):
    """Changes, newest first: When, Pair, What, Path, Size."""

    COLUMNS = ("When", "Pair", "What", "Path", "Size")
    WHEN, PAIR, WHAT, PATH, SIZE = range(5)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[PairChange] = []

    def set_rows(self, rows: list[PairChange]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[PairChange]:
        return list(self._rows)

    def row_at(self, row: int) -> PairChange:
        """Raises IndexError."""
        return self._rows[row]

    # ---- QAbstractTableModel -------------------------------------------------------

    def cell(self, row: PairChange, column: int, role: int) -> Any:
        change = row.change
        if role == Qt.ItemDataRole.DisplayRole:
            if column == self.WHEN:
                return when_words(change.time)
            if column == self.PAIR:
                return pair_label(row.pair)
            if column == self.WHAT:
                return change_words(change)
            if column == self.PATH:
                return change.rel_path
            if column == self.SIZE:
                return human_bytes(change.size)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == self.SIZE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            where = row.local_path()
            lines = [change.rel_path, change_words(change)]
            if where is not None:
                lines.append(f"In the folder: {where}")
            return "\n".join(lines)
        return None
