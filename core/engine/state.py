"""The per-pair state database (SQLite): snapshot of the last agreed state, hash cache,
pending issues, archived blobs not synced, and a few facts (last successful sync).

One database per (folder, account, container) pair, in the platform data dir. WAL
mode, a schema version, and a lost or corrupt database is moved aside and started
afresh: "nothing known" turns differences into conflicts or merges, never deletions.
Thread-safe: worker threads record results through one connection under a lock;
commits are batched (a crash loses at most the last batch of *records*, never data:
the next run finds both sides equal and records them again).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import ConfigError
from ..models import AccessTier, ActionKind, ArchivedBlob, Issue, IssueKind, SnapshotEntry

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_COMMIT_EVERY = 500
_COMMIT_SECONDS = 1.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshot (
    rel_path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    md5 BLOB NOT NULL,
    etag TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hashes (
    rel_path TEXT PRIMARY KEY,
    inode INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    md5 BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS issues (
    rel_path TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    retryable INTEGER NOT NULL,
    conflict_copy TEXT,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL
) WITHOUT ROWID;
"""

#: Archived blobs not synced, kept so each is announced once (when first seen), not on
#: every run. A table of its own, created if missing: older databases gain it as is.
_ARCHIVED_SCHEMA = """
CREATE TABLE IF NOT EXISTS archived (
    rel_path TEXT PRIMARY KEY,
    held TEXT NOT NULL,
    rehydrating_to TEXT,
    size INTEGER NOT NULL,
    first_seen REAL NOT NULL
) WITHOUT ROWID;
"""

_I64 = (1 << 63) - 1


def _i64(value: int) -> int:
    """Clamp to SQLite's 64-bit INTEGER: an mtime past 2262 (or before 1677) in
    nanoseconds does not fit, and file systems allow such mtimes."""
    return max(-_I64 - 1, min(_I64, value))


def _text(value: str) -> str:
    """A string SQLite can store: undecodable file names (surrogate escapes) are kept
    for display with replacement characters."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value


class StateDB:
    """Open (creating or recovering) the state database at ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._pending = 0
        self._last_commit = time.monotonic()
        self.recovered_from_corruption = False
        self._closed = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = self._open()
        except sqlite3.DatabaseError:
            self._move_aside()
            self._conn = self._open()
            self.recovered_from_corruption = True

    # ---- opening -------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            conn.executescript(_ARCHIVED_SCHEMA)
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            elif int(row[0]) > SCHEMA_VERSION:
                conn.close()
                raise ConfigError(
                    f"The state database {self.path} was written by a newer BlobSync; "
                    "upgrade BlobSync to use it."
                )
            conn.execute("SELECT count(*) FROM snapshot").fetchone()
            conn.execute("BEGIN")
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    def _move_aside(self) -> None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                os.replace(src, Path(f"{self.path}.corrupt-{stamp}{suffix}"))
        log.warning("State database %s was unreadable; moved aside, starting afresh", self.path)

    # ---- transactions ----------------------------------------------------------------

    def _wrote(self) -> None:
        self._pending += 1
        now = time.monotonic()
        if self._pending >= _COMMIT_EVERY or now - self._last_commit >= _COMMIT_SECONDS:
            self.commit()

    def commit(self) -> None:
        """Make everything recorded so far durable."""
        with self._lock:
            self._conn.execute("COMMIT")
            self._conn.execute("BEGIN")
            self._pending = 0
            self._last_commit = time.monotonic()

    def close(self) -> None:
        """Commit and close."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._conn.execute("COMMIT")
            except sqlite3.OperationalError:
                pass
            self._conn.close()

    # ---- snapshot ----------------------------------------------------------------

    def iter_snapshot(self, prefix: str = "") -> Iterator[SnapshotEntry]:
        """All snapshot rows (or those whose path starts with ``prefix``, which ends
        with "/") in code-point order of ``rel_path`` (SQLite BINARY = UTF-8 byte order =
        code-point order), read in batches so memory stays flat."""
        # The rows under "x/" are exactly those in ["x/", "x0"): "0" follows "/".
        low, high = (prefix, prefix[:-1] + "0") if prefix else ("", None)
        bound = "" if high is None else " AND rel_path < ?"
        last = low
        first = True
        while True:
            args: tuple[str, ...] = (last,) if high is None else (last, high)
            with self._lock:
                rows = self._conn.execute(
                    "SELECT rel_path, size, mtime_ns, md5, etag FROM snapshot "
                    f"WHERE rel_path {'>=' if first else '>'} ?{bound} "
                    "ORDER BY rel_path LIMIT 2000",
                    args,
                ).fetchall()
            if not rows:
                return
            first = False
            for row in rows:
                yield SnapshotEntry(row[0], row[1], row[2], bytes(row[3]), row[4])
            last = rows[-1][0]

    def snapshot_count(self, prefix: str = "") -> int:
        """Snapshot rows (whose path starts with ``prefix``, which ends with "/")."""
        with self._lock:
            if not prefix:
                count: int = self._conn.execute("SELECT count(*) FROM snapshot").fetchone()[0]
            else:
                count = self._conn.execute(
                    "SELECT count(*) FROM snapshot WHERE rel_path >= ? AND rel_path < ?",
                    (prefix, prefix[:-1] + "0"),
                ).fetchone()[0]
            return count

    def has_snapshot(self) -> bool:
        """True if anything was ever synced (cheaper than counting the rows)."""
        with self._lock:
            return self._conn.execute("SELECT 1 FROM snapshot LIMIT 1").fetchone() is not None

    def get_snapshot(self, rel_path: str) -> SnapshotEntry | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT rel_path, size, mtime_ns, md5, etag FROM snapshot WHERE rel_path=?",
                (rel_path,),
            ).fetchone()
        return None if row is None else SnapshotEntry(row[0], row[1], row[2], bytes(row[3]), row[4])

    def put_snapshot(self, entry: SnapshotEntry) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO snapshot VALUES (?, ?, ?, ?, ?)",
                (entry.rel_path, entry.size, _i64(entry.mtime_ns), entry.md5, entry.etag),
            )
            self._conn.execute("DELETE FROM hashes WHERE rel_path=?", (entry.rel_path,))
            self._wrote()

    def delete_snapshot(self, rel_path: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM snapshot WHERE rel_path=?", (rel_path,))
            self._wrote()

    # ---- hash cache --------------------------------------------------------------

    def cached_md5(self, rel_path: str, inode: int, size: int, mtime_ns: int) -> bytes | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT md5 FROM hashes WHERE rel_path=? AND inode=? AND size=? AND mtime_ns=?",
                (rel_path, _i64(inode), size, _i64(mtime_ns)),
            ).fetchone()
        return None if row is None else bytes(row[0])

    def cache_md5(self, rel_path: str, inode: int, size: int, mtime_ns: int, md5: bytes) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?)",
                (rel_path, _i64(inode), size, _i64(mtime_ns), md5),
            )
            self._wrote()

    # ---- issues --------------------------------------------------------------------

    def issues(self) -> list[Issue]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT rel_path, kind, message, retryable, conflict_copy FROM issues "
                "ORDER BY rel_path"
            ).fetchall()
        return [Issue(r[0], IssueKind(r[1]), r[2], bool(r[3]), r[4]) for r in rows]

    def replace_issues(self, current: list[Issue], keep: list[Issue]) -> None:
        """Store this run's issues; ``keep`` are older ones still pending (conflicts)."""
        now = time.time()
        with self._lock:
            old = {
                r[0]: r[1]
                for r in self._conn.execute("SELECT rel_path, first_seen FROM issues").fetchall()
            }
            self._conn.execute("DELETE FROM issues")
            for issue in [*keep, *current]:
                self._conn.execute(
                    "INSERT OR REPLACE INTO issues VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        _text(issue.rel_path),
                        issue.kind.value,
                        _text(issue.message),
                        int(issue.retryable),
                        issue.conflict_copy,
                        old.get(issue.rel_path, now),
                        now,
                    ),
                )
            self.commit()

    def remove_issue(self, rel_path: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM issues WHERE rel_path=?", (rel_path,))
            self.commit()

    # ---- archived blobs ------------------------------------------------------------

    def archived(self) -> list[ArchivedBlob]:
        """The archived blobs the last run left unsynced, by name."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT rel_path, held, rehydrating_to, size FROM archived ORDER BY rel_path"
            ).fetchall()
        return [
            ArchivedBlob(r[0], ActionKind(r[1]), AccessTier(r[2]) if r[2] else None, r[3])
            for r in rows
        ]

    def replace_archived(self, current: list[ArchivedBlob]) -> set[str]:
        """Store this run's archived blobs; returns the names first seen in this run."""
        now = time.time()
        with self._lock:
            old = {
                r[0]: r[1] for r in self._conn.execute("SELECT rel_path, first_seen FROM archived")
            }
            self._conn.execute("DELETE FROM archived")
            for blob in current:
                self._conn.execute(
                    "INSERT OR REPLACE INTO archived VALUES (?, ?, ?, ?, ?)",
                    (
                        _text(blob.rel_path),
                        blob.held.value,
                        blob.rehydrating_to.value if blob.rehydrating_to else None,
                        _i64(blob.size),
                        old.get(blob.rel_path, now),
                    ),
                )
            self.commit()
        return {b.rel_path for b in current if b.rel_path not in old}

    # ---- facts -------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
            self._wrote()
