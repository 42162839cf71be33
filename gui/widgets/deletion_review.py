"""The deletion review: what a sync stopped by a safety valve would delete, and what to
do about it.

A safety valve (:mod:`blobsync.core.engine.valves`) stopped the run before anything was
deleted and handed over its facts (:class:`~blobsync.core.app.status.SafetyFacts`): how
many files, how many bytes, on which side, the first paths. This dialog shows them and
offers three ways on:

- **Restore** (the default: a folder emptied by mistake, a drive not mounted, a
  container wiped): the next run copies every file back from the side that still has
  it (``SyncOptions.restore_deleted``);
- **Delete them on the other side too**, only after typing the number of files (the
  next run may delete at most that many: ``SyncOptions.confirmed_deletes``);
- **Leave it paused**: nothing runs until the user resumes the pair.

The choice is :attr:`DeletionReview.choice` (a :class:`ReviewChoice`); the main window
acts on it. Nothing here touches an engine.
"""

from __future__ import annotations

import enum

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from blobsync.core.app.progress import human_bytes
from blobsync.core.app.status import SafetyFacts, plural
from blobsync.core.errors import SafetyReason

from ..qt_helpers import named

#: Paths listed before "Show all".
FIRST_PATHS = 12


class ReviewChoice(enum.Enum):
    """What the user chose in the deletion review."""

    RESTORE = enum.auto()
    DELETE = enum.auto()
    PAUSE = enum.auto()


def _sides(facts: SafetyFacts) -> tuple[str, str]:
    """(where the files would be deleted, where they would be restored from)."""
    if facts.deletes_remote and not facts.deletes_local:
        return "in the container", "from the container"
    if facts.deletes_local and not facts.deletes_remote:
        return "in the folder", "from the folder"
    return "on both sides", "from the other side"


def headline(facts: SafetyFacts) -> str:
    """One paragraph: what happened and what a sync would do."""
    files = plural(facts.tracked, "file")
    container = f"'{facts.container}'" if facts.container else "the container"
    folder = facts.local_root or "the folder"
    if facts.reason is SafetyReason.FOLDER_EMPTIED:
        return (
            f"The folder {folder} is empty, but {files} were synced from it. Was it "
            f"emptied by mistake, or is a drive not mounted? A sync would now delete "
            f"them in the container {container} too."
        )
    if facts.reason is SafetyReason.CONTAINER_EMPTIED:
        return (
            f"The container {container} is empty, but {files} were synced to it. A "
            f"sync would now delete them in the folder {folder} too."
        )
    if facts.reason is SafetyReason.CONTAINER_GONE:
        return (
            f"The container {container} no longer exists, but {files} were synced to "
            f"it. A sync would now delete them in the folder {folder} too."
        )
    return (
        f"This sync would delete {facts.deletes:,} of the {files} synced, more than "
        "half of them. Was that on purpose?"
    )


class DeletionReview(QDialog):
    """Review a safety stop; ``choice`` is set when the user picked a way on."""

    def __init__(self, name: str, facts: SafetyFacts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("deletionReview")
        self.setWindowTitle(f"Review deletions — {name}")
        self.facts = facts
        self.choice: ReviewChoice | None = None
        where, source = _sides(facts)

        self.headline = named(QLabel(headline(facts)), "reviewHeadline")
        self.headline.setWordWrap(True)
        count = plural(facts.deletes, "file")
        self.summary = named(
            QLabel(
                f"<b>{count} ({human_bytes(facts.nbytes)}) would be deleted {where}.</b> "
                "Nothing has been deleted yet."
            ),
            "reviewSummary",
        )
        self.summary.setWordWrap(True)

        self.paths = named(QListWidget(), "reviewPaths")
        self.paths.setSelectionMode(QListWidget.SelectionMode.NoSelection)
        self.show_all_button = named(QPushButton(), "reviewShowAll")
        self.show_all_button.clicked.connect(self._toggle_all)
        self._expanded = False
        self._fill_paths()

        self.restore_button = named(QPushButton(f"&Restore the files {source}"), "restoreButton")
        self.restore_button.setToolTip(
            "The next sync copies every one of these files back; nothing is deleted."
        )
        self.restore_button.setDefault(True)
        self.restore_button.clicked.connect(self._restore)
        self.pause_button = named(QPushButton("&Leave it paused"), "leavePausedButton")
        self.pause_button.setToolTip("Pause this pair; nothing syncs until you resume it.")
        self.pause_button.clicked.connect(self._pause)

        self.confirm_label = named(
            QLabel(f"To delete them {where} too, type the number of files ({facts.deletes}):"),
            "confirmLabel",
        )
        self.confirm_edit = named(QLineEdit(), "confirmEdit")
        self.confirm_edit.setMaximumWidth(120)
        self.confirm_edit.textChanged.connect(self._on_typed)
        self.delete_button = named(QPushButton(f"&Delete {count} {where}"), "deleteButton")
        self.delete_button.setEnabled(False)
        self.delete_button.setAutoDefault(False)
        self.delete_button.clicked.connect(self._delete)
        self.confirm_label.setBuddy(self.confirm_edit)

        confirm_row = QHBoxLayout()
        confirm_row.addWidget(self.confirm_edit)
        confirm_row.addWidget(self.delete_button)
        confirm_row.addStretch(1)
        choices = QHBoxLayout()
        choices.addWidget(self.restore_button)
        choices.addStretch(1)
        choices.addWidget(self.pause_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.summary)
        layout.addWidget(self.paths, 1)
        layout.addWidget(self.show_all_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addLayout(choices)
        layout.addSpacing(8)
        layout.addWidget(self.confirm_label)
        layout.addLayout(confirm_row)
        self.setTabOrder(self.restore_button, self.pause_button)
        self.setTabOrder(self.pause_button, self.confirm_edit)
        self.setTabOrder(self.confirm_edit, self.delete_button)
        self.resize(620, 480)

    # ---- the list ----------------------------------------------------------------

    def _fill_paths(self) -> None:
        facts = self.facts
        shown = facts.paths if self._expanded else facts.paths[:FIRST_PATHS]
        self.paths.clear()
        self.paths.addItems(list(shown))
        rest = facts.deletes - len(shown)
        if rest > 0:
            self.paths.addItem(f"… and {plural(rest, 'more file')}")
        self.show_all_button.setVisible(len(facts.paths) > FIRST_PATHS)
        if self._expanded:
            self.show_all_button.setText("Show &fewer")
        else:
            self.show_all_button.setText(f"Show &all {facts.deletes:,}")

    @Slot()
    def _toggle_all(self) -> None:
        self._expanded = not self._expanded
        self._fill_paths()

    # ---- choices -----------------------------------------------------------------

    @Slot(str)
    def _on_typed(self, text: str) -> None:
        typed = text.strip().replace(",", "") == str(self.facts.deletes)
        self.delete_button.setEnabled(typed)
        # Enter does what the user is about to do: delete once the number is typed.
        self.delete_button.setDefault(typed)
        self.restore_button.setDefault(not typed)

    def _choose(self, choice: ReviewChoice) -> None:
        self.choice = choice
        self.accept()

    @Slot()
    def _restore(self) -> None:
        self._choose(ReviewChoice.RESTORE)

    @Slot()
    def _pause(self) -> None:
        self._choose(ReviewChoice.PAUSE)

    @Slot()
    def _delete(self) -> None:
        if self.delete_button.isEnabled():
            self._choose(ReviewChoice.DELETE)
