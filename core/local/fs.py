"""Local file operations the executor needs, all confined to the sync folder:
hashing, confined paths, atomic downloads (temp file + fsync + re-check + replace),
conflict copies, deletes. The one place that turns ``OSError`` into BlobSync errors.
"""

from __future__ import annotations

import errno
import hashlib
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import ItemError
from ..models import IssueKind
from .scanner import PARTIAL_PREFIX, TEMP_PREFIX, TEMP_SUFFIX

CHUNK = 1024 * 1024
#: Coarsest mtime tick we expect (FAT/exFAT: 2 s). A file whose stamp is younger than
#: this may change again without its stamp changing ("racily clean", as git calls it):
#: such stamps are confirmed by hash, never trusted alone.
RACY_TICK_NS = 2_000_000_000


def item_error(exc: OSError, rel_path: str, doing: str) -> ItemError:
    """An ItemError with one human sentence for an OSError on ``rel_path``."""
    code = exc.errno
    if code in (errno.EACCES, errno.EPERM):
        return ItemError(f"Permission denied while {doing}.", IssueKind.PERMISSION_DENIED)
    if code == errno.ENOENT:
        return ItemError(f"The file disappeared while {doing}.", IssueKind.VANISHED)
    if code in (errno.ENOSPC, errno.EDQUOT):
        return ItemError(f"The disk is full; could not finish {doing}.", IssueKind.DISK_FULL)
    if code in (errno.ENAMETOOLONG,):
        return ItemError("The name is too long for this file system.", IssueKind.NAME_NOT_ALLOWED)
    if code in (errno.ENOTDIR, errno.EISDIR, errno.EEXIST):
        return ItemError(
            f"A file and a folder have the same name here; could not finish {doing}.",
            IssueKind.NAME_COLLISION,
        )
    return ItemError(f"{exc.strerror or exc} while {doing}.", IssueKind.IO_ERROR)


def md5_file(path: str | Path) -> bytes:
    """MD5 of a file's content. Raises OSError."""
    h = hashlib.md5()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.digest()


class ConfinementError(ItemError):
    """The target would be outside the sync folder (through a symlink or a file)."""

    kind = IssueKind.NAME_NOT_ALLOWED


def confined_path(root: Path, rel_path: str, make_parents: bool) -> Path:
    """The absolute path of ``rel_path`` under ``root``, refusing any route outside it.

    Every existing parent must be a real directory (not a symlink); missing parents are
    created (one level at a time, never following links) when ``make_parents``.
    Raises ConfinementError, OSError.
    """
    parts = rel_path.split("/")
    if any(p in ("", ".", "..") for p in parts) or "\\" in rel_path or "\x00" in rel_path:
        raise ConfinementError("The name would land outside the sync folder.")
    current = root
    for part in parts[:-1]:
        current = current / part
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            if not make_parents:
                return root.joinpath(*parts)
            try:
                os.mkdir(current)
                continue
            except FileExistsError:
                # another worker created it between our lstat and mkdir: check what it is
                st = os.lstat(current)
        if stat.S_ISLNK(st.st_mode):
            raise ConfinementError(f"'{part}' is a symbolic link; nothing is written through it.")
        if not stat.S_ISDIR(st.st_mode):
            raise ItemError(
                f"'{part}' is a file here but a folder in the container.", IssueKind.NAME_COLLISION
            )
    return current / parts[-1]


def local_state(path: Path) -> tuple[int, int] | None:
    """(size, mtime_ns) of a regular file, None if absent. Raises ItemError if it is
    something else (a folder or a link)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise ItemError("Something other than a file is in the way.", IssueKind.NAME_COLLISION)
    return st.st_size, st.st_mtime_ns


class HashingWriter:
    """A file-like sink that hashes what passes through and reports progress."""

    def __init__(
        self,
        fh: BinaryIO,
        progress: Callable[[int], None] | None = None,
        md5: Any = None,
    ) -> None:
        self._fh = fh
        self._md5 = md5 if md5 is not None else hashlib.md5()  # a resumed file's so far
        self._progress = progress
        self.written = 0

    def write(self, data: bytes) -> int:
        self._fh.write(data)
        self._md5.update(data)
        self.written += len(data)
        if self._progress is not None:
            self._progress(len(data))
        return len(data)

    def digest(self) -> bytes:
        return self._md5.digest()


def open_temp_beside(target: Path) -> tuple[Path, BinaryIO]:
    """A new, exclusive temp file in ``target``'s folder (so the final rename is atomic).

    Its name is skipped by the scanner. Raises OSError.
    """
    for _ in range(10):
        tmp = target.parent / f"{TEMP_PREFIX}{secrets.token_hex(6)}{TEMP_SUFFIX}"
        try:
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644
            )
        except FileExistsError:
            continue
        return tmp, os.fdopen(fd, "wb")
    raise OSError(errno.EEXIST, "could not create a temporary file")


#: Downloads at least this large resume into their partial file after a cancel, a
#: pause, a crash or a lost connection (smaller ones simply start again).
RESUME_MIN = 8 * 1024 * 1024


def partial_path(target: Path, etag: str) -> Path:
    """The partial file a download of ``target``'s blob at ``etag`` goes into: the same
    name on every try of that version (so it can resume), another for another version.
    Skipped by the scanner like every BlobSync temp file."""
    return target.parent / f"{PARTIAL_PREFIX}{_digest(target.name)}-{_digest(etag)}{TEMP_SUFFIX}"


def open_partial(target: Path, etag: str) -> tuple[Path, BinaryIO, Any, int]:
    """Open (or create) the partial file for ``target`` at ``etag``: returns its path,
    a handle positioned at its end, an MD5 of what it holds, and that size. Partial
    files of other versions of the same file are removed. Raises OSError."""
    path = partial_path(target, etag)
    for other in target.parent.glob(f"{PARTIAL_PREFIX}{_digest(target.name)}-*{TEMP_SUFFIX}"):
        if other != path:
            other.unlink(missing_ok=True)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    fh = os.fdopen(os.open(path, flags, 0o644), "r+b")
    md5 = hashlib.md5()
    try:
        while chunk := fh.read(1024 * 1024):
            md5.update(chunk)
        size = fh.tell()
    except BaseException:
        fh.close()
        raise
    return path, fh, md5, size


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:12]


def set_mtime(path: Path, mtime_ns: int) -> None:
    """Set a file's mtime (atime := mtime). Out-of-range values are ignored."""
    try:
        os.utime(path, ns=(mtime_ns, mtime_ns), follow_symlinks=False)
    except (OverflowError, ValueError, OSError):
        pass


def remove_empty_parents(root: Path, rel_path: str) -> None:
    """Remove now-empty folders above ``rel_path``, stopping at ``root``."""
    parts = rel_path.split("/")[:-1]
    while parts:
        try:
            os.rmdir(root.joinpath(*parts))
        except OSError:
            return
        parts.pop()


def conflict_name(rel_path: str, host: str, when: str, exists: Callable[[str], bool]) -> str:
    """``dir/name (conflict from HOST YYYY-MM-DD HHMMSS).ext``, unique per ``exists``."""
    folder, _, base = rel_path.rpartition("/")
    stem, dot, ext = base.rpartition(".")
    if not stem or not dot:  # no extension, or a dot file like ".bashrc"
        stem, ext_part = base, ""
    else:
        ext_part = "." + ext
    safe_host = "".join(c for c in host if c.isalnum() or c in "-_.") or "this computer"
    for n in range(1, 1000):
        tag = f" (conflict from {safe_host} {when}{'' if n == 1 else f' {n}'})"
        room = 200 - len(os.fsencode(tag + ext_part))
        short = stem.encode("utf-8", "surrogateescape")[:room].decode("utf-8", "ignore")
        candidate = f"{short}{tag}{ext_part}"
        full = f"{folder}/{candidate}" if folder else candidate
        if not exists(full):
            return full
    raise ItemError("Could not find a free name for the conflict copy.", IssueKind.IO_ERROR)
