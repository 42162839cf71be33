"""The conflict center: one conflict's two versions side by side, a diff when they are
text, and the choice.

Opened from the issues list (*Compare…*, or a double-click on a conflict) for a
kept-both conflict: theirs has the name, yours was kept as the conflict copy. The facts
come from :meth:`AppService.conflict_sides` through the controller (no network: the
state database, the history and the two local files): for each side its size, when it
was modified, on which machine it was changed (:func:`~blobsync.core.app.recovery.who`)
and whether it was synced. *Open both* opens the two local files in the desktop's apps.
The diff (:mod:`.conflict_diff`) reads the same two local files.

The dialog decides nothing: *Keep mine*, *Take theirs* and *Keep both* emit
``chosen(Resolution)``; the issues view confirms a choice that sends a version to the
recycle bin, asks the controller, and closes the dialog.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QFontDatabase,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from blobsync.core.app.progress import human_bytes
from blobsync.core.app.recovery import when_words, who
from blobsync.core.engine import Resolution
from blobsync.core.engine.recovery import ConflictSides, SideInfo
from blobsync.core.models import Issue

from ..qt_helpers import named
from .conflict_diff import Comparison, DiffKind, compare_files

UrlOpener = Callable[[QUrl], Any]


def size_words(size: int) -> str:
    """``512 bytes``, ``1.5 KiB (1,536 bytes)``."""
    return f"{size:,} bytes" if size < 1024 else f"{human_bytes(size)} ({size:,} bytes)"


def machine_words(side: SideInfo, mine: bool) -> str:
    """``Changed on laptop-2 (this computer)`` / ``Changed by another app``."""
    words = who(side.writer)
    words = words[:1].upper() + words[1:]
    return words + " (this computer)" if mine else words


#: (background, text colour) per kind of diff line: only in yours, only in theirs, a
#: hunk header, the file names.
DIFF_COLOURS = {
    "-": ("#ffebe9", "#82071e"),
    "+": ("#dafbe1", "#116329"),
    "@": ("#ddf4ff", "#0a3069"),
    "h": ("#f0f0f0", "#57606a"),
}


def _line_kind(text: str) -> str:
    if text.startswith(("---", "+++")):
        return "h"
    return text[:1] if text[:1] in ("-", "+", "@") else ""


class DiffHighlighter(QSyntaxHighlighter):
    """Colours the text of a unified diff's lines (their backgrounds span the whole
    width: :func:`line_backgrounds`)."""

    def __init__(self, document: QTextDocument) -> None:
        super().__init__(document)
        self._formats: dict[str, QTextCharFormat] = {}
        for key, (_background, foreground) in DIFF_COLOURS.items():
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(foreground))
            self._formats[key] = fmt

    def highlightBlock(self, text: str) -> None:
        key = _line_kind(text)
        if key:
            self.setFormat(0, len(text), self._formats[key])


def line_backgrounds(document: QTextDocument) -> list[QTextEdit.ExtraSelection]:
    """One full-width background per coloured diff line."""
    formats: dict[str, QTextCharFormat] = {}
    for key, (background, _foreground) in DIFF_COLOURS.items():
        fmt = QTextCharFormat()
        fmt.setBackground(QColor(background))
        fmt.setProperty(QTextFormat.Property.FullWidthSelection, True)
        formats[key] = fmt
    selections: list[QTextEdit.ExtraSelection] = []
    block = document.begin()
    while block.isValid():
        key = _line_kind(block.text())
        if key:
            selection = QTextEdit.ExtraSelection()
            selection.cursor = QTextCursor(block)
            selection.format = formats[key]
            selections.append(selection)
        block = block.next()
    return selections


class ConflictCenter(QDialog):
    """Both versions of one conflict; ``chosen(Resolution)`` when the user decides."""

    chosen = Signal(object)  # Resolution

    def __init__(
        self,
        issue: Issue,
        local_root: str,
        sides: ConflictSides | None,
        *,
        problem: str = "",
        parent: QWidget | None = None,
        url_opener: UrlOpener = QDesktopServices.openUrl,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("conflictCenter")
        self.setWindowTitle(f"Conflict — {issue.rel_path}")
        self.issue = issue
        self.sides = sides
        self.root = Path(local_root)
        self.url_opener = url_opener
        copy = sides.mine.rel_path if sides and sides.mine else issue.conflict_copy

        headline = (
            f"<b>{_escape(issue.rel_path)}</b> changed on both sides since the last sync. "
            "Until you choose, both are kept: theirs under the name, yours as "
            f"<i>{_escape(copy or 'a conflict copy')}</i>."
        )
        if sides is not None and sides.found_at is not None:
            headline += f" Found {when_words(sides.found_at)}."
        if problem:
            headline += f"<br>{_escape(problem)}"
        self.headline = named(QLabel(headline), "conflictHeadline")
        self.headline.setWordWrap(True)

        self.mine_box = named(QGroupBox("Yours"), "mineBox")
        self.theirs_box = named(QGroupBox("Theirs"), "theirsBox")
        newer = _newer(sides)
        self._fill(self.mine_box, "mine", sides.mine if sides else None, True, newer == "mine")
        self._fill(
            self.theirs_box, "theirs", sides.theirs if sides else None, False, newer == "theirs"
        )
        boxes = QHBoxLayout()
        boxes.addWidget(self.mine_box, 1)
        boxes.addWidget(self.theirs_box, 1)

        self.diff_note = named(QLabel(), "diffNote")
        self.diff_note.setWordWrap(True)
        self.diff_view = named(QPlainTextEdit(), "diffView")
        self.diff_view.setReadOnly(True)
        self.diff_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.diff_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self._highlighter = DiffHighlighter(self.diff_view.document())
        self.comparison = self._compare()
        self.diff_note.setText(self.comparison.sentence)
        self.diff_view.setPlainText("\n".join(self.comparison.lines))
        self.diff_view.setExtraSelections(line_backgrounds(self.diff_view.document()))
        self.diff_view.setVisible(self.comparison.kind is DiffKind.TEXT)  # else a sentence

        self.open_both_button = named(QPushButton("&Open both"), "openBothButton")
        self.open_both_button.setToolTip("Open your version and theirs in the apps for them")
        self.open_both_button.clicked.connect(self.open_both)
        self.status = named(QLabel(), "conflictStatus")
        self.status.setWordWrap(True)
        self.status.hide()

        buttons = QDialogButtonBox(self)
        self.keep_mine_button = self._choice(
            buttons, "centerKeepMine", "Keep &mine", Resolution.KEEP_MINE,
            "Your version gets the name; theirs goes to the recycle bin",
        )  # fmt: skip
        self.take_theirs_button = self._choice(
            buttons, "centerTakeTheirs", "Ta&ke theirs", Resolution.TAKE_THEIRS,
            "Their version stays; yours goes to the recycle bin",
        )  # fmt: skip
        self.keep_both_button = self._choice(
            buttons, "centerKeepBoth", "Keep &both", Resolution.KEEP_BOTH,
            "Keep both files: yours stays as the conflict copy",
        )  # fmt: skip
        self.keep_mine_button.setEnabled(sides is None or sides.mine is not None)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setObjectName("conflictClose")
        buttons.rejected.connect(self.reject)

        actions = QHBoxLayout()
        actions.addWidget(self.open_both_button)
        actions.addWidget(self.diff_note, 1)

        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addLayout(boxes)
        layout.addLayout(actions)
        layout.addWidget(self.diff_view, 1)
        showing_diff = self.comparison.kind is DiffKind.TEXT
        if not showing_diff:
            layout.addStretch(1)  # the space the diff would take, below the facts
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        # Without a diff, as high as the facts need at this width (wrapped labels).
        self.resize(880, 600 if showing_diff else max(layout.totalHeightForWidth(880), 240))

    # ---- the two sides -------------------------------------------------------------

    def _fill(
        self, box: QGroupBox, key: str, side: SideInfo | None, mine: bool, newer: bool
    ) -> None:
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        def row(label: str, name: str, text: str) -> None:
            value = named(QLabel(text), f"{key}{name}")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(label, value)

        if self.sides is None:
            row("", "Missing", "Not known (see above).")
            return
        if side is None or not side.present:
            what = "Your copy" if mine else "Their version"
            row("", "Missing", f"{what} is no longer in the folder (moved or deleted).")
            return
        row("File:", "Name", side.rel_path)
        row("Size:", "Size", size_words(side.size))
        modified = when_words(side.mtime_ns / 1e9) if side.mtime_ns is not None else "unknown"
        row("Modified:", "Modified", modified + (" (the newer one)" if newer else ""))
        row("Machine:", "Machine", machine_words(side, mine))
        row("Synced:", "Synced", self._synced_words(mine))

    def _synced_words(self, mine: bool) -> str:
        sides = self.sides
        assert sides is not None
        at = f", {when_words(sides.found_at)}" if sides.found_at is not None else ""
        if mine:
            return f"uploaded as the conflict copy{at}" if sides.mine_synced else "not yet"
        return f"downloaded{at}" if sides.synced else "not yet"

    def _compare(self) -> Comparison:
        sides = self.sides
        if sides is not None and sides.mine is None:
            return Comparison(DiffKind.MISSING, "There is no copy of yours to compare with.")
        return compare_files(
            self.mine_path(),
            self.theirs_path(),
            mine_label=f"yours: {self.mine_path().relative_to(self.root).as_posix()}",
            theirs_label=f"theirs: {self.issue.rel_path}",
        )

    def mine_path(self) -> Path:
        """Your version: the conflict copy in the folder."""
        sides = self.sides
        copy = sides.mine.rel_path if sides is not None and sides.mine else self.issue.conflict_copy
        return self.root.joinpath(*(copy or self.issue.rel_path).split("/"))

    def theirs_path(self) -> Path:
        """Their version: the file under its own name."""
        return self.root.joinpath(*self.issue.rel_path.split("/"))

    # ---- actions -------------------------------------------------------------------

    def _choice(
        self,
        buttons: QDialogButtonBox,
        name: str,
        text: str,
        resolution: Resolution,
        tip: str,
    ) -> QPushButton:
        button = named(QPushButton(text), name)
        button.setToolTip(tip)
        button.setAutoDefault(False)
        buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        button.clicked.connect(lambda _checked=False, r=resolution: self.chosen.emit(r))
        return button

    def settled(self) -> None:
        """The conflict was settled elsewhere meanwhile: no choice is left to make."""
        for button in (self.keep_mine_button, self.take_theirs_button, self.keep_both_button):
            button.setEnabled(False)
        self.status.setText("This conflict has been settled meanwhile: nothing left to choose.")
        self.status.show()

    @Slot()
    def open_both(self) -> bool:
        """Open both local files; say so when no app could (True if both opened)."""
        paths = [p for p in (self.mine_path(), self.theirs_path()) if p.exists()]
        opened = [bool(self.url_opener(QUrl.fromLocalFile(str(p)))) for p in paths]
        if len(paths) == 2 and all(opened):
            self.status.hide()
            return True
        where = self.theirs_path().parent
        self.status.setText(
            f"Not every version could be opened. Both are in the folder {where}."
            if paths
            else "Neither version is in the folder any more."
        )
        self.status.show()
        return False


def _newer(sides: ConflictSides | None) -> str:
    """Which side was modified later ("mine" / "theirs" / "" when unknown or equal)."""
    if sides is None or sides.mine is None:
        return ""
    a, b = sides.mine.mtime_ns, sides.theirs.mtime_ns
    if a is None or b is None or a == b or not sides.theirs.present:
        return ""
    return "mine" if a > b else "theirs"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
