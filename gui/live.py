"""The app's driver of the shared live loop: one QTimer ticking every pair's
:class:`~blobsync.core.app.live.LivePair` on the GUI thread.

Everything that decides *when* a pair syncs (watcher, debounce, poll, fallback, the
engine-write filter, the machine-wide pause flag) is in ``core/app/live.py``, the same
code ``blobsync watch`` runs. This adapter only turns a :class:`LiveStep` into Qt
signals: :attr:`sync_due` (the controller starts the pair's sync on its engine thread),
:attr:`pause_changed` (paused or resumed elsewhere, e.g. by ``blobsync pause``),
:attr:`watch_problem` (a folder that cannot be watched, once per problem) and
:attr:`beacon_notice` (news about the pair's change beacon, once each). Each pair's
beacon is read on a thread of the LivePair's own, never on the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from blobsync.core import events as ev
from blobsync.core.app.live import LivePair, WatcherStarter, start_watcher_thread
from blobsync.core.app.pause import PauseFlag
from blobsync.core.app.schedule import DEFAULT_BEACON_INTERVAL_S, DEFAULT_DEBOUNCE_S, SyncReason
from blobsync.core.filters import FilterRules


class LiveScheduler(QObject):
    """Decides when each pair syncs by itself."""

    sync_due = Signal(str, object)  # pair_id, SyncReason
    pause_changed = Signal(str, bool)  # pair_id, paused (changed by any client)
    watch_problem = Signal(str, str)  # pair_id, one sentence (emitted once per problem)
    beacon_notice = Signal(str, object)  # pair_id, BeaconStatus (emitted once each)
    _beacon_event = Signal(str, object)  # from the beacon / engine threads, queued here
    folder_missing = Signal(str, bool)  # pair_id, missing (the folder went or came back)

    def __init__(
        self,
        *,
        tick_ms: int = 250,
        debounce_s: float = DEFAULT_DEBOUNCE_S,
        start_watcher: WatcherStarter = start_watcher_thread,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._pairs: dict[str, LivePair] = {}
        self._debounce_s = debounce_s
        self._start_watcher = start_watcher
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self._on_tick)
        self._timer.start()
        self._beacon_event.connect(self._on_beacon_event)

    # ---- configuration (GUI thread) -----------------------------------------------

    def set_pair(
        self,
        pair_id: str,
        local_root: str,
        interval_s: float,
        pause: PauseFlag,
        rules: FilterRules | None = None,
        beacon_s: float | None = DEFAULT_BEACON_INTERVAL_S,
    ) -> None:
        """Add a pair or update its intervals and filter rules (effective at once);
        ``beacon_s`` None turns the change beacon off for it."""
        live = self._pairs.get(pair_id)
        if live is not None and str(live.local_root) != local_root:
            self.remove_pair(pair_id)
            live = None
        if live is None:

            def events(event: ev.Event, pid: str = pair_id) -> None:
                if isinstance(event, ev.WatcherStatus) and not event.watching:
                    self.watch_problem.emit(pid, event.message)
                elif isinstance(event, ev.BeaconStatus):
                    # from the beacon or engine thread: a signal of ours queues it here
                    self._beacon_event.emit(pid, event)

            live = LivePair(
                local_root,
                pause,
                events,
                interval_s=interval_s,
                debounce_s=self._debounce_s,
                start_watcher=self._start_watcher,
                rules=rules,
                beacon_s=beacon_s,
            )
            self._pairs[pair_id] = live
            self._step(pair_id, live)
        else:
            live.set_interval(interval_s)
            if rules != live.rules:
                live.set_rules(rules)
            live.set_beacon(beacon_s)

    def remove_pair(self, pair_id: str) -> None:
        live = self._pairs.pop(pair_id, None)
        if live is not None:
            live.close()

    def shutdown(self) -> None:
        self._timer.stop()
        for pair_id in list(self._pairs):
            self.remove_pair(pair_id)

    def live(self, pair_id: str) -> LivePair | None:
        return self._pairs.get(pair_id)

    def is_watching(self, pair_id: str) -> bool:
        live = self._pairs.get(pair_id)
        return live is not None and live.watching

    def is_missing(self, pair_id: str) -> bool:
        live = self._pairs.get(pair_id)
        return live is not None and live.folder_missing

    def problem(self, pair_id: str) -> str | None:
        live = self._pairs.get(pair_id)
        return live.watch_problem if live is not None else None

    # ---- bookkeeping from the controller (GUI thread) ------------------------------

    def request(self, pair_id: str) -> None:
        live = self._pairs.get(pair_id)
        if live is not None:
            live.request()

    def started(self, pair_id: str) -> None:
        live = self._pairs.get(pair_id)
        if live is not None:
            live.started()

    def finished(self, pair_id: str, ok: bool, ignore_file_changed: bool = False) -> None:
        """A sync ended; one that changed the ignore file is followed by another at once."""
        live = self._pairs.get(pair_id)
        if live is not None:
            live.finished(ok, ignore_file_changed)

    def check_now(self, pair_id: str) -> None:
        """Look at the pair at once (after a pause change made here)."""
        live = self._pairs.get(pair_id)
        if live is not None:
            self._step(pair_id, live)

    # ---- internals -----------------------------------------------------------------

    @Slot(str, object)
    def _on_beacon_event(self, pair_id: str, event: object) -> None:
        if pair_id in self._pairs:
            self.beacon_notice.emit(pair_id, event)

    @Slot()
    def _on_tick(self) -> None:
        for pair_id, live in list(self._pairs.items()):
            self._step(pair_id, live)

    def _step(self, pair_id: str, live: LivePair) -> None:
        step = live.poll()
        if step.missing_now is not None:
            self.folder_missing.emit(pair_id, step.missing_now)
        if step.paused_now is not None:
            self.pause_changed.emit(pair_id, step.paused_now)
        if step.run is not None:
            self.sync_due.emit(pair_id, SyncReason(step.run))
