"""What the conflict center shows between the two versions of a file: a line diff for
text, one sentence otherwise.

A file counts as text by a sniff of its bytes: at most :data:`TEXT_LIMIT` bytes, no NUL
byte, and valid UTF-8 (a UTF-8 byte order mark allowed). Anything else (images,
documents, archives, other encodings) gets a sentence saying why there is no diff, and
the user compares with *Open both*. The diff is :func:`difflib.unified_diff` of the two
texts, yours first, so ``-`` lines are only in yours and ``+`` lines only in theirs; at
most :data:`MAX_DIFF_LINES` lines are shown (difflib on two 512 KiB texts stays well
under a second). Pure functions, no widgets: tested alone.
"""

from __future__ import annotations

import difflib
import enum
from dataclasses import dataclass
from pathlib import Path

#: Largest file (per side) compared line by line.
TEXT_LIMIT = 512 * 1024
#: Diff lines shown at most; the rest is left to *Open both*.
MAX_DIFF_LINES = 3000


class DiffKind(enum.Enum):
    """What the comparison found."""

    TEXT = enum.auto()  # a line diff
    SAME_LINES = enum.auto()  # text, the same lines (line endings or a final newline differ)
    BINARY = enum.auto()  # one side is not text
    TOO_BIG = enum.auto()  # one side is over TEXT_LIMIT
    MISSING = enum.auto()  # one side cannot be read


@dataclass(frozen=True, slots=True)
class Comparison:
    """The diff lines (for TEXT) and one sentence for the user."""

    kind: DiffKind
    sentence: str
    lines: tuple[str, ...] = ()
    truncated: int = 0  # diff lines not shown


class _Sniff(enum.Enum):
    BINARY = enum.auto()
    TOO_BIG = enum.auto()
    MISSING = enum.auto()


def sniff_text(path: Path, limit: int = TEXT_LIMIT) -> str | None:
    """The file's text if it is small, has no NUL byte and decodes as UTF-8; else None."""
    found = _read_text(path, limit)
    return found if isinstance(found, str) else None


def _read_text(path: Path, limit: int) -> str | _Sniff:
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError:
        return _Sniff.MISSING
    if len(data) > limit:
        return _Sniff.TOO_BIG
    if b"\0" in data:
        return _Sniff.BINARY
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _Sniff.BINARY


def compare_files(
    mine: Path,
    theirs: Path,
    *,
    mine_label: str = "yours",
    theirs_label: str = "theirs",
    limit: int = TEXT_LIMIT,
    max_lines: int = MAX_DIFF_LINES,
) -> Comparison:
    """Compare the two versions (yours first). Never raises: an unreadable side is
    :attr:`DiffKind.MISSING`."""
    sides = {"Your version": _read_text(mine, limit), "Their version": _read_text(theirs, limit)}
    for who, found in sides.items():
        if found is _Sniff.MISSING:
            return Comparison(DiffKind.MISSING, f"{who} cannot be read here, so there is no diff.")
    if any(found is _Sniff.TOO_BIG for found in sides.values()):
        return Comparison(
            DiffKind.TOO_BIG,
            f"Too big to compare here (over {_size(limit)}): use Open both to compare them.",
        )
    if any(found is _Sniff.BINARY for found in sides.values()):
        return Comparison(
            DiffKind.BINARY,
            "Not a text file, so there is no line-by-line diff: use Open both to compare "
            "them in the app that made them.",
        )
    mine_text, theirs_text = sides["Your version"], sides["Their version"]
    assert isinstance(mine_text, str) and isinstance(theirs_text, str)
    diff = list(
        difflib.unified_diff(
            mine_text.splitlines(),
            theirs_text.splitlines(),
            fromfile=mine_label,
            tofile=theirs_label,
            lineterm="",
        )
    )
    if not diff:
        return Comparison(
            DiffKind.SAME_LINES,
            "Both versions have the same lines; they differ only in line endings or a "
            "final newline.",
        )
    added = sum(1 for line in diff[2:] if line.startswith("+"))
    removed = sum(1 for line in diff[2:] if line.startswith("-"))
    shown = diff[:max_lines]
    sentence = (
        f"{_lines(removed)} only in yours (−), {_lines(added)} only in theirs (+)."
        if removed and added
        else f"{_lines(removed)} only in yours (−)."
        if removed
        else f"{_lines(added)} only in theirs (+)."
    )
    if len(diff) > max_lines:
        sentence += f" The first {max_lines:,} lines of the diff are shown."
    return Comparison(DiffKind.TEXT, sentence, tuple(shown), len(diff) - len(shown))


def _size(limit: int) -> str:
    return f"{limit // 1024:,} KiB" if limit % 1024 == 0 else f"{limit:,} bytes"


def _lines(n: int) -> str:
    return f"{n:,} line" if n == 1 else f"{n:,} lines"
