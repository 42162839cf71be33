"""The history of applied changes (SQLite), kept apart from the state database.

Every change a run applies on either side is one row: when, which pair, what kind,
the path, its size, who made the change (the machine that wrote the version that was
applied: this machine for uploads, the blob's writer for downloads, the deleter for a
remote deletion when its bin copy names it), the run it belonged to, and where the
version it replaced or deleted was kept (local versions folder, container bin). Runs
are rows too (kind sync / restore / undo / resolve, machine, start, end).

Its own file (passed in by path): a lost or corrupt state database must not take the
history with it. The app layer keeps one history for all pairs at
``platformdirs.user_data_dir("blobsync")/history.sqlite3`` (rows carry the pair id),
which the Activity view and ``blobsync history`` read. A corrupt history is moved
aside and started afresh (the bins still list their own contents). Rows older than
``keep_days`` (default 90) are pruned at most once a day. Several processes may use it
(WAL mode, a busy timeout); writes from worker threads go through one lock.
"""

from __future__ import annotations

import enum
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..models import Writer

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DEFAULT_KEEP_DAYS = 90
_DAY_S = 86400.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    pair TEXT NOT NULL,
    kind TEXT NOT NULL,
    machine TEXT NOT NULL,
    installation_id TEXT NOT NULL,
    started REAL NOT NULL,
    finished REAL,
    changes INTEGER NOT NULL DEFAULT 0,
    undoes TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_time ON runs (pair, started);
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    pair TEXT NOT NULL,
    time REAL NOT NULL,
    kind TEXT NOT NULL,
    rel_path TEXT NOT NULL,
    old_path TEXT,
    size INTEGER NOT NULL,
    machine TEXT,
    installation_id TEXT,
    local_bin TEXT,
    remote_bin TEXT,
    before_md5 BLOB,
    after_md5 BLOB,
    after_etag TEXT,
    after_mtime_ns INTEGER,
    other_machine TEXT
);
CREATE INDEX IF NOT EXISTS changes_by_time ON changes (time);
CREATE INDEX IF NOT EXISTS changes_by_run ON changes (run_id);
CREATE INDEX IF NOT EXISTS changes_by_path ON changes (pair, rel_path);
"""


class ChangeKind(enum.StrEnum):
    """What one applied change did."""

    UPLOADED = "uploaded"  # a local version went to the container (new or replacing)
    DOWNLOADED = "downloaded"  # a container version came here (new or replacing)
    DELETED_LOCAL = "deleted_local"  # deleted here (another machine deleted it)
    DELETED_REMOTE = "deleted_remote"  # deleted in the container (deleted here)
    MOVED_LOCAL = "moved_local"  # renamed here (renamed elsewhere)
    MOVED_REMOTE = "moved_remote"  # renamed in the container (renamed here)
    CONFLICT = "conflict"  # both changed: both kept
    CONFLICT_RESOLVED = "conflict_resolved"  # both changed: the pair's rule chose one
    RESTORED = "restored"  # a previous version put back here by a restore or an undo
    RESTORED_REMOTE = "restored_remote"  # ... put back in the container (server-side copy)
    REMOVED = "removed"  # an undo took away a file the undone run had brought


class RunKind(enum.StrEnum):
    """What started a run."""

    SYNC = "sync"
    RESTORE = "restore"
    UNDO = "undo"
    RESOLVE = "resolve"


@dataclass(frozen=True, slots=True)
class Change:
    """One applied change (see the module docstring)."""

    run_id: str
    pair: str
    time: float
    kind: ChangeKind
    rel_path: str
    size: int
    writer: Writer | None  # who made the change; None: another app / unknown
    old_path: str | None = None  # moves: where it was
    local_bin: str | None = None  # versions-folder id of what it replaced/deleted here
    remote_bin: str | None = None  # container bin name of what it replaced/deleted there
    before_md5: bytes | None = None  # the content it replaced or deleted
    after_md5: bytes | None = None  # the content it left (None: the item is gone)
    after_etag: str | None = None  # the blob's ETag it left (None: no blob)
    after_mtime_ns: int | None = None  # the local file's mtime it left
    other: Writer | None = None  # conflicts: the other side's writer
    id: int = 0


@dataclass(frozen=True, slots=True)
class Run:
    """One run: a sync, a restore, an undo or a resolution."""

    run_id: str
    pair: str
    kind: RunKind
    machine: str
    installation_id: str
    started: float
    finished: float | None
    changes: int
    undoes: str | None = None  # the run an undo reverted


def new_run_id() -> str:
    """A short, sortable-by-nothing, unique run id (hex: safe in metadata and on a
    command line)."""
    return secrets.token_hex(6)


def _writer(machine: str | None, install: str | None) -> Writer | None:
    if not machine and not install:
        return None
    return Writer(machine or "", install or "")


class History:
    """Open (creating or recovering) the history database at ``path``."""

    def __init__(
        self,
        path: str | Path,
        keep_days: float = DEFAULT_KEEP_DAYS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.keep_days = keep_days
        self.clock = clock
        self._lock = threading.RLock()
        self._buffer: list[tuple[object, ...]] = []
        self._since = time.monotonic()
        self.recovered_from_corruption = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = self._open()
        except sqlite3.DatabaseError:
            self._move_aside()
            self._conn = self._open()
            self.recovered_from_corruption = True

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if row is None:
                conn.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            conn.execute("SELECT count(*) FROM changes").fetchone()
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
        log.warning("History database %s was unreadable; moved aside, starting afresh", self.path)

    def flush(self) -> None:
        """Write the changes recorded so far, in one short transaction (no transaction
        stays open between calls: other processes share this file)."""
        with self._lock:
            rows, self._buffer = self._buffer, []
            self._since = time.monotonic()
            if not rows:
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(_INSERT, rows)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def close(self) -> None:
        """Commit and close."""
        with self._lock:
            self.flush()
            self._conn.close()

    # ---- identity ------------------------------------------------------------------

    def installation_id(self) -> str:
        """A random id for this installation, made once and kept here (the app layer
        may keep its own and pass it in SyncOptions instead)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM meta WHERE key='installation_id'"
            ).fetchone()
            if row is not None:
                return str(row[0])
            value = secrets.token_hex(16)
            self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('installation_id', ?)", (value,))
            row = self._conn.execute(
                "SELECT value FROM meta WHERE key='installation_id'"
            ).fetchone()
            return str(row[0])

    # ---- writing -------------------------------------------------------------------

    def start_run(self, pair: str, kind: RunKind, writer: Writer, undoes: str | None = None) -> str:
        """Record a run's start; returns its id."""
        run_id = new_run_id()
        with self._lock:
            self._conn.execute(
                "INSERT INTO runs (run_id, pair, kind, machine, installation_id, started, undoes) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    pair,
                    kind.value,
                    writer.machine,
                    writer.installation_id,
                    self.clock(),
                    undoes,
                ),
            )
        return run_id

    def finish_run(self, run_id: str) -> None:
        """Record a run's end (its change count), and prune old rows once a day."""
        with self._lock:
            self.flush()
            self._conn.execute(
                "UPDATE runs SET finished=?, changes=(SELECT count(*) FROM changes WHERE run_id=?) "
                "WHERE run_id=?",
                (self.clock(), run_id, run_id),
            )
        self.prune()

    def record(self, change: Change) -> None:
        """Add one change. Rows are written in batches (every 200 rows or second, and
        at the end of the run, 2 us a row instead of 50 us each on their own): a crash
        loses at most the last batch of rows, never a version (the bins list their own
        contents)."""
        w, o = change.writer, change.other
        row = (
            change.run_id,
            change.pair,
            change.time or self.clock(),
            change.kind.value,
            _text(change.rel_path),
            _text(change.old_path) if change.old_path else None,
            change.size,
            w.machine if w else None,
            w.installation_id if w else None,
            change.local_bin,
            change.remote_bin,
            change.before_md5,
            change.after_md5,
            change.after_etag,
            _i64(change.after_mtime_ns) if change.after_mtime_ns is not None else None,
            o.machine if o else None,
        )
        with self._lock:
            self._buffer.append(row)
            if len(self._buffer) >= 200 or time.monotonic() - self._since > 1.0:
                self.flush()

    def prune(self, force: bool = False) -> int:
        """Delete changes and runs older than ``keep_days`` (at most once a day unless
        ``force``); returns the number of changes removed."""
        now = self.clock()
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key='last_prune'").fetchone()
            if not force and row is not None and now - float(row[0]) < _DAY_S:
                return 0
            cutoff = now - self.keep_days * _DAY_S
            removed = self._conn.execute("DELETE FROM changes WHERE time < ?", (cutoff,)).rowcount
            self._conn.execute(
                "DELETE FROM runs WHERE started < ? AND run_id NOT IN (SELECT run_id FROM changes)",
                (cutoff,),
            )
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES ('last_prune', ?)", (repr(now),))
            return int(removed)

    # ---- queries -------------------------------------------------------------------

    def changes(
        self,
        pair: str | None = None,
        kinds: Iterable[ChangeKind] | None = None,
        text: str | None = None,
        run_id: str | None = None,
        rel_path: str | None = None,
        limit: int = 500,
    ) -> list[Change]:
        """Recent changes, newest first, filtered by pair, kinds, a text found in the
        path or the machine name (case-insensitive), a run, an exact path."""
        where: list[str] = []
        args: list[object] = []
        if pair is not None:
            where.append("pair = ?")
            args.append(pair)
        if kinds is not None:
            kind_list = [k.value for k in kinds]
            where.append(f"kind IN ({','.join('?' * len(kind_list))})" if kind_list else "0")
            args.extend(kind_list)
        if text:
            where.append(
                "(instr(lower(rel_path), ?) > 0 OR instr(lower(coalesce(machine,'')), ?) > 0)"
            )
            args.extend([text.lower(), text.lower()])
        if run_id is not None:
            where.append("run_id = ?")
            args.append(run_id)
        if rel_path is not None:
            where.append("rel_path = ?")
            args.append(rel_path)
        sql = (
            "SELECT run_id, pair, time, kind, rel_path, size, machine, installation_id, old_path, "
            "local_bin, remote_bin, before_md5, after_md5, after_etag, after_mtime_ns, "
            "other_machine, id FROM changes"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY time DESC, id DESC LIMIT ?"
        args.append(limit)
        self.flush()
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [
            Change(
                run_id=r[0],
                pair=r[1],
                time=r[2],
                kind=ChangeKind(r[3]),
                rel_path=r[4],
                size=r[5],
                writer=_writer(r[6], r[7]),
                old_path=r[8],
                local_bin=r[9],
                remote_bin=r[10],
                before_md5=bytes(r[11]) if r[11] is not None else None,
                after_md5=bytes(r[12]) if r[12] is not None else None,
                after_etag=r[13],
                after_mtime_ns=r[14],
                other=_writer(r[15], None),
                id=r[16],
            )
            for r in rows
        ]

    def runs(self, pair: str | None = None, limit: int = 100) -> list[Run]:
        """Recent runs that changed something, newest first."""
        sql = (
            "SELECT run_id, pair, kind, machine, installation_id, started, finished, changes, "
            "undoes FROM runs WHERE changes > 0"
        )
        args: list[object] = []
        if pair is not None:
            sql += " AND pair = ?"
            args.append(pair)
        sql += " ORDER BY started DESC LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [Run(r[0], r[1], RunKind(r[2]), r[3], r[4], r[5], r[6], r[7], r[8]) for r in rows]

    def run(self, run_id: str) -> Run | None:
        """One run by id (whether or not it changed anything)."""
        with self._lock:
            r = self._conn.execute(
                "SELECT run_id, pair, kind, machine, installation_id, started, finished, changes, "
                "undoes FROM runs WHERE run_id = ?",
                (run_id,),
            ).fetchone()
        return (
            None
            if r is None
            else Run(r[0], r[1], RunKind(r[2]), r[3], r[4], r[5], r[6], r[7], r[8])
        )


_INSERT = (
    "INSERT INTO changes (run_id, pair, time, kind, rel_path, old_path, size, machine, "
    "installation_id, local_bin, remote_bin, before_md5, after_md5, after_etag, "
    "after_mtime_ns, other_machine) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


_I64 = (1 << 63) - 1


def _i64(value: int) -> int:
    """Clamp to SQLite's 64-bit INTEGER (file systems allow mtimes past 2262)."""
    return max(-_I64 - 1, min(_I64, value))


def _text(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value
