"""Downloads made durable per batch instead of per file.

A worker that finished a download (temp file written, MD5 verified, mtime set) hands
it to a :class:`DownloadBatch` and goes on with the next item. When the batch is full
(``max_items`` files, ``max_bytes`` bytes or ``max_age_s`` since its first file) the
worker that filled it runs :meth:`DownloadBatch._commit`, while the others keep
downloading::

    flush_files(temps)        every temp file's data is on disk
    as-scanned check, rename  each file: the local file is still what the scan saw
    flush_dirs(targets)       every rename is on disk
    snapshot rows, COMMIT     only now does the snapshot claim the files

So after a crash at any point every file is old or new (a temp file is never renamed
before its data is durable), and the snapshot never claims a file whose rename is not
durable. The crash points ``batch_*`` (core/crashpoints.py) sit between these steps.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..models import Action

MiB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Fetched:
    """One downloaded, verified temp file waiting to replace ``target``."""

    action: Action
    target: Path
    tmp: Path
    md5: bytes
    size: int


class DownloadBatch:
    """Collects :class:`Fetched` items from worker threads and commits them in batches
    through ``commit`` (called with the items, one batch at a time, in the thread that
    filled the batch or the one calling :meth:`drain`)."""

    def __init__(
        self,
        commit: Callable[[list[Fetched]], None],
        *,
        max_items: int = 64,
        max_bytes: int = 64 * MiB,
        max_age_s: float = 0.5,
    ) -> None:
        self._commit_items = commit
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self._lock = threading.Lock()
        self._commit_lock = threading.Lock()  # one batch at a time, in order
        self._items: list[Fetched] = []
        self._bytes = 0
        self._first = 0.0

    def add(self, item: Fetched) -> None:
        """Queue ``item``; commit the batch if it is now full. Raises what the commit
        raises (FatalError); per-item problems are the commit's to report."""
        with self._lock:
            if not self._items:
                self._first = time.monotonic()
            self._items.append(item)
            self._bytes += item.size
            if (
                len(self._items) < self.max_items
                and self._bytes < self.max_bytes
                and time.monotonic() - self._first < self.max_age_s
            ):
                return
            items = self._take()
        self._commit(items)

    def drain(self) -> None:
        """Commit whatever is queued (the end of a run, or a run that is stopping)."""
        with self._lock:
            items = self._take()
        self._commit(items)

    def pending(self) -> list[Fetched]:
        """Take the queued items without committing them (for cleanup after a failure)."""
        with self._lock:
            return self._take()

    def _take(self) -> list[Fetched]:
        items, self._items, self._bytes = self._items, [], 0
        return items

    def _commit(self, items: list[Fetched]) -> None:
        if items:
            with self._commit_lock:
                self._commit_items(items)
