"""Making a batch of written files durable with as few disk flushes as the platform allows.

One fsync per small downloaded file was the price of "after a crash every file is old
or new, never partial". Paying it once per batch keeps the guarantee: the executor
writes a batch of temp files, makes their data durable with :func:`flush_files`,
renames them into place, makes the renames durable with :func:`flush_dirs`, and only
then records the batch in the snapshot.

Per platform:

- Linux: ``syncfs(2)`` on the sync folder flushes the whole file system once
  (https://man7.org/linux/man-pages/man2/syncfs.2.html) for a batch of at least
  ``SYNCFS_MIN_FILES``; for fewer, or if it is missing or fails, one ``fsync`` per file
  (and per folder for the renames).
- macOS: ``fsync`` does not reach the disk's platter; ``fcntl(F_FULLFSYNC)`` per file
  does (https://developer.apple.com/library/archive/documentation/System/Conceptual/ManPages_iPhoneOS/man2/fsync.2.html),
  and ``fsync`` of each folder for its renames.
- Windows: there is no unprivileged volume-wide flush (``FlushFileBuffers`` on a volume
  handle needs administrator rights), so ``FlushFileBuffers`` per file handle, which is
  what ``os.fsync`` calls there; NTFS journals renames itself, folders cannot be opened
  for flushing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_libc: Any = None
#: Batches smaller than this are flushed file by file: ``syncfs`` also writes out every
#: other program's dirty data on that file system, which one fsync of a few files does
#: not wait for (a lone 256 MiB download was 0.4 s slower with syncfs on a busy machine).
SYNCFS_MIN_FILES = 8


def _syncfs(root: Path) -> bool:
    """``syncfs`` on the file system holding ``root``; False if unavailable or failed."""
    global _libc
    if not sys.platform.startswith("linux"):
        return False
    if _libc is None:
        import ctypes  # only on the first flush: ~3 ms of start-up otherwise

        try:
            _libc = ctypes.CDLL(None, use_errno=True)
            _libc.syncfs  # noqa: B018 - raises AttributeError on a libc without it
        except (OSError, AttributeError):
            _libc = False
    if _libc is False:
        return False
    try:
        fd = os.open(root, os.O_RDONLY)
    except OSError:
        return False
    try:
        return int(_libc.syncfs(fd)) == 0
    finally:
        os.close(fd)


def _fsync_path(path: Path, full: bool) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        if full:
            import fcntl

            fcntl.fcntl(fd, fcntl.F_FULLFSYNC)  # type: ignore[attr-defined]
        else:
            os.fsync(fd)
    finally:
        os.close(fd)


def flush_files(root: Path, files: Iterable[Path]) -> None:
    """Make the content of ``files`` (on the file system of ``root``) durable.

    Raises OSError if a flush fails: the files must then not be relied on.
    """
    paths = list(files)
    if not paths or (len(paths) >= SYNCFS_MIN_FILES and _syncfs(root)):
        return
    full = sys.platform == "darwin"
    for path in paths:
        _fsync_path(path, full)


def flush_dirs(root: Path, files: Iterable[Path]) -> None:
    """Make the directory entries of ``files`` (just renamed into place) durable.

    Raises OSError if a flush fails.
    """
    paths = list(files)
    if not paths or (len(paths) >= SYNCFS_MIN_FILES and _syncfs(root)):
        return
    if os.name == "nt":
        return  # NTFS journals the rename; a folder cannot be opened to flush it
    for folder in sorted({p.parent for p in paths}):
        _fsync_path(folder, full=False)
