"""The one door between the GUI thread and an engine: a QThread plus Qt signals.

Each folder pair gets one :class:`EngineBridge`. The engine (``SyncEngine`` or anything
with the same methods) lives on the bridge's worker QThread: it is created there and
every call (sync, pending_issues, resolve, close) runs there, one after the other, so
the GUI never blocks and the engine's SQLite connection stays on one thread.

Engine events arrive on worker threads. High-rate ones (item progress, overall
progress, items started/finished) only update a :class:`ProgressTracker` under a lock;
a 10 Hz QTimer in the GUI thread emits one :class:`ProgressSnapshot` per tick, so
thousands of files cannot flood the event loop. Rare events (plan ready, issue raised)
are re-emitted as signals at once. Every signal carries Python objects
(``Signal(object)``), never ``Signal(int)``: byte counts exceed 32 bits.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from blobsync.core.engine import Resolution, SyncOptions
from blobsync.core.errors import (
    BlobSyncError,
    Cancelled,
    ConnectionFailure,
    FatalError,
    SafetyStop,
)
from blobsync.core.events import (
    Event,
    EventSink,
    IssueRaised,
    ItemFinished,
    ItemProgress,
    ItemStarted,
    OverallProgress,
    PhaseChanged,
    PlanReady,
    SyncStarted,
)
from blobsync.core.models import ActionKind, Issue, IssueKind, SyncResult
from blobsync.core.remote.base import CancelToken

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_MS = 100  # 10 Hz: smooth enough, cheap with thousands of files
_SPEED_WINDOW_S = 3.0


class EngineLike(Protocol):
    """What the GUI needs from :class:`blobsync.core.engine.SyncEngine`."""

    def sync(
        self, options: SyncOptions | None = None, cancel: CancelToken | None = None
    ) -> SyncResult: ...

    def pending_issues(self) -> list[Issue]: ...

    def resolve(self, rel_path: str, resolution: Resolution) -> None: ...

    def last_sync_time(self) -> float | None: ...

    def close(self) -> None: ...


#: Builds the engine on the worker thread; it must send events to the given sink.
EngineFactory = Callable[[EventSink], EngineLike]


# ---- progress bookkeeping (pure Python, thread-safe) ---------------------------------


@dataclass(frozen=True, slots=True)
class Transfer:
    """One item being moved right now."""

    rel_path: str
    kind: ActionKind
    bytes_done: int
    size: int


@dataclass(frozen=True, slots=True)
class ProgressSnapshot:
    """Everything the progress view shows, at one instant."""

    running: bool = False
    dry_run: bool = False
    phase: str = ""
    files_done: int = 0
    files_total: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    uploaded: int = 0
    downloaded: int = 0
    deleted: int = 0
    skipped: int = 0
    conflicts: int = 0
    transfers: tuple[Transfer, ...] = ()
    speed_bps: float = 0.0
    eta_s: float | None = None
    elapsed_s: float = 0.0


@dataclass
class ProgressTracker:
    """Folds engine events into counters; ``snapshot()`` reads them (any thread)."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _state: dict[str, Any] = field(default_factory=dict)
    _transfers: dict[str, list[Any]] = field(default_factory=dict)
    _samples: deque[tuple[float, int]] = field(default_factory=deque)
    _started: float = 0.0

    def __post_init__(self) -> None:
        self.reset()

    def reset(self, dry_run: bool = False) -> None:
        with self._lock:
            self._state = {
                "running": True,
                "dry_run": dry_run,
                "phase": "starting",
                "files_done": 0,
                "files_total": 0,
                "bytes_total": 0,
                "finished_bytes": 0,
                "overall_bytes": None,
                "overall_files": None,
                "uploaded": 0,
                "downloaded": 0,
                "deleted": 0,
                "skipped": 0,
                "conflicts": 0,
            }
            self._transfers = {}
            self._samples = deque()
            self._started = time.monotonic()

    def feed(self, event: Event) -> None:
        """Record one engine event (called on engine threads)."""
        with self._lock:
            st = self._state
            if isinstance(event, ItemProgress):
                entry = self._transfers.get(event.rel_path)
                if entry is not None:
                    entry[2] = event.bytes_done
            elif isinstance(event, ItemStarted):
                self._transfers[event.rel_path] = [event.rel_path, event.kind, 0, event.size]
            elif isinstance(event, ItemFinished):
                entry = self._transfers.pop(event.rel_path, None)
                st["files_done"] += 1
                if entry is not None:
                    st["finished_bytes"] += entry[3]
                self._count(event)
            elif isinstance(event, OverallProgress):
                st["overall_files"] = event.files_done
                st["overall_bytes"] = event.bytes_done
                st["files_total"] = max(st["files_total"], event.files_total)
                st["bytes_total"] = max(st["bytes_total"], event.bytes_total)
            elif isinstance(event, PlanReady):
                st["files_total"] = event.files_total
                st["bytes_total"] = event.bytes_total
            elif isinstance(event, IssueRaised):
                # Every skipped item raises exactly one issue (a failed transfer too,
                # besides its ItemFinished(ok=False)): count skips here, once.
                if event.issue.kind is not IssueKind.CONFLICT:
                    st["skipped"] += 1
            elif isinstance(event, PhaseChanged):
                st["phase"] = event.phase.value
            elif isinstance(event, SyncStarted):
                st["dry_run"] = event.dry_run

    def _count(self, event: ItemFinished) -> None:
        st = self._state
        if not event.ok:
            return  # counted as skipped by its IssueRaised
        if event.kind is ActionKind.UPLOAD:
            st["uploaded"] += 1
        elif event.kind is ActionKind.DOWNLOAD:
            st["downloaded"] += 1
        elif event.kind in (ActionKind.DELETE_LOCAL, ActionKind.DELETE_REMOTE):
            st["deleted"] += 1
        elif event.kind is ActionKind.CONFLICT:
            st["conflicts"] += 1

    def finish(self, result: SyncResult | None) -> None:
        """Mark the run over; a result's counts are the final word."""
        with self._lock:
            st = self._state
            st["running"] = False
            st["phase"] = "finished"
            self._transfers = {}
            if result is not None:
                st["uploaded"] = result.uploaded
                st["downloaded"] = result.downloaded
                st["deleted"] = result.deleted_local + result.deleted_remote
                st["skipped"] = result.skipped
                st["conflicts"] = result.conflicts
                if not result.cancelled and not result.dry_run:
                    st["files_done"] = max(st["files_done"], st["files_total"])
                    st["overall_bytes"] = max(st["overall_bytes"] or 0, st["bytes_total"])

    def snapshot(self) -> ProgressSnapshot:
        """The current figures, with speed over the last few seconds and the ETA."""
        now = time.monotonic()
        with self._lock:
            st = dict(self._state)
            transfers = tuple(
                Transfer(path, kind, done, size)
                for path, kind, done, size in self._transfers.values()
            )
            own_bytes = st["finished_bytes"] + sum(t.bytes_done for t in transfers)
            bytes_done = max(own_bytes, st["overall_bytes"] or 0)
            files_done = max(st["files_done"], st["overall_files"] or 0)
            samples = self._samples
            samples.append((now, bytes_done))
            while samples and now - samples[0][0] > _SPEED_WINDOW_S:
                samples.popleft()
            started = self._started
        span = now - samples[0][0] if samples else 0.0
        speed = (bytes_done - samples[0][1]) / span if span > 0.2 else 0.0
        remaining = max(st["bytes_total"] - bytes_done, 0)
        eta = remaining / speed if speed > 0 and st["running"] else None
        return ProgressSnapshot(
            running=st["running"],
            dry_run=st["dry_run"],
            phase=st["phase"],
            files_done=files_done,
            files_total=max(st["files_total"], files_done),
            bytes_done=bytes_done,
            bytes_total=max(st["bytes_total"], bytes_done),
            uploaded=st["uploaded"],
            downloaded=st["downloaded"],
            deleted=st["deleted"],
            skipped=st["skipped"],
            conflicts=st["conflicts"],
            transfers=transfers,
            speed_bps=max(speed, 0.0),
            eta_s=eta,
            elapsed_s=now - started,
        )


# ---- results that cross from the worker to the GUI thread ----------------------------


@dataclass(frozen=True, slots=True)
class Failure:
    """A run or call that stopped on an error; ``message`` is one sentence for the user."""

    title: str
    message: str
    offline: bool = False
    cancelled: bool = False
    safety: bool = False  # a safety valve (mass delete): the user may override it once

    @classmethod
    def from_exception(cls, exc: BaseException) -> Failure:
        if isinstance(exc, BlobSyncError):
            return cls(
                exc.title,
                exc.message,
                offline=isinstance(exc, ConnectionFailure),
                cancelled=isinstance(exc, Cancelled),
                safety=isinstance(exc, SafetyStop),
            )
        # Unexpected: the traceback goes to the log, one sentence to the user.
        return cls("Unexpected error", f"{type(exc).__name__}: see the log for details.")


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    """What a sync job hands back: the result (or failure) plus the refreshed issues."""

    result: SyncResult | None
    failure: Failure | None
    issues: list[Issue] | None
    last_sync_time: float | None


@dataclass(frozen=True, slots=True)
class _Job:
    kind: str  # "sync", "issues", "resolve", "close"
    run: Callable[[EngineLike], Any]


class _Worker(QObject):
    """Lives on the worker thread; owns the engine."""

    done = Signal(str, object)  # job kind, return value or Failure

    def __init__(self, factory: EngineFactory, sink: EventSink) -> None:
        super().__init__()
        self._factory = factory
        self._sink = sink
        self.engine: EngineLike | None = None

    @Slot(object)
    def run(self, job: _Job) -> None:
        try:
            if job.kind == "close":
                if self.engine is not None:
                    engine, self.engine = self.engine, None
                    engine.close()
                return
            if self.engine is None:
                self.engine = self._factory(self._sink)
            value = job.run(self.engine)
        except Exception as exc:
            if not isinstance(exc, FatalError):
                log.exception("engine call %s failed", job.kind)
            value = Failure.from_exception(exc)
        finally:
            if job.kind == "close":
                thread = self.thread()
                if thread is not None:
                    thread.quit()
        if job.kind != "close":
            self.done.emit(job.kind, value)


class EngineBridge(QObject):
    """One pair's engine on its own QThread, seen from the GUI thread as signals.

    Signals (all emitted in the GUI thread):
    ``started(bool dry_run)``, ``plan_ready(PlanReady)``, ``progress(ProgressSnapshot)``,
    ``issue_raised(Issue)``, ``finished(SyncOutcome)``,
    ``issues_loaded((list[Issue], last_sync_time) | None)``,
    ``resolved(list[tuple[str, str]])`` (rel_path, error sentence) and ``busy_changed(bool)``.
    """

    started = Signal(object)  # dry_run: bool
    plan_ready = Signal(object)
    progress = Signal(object)
    issue_raised = Signal(object)
    finished = Signal(object)
    issues_loaded = Signal(object)
    resolved = Signal(object)
    busy_changed = Signal(object)
    stopped = Signal()  # the worker thread has ended (after shutdown)

    _submit = Signal(object)
    _engine_event = Signal(object)

    def __init__(self, factory: EngineFactory, name: str = "engine", parent: QObject | None = None):
        super().__init__(parent)
        self.tracker = ProgressTracker()
        self._thread = QThread()
        self._thread.setObjectName(f"blobsync-{name}")
        self._worker = _Worker(factory, self._sink)
        self._worker.moveToThread(self._thread)
        self._submit.connect(self._worker.run)
        self._worker.done.connect(self._on_done)
        self._engine_event.connect(self._on_engine_event)
        # finished is emitted on the worker thread; a method slot queues it to ours.
        self._thread.finished.connect(self._on_thread_finished)
        self._timer = QTimer(self)
        self._timer.setInterval(PROGRESS_INTERVAL_MS)
        self._timer.timeout.connect(self._tick)
        self._cancel: CancelToken | None = None
        self._pending = 0
        self._syncing = False
        self._closed = False
        self._thread.start()

    # -- called from engine threads --------------------------------------------------

    def _sink(self, event: Event) -> None:
        self.tracker.feed(event)
        if isinstance(event, PlanReady | IssueRaised):
            # Emitting a signal of a GUI-thread object from another thread queues it.
            self._engine_event.emit(event)

    # -- public API (GUI thread) -----------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while a job runs or waits on the worker thread."""
        return self._pending > 0

    @property
    def syncing(self) -> bool:
        return self._syncing

    def sync(self, options: SyncOptions) -> bool:
        """Start a sync (False if one is already running or queued)."""
        if self._closed or self._syncing:
            return False
        cancel = CancelToken()
        self._cancel = cancel
        self._syncing = True
        self.tracker.reset(dry_run=options.dry_run)
        self._timer.start()
        self.started.emit(options.dry_run)

        def run(engine: EngineLike) -> SyncOutcome:
            try:
                result = engine.sync(options, cancel)
                failure = None
            except Exception as exc:
                if not isinstance(exc, FatalError):
                    log.exception("sync failed unexpectedly")
                result, failure = None, Failure.from_exception(exc)
            issues: list[Issue] | None
            try:
                issues = engine.pending_issues()
                last = engine.last_sync_time()
            except Exception:
                log.exception("reading pending issues failed")
                issues, last = None, None
            return SyncOutcome(result, failure, issues, last)

        self._enqueue(_Job("sync", run))
        return True

    def cancel(self) -> None:
        """Ask the running sync to stop (between items / chunks)."""
        if self._cancel is not None:
            self._cancel.cancel()

    def load_issues(self) -> None:
        """Read the pending issues; answered by ``issues_loaded``."""

        def run(engine: EngineLike) -> tuple[list[Issue], float | None]:
            return engine.pending_issues(), engine.last_sync_time()

        self._enqueue(_Job("issues", run))

    def resolve(self, rel_paths: list[str], resolution: Resolution) -> None:
        """Apply one choice to several items; answered by ``resolved``."""

        def run(engine: EngineLike) -> list[tuple[str, str]]:
            errors: list[tuple[str, str]] = []
            for rel_path in rel_paths:
                try:
                    engine.resolve(rel_path, resolution)
                except BlobSyncError as exc:
                    errors.append((rel_path, exc.message))
            return errors

        self._enqueue(_Job("resolve", run))

    def shutdown(self, timeout_ms: int = 15000) -> bool:
        """Cancel, close the engine on its thread and stop the thread.

        Waits at most ``timeout_ms`` (0: do not block); returns True if the thread has
        stopped. Otherwise ``stopped`` is emitted once it has: only then may the bridge
        be deleted (deleting a running QThread aborts the process).
        """
        if not self._closed:
            self._closed = True
            self.cancel()
            self._timer.stop()
            # The close job quits the thread after closing the engine, on its thread.
            self._submit.emit(_Job("close", lambda engine: None))
        if self._thread.wait(timeout_ms):
            return True
        if timeout_ms:
            log.warning("engine thread did not stop within %d ms", timeout_ms)
        return False

    @Slot()
    def _on_thread_finished(self) -> None:
        self.stopped.emit()

    # -- GUI-thread slots ------------------------------------------------------------

    def _enqueue(self, job: _Job) -> None:
        if self._closed:
            return
        self._pending += 1
        if self._pending == 1:
            self.busy_changed.emit(True)
        self._submit.emit(job)

    @Slot(object)
    def _on_engine_event(self, event: Event) -> None:
        if isinstance(event, PlanReady):
            self.plan_ready.emit(event)
        elif isinstance(event, IssueRaised):
            self.issue_raised.emit(event.issue)

    @Slot()
    def _tick(self) -> None:
        self.progress.emit(self.tracker.snapshot())

    @Slot(str, object)
    def _on_done(self, kind: str, value: object) -> None:
        if kind == "close":
            return
        self._pending = max(self._pending - 1, 0)
        if kind == "sync":
            self._syncing = False
            self._cancel = None
            self._timer.stop()
            if isinstance(value, Failure):  # the factory itself failed (e.g. offline)
                value = SyncOutcome(None, value, None, None)
            assert isinstance(value, SyncOutcome)
            self.tracker.finish(value.result)
            self.progress.emit(self.tracker.snapshot())
            self.finished.emit(value)
        elif kind == "issues":
            if isinstance(value, tuple):
                self.issues_loaded.emit(value)
            else:
                self.issues_loaded.emit(None)
        elif kind == "resolve":
            if isinstance(value, Failure):
                value = [("", value.message)]
            self.resolved.emit(value)
        if self._pending == 0:
            self.busy_changed.emit(False)
