"""What a pair (and the whole app) is doing, as the user sees it, decided in one place.

Both clients show these states and these words: the app in its pairs list, title and
tray, the CLI in ``blobsync pairs``. The rule they share: the state is "Up to date"
only when a sync has gone through to the end and nothing is pending, failed, cut short
or unknown. A cancelled or paused run is "Not finished — N changes waiting"; a pair
that never completed a sync is "Not synced yet"; a safety stop is a deletion to review;
a folder that is not there is "Folder missing"; a SAS (or sign-in) that has ended is
"Sign-in expired", one that ends within a week "SAS expires soon".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ..credentials import CredentialExpiry, ExpiryState
from ..engine import RunRecord
from ..errors import (
    BlobSyncError,
    Cancelled,
    ConnectionFailure,
    FolderMissing,
    SafetyReason,
    SafetyStop,
    SignInExpired,
)
from ..models import ArchivedBlob, Issue, IssueKind, SyncResult
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
    UNFINISHED = "unfinished"  # the last run stopped early: changes are waiting
    NEW = "new"  # no sync has gone through to the end yet
    UNKNOWN = "unknown"  # not read from the state database yet
    REVIEW = "review"  # a safety valve stopped the run: deletions to review
    MISSING = "missing"  # the local folder is not there
    #: The account's SAS ends within a week (warned once, shown until it is updated).
    EXPIRES_SOON = "expires_soon"
    #: The SAS (or the Entra ID sign-in) has ended: nothing syncs until it is renewed.
    SIGN_IN_EXPIRED = "sign_in_expired"


STATE_WORDS = {
    PairState.IDLE: "Up to date",
    PairState.SYNCING: "Syncing",
    PairState.PAUSED: "Paused",
    PairState.OFFLINE: "Offline",
    PairState.ERROR: "Error",
    PairState.ATTENTION: "Needs attention",
    PairState.UNFINISHED: "Not finished",
    PairState.NEW: "Not synced yet",
    PairState.UNKNOWN: "Checking…",
    PairState.REVIEW: "Stopped for safety",
    PairState.MISSING: "Folder missing",
    PairState.EXPIRES_SOON: "SAS expires soon",
    PairState.SIGN_IN_EXPIRED: "Sign-in expired — update the SAS",
}

#: The app-wide state when several pairs differ: the first one present wins.
PRIORITY = (
    PairState.SYNCING,
    PairState.SIGN_IN_EXPIRED,
    PairState.ERROR,
    PairState.REVIEW,
    PairState.MISSING,
    PairState.OFFLINE,
    PairState.ATTENTION,
    PairState.UNFINISHED,
    PairState.EXPIRES_SOON,
    PairState.PAUSED,
    PairState.UNKNOWN,
    PairState.NEW,
    PairState.IDLE,
)


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 change``, ``3 changes`` (``many`` for irregular plurals)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def waiting_words(waiting: int | None) -> str:
    """'3 changes waiting', or 'changes waiting' when the count is not known."""
    return f"{plural(waiting, 'change')} waiting" if waiting else "changes waiting"


def attention_words(count: int) -> str:
    """'1 item needs attention' / '3 items need attention'."""
    return f"{plural(count, 'item')} need{'s' if count == 1 else ''} attention"


@dataclass(frozen=True, slots=True)
class SafetyFacts:
    """Which valve stopped a run, with what it would have deleted (the client words the
    choice: the app's deletion review, the CLI's flags)."""

    reason: SafetyReason
    tracked: int
    deletes: int
    deletes_local: int = 0
    deletes_remote: int = 0
    nbytes: int = 0
    paths: tuple[str, ...] = ()
    local_root: str = ""
    container: str = ""

    @classmethod
    def of(cls, stop: SafetyStop) -> SafetyFacts:
        return cls(
            stop.reason,
            stop.tracked,
            stop.deletes,
            stop.deletes_local,
            stop.deletes_remote,
            stop.nbytes,
            stop.paths,
            stop.local_root,
            stop.container,
        )


@dataclass(frozen=True, slots=True)
class Failure:
    """A run or call that stopped on an error; ``message`` is one sentence for the user."""

    title: str
    message: str
    offline: bool = False
    cancelled: bool = False
    safety: SafetyFacts | None = None  # a safety valve stopped it (nothing was deleted)
    folder_missing: bool = False  # the local folder is not there
    sign_in_expired: bool = False  # the SAS or the sign-in ended (SignInExpired)

    @classmethod
    def from_exception(cls, exc: BaseException) -> Failure:
        if isinstance(exc, BlobSyncError):
            return cls(
                exc.title,
                exc.message,
                offline=isinstance(exc, ConnectionFailure),
                cancelled=isinstance(exc, Cancelled),
                safety=SafetyFacts.of(exc) if isinstance(exc, SafetyStop) else None,
                folder_missing=isinstance(exc, FolderMissing),
                sign_in_expired=isinstance(exc, SignInExpired),
            )
        # Unexpected: the traceback goes to the log, one sentence to the user.
        return cls("Unexpected error", f"{type(exc).__name__}: see the log for details.")


@dataclass
class PairStatus:
    """Live status of one pair (not persisted; the engine's DB is the record)."""

    syncing: bool = False
    dry_run: bool = False
    #: A restore or an undo is running (it ends with a sync of its own).
    recovering: bool = False
    record: RunRecord | None = None  # None until read from the state database
    last_result: SyncResult | None = None
    failure: Failure | None = None
    issues: list[Issue] = field(default_factory=list)
    progress: ProgressSnapshot | None = None
    folder_missing: bool = False  # the live loop saw the folder go away
    #: The account's SAS validity now (None: not known, or no SAS).
    expiry: CredentialExpiry | None = None
    #: Blobs archived in the container, not synced (a state, not issues).
    archived: list[ArchivedBlob] = field(default_factory=list)

    @property
    def signed_out(self) -> bool:
        """True when the SAS or sign-in has ended (by the clock or by the service)."""
        if self.failure is not None and self.failure.sign_in_expired:
            return True
        return self.expiry is not None and self.expiry.state is ExpiryState.EXPIRED

    @property
    def expires_soon(self) -> bool:
        return self.expiry is not None and self.expiry.state is ExpiryState.EXPIRES_SOON

    @property
    def last_sync(self) -> float | None:
        """When a run last ended with everything in sync (epoch seconds)."""
        return self.record.last_in_sync if self.record is not None else None

    @property
    def last_completed(self) -> float | None:
        """When a run last went through to the end, issues or not (epoch seconds)."""
        return self.record.last_completed if self.record is not None else None

    @property
    def unfinished(self) -> bool:
        """The last run stopped early (cancelled, paused, failed)."""
        cancelled = self.failure is not None and self.failure.cancelled
        return cancelled or (self.record is not None and self.record.stopped)

    @property
    def waiting(self) -> int | None:
        """Changes the last, unfinished run left (None: not known)."""
        return self.record.waiting if self.record is not None else None

    def state(self, paused: bool) -> PairState:
        if (self.syncing and not self.dry_run) or self.recovering:
            return PairState.SYNCING
        failure = self.failure
        if self.folder_missing or (failure is not None and failure.folder_missing):
            return PairState.MISSING
        if self.signed_out:
            return PairState.SIGN_IN_EXPIRED
        if failure is not None and not failure.cancelled:
            if failure.safety is not None:
                return PairState.REVIEW
            return PairState.OFFLINE if failure.offline else PairState.ERROR
        if self.issues:
            return PairState.ATTENTION
        if self.expires_soon:
            return PairState.EXPIRES_SOON
        if paused:
            return PairState.PAUSED
        if self.record is None and failure is None:
            return PairState.UNKNOWN
        if self.unfinished:
            return PairState.UNFINISHED
        if self.record is None or not self.record.synced_before:
            return PairState.NEW
        return PairState.IDLE

    def words(self, paused: bool, paused_itself: bool | None = None) -> str:
        """The state in words, e.g. 'Not finished — 3 changes waiting', 'Needs attention
        (2)', 'Paused, 5 changes waiting'. ``paused_itself`` (default ``paused``) adds
        ', paused' to a state that outranks the pause."""
        state = self.state(paused)
        words = STATE_WORDS[state]
        if state is PairState.UNFINISHED:
            words += f" — {waiting_words(self.waiting)}"
        elif state is PairState.ATTENTION:
            words += f" ({len(self.issues):,})"
            if self.unfinished:
                words += f"; not finished, {waiting_words(self.waiting)}"
        elif state is PairState.PAUSED and self.unfinished:
            words += f", {waiting_words(self.waiting)}"
        elif state is PairState.REVIEW:
            words += ": deletions to review"
        if (paused if paused_itself is None else paused_itself) and state not in (
            PairState.PAUSED,
            PairState.SYNCING,
        ):
            words += ", paused"
        return words


@dataclass(frozen=True)
class Overview:
    """The whole app in one glance (the tray's input).

    ``pairs`` of -1 means "not counted" (an overview built by hand); with per-pair
    ``states`` known, :meth:`state` is the most urgent of them.
    """

    paused: bool = False
    syncing: int = 0
    offline: int = 0
    errors: int = 0
    pending: int = 0  # items needing attention, all pairs
    last_sync: float | None = None  # the last completed sync of any pair
    error_message: str = ""
    pairs: int = -1
    states: tuple[PairState, ...] = ()
    waiting: int = 0  # changes left by unfinished runs, all pairs (where known)
    expired: int = 0  # pairs whose SAS or sign-in has ended
    expiring: int = 0  # pairs whose SAS ends within a week

    @classmethod
    def of(
        cls, paused: bool, statuses: list[PairStatus], paused_pairs: list[bool] | None = None
    ) -> Overview:
        syncing = offline = errors = pending = waiting = expired = expiring = 0
        last: float | None = None
        message = ""
        states: list[PairState] = []
        flags = paused_pairs if paused_pairs is not None else [False] * len(statuses)
        for st, pair_paused in zip(statuses, flags, strict=True):
            state = st.state(paused or pair_paused)
            states.append(state)
            syncing += state is PairState.SYNCING
            pending += len(st.issues)
            if state in (PairState.UNFINISHED, PairState.PAUSED) and st.unfinished:
                waiting += st.waiting or 0
            expiring += st.expires_soon and not st.signed_out
            if st.signed_out:
                expired += 1
                if st.failure is not None:
                    message = message or f"{st.failure.title}: {st.failure.message}"
            elif st.failure is not None and not st.failure.cancelled:
                if st.failure.offline:
                    offline += 1
                else:
                    errors += 1
                message = message or f"{st.failure.title}: {st.failure.message}"
            if st.last_completed is not None:
                last = max(last or 0.0, st.last_completed)
        return cls(
            paused,
            syncing,
            offline,
            errors,
            pending,
            last,
            message,
            pairs=len(statuses),
            states=tuple(states),
            waiting=waiting,
            expired=expired,
            expiring=expiring,
        )

    def count(self, state: PairState) -> int:
        return self.states.count(state)

    def state(self) -> PairState:
        """The one state for everything; never IDLE while anything is pending, cut
        short, unknown or wrong, nor while no pair has synced."""
        if self.pairs >= 0:
            if not self.states:
                return PairState.PAUSED if self.paused else PairState.NEW
            return next(s for s in PRIORITY if s in self.states)
        if self.syncing:
            return PairState.SYNCING
        if self.expired:
            return PairState.SIGN_IN_EXPIRED
        if self.errors:
            return PairState.ERROR
        if self.offline:
            return PairState.OFFLINE
        if self.pending:
            return PairState.ATTENTION
        if self.expiring:
            return PairState.EXPIRES_SOON
        if self.paused:
            return PairState.PAUSED
        return PairState.IDLE
