"""Live sync for the desktop app: one file watcher and one schedule per folder pair.

:class:`PairWatchers` lives in the GUI thread. Watchdog threads only touch a
:class:`~blobsync.core.schedule.SyncSchedule` under a lock; a QTimer in the GUI thread
asks each schedule whether a sync is due (a local change that has gone quiet, the poll
interval, a retry after a failure) and emits :attr:`sync_due`, which the controller
turns into a sync on the pair's bridge. A folder that cannot be watched (inotify limit,
network file system) is reported once through :attr:`watch_problem` and simply polled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from blobsync.core.app.schedule import DEFAULT_DEBOUNCE_S, SyncSchedule
from blobsync.core.local.watcher import ChangeWatcher, WatcherUnavailable

WatcherStarter = Callable[[ChangeWatcher], None]


def _start(watcher: ChangeWatcher) -> None:
    watcher.start()


@dataclass
class _Pair:
    root: Path
    schedule: SyncSchedule
    enabled: bool = True
    running: bool = False
    watcher: ChangeWatcher | None = None
    problem: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class PairWatchers(QObject):
    """Decides when each pair syncs by itself."""

    sync_due = Signal(str, str)  # pair_id, why ("change" / "poll" / "request")
    watch_problem = Signal(str, str)  # pair_id, one sentence (emitted once per problem)

    def __init__(
        self,
        *,
        tick_ms: int = 250,
        debounce_s: float = DEFAULT_DEBOUNCE_S,
        start_watcher: WatcherStarter = _start,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._pairs: dict[str, _Pair] = {}
        self._debounce_s = debounce_s
        self._start_watcher = start_watcher
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self._on_tick)
        self._timer.start()

    # ---- configuration (GUI thread) -----------------------------------------------

    def set_pair(self, pair_id: str, local_root: str, interval_s: float, enabled: bool) -> None:
        """Add or update a pair; ``enabled=False`` (paused) stops watching and polling."""
        pair = self._pairs.get(pair_id)
        root = Path(local_root)
        if pair is None or pair.root != root:
            self.remove_pair(pair_id)
            pair = _Pair(root, SyncSchedule(interval_s=interval_s, debounce_s=self._debounce_s))
            self._pairs[pair_id] = pair
        pair.schedule.interval_s = interval_s
        was_enabled, pair.enabled = pair.enabled, enabled
        if enabled and pair.watcher is None:
            self._watch(pair_id, pair)
            if not was_enabled:
                with pair.lock:
                    pair.schedule.request()  # resuming: look at everything now
        elif not enabled:
            self._unwatch(pair)

    def remove_pair(self, pair_id: str) -> None:
        pair = self._pairs.pop(pair_id, None)
        if pair is not None:
            self._unwatch(pair)

    def shutdown(self) -> None:
        self._timer.stop()
        for pair_id in list(self._pairs):
            self.remove_pair(pair_id)

    def is_watching(self, pair_id: str) -> bool:
        pair = self._pairs.get(pair_id)
        return pair is not None and pair.watcher is not None

    def problem(self, pair_id: str) -> str | None:
        pair = self._pairs.get(pair_id)
        return pair.problem if pair is not None else None

    # ---- bookkeeping from the controller (GUI thread) ------------------------------

    def request(self, pair_id: str) -> None:
        pair = self._pairs.get(pair_id)
        if pair is not None:
            with pair.lock:
                pair.schedule.request()

    def started(self, pair_id: str) -> None:
        pair = self._pairs.get(pair_id)
        if pair is not None:
            with pair.lock:
                pair.running = True
                pair.schedule.started()

    def finished(self, pair_id: str, ok: bool) -> None:
        pair = self._pairs.get(pair_id)
        if pair is not None:
            with pair.lock:
                pair.running = False
                pair.schedule.finished(time.monotonic(), ok)

    def ignore_callback(self, pair_id: str) -> Callable[[str], None]:
        """For ``engine.on_local_write``: the engine's own writes are not changes.

        Thread-safe; looks the watcher up at call time (it may be replaced)."""

        def ignore(rel_path: str) -> None:
            pair = self._pairs.get(pair_id)
            watcher = pair.watcher if pair is not None else None
            if watcher is not None:
                watcher.ignore(rel_path)

        return ignore

    # ---- internals -----------------------------------------------------------------

    def _watch(self, pair_id: str, pair: _Pair) -> None:
        def on_change() -> None:  # watchdog's thread
            with pair.lock:
                pair.schedule.changed(time.monotonic())

        watcher = ChangeWatcher(pair.root, on_change)
        try:
            self._start_watcher(watcher)
        except WatcherUnavailable as exc:
            if pair.problem != exc.message:
                pair.problem = exc.message
                self.watch_problem.emit(pair_id, exc.message)
            return
        pair.watcher = watcher
        pair.problem = None

    @staticmethod
    def _unwatch(pair: _Pair) -> None:
        watcher, pair.watcher = pair.watcher, None
        if watcher is not None:
            watcher.stop()
        with pair.lock:
            pair.schedule.paused()

    @Slot()
    def _on_tick(self) -> None:
        now = time.monotonic()
        for pair_id, pair in list(self._pairs.items()):
            if not pair.enabled:
                continue
            if pair.watcher is not None and not pair.watcher.alive:
                self._unwatch(pair)
                message = (
                    "Watching the folder stopped working; BlobSync checks it periodically instead."
                )
                if pair.problem != message:
                    pair.problem = message
                    self.watch_problem.emit(pair_id, message)
            with pair.lock:
                if pair.running:
                    continue
                due, _wait, why = pair.schedule.due(now)
            if due:
                self.sync_due.emit(pair_id, why)
