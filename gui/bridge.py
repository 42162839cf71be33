"""The one door between the GUI thread and an engine: a QThread plus Qt signals.

Each folder pair gets one :class:`EngineBridge`. The engine (``SyncEngine`` or anything
with the same methods) lives on the bridge's worker QThread: it is created there and
every call (sync, pending_issues, resolve, close) runs there, one after the other, so
the GUI never blocks and the engine's SQLite connection stays on one thread.

Engine events arrive on worker threads. High-rate ones (item progress, overall
progress, items started/finished) only update the shared
:class:`~blobsync.core.app.progress.ProgressModel` under its lock; a 10 Hz QTimer in the
GUI thread emits one :class:`~blobsync.core.app.progress.ProgressSnapshot` per tick, so
thousands of files cannot flood the event loop. Rare events (plan ready, issue raised)
are re-emitted as signals at once. Every signal carries Python objects
(``Signal(object)``), never ``Signal(int)``: byte counts exceed 32 bits.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from blobsync.core.app.progress import ProgressModel
from blobsync.core.app.service import restore_on
from blobsync.core.app.status import Failure
from blobsync.core.engine import Resolution, RunRecord, SyncEngine, SyncOptions
from blobsync.core.engine.recovery import FileVersion, RecoveryResult
from blobsync.core.errors import (
    BlobSyncError,
    FatalError,
)
from blobsync.core.events import (
    Event,
    EventSink,
    IssueRaised,
    PlanReady,
)
from blobsync.core.models import Issue, SyncResult
from blobsync.core.remote.base import CancelToken

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_MS = 100  # 10 Hz: smooth enough, cheap with thousands of files


class EngineLike(Protocol):
    """What the GUI needs from :class:`blobsync.core.engine.SyncEngine`."""

    def sync(
        self, options: SyncOptions | None = None, cancel: CancelToken | None = None
    ) -> SyncResult: ...

    def pending_issues(self) -> list[Issue]: ...

    def resolve(self, rel_path: str, resolution: Resolution) -> None: ...

    def run_record(self) -> RunRecord: ...

    def close(self) -> None: ...


#: Builds the engine on the worker thread; it must send events to the given sink.
EngineFactory = Callable[[EventSink], EngineLike]


# ---- results that cross from the worker to the GUI thread ----------------------------


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    """What a sync job hands back: the result (or failure) plus the refreshed issues and
    the state database's record of runs."""

    result: SyncResult | None
    failure: Failure | None
    issues: list[Issue] | None
    record: RunRecord | None


class JobKind(enum.Enum):
    """What a job on the engine thread does (answered by the matching signal)."""

    SYNC = enum.auto()
    ISSUES = enum.auto()
    RESOLVE = enum.auto()
    CLOSE = enum.auto()
    VERSIONS = enum.auto()  # the previous versions of one file (answered by recovered)
    RESTORE = enum.auto()  # put one previous version back (recovered)
    UNDO = enum.auto()  # reverse one run, or say what that would do (recovered)


@dataclass(frozen=True, slots=True)
class RecoveryOutcome:
    """What a versions, restore or undo job hands back. ``subject`` is the file
    (versions, restore) or the run id (undo); exactly one of ``versions`` / ``result``
    / ``failure`` is set."""

    kind: JobKind
    subject: str
    dry_run: bool = False
    versions: list[FileVersion] | None = None
    result: RecoveryResult | None = None
    failure: Failure | None = None


@dataclass(frozen=True, slots=True)
class _Job:
    kind: JobKind
    run: Callable[[EngineLike], Any]


class _Worker(QObject):
    """Lives on the worker thread; owns the engine."""

    done = Signal(object, object)  # JobKind, return value or Failure

    def __init__(self, factory: EngineFactory, sink: EventSink) -> None:
        super().__init__()
        self._factory = factory
        self._sink = sink
        self.engine: EngineLike | None = None

    @Slot(object)
    def run(self, job: _Job) -> None:
        try:
            if job.kind is JobKind.CLOSE:
                if self.engine is not None:
                    engine, self.engine = self.engine, None
                    engine.close()
                return
            if self.engine is None:
                self.engine = self._factory(self._sink)
            value = job.run(self.engine)
        except Exception as exc:
            if not isinstance(exc, FatalError):
                log.exception("engine call %s failed", job.kind.name)
            value = Failure.from_exception(exc)
        finally:
            if job.kind is JobKind.CLOSE:
                thread = self.thread()
                if thread is not None:
                    thread.quit()
        if job.kind is not JobKind.CLOSE:
            self.done.emit(job.kind, value)


class EngineBridge(QObject):
    """One pair's engine on its own QThread, seen from the GUI thread as signals.

    Signals (all emitted in the GUI thread):
    ``started(bool dry_run)``, ``plan_ready(PlanReady)``, ``progress(ProgressSnapshot)``,
    ``issue_raised(Issue)``, ``finished(SyncOutcome)``,
    ``issues_loaded((list[Issue], RunRecord) | Failure)``,
    ``resolved(list[tuple[str, str]])`` (rel_path, error sentence), ``busy_changed(bool)``
    and ``recovered(RecoveryOutcome)`` (versions, restore, undo).
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
    recovered = Signal(object)  # RecoveryOutcome

    _submit = Signal(object)
    _engine_event = Signal(object)

    def __init__(self, factory: EngineFactory, name: str = "engine", parent: QObject | None = None):
        super().__init__(parent)
        self.tracker = ProgressModel()
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
            record: RunRecord | None
            try:
                issues = engine.pending_issues()
                record = engine.run_record()
            except Exception:
                log.exception("reading pending issues failed")
                issues, record = None, None
            return SyncOutcome(result, failure, issues, record)

        self._enqueue(_Job(JobKind.SYNC, run))
        return True

    def cancel(self) -> None:
        """Ask the running sync to stop (between items / chunks)."""
        if self._cancel is not None:
            self._cancel.cancel()

    def load_issues(self) -> None:
        """Read the pending issues; answered by ``issues_loaded``."""

        def run(engine: EngineLike) -> tuple[list[Issue], RunRecord]:
            return engine.pending_issues(), engine.run_record()

        self._enqueue(_Job(JobKind.ISSUES, run))

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

        self._enqueue(_Job(JobKind.RESOLVE, run))

    def versions(self, rel_path: str) -> None:
        """List the previous versions of one file (both recycle bins); answered by
        ``recovered``."""

        def run(engine: EngineLike) -> RecoveryOutcome:
            try:
                found = _recovering(engine).versions(rel_path)
            except BlobSyncError as exc:
                return RecoveryOutcome(JobKind.VERSIONS, rel_path, failure=_failure(exc))
            return RecoveryOutcome(JobKind.VERSIONS, rel_path, versions=found)

        self._enqueue(_Job(JobKind.VERSIONS, run))

    def restore(
        self, options: SyncOptions, rel_path: str, number: int | None, dry_run: bool = False
    ) -> None:
        """Put the ``number``-th previous version (1 = newest) of a file back and sync
        it; answered by ``recovered``. Waits for a running sync (one engine thread)."""

        def run(engine: EngineLike) -> RecoveryOutcome:
            try:
                done = restore_on(_recovering(engine), options, rel_path, number, dry_run=dry_run)
            except BlobSyncError as exc:
                return RecoveryOutcome(JobKind.RESTORE, rel_path, dry_run, failure=_failure(exc))
            return RecoveryOutcome(JobKind.RESTORE, rel_path, dry_run, result=done)

        self._enqueue(_Job(JobKind.RESTORE, run))

    def undo(self, options: SyncOptions, run_id: str, dry_run: bool = False) -> None:
        """Reverse one run on both sides (``dry_run``: only say what it would do);
        answered by ``recovered``."""

        def run(engine: EngineLike) -> RecoveryOutcome:
            try:
                done = _recovering(engine).undo(run_id, options=options, dry_run=dry_run)
            except BlobSyncError as exc:
                return RecoveryOutcome(JobKind.UNDO, run_id, dry_run, failure=_failure(exc))
            return RecoveryOutcome(JobKind.UNDO, run_id, dry_run, result=done)

        self._enqueue(_Job(JobKind.UNDO, run))

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
            self._submit.emit(_Job(JobKind.CLOSE, lambda engine: None))
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

    @Slot(object, object)
    def _on_done(self, kind: JobKind, value: object) -> None:
        if kind is JobKind.CLOSE:
            return
        self._pending = max(self._pending - 1, 0)
        if kind is JobKind.SYNC:
            self._syncing = False
            self._cancel = None
            self._timer.stop()
            if isinstance(value, Failure):  # the factory itself failed (e.g. offline)
                value = SyncOutcome(None, value, None, None)
            assert isinstance(value, SyncOutcome)
            failure = value.failure
            self.tracker.finish(
                value.result,
                cancelled=failure is not None and failure.cancelled,
                failed=failure is not None and not failure.cancelled,
            )
            self.progress.emit(self.tracker.snapshot())
            self.finished.emit(value)
        elif kind is JobKind.ISSUES:
            self.issues_loaded.emit(value)  # (issues, record), or the Failure
        elif kind is JobKind.RESOLVE:
            if isinstance(value, Failure):
                value = [("", value.message)]
            self.resolved.emit(value)
        elif kind in (JobKind.VERSIONS, JobKind.RESTORE, JobKind.UNDO):
            if isinstance(value, Failure):  # the engine could not be opened
                value = RecoveryOutcome(kind, "", failure=value)
            self.recovered.emit(value)
        if self._pending == 0:
            self.busy_changed.emit(False)


def _recovering(engine: EngineLike) -> SyncEngine:
    """The engine itself: only the real one keeps recycle bins and a history."""
    if not isinstance(engine, SyncEngine):
        raise BlobSyncError("This folder pair keeps no previous versions.")
    return engine


def _failure(exc: BlobSyncError) -> Failure:
    if not isinstance(exc, FatalError):
        log.info("recovery item problem: %s", exc.message)
    return Failure.from_exception(exc)
