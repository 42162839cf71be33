"""Live sync, written once: keep a pair in sync by itself.

:class:`LivePair` is the whole live loop of one pair without a thread of its own: the
file watcher (watchdog), the schedule (debounce a burst of saves into one sync, poll
every ``interval_s`` for remote changes and lost events, retry sooner after a failure),
the fallback to polling when the folder cannot be watched (told once, in words, as a
:class:`~blobsync.core.events.WatcherStatus`), the filter that keeps the engine's own
writes from looking like local changes, the pair's filter rules (changes to excluded
items, such as a build writing into an ignored folder, start no sync; the watcher's
filter is rebuilt when a ``.blobsyncignore`` changes, the root's or a nested one, and a
sync whose run changed one is followed by another at once, under the new rules), the
shared pause flag (:mod:`.pause`: a pair paused in the app is paused for ``blobsync
watch`` too), and the change beacon (:mod:`.beacon`: other machines' changes within
seconds, read on a thread of its own once the driver hands over the pair's engine with
:meth:`LivePair.attach`). A sync that only the beacon's news asked for (no local change
waiting, no request, the full check not due) is a targeted one when the news named its
folders: :meth:`LivePair.started` decides, and the engine asks for the scope through
``SyncEngine.scope_hook`` (both drivers get it without passing anything); the engine
itself falls back to a full sync where a targeted one cannot do (:mod:`..engine.scope`),
and a failed one is retried as a full sync (the schedule's retry is a full check).

A driver calls :meth:`LivePair.poll` now and then and runs a sync when it says so:

- :class:`LiveSync` drives one pair with a plain thread (``blobsync watch``);
- the desktop app drives one :class:`LivePair` per pair from a QTimer on the GUI thread
  and runs the syncs on each pair's engine thread (``gui/live.py``).

Watchdog and beacon threads only touch the schedule under the pair's lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import events as ev
from ..engine import SyncEngine, SyncOptions
from ..engine.beacon import BeaconReport
from ..engine.filtering import local_path_filter
from ..engine.scope import SyncScope
from ..errors import BlobSyncError, Cancelled, ConfigError, FatalError
from ..filters import FilterRules, PathFilter, is_ignore_file
from ..local.watcher import ChangeWatcher, WatcherUnavailable
from ..models import SyncResult
from ..remote.base import CancelToken, RemoteStore
from .beacon import BeaconThread, BeaconView, BeaconWatch, notice_message
from .pause import PauseFlag
from .power import PowerState
from .schedule import (
    DEFAULT_BEACON_INTERVAL_S,
    DEFAULT_DEBOUNCE_S,
    DEFAULT_INTERVAL_S,
    DEFAULT_MAX_DELAY_S,
    SyncReason,
    SyncSchedule,
)

log = logging.getLogger(__name__)

#: The machine's power state, shared by every live pair (read at most once a minute).
POWER = PowerState()

WATCH_STOPPED = "Watching the folder stopped working; BlobSync checks it periodically instead."

#: Starts a watcher; tests replace it to simulate an unwatchable folder.
WatcherStarter = Callable[[ChangeWatcher], None]


def start_watcher_thread(watcher: ChangeWatcher) -> None:
    watcher.start()


@dataclass(frozen=True, slots=True)
class LiveStep:
    """What :meth:`LivePair.poll` found: run a sync now (and why), how long until
    something is due otherwise, and whether the pause flag just changed."""

    run: SyncReason | None
    wait_s: float
    paused_now: bool | None = None  # True: just paused; False: just resumed; None: same
    missing_now: bool | None = None  # True: the folder just went; False: it is back


class LivePair:
    """The live loop of one pair, driven from outside (see the module docstring)."""

    def __init__(
        self,
        local_root: str | Path,
        pause: PauseFlag | None = None,
        events: ev.EventSink = ev.ignore_event,
        *,
        interval_s: float = DEFAULT_INTERVAL_S,
        debounce_s: float = DEFAULT_DEBOUNCE_S,
        max_delay_s: float = DEFAULT_MAX_DELAY_S,
        watch: bool = True,
        start_watcher: WatcherStarter = start_watcher_thread,
        clock: Callable[[], float] = time.monotonic,
        rules: FilterRules | None = None,
        beacon_s: float | None = DEFAULT_BEACON_INTERVAL_S,
        beacon_thread: bool = True,
    ) -> None:
        self.local_root = Path(local_root)
        self.pause = pause or PauseFlag()
        self.events = events
        self.schedule = SyncSchedule(interval_s, debounce_s, max_delay_s)
        self.watch = watch
        self._start_watcher = start_watcher
        self._clock = clock
        #: Reads the change beacon every ``beacon_s`` seconds while live; None: off.
        self.beacon = BeaconWatch(
            beacon_s or DEFAULT_BEACON_INTERVAL_S, now=clock(), on_battery=POWER.on_battery
        )
        self.beacon_on = beacon_s is not None
        self._beacon_thread_wanted = beacon_thread
        self._beacon_thread: BeaconThread | None = None
        self._store: RemoteStore | None = None
        #: When a run last applied changes made elsewhere (epoch seconds), if known.
        self.last_pickup: float | None = None
        #: Called (from any thread) when a sync became due by itself: wakes the driver.
        self.wake: Callable[[], None] | None = None
        self._lock = threading.Lock()
        self._watcher: ChangeWatcher | None = None
        self._running = False
        self._was_paused: bool | None = None
        self._closed = False
        self.watch_problem: str | None = None
        self._rules = rules
        #: The watcher's own compiled rules (not a running sync's: it runs on watchdog's
        #: thread); None: every change counts.
        self.path_filter: PathFilter | None = None
        self._ignore_file_touched = False
        self.refresh_filter()
        #: The local folder is not there: nothing syncs until it is back.
        self.folder_missing = False
        #: The scope :meth:`started` chose for the sync starting now (None: everything),
        #: until the engine takes it (:meth:`take_scope`).
        self._next_scope: SyncScope | None = None

    # ---- state ---------------------------------------------------------------------

    @property
    def watching(self) -> bool:
        return self._watcher is not None

    @property
    def paused(self) -> bool:
        return self.pause.is_paused()

    @property
    def running(self) -> bool:
        return self._running

    @property
    def rules(self) -> FilterRules | None:
        return self._rules

    def set_rules(self, rules: FilterRules | None) -> None:
        """The pair's filter rules were edited: the watcher uses them at once (the
        engine from its next run)."""
        self._rules = rules
        self.refresh_filter()

    def refresh_filter(self) -> None:
        """Rebuild the watcher's filter from the rules and the folder's ignore file as
        it is now. Rules that do not compile (a hand-edited settings file) filter
        nothing here; the sync itself says what is wrong."""
        self._ignore_file_touched = False
        if self._rules is None:
            self.path_filter = None
            return
        try:
            self.path_filter = local_path_filter(self.local_root, self._rules)
        except ConfigError as exc:
            log.warning("watching %s without filter rules: %s", self.local_root, exc.message)
            self.path_filter = None

    def skips(self, rel_path: str, is_dir: bool) -> bool:
        """The watcher's ``skip``: True for a change to an excluded item (watchdog's
        thread). A change to an ignore file itself (the root's or a nested one) always
        counts, and the filter is rebuilt at the next :meth:`poll`."""
        if is_ignore_file(rel_path):
            self._ignore_file_touched = True
            return False
        path_filter = self.path_filter
        return path_filter is not None and path_filter.skips(rel_path, is_dir)

    def set_interval(self, interval_s: float) -> None:
        """A new full-check interval, effective at once (not after the check already
        scheduled)."""
        with self._lock:
            old = self.schedule.interval_s
            self.schedule.interval_s = interval_s
            self.schedule.next_poll += interval_s - old

    def set_beacon(self, interval_s: float | None) -> None:
        """Read the change beacon every ``interval_s`` seconds, or (None) not at all."""
        with self._lock:
            self.beacon_on = interval_s is not None
            if interval_s is not None:
                self.beacon.set_interval(interval_s, self._clock())

    def attach(self, engine: SyncEngine) -> None:
        """Wire the pair's engine in: its own local writes are not changes, its beacon
        reports reach the beacon watch, its store is the one the beacon is read with.
        Call it on the thread that owns the engine, right after creating it."""
        engine.on_local_write = self.ignore
        engine.on_beacon = self.beacon_report
        engine.scope_hook = self.take_scope
        pickup = engine.last_pickup_time()
        with self._lock:
            self._store = engine.store
            if pickup is not None and (self.last_pickup is None or pickup > self.last_pickup):
                self.last_pickup = pickup

    # ---- the driver's calls --------------------------------------------------------

    def poll(self) -> LiveStep:
        """Check the folder, pause and watcher health; say whether a sync is due. Call
        it from the driver's thread, a few times a second at most (one stat of the
        folder, one pause-store read)."""
        missing_now = self._check_folder()
        paused = self.pause.is_paused()
        changed: bool | None = None
        if paused != self._was_paused:
            first = self._was_paused is None
            self._was_paused = paused
            changed = None if first else paused
            if paused:
                self._stop_watcher()
                with self._lock:
                    self.schedule.paused()
            else:
                self._start_watching()
                if not first:
                    with self._lock:
                        self.schedule.request()  # resuming: look at everything now
            if changed is not None:
                self.events(ev.PauseChanged(paused))
        if paused or self.folder_missing:
            return LiveStep(None, 1.0, changed, missing_now)
        self._start_beacon_thread()
        watcher = self._watcher
        if watcher is not None and not watcher.alive:
            self._fallback(WATCH_STOPPED)
        if self._ignore_file_touched:
            self.refresh_filter()
        with self._lock:
            if self._running:
                return LiveStep(None, 1.0, changed, missing_now)
            due, wait, why = self.schedule.due(self._clock())
        return LiveStep(why if due else None, wait, changed, missing_now)

    def request(self) -> None:
        """Sync as soon as possible (the user asked)."""
        with self._lock:
            self.schedule.request()
            self.beacon.activity(self._clock())

    def started(self) -> None:
        """The driver started a (non-dry) sync: it covers every change seen so far. If
        only the beacon's news asked for it, and the news named its folders, it is a
        targeted sync of those (see :meth:`take_scope`)."""
        with self._lock:
            now = self._clock()
            schedule = self.schedule
            news_only = (
                schedule.remote_changed
                and not schedule.requested
                and schedule.first_change is None
                and schedule.next_poll > now
            )
            if news_only:
                self._next_scope = self.beacon.take_scope()
            else:
                self._next_scope = None
                self.beacon.forget_news()
            self._running = True
            schedule.started()
            self.beacon.run_started()

    def take_scope(self) -> SyncScope | None:
        """For ``engine.scope_hook``: the scope of the sync that :meth:`started` just
        announced (None: everything); given once."""
        with self._lock:
            scope, self._next_scope = self._next_scope, None
            return scope

    def finished(self, ok: bool, ignore_file_changed: bool = False) -> None:
        """The sync ended; a cancelled one counts as ok (nothing failed).
        ``ignore_file_changed`` (``SyncResult.ignore_file_changed``): the run brought a
        new ``.blobsyncignore``, whose rules apply from the next run, so the watcher's
        filter is rebuilt and the next run is due at once."""
        if ignore_file_changed:
            self.refresh_filter()
        with self._lock:
            self._running = False
            now = self._clock()
            self.schedule.finished(now, ok)
            self.beacon.run_finished(now)
            if ignore_file_changed:
                self.schedule.request()

    # ---- the change beacon ---------------------------------------------------------

    def beacon_view(self) -> BeaconView:
        """What the clients show about the beacon (on, interval, problems, pickup)."""
        with self._lock:
            return BeaconView(
                self.beacon_on,
                self.beacon.current_interval(self._clock()),
                self.beacon.problems(),
                self.last_pickup,
            )

    def beacon_wait(self) -> float:
        """Seconds until a beacon read is due (the beacon thread sleeps this long)."""
        with self._lock:
            return self.beacon.wait(self._clock())

    def check_beacon(self) -> bool:
        """Read the change beacon if a read is due (live, not paused, not syncing, an
        engine attached); a new ETag from another machine makes a sync due
        (:attr:`SyncReason.BEACON`). True if a read was sent. The beacon thread calls
        this; tests call it directly with a fake clock."""
        with self._lock:
            store = self._store
            if (
                store is None
                or not self.beacon_on
                or self._closed
                or self._running
                or self._was_paused is not False
                or self.beacon.wait(self._clock()) > 0
            ):
                return False
            if_none_match, generation = self.beacon.begin(self._clock())
        try:
            result = store.read_beacon(if_none_match)
        except BlobSyncError as exc:
            log.debug("reading the change beacon failed: %s", exc.message)
            with self._lock:
                notice = self.beacon.failed(exc, self._clock())
            self._tell(notice)
            return True
        with self._lock:
            check = self.beacon.read(result, generation, self._clock())
            if check.sync:
                self.schedule.beacon_moved()
        self._tell(check.notice)
        if check.sync and self.wake is not None:
            self.wake()
        return True

    def beacon_report(self, report: BeaconReport) -> None:
        """For ``engine.on_beacon`` (the engine's thread): what the run saw of and did to
        the beacon."""
        with self._lock:
            notice = self.beacon.run_report(report, self._clock())
            if report.picked_up:
                self.last_pickup = time.time()
        self._tell(notice)

    def _tell(self, notice: ev.BeaconNotice | None) -> None:
        if notice is None:
            return
        message = notice_message(notice, self.schedule.interval_s)
        if notice is ev.BeaconNotice.WATCHING:
            log.info("%s", message)
        else:
            log.warning("%s", message)
        self.events(ev.BeaconStatus(notice, message))

    def _start_beacon_thread(self) -> None:
        if (
            self._beacon_thread is not None
            or not self._beacon_thread_wanted
            or not self.beacon_on
            or self._closed
        ):
            return
        thread = BeaconThread(self.check_beacon, self.beacon_wait, "blobsync-beacon")
        self._beacon_thread = thread
        thread.start()

    def ignore(self, rel_path: str) -> None:
        """For ``engine.on_local_write``: the engine's own writes are not changes.
        Thread-safe; looks the watcher up at call time (it may be replaced)."""
        watcher = self._watcher
        if watcher is not None:
            watcher.ignore(rel_path)

    def close(self) -> None:
        """Stop watching (the folder and the beacon) for good."""
        self._closed = True
        self._stop_watcher()
        beacon, self._beacon_thread = self._beacon_thread, None
        if beacon is not None:
            beacon.stop()

    # ---- the folder ----------------------------------------------------------------

    def _check_folder(self) -> bool | None:
        """Notice the folder going away (moved, deleted, a drive unmounted) at the next
        poll, and coming back; returns True/False when that just changed."""
        present = self.local_root.is_dir()
        if present is not self.folder_missing:
            return None  # no change: present and known present, or still missing
        self.folder_missing = not present
        if not present:
            self._stop_watcher()
            message = (
                f"The folder {self.local_root} is missing (moved, deleted, or a drive not "
                "mounted); nothing syncs until it is back."
            )
            log.warning("%s", message)
        else:
            message = f"The folder {self.local_root} is back."
            log.info("%s", message)
            if self._was_paused is False:
                self._start_watching()
            with self._lock:
                self.schedule.request()  # look at everything now
        self.events(ev.FolderStatus(present, message))
        return not present

    # ---- watcher -------------------------------------------------------------------

    def _on_change(self) -> None:  # watchdog's thread
        with self._lock:
            now = self._clock()
            self.schedule.changed(now)
            self.beacon.activity(now)

    def _start_watching(self) -> None:
        if not self.watch or self._watcher is not None or self._closed or self.folder_missing:
            return
        watcher = ChangeWatcher(self.local_root, self._on_change)
        watcher.skip = self.skips
        try:
            self._start_watcher(watcher)
        except WatcherUnavailable as exc:
            self._fallback(exc.message)
            return
        self._watcher = watcher
        self.watch_problem = None
        self.events(ev.WatcherStatus(True, f"Watching {self.local_root} for changes."))

    def _stop_watcher(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()

    def _fallback(self, message: str) -> None:
        """Poll instead of watching; say why once per problem."""
        self._stop_watcher()
        if self.watch_problem != message:
            self.watch_problem = message
            log.warning("%s", message)
            self.events(ev.WatcherStatus(False, message))


# ---- a thread as the driver (blobsync watch) -------------------------------------------


@dataclass
class LiveStats:
    """What the loop has done (tests and the CLI read it)."""

    syncs: int = 0
    triggered_by_change: int = 0
    triggered_by_poll: int = 0
    triggered_by_beacon: int = 0
    targeted: int = 0  # syncs that looked only at the folders a beacon named
    failures: int = 0
    last_result: SyncResult | None = None
    last_error: str | None = None


class LiveSync:
    """Runs ``engine`` whenever its :class:`LivePair` says so, on a thread, until
    :meth:`stop`. A pause set elsewhere (the app, another ``watch``) cancels a running
    sync cleanly within about half a second."""

    TICK_S = 0.5

    def __init__(
        self,
        engine: SyncEngine,
        options: Callable[[], SyncOptions] | SyncOptions | None = None,
        *,
        pause: PauseFlag | None = None,
        interval_s: float = DEFAULT_INTERVAL_S,
        debounce_s: float = DEFAULT_DEBOUNCE_S,
        max_delay_s: float = DEFAULT_MAX_DELAY_S,
        watch: bool = True,
        watcher_factory: WatcherStarter | None = None,
        beacon_s: float | None = DEFAULT_BEACON_INTERVAL_S,
    ) -> None:
        self.engine = engine
        if callable(options):
            self._options = options
        else:
            fixed = options or SyncOptions()
            self._options = lambda: fixed
        self.live = LivePair(
            engine.local_root,
            pause,
            self._event,
            interval_s=interval_s,
            debounce_s=debounce_s,
            max_delay_s=max_delay_s,
            watch=watch,
            start_watcher=watcher_factory or start_watcher_thread,
            rules=self._options().filters,
            beacon_s=beacon_s,
        )
        self.live.attach(engine)
        self.stats = LiveStats()
        self._wake = threading.Event()
        self.live.wake = self._wake.set
        self._stopping = False
        self._cancel = CancelToken()
        self._thread: threading.Thread | None = None

    def _event(self, event: ev.Event) -> None:
        self.engine.events(event)

    # ---- control -------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        return self.live.paused

    @property
    def watching(self) -> bool:
        return self.live.watching

    @property
    def watch_problem(self) -> str | None:
        return self.live.watch_problem

    def start(self) -> None:
        """Start the loop (a first sync runs at once unless paused)."""
        self.live.poll()  # starts the watcher now unless paused
        self._thread = threading.Thread(target=self._loop, name="blobsync-live", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop cleanly: cancel a running sync (finished items are kept, temp files
        removed), stop watching, wait for the thread."""
        self._stopping = True
        self._cancel.cancel()
        self._wake.set()
        self.live.close()
        if self._thread is not None:
            self._thread.join(timeout)

    def pause(self) -> None:
        """Pause this pair (for every client on this machine)."""
        self.live.pause.set(True)
        self._cancel.cancel()
        self._wake.set()

    def resume(self) -> None:
        self.live.pause.set(False)
        self._wake.set()

    def sync_now(self) -> None:
        """Run a sync as soon as the current one (if any) is done."""
        self.live.request()
        self._wake.set()

    # ---- the loop ------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping:
            step = self.live.poll()
            if step.run is None:
                self._wake.wait(min(step.wait_s, self.TICK_S))
                self._wake.clear()
                continue
            self._run_once(step.run)

    def _run_once(self, why: SyncReason) -> None:
        if why is SyncReason.CHANGE:
            self.stats.triggered_by_change += 1
        elif why is SyncReason.POLL:
            self.stats.triggered_by_poll += 1
        elif why is SyncReason.BEACON:
            self.stats.triggered_by_beacon += 1
        cancel = self._cancel = CancelToken()
        if self._stopping:
            return
        done = threading.Event()
        monitor = threading.Thread(
            target=self._watch_pause, args=(cancel, done), name="blobsync-pause", daemon=True
        )
        self.live.started()
        monitor.start()
        ok = True
        ignore_file_changed = False
        try:
            result = self.engine.sync(self._options(), cancel)
            self.stats.last_result = result
            self.stats.last_error = None
            self.stats.targeted += result.scope is not None
            ignore_file_changed = result.ignore_file_changed
        except Cancelled:
            pass
        except FatalError as exc:
            ok = False
            self.stats.failures += 1
            self.stats.last_error = exc.message
        except Exception as exc:  # never let the loop die silently
            log.exception("unexpected error in live sync")
            ok = False
            self.stats.failures += 1
            self.stats.last_error = f"Unexpected error: {exc}"
        finally:
            done.set()
            self.stats.syncs += 1
            self.live.finished(ok, ignore_file_changed)

    def _watch_pause(self, cancel: CancelToken, done: threading.Event) -> None:
        """Cancel the running sync when the pair gets paused from anywhere, or its
        folder goes away."""
        while not done.wait(self.TICK_S):
            if self.live.paused or not self.live.local_root.is_dir():
                cancel.cancel()
                return
