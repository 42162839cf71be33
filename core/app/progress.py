"""One progress model for both clients: engine events folded into typed counters.

The engine calls its event sink from worker threads, thousands of times a second on
small files. :class:`ProgressModel` only updates counters under a lock; a client reads
a :class:`ProgressSnapshot` when it wants to draw (the app 10 times a second, the CLI's
progress bar on every overall-progress event). Speed is measured over the last few
seconds; an ETA is given only once the rate is worth extrapolating (enough time and
bytes observed), so a run never starts with "94 h left".
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..events import (
    Event,
    IssueRaised,
    ItemFinished,
    ItemProgress,
    ItemStarted,
    OverallProgress,
    Phase,
    PhaseChanged,
    PlanReady,
    SyncStarted,
)
from ..models import ActionKind, IssueKind, SyncResult

SPEED_WINDOW_S = 3.0
#: No ETA before this much transfer time and these many bytes: early rates are noise.
ETA_MIN_ELAPSED_S = 3.0
ETA_MIN_BYTES = 1 << 20
#: Phase words shown while a run is active (the engine's phases are an enum).
PHASE_WORDS = {
    Phase.SCANNING: "scanning the folder",
    Phase.LISTING: "listing the container",
    Phase.PLANNING: "comparing",
    Phase.TRANSFERRING: "transferring",
    Phase.FINISHED: "finished",
}


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - the loop always returns


@dataclass(frozen=True, slots=True)
class Transfer:
    """One item being moved right now."""

    rel_path: str
    kind: ActionKind
    bytes_done: int
    size: int


@dataclass(frozen=True, slots=True)
class ProgressSnapshot:
    """Everything a progress display shows, at one instant."""

    running: bool = False
    dry_run: bool = False
    phase: Phase | None = None
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
    cancelled: bool = False  # the run was cancelled or paused before the end
    failed: bool = False  # the run stopped on an error before the end

    @property
    def files_words(self) -> str:
        """'12 of 2,001 files' (the items this run handles, whatever their kind)."""
        noun = "file" if self.files_total == 1 else "files"
        return f"{self.files_done:,} of {self.files_total:,} {noun}"

    @property
    def bytes_words(self) -> str:
        """'135.0 MiB of 300.0 MiB', or '' when nothing is transferred."""
        if self.bytes_total <= 0:
            return ""
        return f"{human_bytes(self.bytes_done)} of {human_bytes(self.bytes_total)}"

    @property
    def percent(self) -> int:
        return round(100 * self.fraction)

    @property
    def summary_words(self) -> str:
        """One line for a list row or a terminal: '45% · 12 of 2,001 files'. The percent
        is :attr:`fraction` (by bytes when there are bytes to move), never mixed with
        the file count it stands beside."""
        if self.bytes_total > 0:
            return f"{self.percent}% of {human_bytes(self.bytes_total)} · {self.files_words}"
        return self.files_words

    @property
    def phase_words(self) -> str:
        return PHASE_WORDS[self.phase] if self.phase is not None else "starting"

    @property
    def fraction(self) -> float:
        """How far along, 0..1: by bytes when there are bytes to move, else by items."""
        if self.bytes_total > 0:
            return min(self.bytes_done / self.bytes_total, 1.0)
        if self.files_total > 0:
            return min(self.files_done / self.files_total, 1.0)
        return 0.0 if self.running else 1.0


@dataclass
class _Counters:
    """The mutable state behind a snapshot (guarded by the model's lock)."""

    running: bool = True
    dry_run: bool = False
    cancelled: bool = False
    failed: bool = False
    phase: Phase | None = None
    files_done: int = 0
    files_total: int = 0
    bytes_total: int = 0
    finished_bytes: int = 0
    overall_files: int = 0
    overall_bytes: int = 0
    uploaded: int = 0
    downloaded: int = 0
    deleted: int = 0
    skipped: int = 0
    conflicts: int = 0
    transfers: dict[str, Transfer] = field(default_factory=dict)
    transfer_started: float | None = None


class ProgressModel:
    """Folds engine events into counters; :meth:`snapshot` reads them (any thread).

    Use it as (or inside) an engine event sink: ``model.feed(event)``.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._c = _Counters(running=False)
        self._samples: deque[tuple[float, int]] = deque()
        self._started = clock()

    def reset(self, dry_run: bool = False) -> None:
        """A new run starts."""
        with self._lock:
            self._c = _Counters(dry_run=dry_run)
            self._samples = deque()
            self._started = self._clock()

    def feed(self, event: Event) -> None:
        """Record one engine event (called on engine threads)."""
        with self._lock:
            c = self._c
            if isinstance(event, ItemProgress):
                known = c.transfers.get(event.rel_path)
                if known is not None:
                    c.transfers[event.rel_path] = replace(known, bytes_done=event.bytes_done)
            elif isinstance(event, ItemStarted):
                c.transfers[event.rel_path] = Transfer(event.rel_path, event.kind, 0, event.size)
            elif isinstance(event, ItemFinished):
                done = c.transfers.pop(event.rel_path, None)
                c.files_done += 1
                if done is not None:
                    c.finished_bytes += done.size
                self._count(c, event)
            elif isinstance(event, OverallProgress):
                c.overall_files = event.files_done
                c.overall_bytes = event.bytes_done
                c.files_total = max(c.files_total, event.files_total)
                c.bytes_total = max(c.bytes_total, event.bytes_total)
            elif isinstance(event, PlanReady):
                c.files_total = event.files_total
                c.bytes_total = event.bytes_total
            elif isinstance(event, IssueRaised):
                # Every skipped item raises exactly one issue (a failed transfer too,
                # besides its ItemFinished(ok=False)): count skips here, once.
                if event.issue.kind is not IssueKind.CONFLICT:
                    c.skipped += 1
            elif isinstance(event, PhaseChanged):
                c.phase = event.phase
                if event.phase is Phase.TRANSFERRING and c.transfer_started is None:
                    c.transfer_started = self._clock()
            elif isinstance(event, SyncStarted):
                c.dry_run = event.dry_run

    __call__ = feed

    @staticmethod
    def _count(c: _Counters, event: ItemFinished) -> None:
        if not event.ok:
            return  # counted as skipped by its IssueRaised
        if event.kind is ActionKind.UPLOAD:
            c.uploaded += 1
        elif event.kind is ActionKind.DOWNLOAD:
            c.downloaded += 1
        elif event.kind in (ActionKind.DELETE_LOCAL, ActionKind.DELETE_REMOTE):
            c.deleted += 1
        elif event.kind is ActionKind.CONFLICT:
            c.conflicts += 1

    def finish(
        self, result: SyncResult | None, *, cancelled: bool = False, failed: bool = False
    ) -> None:
        """Mark the run over; a result's counts are the final word. A run that raised
        has no result: ``cancelled`` or ``failed`` say how it ended."""
        with self._lock:
            c = self._c
            c.running = False
            c.phase = Phase.FINISHED
            c.transfers = {}
            c.cancelled = cancelled
            c.failed = failed
            if result is None:
                return
            c.cancelled = result.cancelled
            c.uploaded = result.uploaded
            c.downloaded = result.downloaded
            c.deleted = result.deleted_local + result.deleted_remote
            c.skipped = result.skipped
            c.conflicts = result.conflicts
            if not result.cancelled and not result.dry_run:
                c.files_done = max(c.files_done, c.files_total)
                c.overall_bytes = max(c.overall_bytes, c.bytes_total)

    def snapshot(self) -> ProgressSnapshot:
        """The current figures, with speed over the last few seconds and the ETA."""
        now = self._clock()
        with self._lock:
            c = self._c
            transfers = tuple(c.transfers.values())
            own_bytes = c.finished_bytes + sum(t.bytes_done for t in transfers)
            bytes_done = max(own_bytes, c.overall_bytes)
            files_done = max(c.files_done, c.overall_files)
            samples = self._samples
            samples.append((now, bytes_done))
            while samples and now - samples[0][0] > SPEED_WINDOW_S:
                samples.popleft()
            first_t, first_bytes = samples[0]
            counters = replace(c, transfers={})
            started = self._started
        span = now - first_t
        speed = max((bytes_done - first_bytes) / span, 0.0) if span > 0.2 else 0.0
        remaining = max(counters.bytes_total - bytes_done, 0)
        transferring_for = now - counters.transfer_started if counters.transfer_started else 0.0
        eta = None
        if (
            counters.running
            and speed > 0
            and transferring_for >= ETA_MIN_ELAPSED_S
            and bytes_done >= ETA_MIN_BYTES
        ):
            eta = remaining / speed
        return ProgressSnapshot(
            running=counters.running,
            dry_run=counters.dry_run,
            phase=counters.phase,
            files_done=files_done,
            files_total=max(counters.files_total, files_done),
            bytes_done=bytes_done,
            bytes_total=max(counters.bytes_total, bytes_done),
            uploaded=counters.uploaded,
            downloaded=counters.downloaded,
            deleted=counters.deleted,
            skipped=counters.skipped,
            conflicts=counters.conflicts,
            transfers=transfers,
            speed_bps=speed,
            eta_s=eta,
            elapsed_s=now - started,
            cancelled=counters.cancelled,
            failed=counters.failed,
        )
