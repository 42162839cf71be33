"""Live sync: keep one pair in sync by itself.

A background thread runs the engine when the folder changes (watchdog events,
debounced: a burst of saves is one sync, started ``debounce_s`` after things go
quiet, at most ``max_delay_s`` after the first change) and every ``interval_s``
(picks up remote changes; the safety net for lost events). Pause stops both the
watcher and the polling and is stored in the pair's state database, so it survives a
restart. When the folder cannot be watched, the pair polls and the client is told
once, in words (:class:`~blobsync.core.events.WatcherStatus`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .. import events as ev
from ..engine import SyncEngine, SyncOptions
from ..errors import Cancelled, FatalError
from ..local.watcher import ChangeWatcher, WatcherUnavailable
from ..models import SyncResult
from ..remote.base import CancelToken
from .schedule import DEFAULT_DEBOUNCE_S, DEFAULT_INTERVAL_S, DEFAULT_MAX_DELAY_S, SyncSchedule

log = logging.getLogger(__name__)


@dataclass
class LiveStats:
    """What the loop has done (tests and the CLI read it)."""

    syncs: int = 0
    triggered_by_change: int = 0
    triggered_by_poll: int = 0
    failures: int = 0
    last_result: SyncResult | None = None
    last_error: str | None = None


class LiveSync:
    """Runs ``engine`` whenever needed until :meth:`stop`."""

    def __init__(
        self,
        engine: SyncEngine,
        options: Callable[[], SyncOptions] | SyncOptions | None = None,
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        debounce_s: float = DEFAULT_DEBOUNCE_S,
        max_delay_s: float = DEFAULT_MAX_DELAY_S,
        watch: bool = True,
        watcher_factory: Callable[[ChangeWatcher], None] | None = None,
    ) -> None:
        self.engine = engine
        if callable(options):
            self._options = options
        else:
            fixed = options or SyncOptions()

            def same_options() -> SyncOptions:
                return fixed

            self._options = same_options
        self.schedule = SyncSchedule(interval_s, debounce_s, max_delay_s)
        self.watch = watch
        self._watcher_factory = watcher_factory  # tests: replace start() to simulate failures
        self.stats = LiveStats()
        self._cond = threading.Condition()
        self._stopping = False
        self._cancel = CancelToken()
        self._thread: threading.Thread | None = None
        self._watcher: ChangeWatcher | None = None
        self.watching = False
        self.watch_problem: str | None = None

    # ---- control -------------------------------------------------------------

    @property
    def paused(self) -> bool:
        """Stored in the pair's state database: survives restarts."""
        return self.engine.state.get_meta("paused") == "1"

    def start(self) -> None:
        """Start the loop (a first sync runs at once unless paused)."""
        if not self.paused:
            self._start_watcher()
        self._thread = threading.Thread(target=self._loop, name="blobsync-live", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop cleanly: cancel a running sync (finished items are kept, temp files
        removed), stop watching, wait for the thread."""
        with self._cond:
            self._stopping = True
            self._cancel.cancel()
            self._cond.notify_all()
        self._stop_watcher()
        if self._thread is not None:
            self._thread.join(timeout)

    def pause(self) -> None:
        self.engine.state.set_meta("paused", "1")
        self.engine.state.commit()
        self._stop_watcher()
        self.engine.events(ev.PauseChanged(True))

    def resume(self) -> None:
        self.engine.state.set_meta("paused", "0")
        self.engine.state.commit()
        self._start_watcher()
        self.engine.events(ev.PauseChanged(False))
        self.sync_now()

    def sync_now(self) -> None:
        """Run a sync as soon as the current one (if any) is done."""
        with self._cond:
            self.schedule.request()
            self._cond.notify_all()

    # ---- watcher -------------------------------------------------------------

    def _on_change(self) -> None:
        with self._cond:
            self.schedule.changed(time.monotonic())
            self._cond.notify_all()

    def _start_watcher(self) -> None:
        if not self.watch or self._watcher is not None:
            return
        watcher = ChangeWatcher(self.engine.local_root, self._on_change)
        try:
            if self._watcher_factory is not None:
                self._watcher_factory(watcher)
            watcher.start()
        except WatcherUnavailable as exc:
            self._fallback(exc.message)
            return
        self._watcher = watcher
        self.engine.on_local_write = watcher.ignore
        self.watching = True
        self.watch_problem = None
        self.engine.events(
            ev.WatcherStatus(True, f"Watching {self.engine.local_root} for changes.")
        )

    def _stop_watcher(self) -> None:
        watcher, self._watcher = self._watcher, None
        self.engine.on_local_write = None
        self.watching = False
        if watcher is not None:
            watcher.stop()

    def _fallback(self, message: str) -> None:
        """Say once why we poll instead of watching."""
        self._stop_watcher()
        if self.watch_problem != message:
            self.watch_problem = message
            log.warning("%s", message)
            self.engine.events(ev.WatcherStatus(False, message))

    # ---- the loop ------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stopping:
                        return
                    now = time.monotonic()
                    if self.paused and not self.schedule.requested:
                        self.schedule.paused()
                        self._cond.wait(1.0)
                        continue
                    run, wait, why = self.schedule.due(now)
                    if run:
                        break
                    self._cond.wait(min(wait, 1.0))
                self.schedule.started()
                self._cancel = CancelToken()
                cancel = self._cancel
            if self._watcher is not None and not self._watcher.alive:
                self._fallback(
                    "Watching the folder stopped working; BlobSync checks it periodically instead."
                )
            self._run_once(why, cancel)

    def _run_once(self, why: str, cancel: CancelToken) -> None:
        if why == "change":
            self.stats.triggered_by_change += 1
        elif why == "poll":
            self.stats.triggered_by_poll += 1
        ok = False
        try:
            self.stats.last_result = self.engine.sync(self._options(), cancel)
            self.stats.last_error = None
            ok = True
        except Cancelled:
            return
        except FatalError as exc:
            self.stats.failures += 1
            self.stats.last_error = exc.message
        except Exception as exc:  # never let the loop die silently
            log.exception("unexpected error in live sync")
            self.stats.failures += 1
            self.stats.last_error = f"Unexpected error: {exc}"
        finally:
            self.stats.syncs += 1
        with self._cond:
            self.schedule.finished(time.monotonic(), ok)
