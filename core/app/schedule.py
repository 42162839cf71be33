"""When should a pair sync next? The debounce/poll rules of the live loop (:mod:`.live`),
which both clients drive.

A local change starts a countdown: the sync runs ``debounce_s`` after the *last*
change (a burst of saves is one sync), but no later than ``max_delay_s`` after the
first one. Independently, a full check runs every ``interval_s`` (remote changes, lost
events); after a failure, sooner (``retry_s``). A new change beacon from another machine
(:mod:`.beacon`) asks for a sync at once. Pure bookkeeping on a monotonic clock passed
in by the caller, so it is trivially testable; callers serialise access.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

DEFAULT_INTERVAL_S = 300.0
DEFAULT_DEBOUNCE_S = 2.0
DEFAULT_MAX_DELAY_S = 30.0
RETRY_AFTER_FAILURE_S = 30.0
#: How often a live pair reads its change beacon (one conditional request each) while
#: it is active, and while it is idle (no change either way for ``BEACON_IDLE_AFTER_S``).
DEFAULT_BEACON_INTERVAL_S = 5.0
BEACON_IDLE_INTERVAL_S = 30.0
BEACON_IDLE_AFTER_S = 600.0


class SyncReason(enum.StrEnum):
    """Why a live pair syncs now."""

    REQUEST = "request"  # the user asked (Sync now, resume)
    CHANGE = "change"  # local changes went quiet
    POLL = "poll"  # the periodic full check (remote changes, lost events), or a retry
    BEACON = "beacon"  # another machine changed the container (its change beacon moved)


@dataclass
class SyncSchedule:
    interval_s: float = DEFAULT_INTERVAL_S
    debounce_s: float = DEFAULT_DEBOUNCE_S
    max_delay_s: float = DEFAULT_MAX_DELAY_S
    retry_s: float = RETRY_AFTER_FAILURE_S
    next_poll: float = 0.0  # a first sync is due at once
    first_change: float | None = None
    last_change: float = 0.0
    requested: bool = False
    remote_changed: bool = False

    def changed(self, now: float) -> None:
        """A local change was seen."""
        if self.first_change is None:
            self.first_change = now
        self.last_change = now

    def request(self) -> None:
        """The user asked for a sync now."""
        self.requested = True

    def beacon_moved(self) -> None:
        """Another machine's change beacon moved: sync now."""
        self.remote_changed = True

    def due(self, now: float) -> tuple[bool, float, SyncReason | None]:
        """(run now?, seconds until something is due otherwise, why)."""
        if self.requested:
            return True, 0.0, SyncReason.REQUEST
        if self.remote_changed:
            return True, 0.0, SyncReason.BEACON
        wait = self.next_poll - now
        if self.first_change is not None:
            change_at = min(
                self.last_change + self.debounce_s, self.first_change + self.max_delay_s
            )
            if change_at <= now:
                return True, 0.0, SyncReason.CHANGE
            wait = min(wait, change_at - now)
        if wait <= 0:
            return True, 0.0, SyncReason.POLL
        return False, wait, None

    def started(self) -> None:
        """A sync starts now: it covers every change seen so far."""
        self.requested = False
        self.remote_changed = False
        self.first_change = None

    def finished(self, now: float, ok: bool) -> None:
        """A sync ended; the next full check is an interval away (sooner after a failure)."""
        self.next_poll = now + (self.interval_s if ok else min(self.interval_s, self.retry_s))

    def paused(self) -> None:
        """While paused, changes are forgotten (the resume sync looks at everything)."""
        self.first_change = None
        self.remote_changed = False
