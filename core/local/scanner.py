"""Recursive scan of the sync folder, yielding files in code-point order of their
relative POSIX path (the order of blob listings and of the snapshot), so the engine can
merge the three streams without holding them in memory.

Trick: in each directory, children are sorted with directories keyed as ``name + "/"``;
a depth-first walk then yields full paths in flat lexicographic order.
Symlinks are never followed (reported); special files are skipped (reported); a
directory that cannot be listed is recorded as *blind* so nothing under it is taken
for deleted. Our own temporary files are skipped (and stale ones removed). A ``skip``
callable (the pair's filter rules) names folders not to enter at all and links or
special files to pass over in silence; regular files are always yielded (the engine
judges and counts them). An ``on_ignore_file`` callable hears of each folder holding a
``.blobsyncignore`` as soon as the folder is listed, before anything in it is judged, so
nested ignore files cost no walk of their own.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..filters import IGNORE_FILE
from ..models import Issue, IssueKind, LocalEntry

TEMP_PREFIX = ".blobsync-"
TEMP_SUFFIX = ".tmp"


PARTIAL_PREFIX = TEMP_PREFIX + "part-"
#: A large download's partial file is kept this long for the next try to continue it
#: (a week, like the uncommitted blocks Azure keeps for an upload); other temp files
#: are leftovers of a stopped run and go at the next scan.
PARTIAL_KEEP_S = 7 * 86400.0


def is_temp_name(name: str) -> bool:
    """True for BlobSync's own in-progress download files."""
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def _stale_temp(name: str, mtime: float) -> bool:
    """A temp file the scan may remove (a recent partial download is kept)."""
    return not name.startswith(PARTIAL_PREFIX) or time.time() - mtime > PARTIAL_KEEP_S


@dataclass
class ScanReport:
    """What the scan saw besides regular files."""

    issues: list[Issue] = field(default_factory=list)
    blind: set[str] = field(default_factory=set)  # rel paths (dirs or items) we could not see
    files: int = 0
    removed_temp: int = 0

    def is_blind(self, rel_path: str) -> bool:
        """True if ``rel_path`` is, or lies under, something we could not see."""
        if not self.blind:
            return False
        if rel_path in self.blind:
            return True
        parts = rel_path.split("/")
        return any("/".join(parts[:i]) in self.blind for i in range(1, len(parts)))


#: ``skip(rel_path, is_dir)``: True for a folder not to enter, or a link or special file
#: to pass over without reporting it.
Skip = Callable[[str, bool], bool]
#: ``on_ignore_file(rel_folder)``: the folder ("" for the root) holds an ignore file.
OnIgnoreFile = Callable[[str], None]


def scan(
    root: Path,
    report: ScanReport,
    clean_temp: bool = True,
    skip: Skip | None = None,
    on_ignore_file: OnIgnoreFile | None = None,
) -> Iterator[LocalEntry]:
    """Yield every regular file under ``root`` in code-point order of ``rel_path``.

    Raises OSError only if ``root`` itself cannot be listed.
    """
    yield from _walk(os.fspath(root), "", report, clean_temp, skip, on_ignore_file, top=True)


def scan_folders(
    root: Path,
    folders: list[str],
    report: ScanReport,
    clean_temp: bool = True,
    skip: Skip | None = None,
    on_ignore_file: OnIgnoreFile | None = None,
) -> Iterator[LocalEntry]:
    """Like :func:`scan`, but only under the top-level ``folders`` of ``root`` (names
    checked by the caller: each an existing, real folder right under ``root``), in the
    same order: the folders are walked in the order of ``name + "/"``, and as no name
    is a prefix of another's ``name + "/"``, their paths never interleave."""
    for name in sorted(folders, key=lambda n: n + "/"):
        if skip is not None and skip(name, True):
            continue  # an excluded folder is not entered (as in the full scan)
        yield from _walk(
            os.path.join(os.fspath(root), name), name, report, clean_temp, skip, on_ignore_file
        )


def _walk(
    abs_dir: str,
    rel_dir: str,
    report: ScanReport,
    clean_temp: bool,
    skip: Skip | None,
    on_ignore_file: OnIgnoreFile | None,
    top: bool = False,
) -> Iterator[LocalEntry]:
    try:
        with os.scandir(abs_dir) as it:
            children = list(it)
    except OSError as exc:
        if top:
            raise
        report.blind.add(rel_dir)
        report.issues.append(
            Issue(rel_dir, IssueKind.UNREADABLE, f"Cannot list this folder: {exc.strerror}.")
        )
        return
    if on_ignore_file is not None and any(e.name == IGNORE_FILE for e in children):
        on_ignore_file(rel_dir)  # before the rules judge anything in this folder
    keyed: list[tuple[str, os.DirEntry[str], bool]] = []
    for entry in children:
        name = entry.name
        rel = f"{rel_dir}/{name}" if rel_dir else name
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue  # vanished between listing and stat
        mode = st.st_mode
        if stat.S_ISLNK(mode):
            if skip is not None and skip(rel, False):
                continue
            report.blind.add(rel)
            report.issues.append(
                Issue(
                    rel,
                    IssueKind.SYMLINK,
                    "Symbolic links are not followed; it was left alone.",
                    retryable=False,
                )
            )
        elif stat.S_ISDIR(mode):
            if skip is not None and skip(rel, True):
                continue  # an excluded folder is not entered
            keyed.append((name + "/", entry, True))
        elif stat.S_ISREG(mode):
            if is_temp_name(name):
                if clean_temp and _stale_temp(name, st.st_mtime):
                    try:
                        os.unlink(entry.path)
                        report.removed_temp += 1
                    except OSError:
                        pass
                continue
            keyed.append((name, entry, False))
        else:
            if skip is not None and skip(rel, False):
                continue
            report.blind.add(rel)
            report.issues.append(
                Issue(
                    rel,
                    IssueKind.NAME_NOT_ALLOWED,
                    "Not a regular file (device, pipe or socket); skipped.",
                    retryable=False,
                )
            )
    keyed.sort(key=lambda item: item[0])
    for _key, entry, is_dir in keyed:
        rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
        if is_dir:
            yield from _walk(entry.path, rel, report, clean_temp, skip, on_ignore_file)
        else:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            report.files += 1
            yield LocalEntry(rel, st.st_size, st.st_mtime_ns, st.st_ino)
