"""The local recycle bin: a per-pair versions folder *outside* the synced folder.

Before a sync, restore or undo deletes or replaces a local file, the old file is kept
here first. Each kept version is one folder ``<UTC stamp>-<random>/`` holding the file
under its own base name and ``blobsync-version.json`` (what it was, when, why, which
run, its MD5 when known). The folder is its own record: it is listed from these files,
so it survives a lost or corrupt state database and history.

Why our own folder and not the desktop's trash: a restore must find the version again,
and the system trash cannot be searched portably (send2trash only sends; freedesktop,
Windows and macOS keep different, partly private indexes), is absent on servers, and
is emptied by the user without telling us. Expired versions can still be handed to the
system trash when pruned (``prune(to_system_trash=...)``), so the desktop keeps a last
chance to recover them.

Crash safety: a deletion is a rename into the bin (atomic: the file is at its old path
or in the bin, never neither); a replacement first hard-links the old file into the bin
(so the old content survives the atomic replace that follows, and the path never goes
missing). Across file systems (a folder on another drive) the old file is copied, fsynced
and renamed into the bin before the original is touched. The record is written before
the content, so a crash leaves at worst a record without content, which the listing
skips and pruning removes.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..crashpoints import crash_point
from ..models import BinReason, Writer

INFO_NAME = "blobsync-version.json"
DAY_S = 86400.0
#: Defaults for a pair; the app layer lets the user change them.
DEFAULT_MAX_AGE_DAYS = 30
DEFAULT_MAX_BYTES = 10 * 1024**3
_STAMP_FORMAT = "%Y%m%dT%H%M%S"


@dataclass(frozen=True, slots=True)
class LocalVersion:
    """One kept version of a local file."""

    version_id: str  # the folder name inside the versions folder
    rel_path: str
    kept_at: float  # epoch seconds
    size: int
    mtime_ns: int
    md5: bytes | None
    reason: BinReason
    run_id: str
    data_path: Path
    writer: Writer | None = None  # who wrote this version, when known


@dataclass
class PruneResult:
    """What :meth:`VersionsFolder.prune` removed."""

    removed: int = 0
    bytes_freed: int = 0
    to_system_trash: int = 0
    kept: list[str] = field(default_factory=list)  # ids protected from pruning


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _md5(path: Path) -> bytes:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            h.update(chunk)
    return h.digest()


def _copy_durably(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` (content + mtime) through a temp name, fsynced."""
    tmp = target.with_name(f".copy-{secrets.token_hex(4)}.tmp")
    try:
        with open(source, "rb") as src, open(tmp, "xb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
            dst.flush()
            os.fsync(dst.fileno())
        shutil.copystat(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class VersionsFolder:
    """The versions folder of one pair. Thread-safe for :meth:`keep` (each version gets
    its own folder). ``clock`` is injectable for retention tests."""

    def __init__(self, folder: str | Path, clock: Callable[[], float] = time.time) -> None:
        self.folder = Path(folder)
        self.clock = clock

    # ---- keeping -------------------------------------------------------------------

    def keep(
        self,
        path: Path,
        rel_path: str,
        *,
        move: bool,
        reason: BinReason,
        run_id: str = "",
        md5: bytes | None = None,
        writer: Writer | None = None,
    ) -> LocalVersion:
        """Keep the file at ``path`` (known as ``rel_path``) as a version.

        ``move=True`` takes it away (a deletion); ``move=False`` leaves it where it is
        (a replacement follows). Raises OSError (the file is then untouched).
        """
        st = os.lstat(path)
        if md5 is None:
            md5 = _md5(path)  # the record must say what it holds (undo matches on it)
        now = self.clock()
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        while True:
            stamp = datetime.fromtimestamp(now, tz=UTC).strftime(_STAMP_FORMAT)
            version_id = f"{stamp}-{secrets.token_hex(4)}"
            entry = self.folder / version_id
            try:
                entry.mkdir(mode=0o700)
                break
            except FileExistsError:
                continue
        base = rel_path.rsplit("/", 1)[-1]
        data_name = base if base != INFO_NAME and not base.startswith(".copy-") else "data"
        data = entry / data_name
        info = {
            "rel_path": rel_path.encode("utf-8", "surrogateescape").decode("utf-8", "replace"),
            "kept_at": now,
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "md5": md5.hex() if md5 else None,
            "reason": reason.value,
            "run_id": run_id,
            "data": data_name,
            "writer": [writer.machine, writer.installation_id] if writer else None,
        }
        info_tmp = entry / f".{INFO_NAME}.tmp"
        with open(info_tmp, "w", encoding="utf-8") as fh:
            json.dump(info, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(info_tmp, entry / INFO_NAME)
        crash_point("local_bin_after_record")
        try:
            if move:
                try:
                    os.rename(path, data)
                except OSError as exc:
                    if exc.errno != errno.EXDEV:
                        raise
                    _copy_durably(path, data)
                    os.unlink(path)
            else:
                try:
                    os.link(path, data, follow_symlinks=False)
                except OSError:
                    # another file system, or one without hard links (FAT, some shares)
                    _copy_durably(path, data)
        except BaseException:
            shutil.rmtree(entry, ignore_errors=True)
            raise
        _fsync_dir(entry)
        return LocalVersion(
            version_id,
            rel_path,
            now,
            st.st_size,
            st.st_mtime_ns,
            md5,
            reason,
            run_id,
            data,
            writer,
        )

    # ---- listing -------------------------------------------------------------------

    def _read(self, entry: Path) -> LocalVersion | None:
        try:
            with open(entry / INFO_NAME, encoding="utf-8") as fh:
                info = json.load(fh)
            data = entry / str(info["data"])
            if not data.is_file():
                return None  # a record whose content never arrived (a crash)
            writer_info = info.get("writer")
            writer = Writer(str(writer_info[0]), str(writer_info[1])) if writer_info else None
            return LocalVersion(
                entry.name,
                str(info["rel_path"]),
                float(info["kept_at"]),
                int(info["size"]),
                int(info["mtime_ns"]),
                bytes.fromhex(info["md5"]) if info.get("md5") else None,
                BinReason(info["reason"]),
                str(info.get("run_id", "")),
                data,
                writer,
            )
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None

    def versions(self, rel_path: str | None = None) -> list[LocalVersion]:
        """Kept versions (of one path, when given), oldest first."""
        try:
            names = sorted(os.listdir(self.folder))
        except FileNotFoundError:
            return []
        out = []
        for name in names:
            version = self._read(self.folder / name)
            if version is not None and (rel_path is None or version.rel_path == rel_path):
                out.append(version)
        out.sort(key=lambda v: (v.kept_at, v.version_id))
        return out

    def get(self, version_id: str) -> LocalVersion | None:
        """One version by id, or None."""
        if "/" in version_id or version_id in ("", ".", ".."):
            return None
        return self._read(self.folder / version_id)

    # ---- pruning -------------------------------------------------------------------

    def prune(
        self,
        max_age_days: float = DEFAULT_MAX_AGE_DAYS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        protect: Callable[[LocalVersion], bool] | None = None,
        to_system_trash: Callable[[Path], None] | None = None,
    ) -> PruneResult:
        """Remove versions older than ``max_age_days``, then the oldest until the rest
        fit in ``max_bytes``. ``protect(version)`` True keeps a version whatever its age
        (the engine protects any version that is the only copy of something current).
        ``to_system_trash`` (e.g. ``send2trash.send2trash``) receives expired files
        instead of them being deleted; if it fails they are deleted."""
        result = PruneResult()
        now = self.clock()
        versions = self.versions()
        total = sum(v.size for v in versions)
        for version in versions:  # oldest first
            too_old = now - version.kept_at > max_age_days * DAY_S
            too_big = total > max_bytes
            if not too_old and not too_big:
                continue
            if protect is not None and protect(version):
                result.kept.append(version.version_id)
                continue
            entry = self.folder / version.version_id
            if to_system_trash is not None:
                try:
                    to_system_trash(version.data_path)
                    result.to_system_trash += 1
                except Exception:  # noqa: BLE001 - any failure: fall back to deleting
                    pass
            shutil.rmtree(entry, ignore_errors=True)
            total -= version.size
            result.removed += 1
            result.bytes_freed += version.size
        self._remove_orphans(now)
        return result

    def _remove_orphans(self, now: float) -> None:
        """Entries a crash left without content (older than a day) are removed."""
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return
        for name in names:
            entry = self.folder / name
            if self._read(entry) is not None:
                continue
            try:
                if now - os.lstat(entry).st_mtime > DAY_S:
                    shutil.rmtree(entry, ignore_errors=True)
            except OSError:
                pass
