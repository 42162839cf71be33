"""Watching a pair's change beacon while the pair is live: other machines' changes in
seconds, at the cost of one tiny conditional read every few seconds.

The engine rewrites the beacon (``.blobsync/beacon`` under the pair's root) once at
the end of every run that changed the container (:mod:`blobsync.core.engine.beacon`).
While a pair is live, :class:`~.live.LivePair` reads it every ``interval_s`` (5 s by
default; every ``idle_interval_s``, 30 s, after ``idle_after_s``, 10 min, with no
change on either side, and while the machine runs on battery, :mod:`.power`) with ``If-None-Match`` on the last ETag it knows: unchanged, the
service answers 304 with no body; a new ETag means another machine changed the
container, and the pair syncs at once (:attr:`SyncReason.BEACON
<blobsync.core.app.schedule.SyncReason.BEACON>`). The periodic full check stays, for
tools that do not know the beacon.

Which ETag is "known" decides both that our own write never wakes us and that no
other machine's write is missed:

- after a run, the ETag its own beacon write left; if it wrote none or lost a race for
  it, the ETag its listing showed (everything announced up to that one is in the
  listing, so only a later write is news);
- a read that was sent before a run started and answered after is dropped: the run's
  report is newer;
- the very first read without a run's report only sets the baseline.

A beacon with a hint (which top-level folders the writer changed, and which beacon it
replaced) makes the next sync a targeted one (:class:`~blobsync.core.engine.SyncScope`:
only those folders are scanned, listed and compared) when the hint is whole: it says it
replaced the very beacon this watch last knew (no write in between went unseen), and
every hint since the last run did so too; their folders add up. Anything else (a
beacon without a hint, a skipped write, a garbled body) makes it a full sync, as
before. The full check at its interval does not change.

Problems are told once each, as :class:`~blobsync.core.events.BeaconStatus`: a beacon
that may not be read (then only the full checks pick up remote changes; it is tried
again after each of them), one that may not be written, one that vanished, one that is
garbled. None of them is an error or stops a sync.

Cost, per live pair: 720 reads an hour while active, 120 an hour while idle, plus one
read after each run; each is the smallest billable read (no body while unchanged).
:class:`BeaconWatch` is pure bookkeeping on a clock passed in (callers serialise
access); :class:`BeaconThread` does the reading off the driver's thread.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

from .. import events as ev
from ..engine.beacon import BeaconReport, is_permission_refusal, parse_body
from ..engine.scope import SyncScope
from ..errors import BlobSyncError
from ..remote.base import BeaconRead
from .schedule import BEACON_IDLE_AFTER_S, BEACON_IDLE_INTERVAL_S, DEFAULT_BEACON_INTERVAL_S

log = logging.getLogger(__name__)

Notice = ev.BeaconNotice


def notice_message(notice: Notice, full_interval_s: float) -> str:
    """The sentence for a notice (the full-check interval is part of the remedy)."""
    every = _duration(full_interval_s)
    if notice is Notice.UNREADABLE:
        return (
            "These credentials may not read this pair's change beacon, so changes from "
            f"other machines are picked up at the full check every {every}."
        )
    if notice is Notice.NOT_WRITABLE:
        return (
            "These credentials may not write this pair's change beacon, so other machines "
            f"pick up this machine's changes at their full check (every {every} by default)."
        )
    if notice is Notice.MISSING:
        return (
            "This pair's change beacon was deleted; the next change recreates it. Until "
            f"then changes from other machines still arrive by the check every {every}."
        )
    if notice is Notice.GARBLED:
        return (
            "This pair's change beacon holds something BlobSync did not write; the next "
            "change replaces it."
        )
    return "Changes from other machines are picked up within seconds again."


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


@dataclass(frozen=True, slots=True)
class BeaconView:
    """What a client shows about one live pair's beacon."""

    on: bool
    interval_s: float  # between reads now (longer while idle)
    problems: frozenset[Notice]  # what was told and still holds (unreadable, ...)
    last_pickup: float | None  # epoch seconds a run last applied changes from elsewhere


@dataclass(frozen=True, slots=True)
class BeaconCheck:
    """What one read means: sync now, and/or a notice to tell."""

    sync: bool = False
    notice: Notice | None = None


def _on_mains() -> bool:
    return False


class BeaconWatch:
    """One pair's beacon bookkeeping (see the module docstring)."""

    def __init__(
        self,
        interval_s: float = DEFAULT_BEACON_INTERVAL_S,
        idle_interval_s: float = BEACON_IDLE_INTERVAL_S,
        idle_after_s: float = BEACON_IDLE_AFTER_S,
        *,
        now: float = 0.0,
        on_battery: Callable[[], bool] = _on_mains,
    ) -> None:
        self.interval_s = interval_s
        #: On battery the beacon is read at the idle interval even while active.
        self.on_battery = on_battery
        self.idle_interval_s = idle_interval_s
        self.idle_after_s = idle_after_s
        self.etag: str | None = None  # the last known ETag (None: no beacon)
        self.known = False  # False until a read or a run's report gave ``etag``
        self.next_read = now  # the first read is due at once
        self.last_activity = now
        self.generation = 0  # runs started so far (drops reads that overlap one)
        self.unreadable = False
        self.reads = 0
        self._told: set[Notice] = set()  # told and still true
        #: Folders other machines' news named since the last run (None: none yet);
        #: ``_news_whole`` False once some news came without a usable hint.
        self._news: frozenset[str] | None = None
        self._news_whole = True

    # ---- timing ----------------------------------------------------------------------

    def idle(self, now: float) -> bool:
        return now - self.last_activity >= self.idle_after_s

    def current_interval(self, now: float) -> float:
        if self.idle(now) or self.on_battery():
            return max(self.interval_s, self.idle_interval_s)
        return self.interval_s

    def wait(self, now: float) -> float:
        """Seconds until the next read is due (infinite while it may not be read)."""
        return math.inf if self.unreadable else self.next_read - now

    def activity(self, now: float) -> None:
        """Something changed (here or elsewhere): read at the short interval again."""
        if self.idle(now):
            self.next_read = min(self.next_read, now + self.interval_s)
        self.last_activity = now

    def set_interval(self, interval_s: float, now: float) -> None:
        self.interval_s = interval_s
        self.next_read = min(self.next_read, now + self.current_interval(now))

    # ---- reads -----------------------------------------------------------------------

    def begin(self, now: float) -> tuple[str | None, int]:
        """A read starts: (the ETag to send as If-None-Match, the run generation)."""
        self.next_read = now + self.current_interval(now)
        self.reads += 1
        return (self.etag if self.known else None), self.generation

    def read(self, result: BeaconRead, generation: int, now: float) -> BeaconCheck:
        """A read came back."""
        notice = self._working_again()
        if generation != self.generation:
            return BeaconCheck(notice=notice)  # a run started meanwhile: its report wins
        if result.not_modified or (self.known and result.etag == self.etag):
            return BeaconCheck(notice=notice)
        first = not self.known
        had_one = self.etag is not None
        before = self.etag
        self.known, self.etag = True, result.etag
        if result.etag is None:
            # Gone: nothing to sync (no file changed); the next write recreates it.
            if had_one and not first:
                return BeaconCheck(notice=self._tell(Notice.MISSING) or notice)
            return BeaconCheck(notice=notice)
        self._told.discard(Notice.MISSING)
        body = None if result.too_large else parse_body(result.body)
        if body is None:
            notice = self._tell(Notice.GARBLED) or notice
        else:
            self._told.discard(Notice.GARBLED)
        if first:
            return BeaconCheck(notice=notice)  # a baseline, not news
        hint = body.hint if body is not None else None
        if hint is not None and hint.after == before:
            self._news = (self._news or frozenset()) | hint.folders
        else:
            self._news_whole = False  # a write we did not see, or no hint: everything
        self.activity(now)
        return BeaconCheck(sync=True, notice=notice)

    def take_scope(self) -> SyncScope | None:
        """A run starts that the news alone asked for: the folders to target (None:
        sync everything). The news is covered by that run either way."""
        news, whole = self._news, self._news_whole
        self._news, self._news_whole = None, True
        if news is None or not whole or self.etag is None:
            return None
        return SyncScope(news, self.etag)

    def forget_news(self) -> None:
        """A full run starts: it covers every news so far."""
        self._news, self._news_whole = None, True

    def failed(self, error: BlobSyncError, now: float) -> Notice | None:
        """A read failed: a missing permission stops reading until the next full check;
        anything else (offline, a service error, credentials that stopped working, which
        the sync itself reports) is tried again at the idle interval."""
        if is_permission_refusal(error):
            self.unreadable = True
            return self._tell(Notice.UNREADABLE)
        self.next_read = now + max(self.current_interval(now), self.idle_interval_s)
        return None

    # ---- runs ------------------------------------------------------------------------

    def run_started(self) -> None:
        self.generation += 1

    def run_report(self, report: BeaconReport, now: float) -> Notice | None:
        """The engine's word at the end of a run (on the engine's thread, under the
        caller's lock)."""
        self.known = True
        if report.written is not None and not report.raced:
            self.etag = report.written  # ours: never news to us
        else:
            self.etag = report.listed  # anything written after the listing is news
        if report.changed_container or report.picked_up:
            self.activity(now)
        if report.written is not None:
            self._told.discard(Notice.NOT_WRITABLE)
        if report.refused:
            return self._tell(Notice.NOT_WRITABLE)
        return None

    def run_finished(self, now: float) -> None:
        """Read once right after every run (catches a change made during it); a beacon
        that may not be read is tried again here, without telling it twice."""
        self.unreadable = False
        self.next_read = now

    def problems(self) -> frozenset[Notice]:
        return frozenset(self._told)

    # ---- internals -------------------------------------------------------------------

    def _tell(self, notice: Notice) -> Notice | None:
        if notice in self._told:
            return None
        self._told.add(notice)
        return notice

    def _working_again(self) -> Notice | None:
        if Notice.UNREADABLE in self._told:
            self._told.discard(Notice.UNREADABLE)
            return Notice.WATCHING
        return None


class BeaconThread:
    """Calls ``check()`` whenever ``wait()`` says a read is due, on its own thread: a
    read can take seconds on a bad network, and neither the app's GUI thread nor the
    CLI's sync loop may wait for one."""

    MAX_SLEEP_S = 1.0  # a new interval or a resume is noticed within this

    def __init__(self, check: Callable[[], object], wait: Callable[[], float], name: str) -> None:
        self._check = check
        self._wait = wait
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end (a read in flight finishes first; not waited for)."""
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._check()
            except Exception:  # never let the thread die silently
                if not self._stop.is_set():  # not a store closed under a read at shutdown
                    log.exception("reading the change beacon failed unexpectedly")
            self._stop.wait(min(max(self._wait(), 0.05), self.MAX_SLEEP_S))
