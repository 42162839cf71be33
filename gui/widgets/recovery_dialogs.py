"""The two questions the Activity view asks before it changes anything.

- :class:`VersionsDialog`: *Restore previous version* — the previous versions of one
  file kept in either recycle bin (``version_words``: size, when it was kept, why, by
  which machine, in which bin), newest first; the chosen one is put back.
- :class:`UndoDialog`: *Undo this sync* — what the run changed (with who made each
  change) and, from a dry run, what undoing it would put back and take away
  (``recovery_words``) before anything happens.

Both open at once and fill in when the pair's engine thread answers (listing the
container's bin needs the network); neither touches an engine itself.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from blobsync.core.app.recovery import recovery_words, version_words
from blobsync.core.engine.recovery import FileVersion, RecoveryResult

from ..qt_helpers import dialog_buttons, named


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class VersionsDialog(QDialog):
    """Pick one previous version of ``rel_path``; ``number`` is the chosen one's place
    (1 = newest) once accepted."""

    def __init__(self, pair_name: str, rel_path: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("versionsDialog")
        self.setWindowTitle(f"Restore previous version — {rel_path}")
        self.rel_path = rel_path
        self.versions: list[FileVersion] = []
        heading = named(
            QLabel(f"<b>{_escape(rel_path)}</b> in {_escape(pair_name)}"), "versionsHeading"
        )
        self.status = named(QLabel("Looking for previous versions…"), "versionsStatus")
        self.status.setWordWrap(True)
        self.list = named(QListWidget(), "versionsList")
        self.list.currentRowChanged.connect(self._on_row)
        self.list.itemDoubleClicked.connect(lambda _item: self.accept())
        note = QLabel(
            "The file as it is now goes to the recycle bin first, and the restored "
            "version syncs to the other side like any other change."
        )
        note.setWordWrap(True)
        buttons, self.restore_button = _confirm_row(
            self, "Restore this version", "restoreVersionButton"
        )
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(self.status)
        layout.addWidget(self.list, 1)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(720, 360)

    @property
    def number(self) -> int | None:
        """The chosen version's number (1 = newest), None when none is chosen."""
        row = self.list.currentRow()
        return row + 1 if 0 <= row < len(self.versions) else None

    def set_versions(self, versions: list[FileVersion]) -> None:
        self.versions = list(versions)
        self.list.clear()
        for number, version in enumerate(self.versions, start=1):
            self.list.addItem(QListWidgetItem(version_words(number, version)))
        if self.versions:
            self.status.setText(
                f"{len(self.versions)} previous version{'s' if len(self.versions) != 1 else ''}"
                " kept, newest first. Choose the one to put back:"
            )
            self.list.setCurrentRow(0)
        else:
            self.status.setText(
                "No previous version of this file is kept (nothing replaced or deleted it "
                "yet, or its versions expired)."
            )

    def set_failure(self, message: str) -> None:
        self.status.setText(f"Could not list the previous versions: {message}")
        self.restore_button.setEnabled(False)

    def _on_row(self, _row: int) -> None:
        self.restore_button.setEnabled(self.number is not None)

    def accept(self) -> None:
        if self.number is not None:
            super().accept()


class UndoDialog(QDialog):
    """Confirm *Undo this sync*: the run's changes, then what undoing would do."""

    def __init__(self, title: str, changes: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("undoDialog")
        self.setWindowTitle("Undo this sync")
        self.preview: RecoveryResult | None = None
        heading = named(QLabel(f"<b>{_escape(title)}</b>"), "undoHeading")
        heading.setWordWrap(True)
        self.changes = named(QListWidget(), "undoChanges")
        self.changes.addItems(changes)
        self.plan = named(QLabel("Finding out what undoing it would do…"), "undoPlan")
        self.plan.setWordWrap(True)
        note = QLabel(
            "Nothing is lost: whatever the undo replaces or takes away goes to a recycle "
            "bin first. An item changed since this sync is left alone."
        )
        note.setWordWrap(True)
        buttons, self.undo_button = _confirm_row(self, "Undo this sync", "confirmUndoButton")
        layout = QVBoxLayout(self)
        layout.addWidget(heading)
        layout.addWidget(QLabel("This sync made these changes:"))
        layout.addWidget(self.changes, 1)
        layout.addWidget(self.plan)
        layout.addWidget(note)
        layout.addWidget(buttons)
        self.resize(720, 400)

    def set_changes(self, changes: list[str]) -> None:
        self.changes.clear()
        self.changes.addItems(changes)

    def set_preview(self, result: RecoveryResult) -> None:
        """The dry run's answer: what undoing would put back and take away."""
        self.preview = result
        lines = recovery_words(result, "undo")
        doable = bool(result.restored or result.removed)
        lead = "If you undo it now:" if doable else ""
        self.plan.setText(
            lead + "<ul>" + "".join(f"<li>{_escape(line)}</li>" for line in lines) + "</ul>"
        )
        self.undo_button.setEnabled(doable)

    def set_failure(self, message: str) -> None:
        self.plan.setText(f"This sync cannot be undone: {_escape(message)}")
        self.undo_button.setEnabled(False)

    def accept(self) -> None:
        if self.undo_button.isEnabled():
            super().accept()


def _confirm_row(dialog: QDialog, label: str, name: str) -> tuple[QDialogButtonBox, QPushButton]:
    """A Cancel row with one accept button (disabled until there is something to do)."""
    buttons = dialog_buttons(dialog, QDialogButtonBox.StandardButton.Cancel)
    button = named(QPushButton(label), name)
    buttons.addButton(button, QDialogButtonBox.ButtonRole.AcceptRole)
    button.setEnabled(False)
    return buttons, button
