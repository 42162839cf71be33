"""The change beacon's hint without a network: the body (revision 2 beside revision 1,
its limits, hostile names), targeted runs of the engine on the in-memory store (only
the hinted folders listed, deletions inside and outside them, moves across the edge,
the safety valves, the run record, issues), and the live loop choosing a targeted run
on a fake clock."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from blobsync.core.app.live import LivePair
from blobsync.core.app.schedule import SyncReason
from blobsync.core.engine import ChangeKind, SyncEngine, SyncOptions, SyncScope
from blobsync.core.engine.beacon import (
    MAX_BODY_BYTES,
    MAX_HINT_FOLDERS,
    BeaconReport,
    Hint,
    beacon_body,
    changed_folders,
    parse_beacon,
    parse_body,
)
from blobsync.core.errors import ConnectionFailure, ListingError
from blobsync.core.models import (
    Action,
    ActionKind,
    Issue,
    IssueKind,
    LocalEntry,
    RemoteEntry,
    SnapshotEntry,
)
from blobsync.core.remote.base import BEACON_BLOB
from blobsync.core.remote.memory import MemoryStore
from blobsync.core.remote.prefixed import at_prefix
from blobsync.core.remote.trash import TRASH_PREFIX

# ---- the body ----------------------------------------------------------------------------


def old_reader(body: bytes) -> str | None:
    """What a BlobSync from before the hint does with a body (its parse_beacon)."""
    data = json.loads(body.decode("utf-8"))
    if not isinstance(data, dict) or data.get("v") != 1:
        return None
    writer = data.get("by")
    return writer if isinstance(writer, str) else None


def test_a_hinted_body_is_still_a_beacon_to_old_readers_and_round_trips() -> None:
    body = beacon_body("w1", now=2.0, folders=frozenset({"x", "Ünï code", ""}), after='"0x1"')
    assert body.isascii()  # every name an escaped JSON string
    assert old_reader(body) == "w1"  # format 1 still: an old reader syncs, says nothing
    parsed = parse_body(body)
    assert parsed is not None and parsed.writer == "w1" == parse_beacon(body)
    assert parsed.hint == Hint(frozenset({"x", "Ünï code", ""}), '"0x1"')
    created = parse_body(beacon_body("w1", folders=frozenset({"x"}), after=None))
    assert created is not None and created.hint == Hint(frozenset({"x"}), None)


def test_a_revision_1_body_means_no_hint() -> None:
    v1 = json.dumps({"v": 1, "by": "old", "at": 1.0}).encode()
    parsed = parse_body(v1)
    assert parsed is not None and parsed.writer == "old" and parsed.hint is None
    assert beacon_body("w", now=1.0) == b'{"v":1,"by":"w","at":1.0}'  # no folders: v1 body


def test_the_writer_leaves_the_hint_out_when_it_does_not_fit() -> None:
    def hint_of(folders: set[str], after: str | None = '"0x1"') -> Hint | None:
        body = beacon_body("w", folders=frozenset(folders), after=after)
        parsed = parse_body(body)
        assert parsed is not None and len(body) <= MAX_BODY_BYTES
        return parsed.hint

    assert hint_of({f"f{i}" for i in range(MAX_HINT_FOLDERS)}) is not None
    assert hint_of({f"f{i}" for i in range(MAX_HINT_FOLDERS + 1)}) is None
    assert hint_of({"é" * 400, "b" * 400}) is None  # escaped to over 2 KB: no hint
    assert hint_of({"a" * 1000}) is not None
    for bad in ("..", ".", "a/b", "a\\b", "nul\x00", "tab\t", ".blobsync", "\udcff", "x" * 1025):
        assert hint_of({"ok", bad}) is None, bad
    assert hint_of({"x"}, after='"' + "0" * 300 + '"') is None


@pytest.mark.parametrize(
    "hint",
    [
        {"after": None, "top": ["../etc"]},
        {"after": None, "top": ["a/../../b"]},
        {"after": None, "top": [".."]},
        {"after": None, "top": [".blobsync"]},
        {"after": None, "top": ["x", "x"]},
        {"after": None, "top": []},
        {"after": None, "top": "x"},
        {"after": None, "top": [1]},
        {"after": None, "top": [None]},
        {"after": 5, "top": ["x"]},
        {"after": "", "top": ["x"]},
        {"after": None, "top": [f"f{i}" for i in range(MAX_HINT_FOLDERS + 1)]},
        {"after": None, "top": ["ctrl\x1b"]},
        {"top": ["x"], "after": "e" * 257},
        ["x"],
        "x",
    ],
)
def test_a_hostile_hint_is_dropped_as_a_whole(hint: object) -> None:
    body = json.dumps({"v": 1, "by": "w", "at": 1.0, "hint": hint}).encode()
    parsed = parse_body(body)
    assert parsed is not None and parsed.writer == "w"  # still a beacon: a full sync
    assert parsed.hint is None


def test_a_long_body_carries_no_hint_and_garbage_is_no_beacon() -> None:
    long = json.dumps(
        {"v": 1, "by": "w", "pad": "p" * MAX_BODY_BYTES, "hint": {"after": None, "top": ["x"]}}
    ).encode()
    parsed = parse_body(long)
    assert parsed is not None and parsed.hint is None
    deep = b'{"v":1,"by":"w","hint":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert parse_body(deep) is None  # too deep for the parser: not a beacon, no crash
    for garbled in (b"", b"\xff", b"[]", b'{"v":2,"by":"w"}', b'{"v":1}'):
        assert parse_body(garbled) is None


def entry(rel: str) -> RemoteEntry:
    return RemoteEntry(rel, 1, '"e"', None)


def test_changed_folders_names_both_ends_of_a_move_and_only_container_writes() -> None:
    snap = SnapshotEntry("old/a.txt", 1, 0, b"", '"e"')
    actions = [
        Action(ActionKind.UPLOAD, "x/1.txt", local=LocalEntry("x/1.txt", 1, 0, 0)),
        Action(ActionKind.DELETE_REMOTE, "root.txt", remote=entry("root.txt")),
        Action(ActionKind.MOVE_REMOTE, "new/a.txt", remote=entry("old/a.txt"), snapshot=snap),
        Action(ActionKind.CONFLICT, "c/d/e.txt", remote=entry("c/d/e.txt")),
        Action(ActionKind.DOWNLOAD, "down/f.txt", remote=entry("down/f.txt")),
        Action(ActionKind.DELETE_LOCAL, "gone/f.txt"),
        Action(ActionKind.MOVE_LOCAL, "ren/f.txt", remote=entry("ren/f.txt")),
    ]
    assert changed_folders(actions) == {"x", "", "new", "old", "c"}
    assert changed_folders(actions[4:]) == frozenset()


# ---- targeted runs of the engine ---------------------------------------------------------


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


class Pair:
    def __init__(self, tmp_path: Path, name: str, store: object) -> None:
        self.root = tmp_path / name
        self.root.mkdir(exist_ok=True)
        self.engine = SyncEngine(
            self.root, store, tmp_path / f"{name}.sqlite3", versions_dir=tmp_path / f"{name}.v"
        )
        self.reports: list[BeaconReport] = []
        self.engine.on_beacon = self.reports.append


FOLDERS = ("x", "y", "z")


@pytest.fixture
def ab(tmp_path: Path):
    """Two machines on one container of three folders with four files each, in sync."""
    store = MemoryStore()
    a, b = Pair(tmp_path, "a", store), Pair(tmp_path, "b", store)
    for folder in FOLDERS:
        for i in range(4):
            write(a.root, f"{folder}/f{i}.txt", f"{folder} {i}")
    write(a.root, "top.txt", "at the root")
    a.engine.sync()
    b.engine.sync()
    yield store, a, b
    for p in (a, b):
        p.engine.close()


def beacon_etag(store: MemoryStore) -> str:
    etag = store.read_beacon(None).etag
    assert etag is not None
    return etag


def targeted(b: Pair, store: MemoryStore, folders: set[str]):
    store.list_prefixes.clear()
    return b.engine.sync(scope=SyncScope(frozenset(folders), beacon_etag(store)))


def test_a_save_is_announced_with_its_folder_and_fetched_by_listing_only_it(ab) -> None:
    store, a, b = ab
    write(a.root, "x/f1.txt", "changed on a")
    write(a.root, "x/deep/new.txt", "new on a")
    a.engine.sync()
    body = parse_body(store.content(BEACON_BLOB))
    assert body is not None and body.hint is not None
    assert body.hint.folders == {"x"} and body.hint.after == a.reports[-2].written
    before = b.engine.run_record()
    result = targeted(b, store, {"x"})
    assert result.scope == {"x"} and result.downloaded == 2
    assert store.list_prefixes == ["x/"]  # no container-wide listing, no bin listing
    assert (b.root / "x/f1.txt").read_text() == "changed on a"
    assert (b.root / "x/deep/new.txt").read_text() == "new on a"
    # it covers the beacon it was told about, not one it never listed
    assert b.reports[-1].listed == beacon_etag(store) and b.reports[-1].picked_up
    assert b.engine.run_record() == before  # "last in sync" is only a full run's to say
    full = b.engine.sync()
    assert full.scope is None and full.writes == 0 and "" in store.list_prefixes


def test_a_change_outside_the_hinted_folders_waits_for_the_full_run(ab) -> None:
    store, a, b = ab
    write(a.root, "x/f0.txt", "x changed")
    write(a.root, "y/f0.txt", "y changed")
    (a.root / "x/f3.txt").unlink()
    (a.root / "y/f3.txt").unlink()
    a.engine.sync(SyncOptions(hostname="desk-a"))
    result = targeted(b, store, {"x"})
    assert result.scope == {"x"} and result.deleted_local == 1 and result.downloaded == 1
    assert not (b.root / "x/f3.txt").exists()  # a deletion inside: applied (into the bin)
    assert [v.rel_path for v in b.engine.versions("x/f3.txt", remote=False)] == ["x/f3.txt"]
    # the history still says who deleted it (the bin, listed for that, names a)
    rows = b.engine.history.changes(pair="b", kinds=[ChangeKind.DELETED_LOCAL])
    assert [(r.rel_path, r.writer and r.writer.machine) for r in rows] == [("x/f3.txt", "desk-a")]
    assert store.list_prefixes == ["x/", TRASH_PREFIX]
    assert (b.root / "y/f3.txt").exists()  # outside: not judged
    assert (b.root / "y/f0.txt").read_text() == "y 0"
    full = b.engine.sync()
    assert full.scope is None and full.deleted_local == 1 and full.downloaded == 1
    assert not (b.root / "y/f3.txt").exists() and (b.root / "y/f0.txt").read_text() == "y changed"


def test_a_deletion_in_this_folder_makes_it_a_full_run(ab) -> None:
    store, a, b = ab
    write(a.root, "x/f0.txt", "changed on a")
    a.engine.sync()
    (b.root / "x/f2.txt").unlink()  # a local change b's own watcher has not synced yet
    result = targeted(b, store, {"x"})
    assert result.scope is None  # it would delete a blob: the full run decides
    assert result.deleted_remote == 1 and result.downloaded == 1
    assert "" in store.list_prefixes


def test_moves_across_the_edge_lose_nothing(ab) -> None:
    store, a, b = ab
    # b moves x/f0 out of the hinted folder (not synced yet): a full run pairs the move
    write(a.root, "x/f1.txt", "changed on a")
    a.engine.sync()
    os.rename(b.root / "x/f0.txt", b.root / "z/from-x.txt")
    result = targeted(b, store, {"x"})
    assert result.scope is None and result.moved == 1
    assert store.content("z/from-x.txt") == b"x 0" and "x/f0.txt" not in store.names()
    # b moves z/f1 into the hinted folder: uploaded there now, the old blob goes later
    write(a.root, "x/f2.txt", "changed again on a")
    a.engine.sync()
    os.rename(b.root / "z/f1.txt", b.root / "x/moved-in.txt")
    result = targeted(b, store, {"x"})
    assert result.scope == {"x"} and result.uploaded == 1
    assert store.content("x/moved-in.txt") == b"z 1" and "z/f1.txt" in store.names()
    full = b.engine.sync()
    assert full.deleted_remote == 1 and "z/f1.txt" not in store.names()
    kept = [n for n in store.names() if n.startswith(TRASH_PREFIX) and n.endswith("/z/f1.txt")]
    assert len(kept) == 1 and store.content(kept[0]) == b"z 1"  # in the bin
    # a moves x/f3 to y/ (both ends in its hint); b told of x only: the file goes to
    # b's bin now and comes back under y/ at the full run
    os.rename(a.root / "x/f3.txt", a.root / "y/from-x.txt")
    a.engine.sync()
    hint = parse_body(store.content(BEACON_BLOB))
    assert hint is not None and hint.hint is not None and hint.hint.folders == {"x", "y"}
    result = targeted(b, store, {"x"})
    assert result.scope == {"x"} and result.deleted_local == 1
    assert b.engine.versions("x/f3.txt", remote=False)  # recoverable meanwhile
    b.engine.sync()
    assert (b.root / "y/from-x.txt").read_text() == "x 3"


def test_the_valves_judge_the_subtree_and_a_stop_widens_to_the_full_run(ab) -> None:
    store, a, b = ab
    for i in range(4):
        (a.root / f"x/f{i}.txt").unlink()  # all of x/: the subtree's container side empties
    a.engine.sync()
    result = targeted(b, store, {"x"})
    # on the subtree that looks like a lost container; on the pair it is 4 of 13 files
    assert result.scope is None and result.deleted_local == 4
    assert not (b.root / "x").exists() or not any((b.root / "x").iterdir())


def test_what_a_targeted_run_cannot_do_is_a_full_run(ab, tmp_path: Path) -> None:
    store, a, b = ab
    write(a.root, "top.txt", "root file changed")
    a.engine.sync()
    body = parse_body(store.content(BEACON_BLOB))
    assert body is not None and body.hint is not None and body.hint.folders == {""}
    assert targeted(b, store, {""}).scope is None  # the root's files: a full listing
    assert (b.root / "top.txt").read_text() == "root file changed"
    for folders in ({"x", "../a"}, set(), {f"f{i}" for i in range(MAX_HINT_FOLDERS + 1)}):
        assert targeted(b, store, folders).scope is None
    (b.root / "file-not-folder").write_text("a file")
    assert targeted(b, store, {"file-not-folder"}).scope is None
    os.symlink(b.root / "y", b.root / "link")
    assert targeted(b, store, {"link"}).scope is None
    os.unlink(b.root / "link")
    assert b.engine.sync(SyncOptions(dry_run=True), scope=SyncScope(frozenset({"x"}))).scope is None
    fresh = Pair(tmp_path, "fresh", store)  # nothing synced yet
    assert targeted(fresh, store, {"x"}).scope is None
    fresh.engine.close()
    assert targeted(b, store, {"new-folder"}).scope == {"new-folder"}  # there nowhere: fine


def test_a_targeted_run_keeps_what_it_did_not_look_at(ab) -> None:
    store, a, b = ab
    outside = Issue("y/f0.txt", IssueKind.PERMISSION_DENIED, "kept from before")
    b.engine.state.replace_issues([outside], [])
    write(a.root, "x/f0.txt", "changed")
    a.engine.sync()
    targeted(b, store, {"x"})
    assert b.engine.pending_issues() == [outside]
    b.engine.sync()  # the full run looks again: nothing wrong there
    assert b.engine.pending_issues() == []


def test_a_stopped_run_stays_not_finished_after_a_targeted_one(ab) -> None:
    store, a, b = ab
    write(a.root, "x/f0.txt", "changed")
    a.engine.sync()
    store.fail_next("download", ConnectionFailure("offline"))
    with pytest.raises(ConnectionFailure):
        targeted(b, store, {"x"})
    record = b.engine.run_record()
    assert record.stopped and record.waiting is None  # unknown: it saw only x/
    assert targeted(b, store, {"x"}).scope == {"x"}
    assert b.engine.run_record().stopped  # still: the rest was not looked at
    b.engine.sync()
    assert not b.engine.run_record().stopped


def test_a_targeted_run_that_writes_announces_its_own_folders(ab) -> None:
    store, a, b = ab
    write(a.root, "x/f0.txt", "changed on a")
    a.engine.sync()
    told = beacon_etag(store)
    write(b.root, "x/mine.txt", "new on b")  # b's save, not synced yet
    result = targeted(b, store, {"x"})
    assert result.scope == {"x"} and result.uploaded == 1 and result.downloaded == 1
    report = b.reports[-1]
    assert report.listed == told and report.written is not None and not report.raced
    body = parse_body(store.content(BEACON_BLOB))
    assert body is not None and body.hint == Hint(frozenset({"x"}), told)


def test_a_restore_announces_no_hint(ab) -> None:
    store, a, _b = ab
    write(a.root, "x/f0.txt", "second version")
    a.engine.sync()
    before = beacon_etag(store)
    restored = a.engine.restore("x/f0.txt")
    assert restored.sync is not None and restored.sync.uploaded == 0  # copied in the container
    assert beacon_etag(store) != before  # announced all the same
    body = parse_body(store.content(BEACON_BLOB))
    assert body is not None and body.hint is None  # it wrote outside its plan


def test_a_pair_on_a_container_path_lists_only_its_own_folder(tmp_path: Path) -> None:
    inner = MemoryStore()
    inner.put_raw("elsewhere/x/secret.txt", b"not this pair's")
    store = at_prefix(inner, "team/")
    a, b = Pair(tmp_path, "a", store), Pair(tmp_path, "b", store)
    write(a.root, "x/f.txt", "one")
    a.engine.sync()
    b.engine.sync()
    write(a.root, "x/f.txt", "two")
    a.engine.sync()
    assert BEACON_BLOB not in inner.names() and f"team/{BEACON_BLOB}" in inner.names()
    body = parse_body(inner.content(f"team/{BEACON_BLOB}"))
    assert body is not None and body.hint is not None
    assert body.hint.folders == {"x"}  # relative to the pair's path: "team/" is not named
    inner.list_prefixes.clear()
    etag = store.read_beacon(None).etag
    result = b.engine.sync(scope=SyncScope(frozenset({"x"}), etag))
    assert result.scope == {"x"} and inner.list_prefixes == ["team/x/"]
    assert (b.root / "x/f.txt").read_text() == "two"
    for p in (a, b):
        p.engine.close()


class NoPrefixStore:
    """A store that can only list everything (like a wrapper that predates prefixes)."""

    def __init__(self, inner: MemoryStore) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        if name == "list_folders":
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_a_store_that_cannot_list_by_prefix_syncs_everything(ab, tmp_path: Path) -> None:
    store, a, _b = ab
    c = Pair(tmp_path, "c", NoPrefixStore(store))
    c.engine.sync()
    write(a.root, "x/f0.txt", "changed")
    a.engine.sync()
    assert targeted(c, store, {"x"}).scope is None
    assert (c.root / "x/f0.txt").read_text() == "changed"
    c.engine.close()


# ---- the live loop ---------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Machine:
    def __init__(self, tmp_path: Path, name: str, store: MemoryStore, clock: Clock) -> None:
        self.pair = Pair(tmp_path, name, store)
        self.root = self.pair.root
        self.engine = self.pair.engine
        self.live = LivePair(
            self.root, interval_s=300, watch=False, clock=clock, beacon_thread=False
        )
        self.live.attach(self.engine)
        self.results: list[object] = []

    def sync(self, ok: bool = True):
        self.live.started()
        try:
            result = self.engine.sync()
        except ConnectionFailure:
            self.live.finished(False)
            raise
        self.live.finished(ok)
        return result

    def due(self) -> SyncReason | None:
        return self.live.poll().run


@pytest.fixture
def live(tmp_path: Path):
    store = MemoryStore()
    clock = Clock()
    a, b = Machine(tmp_path, "a", store, clock), Machine(tmp_path, "b", store, clock)
    for folder in FOLDERS:
        write(a.root, f"{folder}/f.txt", folder)
    for m in (a, b):
        assert m.due() is SyncReason.POLL
        m.sync()
    clock.now += 0.1
    for m in (a, b):
        assert m.live.check_beacon()  # the read right after each run
    yield store, clock, a, b
    for m in (a, b):
        m.live.close()
        m.engine.close()


def test_the_beacons_news_alone_makes_a_targeted_run(live) -> None:
    store, clock, a, b = live
    write(a.root, "x/f.txt", "saved on a")
    a.sync()
    clock.now += 5
    assert b.live.check_beacon() and b.due() is SyncReason.BEACON
    store.list_prefixes.clear()
    result = b.sync()
    assert result.scope == {"x"} and store.list_prefixes == ["x/"]
    assert (b.root / "x/f.txt").read_text() == "saved on a"
    clock.now += 0.1
    assert b.live.check_beacon() and b.due() is None  # nothing new since
    # the next news (from b's own targeted run onwards) chains as well
    write(a.root, "y/f.txt", "saved on a again")
    a.sync()
    clock.now += 5
    assert b.live.check_beacon() and b.due() is SyncReason.BEACON
    assert b.sync().scope == {"y"}
    clock.now += 300  # the full check stays at its interval
    assert b.due() is SyncReason.POLL and b.sync().scope is None


def test_news_that_add_up_are_one_targeted_run_and_a_missed_write_is_a_full_one(live) -> None:
    store, clock, a, b = live
    write(a.root, "x/f.txt", "one")
    a.sync()
    clock.now += 5
    assert b.live.check_beacon()
    write(a.root, "y/f.txt", "two")  # before b's run started
    a.sync()
    clock.now += 5
    b.live.beacon.next_read = clock.now
    assert b.live.check_beacon() and b.due() is SyncReason.BEACON
    assert b.sync().scope == {"x", "y"}
    # two writes between b's reads: the first one's hint is gone, so everything
    write(a.root, "x/f.txt", "three")
    a.sync()
    write(a.root, "z/f.txt", "four")
    a.sync()
    clock.now += 5
    assert b.live.check_beacon() and b.due() is SyncReason.BEACON
    store.list_prefixes.clear()
    assert b.sync().scope is None and "" in store.list_prefixes
    assert (b.root / "x/f.txt").read_text() == "three"


def test_a_local_change_or_a_beacon_without_a_hint_means_a_full_run(live) -> None:
    store, clock, a, b = live
    write(a.root, "x/f.txt", "one")
    a.sync()
    clock.now += 5
    assert b.live.check_beacon()
    write(b.root, "z/local.txt", "b's own")
    b.live._on_change()  # what the watcher calls
    assert b.due() is SyncReason.BEACON
    result = b.sync()
    assert result.scope is None and result.uploaded == 1
    # a writer from before the hint (a revision-1 body)
    clock.now += 0.1
    b.live.check_beacon()
    store.put_raw(BEACON_BLOB, beacon_body("old-version"))
    store.put_raw("x/f.txt", b"raw")
    clock.now += 5
    assert b.live.check_beacon() and b.due() is SyncReason.BEACON
    assert b.sync().scope is None


def test_a_failed_targeted_run_is_retried_as_a_full_one(live) -> None:
    store, clock, a, b = live
    write(a.root, "x/f.txt", "one")
    a.sync()
    clock.now += 5
    assert b.live.check_beacon() and b.due() is SyncReason.BEACON
    store.fail_next("download", ConnectionFailure("offline"))
    with pytest.raises(ConnectionFailure):
        b.sync()
    clock.now += 30  # the retry after a failure
    assert b.due() is SyncReason.POLL
    result = b.sync()
    assert result.scope is None and (b.root / "x/f.txt").read_text() == "one"


def test_a_bin_that_cannot_be_listed_only_leaves_who_deleted_unknown(ab) -> None:
    store, a, b = ab
    (a.root / "x/f0.txt").unlink()
    a.engine.sync()
    store.fail_next("list_page", ListingError("the bin's listing failed"), skip=1)
    result = targeted(b, store, {"x"})
    assert result.scope == {"x"} and result.deleted_local == 1
    assert store.list_prefixes == ["x/", TRASH_PREFIX]  # asked, and it failed
    rows = b.engine.history.changes(pair="b", kinds=[ChangeKind.DELETED_LOCAL])
    assert [(r.rel_path, r.writer) for r in rows] == [("x/f0.txt", None)]


def test_a_targeted_run_follows_the_nested_ignore_files_of_its_folder(ab) -> None:
    """Both features at once: a folder's own .blobsyncignore (arriving from the other
    machine in the same run, or already here) judges a targeted run as it does a full one."""
    store, a, b = ab
    write(a.root, "x/.blobsyncignore", "*.log\n")
    write(a.root, "x/build.log", "kept out")
    write(a.root, "x/notes.txt", "synced")
    a.engine.sync()
    assert "x/build.log" not in store.names() and "x/notes.txt" in store.names()
    store.put_raw("x/other.log", b"put there by another tool")  # excluded on B too
    result = targeted(b, store, {"x"})
    assert result.scope == {"x"} and store.list_prefixes == ["x/"]
    assert (b.root / "x/.blobsyncignore").read_text() == "*.log\n"
    assert (b.root / "x/notes.txt").read_text() == "synced"
    assert not (b.root / "x/other.log").exists()  # the nested rule applied in this run
    write(b.root, "x/mine.log", "B's own log")
    b.engine.sync()
    assert "x/mine.log" not in store.names()
