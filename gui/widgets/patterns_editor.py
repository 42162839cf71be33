"""The pair's ignore patterns, edited with a live count of what they leave out.

Shows the built-in list of OS and editor junk (:data:`~blobsync.core.filters.DEFAULT_PATTERNS`)
with a switch to turn it off, the pair's own patterns (gitignore syntax, one per line;
each line that is not a valid pattern is marked and said in words), what the folder's
``.blobsyncignore`` adds, and "these rules leave out N files" counted off the GUI thread
(:func:`blobsync.core.app.selection.preview_exclusions`) a moment after the last edit.
The count includes the folders left out in the selective-sync tree
(:meth:`set_excluded_folders`), so it is the whole of what the pair's next sync leaves
out locally.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtGui import QColor, QTextCursor, QTextFormat
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QPlainTextEdit,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from blobsync.core.app.selection import (
    ExclusionPreview,
    nested_file_rules,
    preview_exclusions,
)
from blobsync.core.app.status import plural
from blobsync.core.engine.filtering import read_ignore_file
from blobsync.core.errors import BlobSyncError
from blobsync.core.filters import (
    DEFAULT_PATTERNS,
    IGNORE_FILE,
    FilterRules,
    PatternProblem,
    parse_ignore_text,
)

from ..qt_helpers import named
from .background import run_in_background

#: How long after the last keystroke the count starts (ms).
COUNT_DELAY_MS = 350
MUTED = "color: #555555;"
ERROR = "color: #b00020;"


def preview_words(preview: ExclusionPreview) -> str:
    """The count as a sentence."""
    if preview.files == 0 and preview.folders == 0:
        text = "These rules leave out nothing in this folder right now."
    else:
        text = f"These rules leave out {plural(preview.files, 'file')} in this folder"
        if preview.folders:
            text += (
                f" ({plural(preview.folders, 'folder')} as a whole, with "
                f"{plural(preview.files_in_folders, 'file')} in them)"
            )
        text += "."
    nested = nested_file_rules(preview.counts)
    if nested:
        # per rule, as a sync counts (a folder left out as a whole is one item)
        named = ", ".join(f"{rule} ({n:,})" for rule, n in nested[:3])
        more = f" and {plural(len(nested) - 3, 'more rule')}" if len(nested) > 3 else ""
        text += f" Among them, by {IGNORE_FILE} files in subfolders: {named}{more}."
    if preview.truncated:
        text += f" (Counted in the first {preview.scanned:,} items only.)"
    return text


class PatternsEditor(QWidget):
    """Built-in list on/off, the pair's own patterns, and the live count."""

    #: The patterns or the switch changed (as typed).
    changed = Signal()
    #: A count finished (the ExclusionPreview); handy for tests.
    counted = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._root: Path | None = None
        self._excluded_folders: list[str] = []
        self._generation = 0
        self._cancel = threading.Event()
        self.last_preview: ExclusionPreview | None = None

        self.defaults_check = named(
            QCheckBox("Leave out the usual junk files of operating systems and editors"),
            "defaultsCheck",
        )
        self.defaults_check.setChecked(True)
        self.defaults_list = named(QLabel("   ".join(DEFAULT_PATTERNS)), "defaultsList")
        self.defaults_list.setWordWrap(True)
        self.defaults_list.setToolTip("The built-in list (gitignore syntax)")

        intro = QLabel(
            "Your own patterns, one per line, as in .gitignore (they apply to both sides "
            "and are kept on this computer only):<br>"
            "<tt>*.log</tt> any file ending in .log &nbsp;·&nbsp; <tt>build/</tt> every "
            "folder named build<br><tt>/drafts</tt> only at the top &nbsp;·&nbsp; "
            "<tt>!keep.log</tt> sync it after all"
        )
        intro.setWordWrap(True)
        self.patterns_edit = named(QPlainTextEdit(), "patternsEdit")
        self.patterns_edit.setPlaceholderText("*.log\nbuild/\nnode_modules/")
        self.patterns_edit.setTabChangesFocus(True)
        self.patterns_edit.setMinimumHeight(90)
        self.problems_label = named(QLabel(), "patternProblems")
        self.problems_label.setWordWrap(True)
        self.problems_label.setStyleSheet(ERROR)
        self.ignore_file_label = named(QLabel(), "ignoreFileInfo")
        self.ignore_file_label.setWordWrap(True)
        self.ignore_file_label.setStyleSheet(MUTED)
        self.count_label = named(QLabel(), "excludeCount")
        self.count_label.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(self.defaults_check)
        layout.addWidget(self.defaults_list)
        layout.addSpacing(6)
        layout.addWidget(intro)
        layout.addWidget(self.patterns_edit, 1)
        layout.addWidget(self.problems_label)
        layout.addWidget(self.ignore_file_label)
        layout.addWidget(self.count_label)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(COUNT_DELAY_MS)
        self._timer.timeout.connect(self.count_now)
        self.patterns_edit.textChanged.connect(self._on_edited)
        self.defaults_check.toggled.connect(self._on_edited)
        self._show_problems()
        self._show_defaults()
        self._show_ignore_file()
        self.count_label.setText("Choose the local folder to see what these rules leave out.")

    # ---- values ----------------------------------------------------------------------

    def set_rules(self, patterns: list[str], use_defaults: bool) -> None:
        """Show a pair's patterns and switch (the count follows)."""
        self.defaults_check.setChecked(use_defaults)
        self.patterns_edit.setPlainText("\n".join(patterns))

    def patterns(self) -> list[str]:
        """The lines as typed, without blank lines at the end (comments are kept)."""
        lines = self.patterns_edit.toPlainText().splitlines()
        while lines and not lines[-1].strip():
            lines.pop()
        return lines

    def use_defaults(self) -> bool:
        return self.defaults_check.isChecked()

    def pattern_problems(self) -> list[PatternProblem]:
        return parse_ignore_text("\n".join(self.patterns()))[1]

    def problem(self) -> str | None:
        """Why the patterns cannot be saved (the first invalid line), or None."""
        problems = self.pattern_problems()
        if not problems:
            return None
        first = problems[0]
        return f"Pattern line {first.line_no}: {first.message}"

    def rules(self) -> FilterRules:
        """The valid lines as rules, with the tree's left-out folders."""
        valid, _problems = parse_ignore_text("\n".join(self.patterns()))
        return FilterRules(
            patterns=tuple(valid),
            use_defaults=self.use_defaults(),
            excluded_folders=frozenset(self._excluded_folders),
        )

    # ---- where ------------------------------------------------------------------------

    def set_root(self, root: Path | None) -> None:
        """The local folder the count looks at (None: none chosen yet)."""
        if root == self._root:
            return
        self._root = root
        self._show_ignore_file()
        self._schedule()

    def set_excluded_folders(self, folders: list[str]) -> None:
        """The folders left out in the selective-sync tree (counted too)."""
        if list(folders) == self._excluded_folders:
            return
        self._excluded_folders = list(folders)
        self._schedule()

    # ---- counting ---------------------------------------------------------------------

    @Slot()
    def _on_edited(self, *_: object) -> None:
        self._show_problems()
        self._show_defaults()
        self.changed.emit()
        self._schedule()

    def _schedule(self) -> None:
        if self._root is None:
            self.count_label.setStyleSheet(MUTED)
            self.count_label.setText("Choose the local folder to see what these rules leave out.")
            return
        self._timer.start()

    @Slot()
    def count_now(self) -> None:
        """Count at once (off the GUI thread); the answer updates the label."""
        self._timer.stop()
        root = self._root
        if root is None:
            return
        self._show_ignore_file()  # it may have changed since
        self._cancel.set()  # an older count stops early; its answer is dropped anyway
        cancel = self._cancel = threading.Event()
        self._generation += 1
        generation, rules = self._generation, self.rules()
        self.count_label.setStyleSheet(MUTED)
        self.count_label.setText("Counting what these rules leave out …")
        run_in_background(
            lambda: preview_exclusions(root, rules, cancel.is_set),
            lambda result, error: self._on_counted(generation, result, error),
            self,
        )

    def _on_counted(self, generation: int, result: Any, error: BaseException | None) -> None:
        if generation != self._generation:
            return
        if error is not None:
            self.count_label.setStyleSheet(ERROR)
            message = error.message if isinstance(error, BlobSyncError) else str(error)
            self.count_label.setText(f"Cannot count: {message}")
            return
        assert isinstance(result, ExclusionPreview)
        self.last_preview = result
        self.count_label.setStyleSheet("")
        if self._root is not None and not self._root.is_dir():
            self.count_label.setText("The folder does not exist yet: nothing in it to leave out.")
        else:
            self.count_label.setText(preview_words(result))
        self.counted.emit(result)

    # ---- showing ----------------------------------------------------------------------

    def _show_problems(self) -> None:
        problems = self.pattern_problems()
        self.problems_label.setText(
            "\n".join(
                f"Line {p.line_no} is not used: {p.message} Change or remove it to save."
                for p in problems
            )
        )
        self.problems_label.setVisible(bool(problems))
        marks = []
        document = self.patterns_edit.document()
        for p in problems:
            mark = QTextEdit.ExtraSelection()
            mark.format.setBackground(QColor("#fde2e4"))
            mark.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            cursor = QTextCursor(document.findBlockByNumber(p.line_no - 1))
            mark.cursor = cursor
            marks.append(mark)
        self.patterns_edit.setExtraSelections(marks)

    def _show_defaults(self) -> None:
        on = self.use_defaults()
        self.defaults_list.setStyleSheet(MUTED if on else "color: #999999;")
        self.defaults_list.setEnabled(on)

    def _show_ignore_file(self) -> None:
        root = self._root
        if root is None:
            self.ignore_file_label.setText("")
            return
        try:
            text = read_ignore_file(root)
        except BlobSyncError as exc:
            self.ignore_file_label.setText(
                f"This folder's {IGNORE_FILE} is not used: {exc.message}"
            )
            return
        if text is None:
            self.ignore_file_label.setText(
                f"A {IGNORE_FILE} file in the folder can list patterns too; it syncs, so "
                "every computer leaves out the same things."
            )
            return
        lines, problems = parse_ignore_text(text)
        rules = [line for line in lines if line.strip() and not line.startswith("#")]
        text = (
            f"This folder's {IGNORE_FILE} adds {plural(len(rules), 'pattern')} (on every computer)"
        )
        if problems:
            are = "is" if len(problems) == 1 else "are"
            text += f"; {plural(len(problems), 'line')} in it {are} not valid and skipped"
        self.ignore_file_label.setText(text + ".")
