"""What the issues view offers for a file moved to a place that is not synced
(``IssueKind.MOVED_OUT_OF_SYNC``): the engine kept the container's copy because the
intent was unclear; the user says which it was.

- *Remove from container*: the move was meant; the container's copy goes (the file
  itself stays where it was moved to). ``Resolution.KEEP_MINE``.
- *Put it back*: the container's copy comes back to its old place (the moved file stays
  where it is too). ``Resolution.TAKE_THEIRS``.

The two buttons show only while every selected item is such a move.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QBoxLayout, QPushButton, QWidget

from blobsync.core.engine import Resolution
from blobsync.core.models import IssueKind

from ..models.issues_model import IssueRow
from ..qt_helpers import named

Emit = Callable[[list[IssueRow], Resolution], None]


def is_moved_out(row: IssueRow) -> bool:
    return row.issue.kind is IssueKind.MOVED_OUT_OF_SYNC


class MovedOutActions:
    """The two buttons, added to the issues view's button row."""

    def __init__(
        self,
        parent: QWidget,
        row: QBoxLayout,
        emit: Emit,
        selected: Callable[[], list[IssueRow]],
    ) -> None:
        self._emit = emit
        self._selected = selected
        self.remove_button = named(
            QPushButton("Remove from container", parent), "removeMovedButton"
        )
        self.remove_button.setToolTip(
            "The move was meant: delete the container's copy (the file stays where you moved it)"
        )
        self.restore_button = named(QPushButton("Put it back", parent), "restoreMovedButton")
        self.restore_button.setToolTip(
            "Bring the container's copy back to where the file was (the moved file stays too)"
        )
        self.remove_button.clicked.connect(self._on_remove)
        self.restore_button.clicked.connect(self._on_restore)
        at = max(row.count() - 2, 0)  # before the stretch and Show in folder
        row.insertWidget(at, self.restore_button)
        row.insertWidget(at, self.remove_button)
        self.refresh([])

    def refresh(self, rows: list[IssueRow]) -> None:
        """Show the buttons only while every selected item was moved out of the sync."""
        shown = bool(rows) and all(is_moved_out(r) for r in rows)
        for button in (self.remove_button, self.restore_button):
            button.setVisible(shown)
            button.setEnabled(shown)

    def _act(self, resolution: Resolution) -> None:
        rows = self._selected()
        if rows and all(is_moved_out(r) for r in rows):
            self._emit(rows, resolution)

    def _on_remove(self) -> None:
        self._act(Resolution.KEEP_MINE)

    def _on_restore(self) -> None:
        self._act(Resolution.TAKE_THEIRS)
