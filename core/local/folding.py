"""Does the folder's file system tell twin names apart? Probed once, by trying.

Two blobs whose names differ only in case (``Report.txt``, ``report.txt``) or only in
Unicode normalization (``é`` as one code point or as ``e`` + accent) are two files on
Linux's usual file systems, but one file on Windows (NTFS: case) and macOS (APFS: case
and normalization, by default). There, writing the second twin would land on the
first. :func:`probe_name_folding` creates a temporary file in the folder, looks it up
under another case and another normalization, and removes it: the answer is what this
folder does, whatever the operating system claims (a case-sensitive APFS volume, an
SMB share, a FAT stick on Linux).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .scanner import TEMP_PREFIX, TEMP_SUFFIX


@dataclass(frozen=True, slots=True)
class NameFolding:
    """How a folder's file system folds names."""

    case: bool = False  # "A.txt" and "a.txt" are the same file
    normalization: bool = False  # NFC and NFD spellings are the same file

    @property
    def folds(self) -> bool:
        return self.case or self.normalization


def probe_name_folding(root: Path) -> NameFolding:
    """Try it in ``root`` (a temporary ``.blobsync-*.tmp`` file, removed at once).
    Raises OSError when the folder cannot be written."""
    token = secrets.token_hex(4)
    plain = f"{TEMP_PREFIX}probe-{token}-x{TEMP_SUFFIX}"
    accented = f"{TEMP_PREFIX}probe-{token}-\u00e9{TEMP_SUFFIX}"  # é, composed (NFC)
    made: list[Path] = []
    try:
        for name in (plain, accented):
            path = root / name
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            made.append(path)
        case = os.path.lexists(root / plain.upper())
        normalization = os.path.lexists(root / unicodedata.normalize("NFD", accented))
    finally:
        for path in made:
            with contextlib.suppress(OSError):
                os.unlink(path)
    return NameFolding(case=case, normalization=normalization)
