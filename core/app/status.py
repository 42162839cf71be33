"""What a pair (and the whole app) is doing, as the user sees it, decided in one place.

Both clients show these states: the app in its pairs list, title and tray, the CLI in
``blobsync pairs``. The rule they share: the state is never "Up to date" while anything
is pending, failed or unknown.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ..errors import BlobSyncError, Cancelled, ConnectionFailure, SafetyReason, SafetyStop
from ..models import Issue, IssueKind, SyncResult
from .progress import ProgressSnapshot

CONFLICT_KINDS = frozenset({IssueKind.CONFLICT, IssueKind.CONCURRENT_CHANGE})


class PairState(enum.StrEnum):
    """What one pair (or the whole app) is doing."""

    IDLE = "idle"
    SYNCING = "syncing"
    PAUSED = "paused"
    OFFLINE = "offline"
    ERROR = "error"
    ATTENTION = "attention"


STATE_WORDS = {
    PairState.IDLE: "Up to date",
    PairState.SYNCING: "Syncing",
    PairState.PAUSED: "Paused",
    PairState.OFFLINE: "Offline",
    PairState.ERROR: "Error",
    PairState.ATTENTION: "Needs attention",
}


@dataclass(frozen=True, slots=True)
class SafetyFacts:
    """Which valve stopped a run, with its counts (the client words the choice)."""

    reason: SafetyReason
    tracked: int
    deletes: int


@dataclass(frozen=True, slots=True)
class Failure:
    """A run or call that stopped on an error; ``message`` is one sentence for the user."""

    title: str
    message: str
    offline: bool = False
    cancelled: bool = False
    safety: SafetyFacts | None = None  # a safety valve stopped it (nothing was deleted)

    @classmethod
    def from_exception(cls, exc: BaseException) -> Failure:
        if isinstance(exc, BlobSyncError):
            safety = (
                SafetyFacts(exc.reason, exc.tracked, exc.deletes)
                if isinstance(exc, SafetyStop)
                else None
            )
            return cls(
                exc.title,
                exc.message,
                offline=isinstance(exc, ConnectionFailure),
                cancelled=isinstance(exc, Cancelled),
                safety=safety,
            )
        # Unexpected: the traceback goes to the log, one sentence to the user.
        return cls("Unexpected error", f"{type(exc).__name__}: see the log for details.")


@dataclass
class PairStatus:
    """Live status of one pair (not persisted; the engine's DB is the record)."""

    syncing: bool = False
    dry_run: bool = False
    last_sync: float | None = None  # epoch seconds of the last fully successful run
    last_result: SyncResult | None = None
    failure: Failure | None = None
    issues: list[Issue] = field(default_factory=list)
    progress: ProgressSnapshot | None = None

    def state(self, paused: bool) -> PairState:
        if self.syncing and not self.dry_run:
            return PairState.SYNCING
        if self.failure is not None and not self.failure.cancelled:
            return PairState.OFFLINE if self.failure.offline else PairState.ERROR
        if self.issues:
            return PairState.ATTENTION
        if paused:
            return PairState.PAUSED
        return PairState.IDLE


@dataclass(frozen=True)
class Overview:
    """The whole app in one glance (the tray's input)."""

    paused: bool = False
    syncing: int = 0
    offline: int = 0
    errors: int = 0
    pending: int = 0  # items needing attention, all pairs
    last_sync: float | None = None
    error_message: str = ""

    @classmethod
    def of(cls, paused: bool, statuses: list[PairStatus]) -> Overview:
        syncing = offline = errors = pending = 0
        last: float | None = None
        message = ""
        for st in statuses:
            syncing += st.syncing and not st.dry_run
            pending += len(st.issues)
            if st.failure is not None and not st.failure.cancelled:
                if st.failure.offline:
                    offline += 1
                else:
                    errors += 1
                message = message or f"{st.failure.title}: {st.failure.message}"
            if st.last_sync is not None:
                last = max(last or 0.0, st.last_sync)
        return cls(paused, syncing, offline, errors, pending, last, message)

    def state(self) -> PairState:
        """The one state for everything; never IDLE while anything is pending or wrong."""
        if self.syncing:
            return PairState.SYNCING
        if self.errors:
            return PairState.ERROR
        if self.offline:
            return PairState.OFFLINE
        if self.pending:
            return PairState.ATTENTION
        if self.paused:
            return PairState.PAUSED
        return PairState.IDLE
