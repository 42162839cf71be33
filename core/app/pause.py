"""One pause store for the whole machine, shared by the CLI and the desktop app.

Pausing a pair in the app pauses it for ``blobsync watch`` on the same machine, and the
reverse: both read and write this small SQLite database in the data dir, keyed by
:func:`blobsync.core.app.pairs.pair_key`, plus one row for "everything paused".
Readers poll it (each live loop once per tick); ``PRAGMA data_version`` tells a
connection cheaply whether another one has written since, so an idle poll is one
pragma, not a query.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from ..errors import ConfigError
from .settings import data_dir

EVERYTHING = "*"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS paused (
    pair_key TEXT PRIMARY KEY,
    since REAL NOT NULL
) WITHOUT ROWID;
"""


def default_path() -> Path:
    """The machine's pause database."""
    return data_dir() / "pause.sqlite3"


class PauseStore:
    """Which pairs are paused (thread-safe; one connection per store)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=5.0)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"Cannot open the pause settings {self.path}: {exc}.") from None
        self._version = -1
        self._cache: frozenset[str] = frozenset()

    def _keys(self) -> frozenset[str]:
        with self._lock:
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:
                rows = self._conn.execute("SELECT pair_key FROM paused").fetchall()
                self._cache = frozenset(r[0] for r in rows)
                self._version = version
            return self._cache

    def is_paused(self, key: str) -> bool:
        """True when the pair or everything is paused."""
        keys = self._keys()
        return key in keys or EVERYTHING in keys

    def pair_paused(self, key: str) -> bool:
        """True when this pair itself is paused (regardless of the global pause)."""
        return key in self._keys()

    def everything_paused(self) -> bool:
        return EVERYTHING in self._keys()

    def set_paused(self, key: str, paused: bool) -> None:
        """Pause or resume one pair (``EVERYTHING`` for all). Raises ConfigError."""
        try:
            with self._lock, self._conn:
                if paused:
                    self._conn.execute(
                        "INSERT OR IGNORE INTO paused VALUES (?, ?)", (key, time.time())
                    )
                else:
                    self._conn.execute("DELETE FROM paused WHERE pair_key=?", (key,))
                self._version = -1  # our own write: re-read next time
        except sqlite3.Error as exc:
            raise ConfigError(f"Cannot save the pause setting: {exc}.") from None

    def set_everything_paused(self, paused: bool) -> None:
        self.set_paused(EVERYTHING, paused)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class PauseFlag:
    """One pair's pause flag: in the shared :class:`PauseStore`, or (``store=None``)
    in memory only."""

    def __init__(self, store: PauseStore | None = None, key: str = "") -> None:
        self.store = store
        self.key = key
        self._local = False

    def is_paused(self) -> bool:
        """True when this pair, or everything, is paused."""
        return self.store.is_paused(self.key) if self.store is not None else self._local

    def set(self, paused: bool) -> None:
        """Pause or resume this pair. Raises ConfigError."""
        if self.store is not None:
            self.store.set_paused(self.key, paused)
        else:
            self._local = paused
