"""The change beacon without a network: the in-memory store's beacon calls, the engine's
one write after a run that changed the container, and the live loop's reads on a fake
clock (what wakes a pair, what does not, what is said once)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from blobsync.core import events as ev
from blobsync.core.app.beacon import BeaconWatch
from blobsync.core.app.live import LivePair
from blobsync.core.app.schedule import (
    BEACON_IDLE_AFTER_S,
    BEACON_IDLE_INTERVAL_S,
    SyncReason,
    SyncSchedule,
)
from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.engine.beacon import BeaconReport, beacon_body, parse_beacon
from blobsync.core.errors import AuthError, AuthReason, ConnectionFailure, PreconditionFailed
from blobsync.core.models import Permission, SyncMode
from blobsync.core.remote.base import BEACON_BLOB, BEACON_MAX_BYTES
from blobsync.core.remote.memory import MemoryStore

# ---- the store ---------------------------------------------------------------------------


def test_memory_beacon_is_conditional_both_ways() -> None:
    store = MemoryStore()
    assert store.read_beacon(None).etag is None  # missing: no error
    etag = store.write_beacon(b"one", None)  # create only
    with pytest.raises(PreconditionFailed):
        store.write_beacon(b"two", None)  # it exists now
    with pytest.raises(PreconditionFailed):
        store.write_beacon(b"two", '"0xstale"')
    unchanged = store.read_beacon(etag)
    assert unchanged.not_modified and unchanged.body == b""  # a 304: no body
    fresh = store.read_beacon('"0xother"')
    assert (fresh.etag, fresh.body, fresh.not_modified) == (etag, b"one", False)
    newer = store.write_beacon(b"two", etag)
    assert newer != etag and store.content(BEACON_BLOB) == b"two"
    assert store.writes == 2  # a beacon write is a write like any other


def test_memory_beacon_bounds_and_refusals() -> None:
    store = MemoryStore()
    store.put_raw(BEACON_BLOB, b"x" * (BEACON_MAX_BYTES + 1))
    big = store.read_beacon(None)
    assert big.too_large and big.body == b""
    store.denied = {Permission.READ}  # a SAS without read
    with pytest.raises(AuthError):
        store.read_beacon(None)
    store.denied = {Permission.WRITE}
    with pytest.raises(AuthError):
        store.write_beacon(b"{}", big.etag)
    assert MemoryStore(exists=False).read_beacon(None).etag is None  # no container


def test_beacon_body_is_small_and_names_no_one() -> None:
    body = beacon_body("abc123", now=1.5)
    assert json.loads(body) == {"v": 1, "by": "abc123", "at": 1.5}
    assert parse_beacon(body) == "abc123"
    for garbled in (b"", b"x", b"[]", b'{"v": 2, "by": "a"}', b"\xff\xfe", b'{"v":1}'):
        assert parse_beacon(garbled) is None


# ---- the engine ------------------------------------------------------------------------


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def engine_for(tmp_path: Path):
    made: list[SyncEngine] = []

    def make(name: str, store: MemoryStore) -> tuple[SyncEngine, list[BeaconReport]]:
        root = tmp_path / name
        root.mkdir(exist_ok=True)
        engine = SyncEngine(root, store, tmp_path / f"{name}.sqlite3")
        reports: list[BeaconReport] = []
        engine.on_beacon = reports.append
        made.append(engine)
        return engine, reports

    yield make
    for engine in made:
        engine.state.close()


def test_a_run_that_changed_the_container_writes_the_beacon_once(engine_for, tmp_path) -> None:
    store = MemoryStore()
    engine, reports = engine_for("a", store)
    for i in range(5):
        write(tmp_path / "a", f"f{i}.txt", f"file {i}")
    engine.sync()
    assert store.calls["write_beacon"] == 1  # once for five uploads
    assert parse_beacon(store.content(BEACON_BLOB)) is not None
    first = reports[-1]
    assert first.listed is None and first.written is not None and not first.raced
    assert first.changed_container and not first.picked_up
    # a no-change run: no beacon write, not even a read (the listing showed its ETag)
    writes, reads = store.writes, store.calls["read_beacon"]
    assert engine.sync().writes == 0
    assert (store.writes, store.calls["read_beacon"]) == (writes, reads)
    assert reports[-1] == BeaconReport(listed=first.written)


def test_runs_that_wrote_nothing_remotely_leave_the_beacon_alone(engine_for, tmp_path) -> None:
    store = MemoryStore()
    store.put_raw("theirs.txt", b"from elsewhere")
    engine, reports = engine_for("a", store)
    engine.sync(SyncOptions(dry_run=True))
    engine.sync()  # a download only
    assert store.calls["write_beacon"] == 0 and BEACON_BLOB not in store.names()
    assert reports[-1].picked_up and not reports[-1].changed_container
    assert engine.last_pickup_time() is not None  # kept in the pair's state database
    write(tmp_path / "a", "mine.txt", "new")
    engine.sync(SyncOptions(beacon=False))  # the pair's beacon is off
    assert store.calls["write_beacon"] == 0
    assert reports[-1].changed_container and reports[-1].written is None
    write(tmp_path / "a", "mine2.txt", "new")
    engine.sync(SyncOptions(mode=SyncMode.DOWNLOAD))  # nothing goes up in download mode
    assert store.calls["write_beacon"] == 0


def test_a_beacon_written_by_someone_else_during_the_run_is_a_race(engine_for, tmp_path) -> None:
    store = MemoryStore()
    engine, reports = engine_for("a", store)
    write(tmp_path / "a", "x.txt", "one")
    engine.sync()
    listed = reports[-1].written

    def other_machine(op: str, name: str) -> None:
        if op == "upload":  # after our listing, before our beacon write
            store.before_write = None
            store.put_raw(BEACON_BLOB, beacon_body("someone-else"))

    store.before_write = other_machine
    write(tmp_path / "a", "y.txt", "two")
    engine.sync()
    report = reports[-1]
    assert report.listed == listed and report.raced  # the live loop syncs again
    assert report.written is not None  # still announced, against the current ETag
    assert store.read_beacon(None).etag == report.written
    assert parse_beacon(store.content(BEACON_BLOB)) not in (None, "someone-else")


def test_a_missing_or_garbled_beacon_is_written_afresh(engine_for, tmp_path) -> None:
    store = MemoryStore()
    engine, reports = engine_for("a", store)
    write(tmp_path / "a", "x.txt", "one")
    engine.sync()
    store.put_raw(BEACON_BLOB, b"\x00garbage")
    write(tmp_path / "a", "y.txt", "two")
    assert engine.sync().in_sync
    assert parse_beacon(store.content(BEACON_BLOB)) is not None and not reports[-1].raced
    store.remove_raw(BEACON_BLOB)
    write(tmp_path / "a", "z.txt", "three")
    assert engine.sync().in_sync
    assert parse_beacon(store.content(BEACON_BLOB)) is not None and reports[-1].listed is None


def test_a_beacon_that_may_not_be_written_never_fails_the_run(engine_for, tmp_path) -> None:
    store = MemoryStore()
    # a SAS that may create blobs but not replace them: new files go up, the beacon not
    store.refuse["write_beacon"] = AuthError("This SAS may not write.")
    engine, reports = engine_for("a", store)
    write(tmp_path / "a", "x.txt", "one")
    result = engine.sync()
    assert result.uploaded == 1 and result.in_sync
    assert reports[-1].refused and reports[-1].written is None
    store.refuse["write_beacon"] = ConnectionFailure("offline")
    write(tmp_path / "a", "y.txt", "two")
    assert engine.sync().in_sync
    assert not reports[-1].refused and reports[-1].failure == "offline"


# ---- the live loop on a fake clock -------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Machine:
    """One machine's pair, driven by hand: no threads, a fake clock."""

    def __init__(self, tmp_path: Path, name: str, store: MemoryStore, clock: Clock, **kw):
        self.root = tmp_path / name
        self.root.mkdir(exist_ok=True)
        self.engine = SyncEngine(self.root, store, tmp_path / f"{name}.sqlite3")
        self.events: list[ev.Event] = []
        self.live = LivePair(
            self.root,
            events=self.events.append,
            interval_s=300,
            watch=False,
            clock=clock,
            beacon_thread=False,
            **kw,
        )
        self.live.attach(self.engine)

    def sync(self, options: SyncOptions | None = None) -> None:
        self.live.started()
        try:
            self.engine.sync(options)
        finally:
            self.live.finished(True)

    def due(self) -> SyncReason | None:
        return self.live.poll().run

    def notices(self) -> list[ev.BeaconNotice]:
        return [e.notice for e in self.events if isinstance(e, ev.BeaconStatus)]

    def close(self) -> None:
        self.live.close()
        self.engine.state.close()


@pytest.fixture
def two(tmp_path: Path):
    store = MemoryStore()
    clock = Clock()
    machines = [Machine(tmp_path, name, store, clock) for name in "ab"]
    for m in machines:
        assert m.due() is SyncReason.POLL  # the first sync is due at once
        m.sync()
    yield store, clock, machines[0], machines[1]
    for m in machines:
        m.close()


def test_another_machines_change_wakes_the_pair_and_our_own_does_not(two) -> None:
    store, clock, a, b = two
    write(a.root, "doc.txt", "from a")
    a.sync()
    assert store.calls["write_beacon"] == 1
    clock.now += 0.1  # right after the run: one read each
    assert a.live.check_beacon() and b.live.check_beacon()
    assert a.due() is None  # our own write: a 304, nothing to do
    assert b.due() is SyncReason.BEACON
    b.sync()
    assert (b.root / "doc.txt").read_text() == "from a"
    assert b.live.last_pickup is not None and a.live.last_pickup is None
    clock.now += 0.1
    assert b.live.check_beacon() and b.due() is None  # nothing new since b's run


def test_reads_follow_the_interval_and_slow_down_when_idle(two) -> None:
    store, clock, a, _b = two
    reads = store.calls["read_beacon"]
    assert a.live.check_beacon()  # the read right after the run
    assert not a.live.check_beacon()  # not due again yet
    clock.now += 5.0
    assert a.live.check_beacon()
    for _ in range(30):
        clock.now += 5.0
        a.live.check_beacon()
    assert store.calls["read_beacon"] - reads == 32  # 2 + one per 5 s
    clock.now += BEACON_IDLE_AFTER_S  # nothing changed for 10 minutes: idle
    a.live.check_beacon()
    before = store.calls["read_beacon"]
    for _ in range(12):
        clock.now += 5.0
        a.live.check_beacon()
    assert store.calls["read_beacon"] - before == 60 // BEACON_IDLE_INTERVAL_S
    a.live._on_change()  # a local change: active again
    clock.now += 5.0
    assert a.live.check_beacon()


def test_no_reads_while_paused_or_syncing_and_a_read_overlapping_a_run_is_dropped(two) -> None:
    store, clock, a, b = two
    write(b.root, "x.txt", "b")
    b.sync()
    clock.now += 10
    a.live.pause.set(True)
    a.due()
    assert not a.live.check_beacon()
    a.live.pause.set(False)
    assert a.due() is SyncReason.REQUEST  # resuming looks at everything anyway
    a.live.started()
    assert not a.live.check_beacon()  # the run covers it
    a.live.finished(True)
    # a read sent before a run started and answered after it: the run's report wins
    if_none_match, generation = a.live.beacon.begin(clock.now)
    stale = store.read_beacon(if_none_match)
    a.live.beacon.run_started()
    assert not a.live.beacon.read(stale, generation, clock.now).sync


def test_a_lost_race_for_the_beacon_syncs_again(two) -> None:
    store, clock, a, _b = two
    a.live.beacon_report(BeaconReport(listed='"0xlisted"', written='"0xours"', raced=True))
    store.put_raw(BEACON_BLOB, beacon_body("ours-after-the-race"))
    clock.now += 1
    assert a.live.check_beacon() and a.due() is SyncReason.BEACON


def test_a_beacon_that_may_not_be_read_is_said_once_and_tried_after_each_check(two) -> None:
    store, clock, a, _b = two
    # a SAS without read on the beacon (Azurite proves the 403 on the wire)
    store.refuse["read_beacon"] = AuthError("no read permission")
    assert a.live.check_beacon()
    assert a.notices() == [ev.BeaconNotice.UNREADABLE]
    message = a.events[-1].message
    assert "full check every 5 min" in message
    clock.now += 60
    assert not a.live.check_beacon()  # no more reads until the next full check
    a.sync()
    assert a.live.check_beacon()  # tried again once
    assert a.notices() == [ev.BeaconNotice.UNREADABLE]  # not said twice
    del store.refuse["read_beacon"]
    a.sync()
    assert a.live.check_beacon()
    assert a.notices() == [ev.BeaconNotice.UNREADABLE, ev.BeaconNotice.WATCHING]


def test_offline_reads_are_quiet_and_slower(two) -> None:
    store, clock, a, _b = two
    store.refuse["read_beacon"] = ConnectionFailure("offline")
    assert a.live.check_beacon()
    clock.now += 5
    assert not a.live.check_beacon()  # next try at the idle interval
    clock.now += BEACON_IDLE_INTERVAL_S
    assert a.live.check_beacon()
    assert a.notices() == []


def test_a_beacon_that_may_not_be_written_is_said_once(two) -> None:
    store, _clock, a, _b = two
    store.refuse["write_beacon"] = AuthError("no write permission")  # create-only SAS
    for name in ("x.txt", "y.txt"):
        write(a.root, name, name)
        a.sync()
    assert a.notices() == [ev.BeaconNotice.NOT_WRITABLE]
    assert set(store.names()) >= {"x.txt", "y.txt"}  # the sync itself went on


def test_a_deleted_or_garbled_beacon_is_said_once_and_never_an_error(two) -> None:
    store, clock, a, b = two
    write(b.root, "x.txt", "b")
    b.sync()
    clock.now += 1
    a.live.check_beacon()
    a.due()
    a.sync()
    store.remove_raw(BEACON_BLOB)
    for _ in range(3):
        clock.now += 5
        a.live.check_beacon()
        assert a.due() is None  # a vanished beacon changes no file
    assert a.notices() == [ev.BeaconNotice.MISSING]
    write(b.root, "y.txt", "b again")
    b.sync()  # recreates it
    clock.now += 5
    a.live.check_beacon()
    assert a.due() is SyncReason.BEACON
    a.sync()
    store.put_raw(BEACON_BLOB, b"not json")
    clock.now += 5
    a.live.check_beacon()
    assert a.due() is SyncReason.BEACON  # someone wrote it: look
    a.sync()
    store.put_raw(BEACON_BLOB, b"still not json")
    clock.now += 5
    a.live.check_beacon()
    assert a.notices() == [ev.BeaconNotice.MISSING, ev.BeaconNotice.GARBLED]


def test_beacon_off_sends_nothing(tmp_path: Path) -> None:
    store = MemoryStore()
    clock = Clock()
    m = Machine(tmp_path, "a", store, clock, beacon_s=None)
    try:
        m.due()
        m.sync(SyncOptions(beacon=False))
        for _ in range(5):
            clock.now += 5
            assert not m.live.check_beacon()
        assert store.calls["read_beacon"] == 0
        m.live.set_beacon(2.0)
        assert m.live.check_beacon()
    finally:
        m.close()


def test_schedule_runs_at_once_for_a_beacon_and_forgets_it_when_paused() -> None:
    s = SyncSchedule(interval_s=300)
    s.started()
    s.finished(0.0, ok=True)
    s.beacon_moved()
    assert s.due(1.0) == (True, 0.0, SyncReason.BEACON)
    s.started()
    assert not s.due(1.0)[0]
    s.beacon_moved()
    s.paused()
    assert not s.due(1.0)[0]


def test_watch_first_read_is_a_baseline_not_news() -> None:
    watch = BeaconWatch(now=0.0)
    if_none_match, generation = watch.begin(0.0)
    assert if_none_match is None
    from blobsync.core.remote.base import BeaconRead

    check = watch.read(BeaconRead('"0x1"', body=beacon_body("w")), generation, 0.0)
    assert not check.sync and watch.etag == '"0x1"'
    assert watch.begin(5.0)[0] == '"0x1"'  # from now on: If-None-Match


def test_credentials_that_stopped_working_are_not_called_a_missing_permission(two) -> None:
    store, clock, a, _b = two
    store.refuse["read_beacon"] = AuthError("The SAS has expired.", AuthReason.SAS_EXPIRED)
    assert a.live.check_beacon()
    clock.now += 5
    assert not a.live.check_beacon()  # tried again at the idle interval, quietly
    clock.now += BEACON_IDLE_INTERVAL_S
    assert a.live.check_beacon()
    store.refuse["write_beacon"] = AuthError("The SAS has expired.", AuthReason.SAS_EXPIRED)
    write(a.root, "x.txt", "x")
    a.sync()
    assert a.notices() == []  # the sync's own failure says what is wrong, not the beacon
