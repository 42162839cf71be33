"""Bins, history, restore, undo and conflict rules, end to end on the in-memory store.

Two engines (machines A and B) share one container. The Azurite twins of the main
scenarios are in tests/integration/test_recovery_azurite.py; what only runs here is
the account-side versioning (Azurite has no blob versions) and the fake clock for
retention of both bins.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from folders import tree, write

from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.engine.history import ChangeKind, History, RunKind
from blobsync.core.engine.recovery import VersionSource
from blobsync.core.models import BinReason, ConflictRule, IssueKind, SyncMode, Writer
from blobsync.core.names import is_reserved
from blobsync.core.remote.blobmeta import WRITER_MACHINE_KEY
from blobsync.core.remote.memory import MemoryStore

ID_A = "a" * 32
ID_B = "b" * 32
DAY = 86400.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def blobs(store: MemoryStore) -> dict[str, bytes]:
    return {n: store.content(n) for n in store.names() if not is_reserved(n)}


def bin_blobs(store: MemoryStore) -> list[str]:
    return [n for n in store.names() if n.startswith(".blobsync/trash/")]


def opts(name: str, **kw) -> SyncOptions:
    return SyncOptions(hostname=f"host{name}", installation_id=ID_A if name == "A" else ID_B, **kw)


class Machines:
    def __init__(self, tmp: Path, store: MemoryStore, clock: Clock | None = None) -> None:
        self.tmp = tmp
        self.store = store
        self.clock = clock or Clock()
        self.roots = {n: tmp / n.lower() for n in "AB"}
        self.engines: dict[str, SyncEngine] = {}
        for n in "AB":
            self.roots[n].mkdir()
            self.engines[n] = self.open(n)

    def open(self, n: str) -> SyncEngine:
        return SyncEngine(
            self.roots[n],
            self.store,
            self.tmp / f"state-{n}.sqlite3",
            history_path=self.tmp / f"history-{n}.sqlite3",
            versions_dir=self.tmp / f"versions-{n}",
            pair_id="docs",
            clock=self.clock,
        )

    def sync(self, n: str, **kw):
        return self.engines[n].sync(opts(n, **kw))

    def close(self) -> None:
        for e in self.engines.values():
            e.state.close()
            e.history.close()


@pytest.fixture
def m(tmp_path: Path):
    machines = Machines(tmp_path, MemoryStore("c"))
    yield machines
    machines.close()


def test_remote_folder_delete_goes_to_bins_and_one_undo_brings_it_back(m: Machines) -> None:
    a, b = m.roots["A"], m.roots["B"]
    write(a, "proj/one.txt", b"one")
    write(a, "proj/sub/two.txt", b"two")
    write(a, "keep.txt", b"keep")
    m.sync("A")
    m.sync("B")
    assert tree(b) == tree(a)
    # machine B deletes the folder
    for rel in ("proj/one.txt", "proj/sub/two.txt"):
        (b / rel).unlink()
    rb = m.sync("B")
    assert rb.deleted_remote == 2 and rb.kept_remote == 2 and len(bin_blobs(m.store)) == 2
    ra = m.sync("A")
    assert ra.deleted_local == 2 and ra.kept_local == 2 and set(tree(a)) == {"keep.txt"}
    # A's versions folder has both; the history names B as the one who deleted them
    kept = m.engines["A"].versions(remote=False)
    assert {(v.rel_path, v.reason) for v in kept} == {
        ("proj/one.txt", BinReason.DELETED),
        ("proj/sub/two.txt", BinReason.DELETED),
    }
    rows = m.engines["A"].history.changes(pair="docs", kinds=[ChangeKind.DELETED_LOCAL])
    assert {r.rel_path for r in rows} == {"proj/one.txt", "proj/sub/two.txt"}
    assert {r.writer for r in rows} == {Writer("hostB", ID_B)}
    assert {r.run_id for r in rows} == {ra.run_id}
    # one undo on A: back on A and in the container
    undo = m.engines["A"].undo(ra.run_id, opts("A"))
    assert sorted(undo.restored) == ["proj/one.txt", "proj/sub/two.txt"] and not undo.issues
    assert tree(a) == {"keep.txt": b"keep", "proj/one.txt": b"one", "proj/sub/two.txt": b"two"}
    assert blobs(m.store) == tree(a)
    assert undo.sync is not None and undo.sync.uploaded == 2
    run = m.engines["A"].history.run(undo.run_id)
    assert run is not None and run.kind is RunKind.UNDO and run.undoes == ra.run_id
    # the restored blobs name A as their writer; B gets them back on its next sync
    assert m.store.get_entry("proj/one.txt").writer == Writer("hostA", ID_A)
    m.sync("B")
    assert tree(b) == tree(a)
    assert m.sync("A").writes == 0 and m.sync("B").writes == 0


def test_remote_overwrite_keeps_both_old_versions_and_a_restore_reaches_b(m: Machines) -> None:
    a, b = m.roots["A"], m.roots["B"]
    write(a, "doc.txt", b"version 1")
    m.sync("A")
    m.sync("B")
    write(b, "doc.txt", b"version 2 from B")
    assert m.sync("B").kept_remote == 1  # the old blob copied into the bin first
    ra = m.sync("A")
    assert ra.downloaded == 1 and ra.kept_local == 1
    assert (a / "doc.txt").read_bytes() == b"version 2 from B"
    versions = m.engines["A"].versions("doc.txt")
    sources = {v.source for v in versions}
    assert sources == {VersionSource.LOCAL_BIN, VersionSource.CONTAINER_BIN}
    assert all(v.md5 == hashlib.md5(b"version 1").digest() for v in versions)
    row = m.engines["A"].history.changes(kinds=[ChangeKind.DOWNLOADED])[0]
    assert row.writer == Writer("hostB", ID_B) and row.local_bin is not None
    # restore the old local version: it syncs to the container, then to B
    local_v = next(v for v in versions if v.source is VersionSource.LOCAL_BIN)
    restored = m.engines["A"].restore("doc.txt", local_v, opts("A"))
    assert restored.restored == ["doc.txt"] and restored.sync is not None
    assert restored.sync.uploaded == 1 and restored.sync.kept_remote == 1
    assert (a / "doc.txt").read_bytes() == b"version 1"
    assert m.store.content("doc.txt") == b"version 1"
    assert m.store.get_entry("doc.txt").writer == Writer("hostA", ID_A)
    m.sync("B")
    assert (b / "doc.txt").read_bytes() == b"version 1"
    # B's version is not lost either: it is in A's versions folder and the container bin
    assert any(
        v.md5 == hashlib.md5(b"version 2 from B").digest()
        for v in m.engines["A"].versions("doc.txt")
        if v.source is VersionSource.LOCAL_BIN
    )


def test_restore_from_the_container_bin_is_a_server_side_copy(m: Machines) -> None:
    a, b = m.roots["A"], m.roots["B"]
    write(a, "x.bin", b"old")
    m.sync("A")
    write(a, "x.bin", b"new!")
    m.sync("A")
    (v,) = [x for x in m.engines["B"].versions("x.bin") if x.source is VersionSource.CONTAINER_BIN]
    assert v.removed_by == Writer("hostA", ID_A) and v.reason is BinReason.REPLACED
    uploaded_before = m.store.bytes_uploaded
    res = m.engines["B"].restore("x.bin", v, opts("B"))
    assert m.store.bytes_uploaded == uploaded_before  # no bytes through the client
    assert res.sync is not None and res.sync.downloaded == 1
    assert (b / "x.bin").read_bytes() == b"old" and m.store.content("x.bin") == b"old"
    assert m.store.get_entry("x.bin").writer == Writer("hostB", ID_B)
    m.sync("A")
    assert (a / "x.bin").read_bytes() == b"old"
    rows = m.engines["B"].history.changes(run_id=res.run_id)
    assert {r.kind for r in rows} == {ChangeKind.RESTORED_REMOTE, ChangeKind.DOWNLOADED}


def test_undo_leaves_an_item_changed_since_as_an_issue_and_undoes_the_rest(m: Machines) -> None:
    a, b = m.roots["A"], m.roots["B"]
    for name in ("p.txt", "q.txt", "r.txt"):
        write(a, name, f"{name} v1".encode())
    m.sync("A")
    m.sync("B")
    for name in ("p.txt", "q.txt", "r.txt"):
        write(b, name, f"{name} v2".encode())
    m.sync("B")
    ra = m.sync("A")
    assert ra.downloaded == 3
    write(a, "q.txt", b"q.txt v3 edited on A after the sync")
    undo = m.engines["A"].undo(ra.run_id, opts("A"))
    assert sorted(undo.restored) == ["p.txt", "r.txt"]
    assert [(i.rel_path, i.kind) for i in undo.issues] == [("q.txt", IssueKind.CONCURRENT_CHANGE)]
    assert (a / "p.txt").read_bytes() == b"p.txt v1" and m.store.content("r.txt") == b"r.txt v1"
    # q.txt was not overwritten anywhere: A's edit goes up as a normal change
    assert (a / "q.txt").read_bytes() == b"q.txt v3 edited on A after the sync"
    assert m.store.content("q.txt") == b"q.txt v3 edited on A after the sync"
    assert "q.txt" in {i.rel_path for i in undo.sync.issues}


def test_undo_of_a_remote_change_since_is_an_issue_too(m: Machines) -> None:
    a, b = m.roots["A"], m.roots["B"]
    write(a, "s.txt", b"s1")
    write(a, "t.txt", b"t1")
    first = m.sync("A")
    m.sync("B")
    write(b, "s.txt", b"s2 by B")
    m.sync("B")
    undo = m.engines["A"].undo(first.run_id, opts("A"), dry_run=True)
    assert undo.removed == ["t.txt"] and [i.rel_path for i in undo.issues] == ["s.txt"]
    assert tree(a) == {"s.txt": b"s1", "t.txt": b"t1"}  # a dry run changes nothing


def test_undo_of_new_files_moves_them_to_both_bins(m: Machines) -> None:
    a = m.roots["A"]
    write(a, "base.txt", b"base")
    m.sync("A")
    write(m.roots["B"], "new.txt", b"brought by B")
    m.sync("B")
    ra = m.sync("A")
    undo = m.engines["A"].undo(ra.run_id, opts("A"))
    assert undo.removed == ["new.txt"] and not (a / "new.txt").exists()
    assert "new.txt" not in blobs(m.store)
    assert any(v.rel_path == "new.txt" for v in m.engines["A"].versions(remote=False))
    assert any(
        v.rel_path == "new.txt"
        for v in m.engines["A"].versions()
        if v.source is VersionSource.CONTAINER_BIN
    )
    # and undoing the undo brings it back
    again = m.engines["A"].undo(undo.run_id, opts("A"))
    assert again.restored == ["new.txt"] and m.store.content("new.txt") == b"brought by B"


def test_writer_metadata_alone_is_not_a_change(m: Machines) -> None:
    a = m.roots["A"]
    write(a, "w.txt", b"w")
    m.sync("A")
    meta = m.store.metadata("w.txt")
    meta[WRITER_MACHINE_KEY] = "someone-else"
    m.store.set_metadata_raw("w.txt", meta)
    calls_before = dict(m.store.calls)
    result = m.sync("A")
    assert result.downloaded == 0 and result.uploaded == 0 and result.recorded == 1
    assert m.store.calls["download"] == calls_before["download"]
    assert m.sync("A").writes == 0


def test_idle_resync_sends_no_extra_request_with_full_bins(m: Machines) -> None:
    a = m.roots["A"]
    write(a, "f.txt", b"1")
    write(a, "g.txt", b"stays")
    m.sync("A")
    write(a, "f.txt", b"22")
    m.sync("A")
    (a / "f.txt").unlink()
    m.sync("A")
    assert len(bin_blobs(m.store)) == 2
    m.sync("A")
    before = dict(m.store.calls)
    writes = m.store.writes
    assert m.sync("A").writes == 0
    assert m.store.writes == writes
    extra = {k: m.store.calls[k] - before[k] for k in before if m.store.calls[k] != before[k]}
    assert extra == {"list_page": 1}  # the listing only, as without bins


def test_retention_prunes_both_bins_with_a_fake_clock(m: Machines) -> None:
    a = m.roots["A"]
    write(a, "r.txt", b"v1")
    m.sync("A")
    m.sync("B")
    write(m.roots["B"], "r.txt", b"v2")
    m.sync("B")
    m.sync("A")  # A keeps v1 locally; the container bin keeps v1 too
    engine = m.engines["A"]
    assert len(engine.versions("r.txt")) == 2
    m.clock.now += 29 * DAY
    engine.state.set_meta("bin_pruned", "0")
    m.sync("A")
    assert len(engine.versions("r.txt")) == 2  # 29 days: kept
    m.clock.now += 2 * DAY
    engine.state.set_meta("bin_pruned", "0")
    writes = m.store.writes
    m.sync("A")
    assert engine.versions("r.txt") == []  # 31 days: pruned on both sides
    assert m.store.writes == writes + 1  # one conditional delete for the bin copy
    # the current version is untouched everywhere
    assert (a / "r.txt").read_bytes() == b"v2" and m.store.content("r.txt") == b"v2"


def test_local_bin_size_cap_drops_the_oldest_first(tmp_path: Path) -> None:
    from blobsync.core.local.versions import VersionsFolder

    clock = Clock()
    folder = VersionsFolder(tmp_path / "v", clock=clock)
    for i in range(4):
        f = tmp_path / f"f{i}"
        f.write_bytes(b"x" * 100)
        folder.keep(f, f"f{i}", move=True, reason=BinReason.DELETED)
        clock.now += 1
    result = folder.prune(max_age_days=30, max_bytes=250)
    assert result.removed == 2 and [v.rel_path for v in folder.versions()] == ["f2", "f3"]


def test_bins_and_history_survive_a_deleted_state_db(m: Machines) -> None:
    a = m.roots["A"]
    write(a, "d.txt", b"one")
    m.sync("A")
    write(a, "d.txt", b"two")
    m.sync("A")
    m.sync("B")
    write(m.roots["B"], "d.txt", b"three")
    m.sync("B")
    ra = m.sync("A")
    engine = m.engines["A"]
    engine.state.close()
    engine.history.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(m.tmp / "state-A.sqlite3") + suffix).unlink(missing_ok=True)
    fresh = m.engines["A"] = m.open("A")
    assert fresh.state.snapshot_count() == 0
    assert {v.source for v in fresh.versions("d.txt")} == {
        VersionSource.LOCAL_BIN,
        VersionSource.CONTAINER_BIN,
    }
    assert fresh.history.run(ra.run_id) is not None
    assert fresh.sync(opts("A")).deleted_local == 0  # "nothing known" never deletes
    undo = fresh.undo(ra.run_id, opts("A"))
    assert undo.restored == ["d.txt"] and (a / "d.txt").read_bytes() == b"two"


def test_a_corrupt_history_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    history = History(path)
    assert history.recovered_from_corruption and history.changes() == []
    history.close()


@pytest.mark.parametrize(
    ("rule", "name_has", "bin_side"),
    [
        (ConflictRule.THEIRS_WINS, b"theirs", "local"),
        (ConflictRule.MINE_WINS, b"mine", "remote"),
        (ConflictRule.NEWER_WINS, b"theirs", "local"),  # theirs was saved later
    ],
)
def test_conflict_rules_pick_a_winner_and_bin_the_loser(
    m: Machines, rule: ConflictRule, name_has: bytes, bin_side: str
) -> None:
    a, b = m.roots["A"], m.roots["B"]
    write(a, "c.txt", b"base")
    m.sync("A")
    m.sync("B")
    write(a, "c.txt", b"mine, from A")
    os.utime(a / "c.txt", ns=(1_000_000_000_000_000_000,) * 2)
    write(b, "c.txt", b"theirs, from B")
    os.utime(b / "c.txt", ns=(1_100_000_000_000_000_000,) * 2)
    m.sync("B")
    kept_remote_before = len(bin_blobs(m.store))
    result = m.sync("A", conflict_rule=rule)
    assert result.conflicts == 0 and not result.issues
    assert name_has in (a / "c.txt").read_bytes()
    assert set(tree(a)) == {"c.txt"} and m.store.content("c.txt") == (a / "c.txt").read_bytes()
    if bin_side == "local":
        (v,) = m.engines["A"].versions("c.txt", remote=False)
        assert v.md5 == hashlib.md5(b"mine, from A").digest()
    else:
        assert len(bin_blobs(m.store)) == kept_remote_before + 1
        assert any(
            v.md5 == hashlib.md5(b"theirs, from B").digest()
            for v in m.engines["A"].versions("c.txt")
        )
    (row,) = m.engines["A"].history.changes(kinds=[ChangeKind.CONFLICT_RESOLVED])
    assert row.rel_path == "c.txt"


def test_keep_both_is_the_default_and_the_conflict_center_gets_both_sides(m: Machines) -> None:
    a, b = m.roots["A"], m.roots["B"]
    write(a, "k.txt", b"base")
    m.sync("A")
    m.sync("B")
    write(a, "k.txt", b"mine!")
    write(b, "k.txt", b"theirs, longer")
    m.sync("B")
    result = m.sync("A")
    assert result.conflicts == 1
    sides = m.engines["A"].conflict_sides("k.txt")
    assert sides is not None and sides.mine is not None
    assert sides.mine.size == 5 and sides.mine.writer == Writer("hostA", ID_A)
    assert sides.theirs.size == 14 and sides.theirs.writer == Writer("hostB", ID_B)
    assert sides.theirs.mtime_ns is not None
    (row,) = m.engines["A"].history.changes(kinds=[ChangeKind.CONFLICT])
    assert row.writer == Writer("hostB", ID_B) and row.other is not None
    assert m.engines["A"].conflict_sides("nope.txt") is None


def test_a_conflict_with_equal_content_resolves_itself(m: Machines) -> None:
    a, b = m.roots["A"], m.roots["B"]
    write(a, "e.txt", b"base")
    m.sync("A")
    m.sync("B")
    write(a, "e.txt", b"same edit")
    write(b, "e.txt", b"same edit")
    m.sync("B")
    result = m.sync("A")
    assert result.conflicts == 0 and not result.issues and set(tree(a)) == {"e.txt"}


def test_take_theirs_keeps_the_conflict_copy_in_the_versions_folder(m: Machines) -> None:
    from blobsync.core.engine import Resolution

    a, b = m.roots["A"], m.roots["B"]
    write(a, "t.txt", b"base")
    m.sync("A")
    m.sync("B")
    write(a, "t.txt", b"mine")
    write(b, "t.txt", b"theirs")
    m.sync("B")
    m.sync("A")
    m.engines["A"].resolve("t.txt", Resolution.TAKE_THEIRS)
    m.sync("A")
    assert set(tree(a)) == {"t.txt"}
    assert any(
        v.md5 == hashlib.md5(b"mine").digest() for v in m.engines["A"].versions(remote=False)
    )


# ---- the account keeps versions (Azure blob versioning; not in Azurite) -------------------


def test_with_account_versioning_no_bin_copies_and_restore_uses_versions(tmp_path: Path) -> None:
    store = MemoryStore("v", versioning=True)
    m = Machines(tmp_path, store)
    try:
        a = m.roots["A"]
        write(a, "v.txt", b"first")
        m.sync("A")
        write(a, "v.txt", b"second")
        r2 = m.sync("A")
        assert r2.kept_remote == 0 and bin_blobs(store) == []
        (v,) = [
            x for x in m.engines["B"].versions("v.txt") if x.source is VersionSource.AZURE_VERSION
        ]
        assert v.md5 == hashlib.md5(b"first").digest() and v.writer == Writer("hostA", ID_A)
        res = m.engines["B"].restore("v.txt", v, opts("B"))
        assert res.sync is not None and (m.roots["B"] / "v.txt").read_bytes() == b"first"
        assert store.content("v.txt") == b"first"
        # undo of A's upload uses the version the account kept
        m.sync("A")
        write(a, "v.txt", b"third")
        r3 = m.sync("A")
        undo = m.engines["A"].undo(r3.run_id, opts("A"))
        assert undo.restored == ["v.txt"] and store.content("v.txt") == b"first"
        assert (a / "v.txt").read_bytes() == b"first"
    finally:
        m.close()


def test_expired_versions_can_go_to_the_desktop_trash(m: Machines, tmp_path: Path) -> None:
    """send2trash's freedesktop trash under the test's own XDG_DATA_HOME."""
    a = m.roots["A"]
    write(a, "old.txt", b"old")
    write(a, "other.txt", b"other")
    m.sync("A")
    (a / "old.txt").unlink()
    write(m.roots["B"], "x", b"x")
    m.sync("B")
    m.sync("A")  # A's own deletion: the blob goes to the container bin
    m.sync("B")  # B deletes its copy: into B's versions folder
    engine = m.engines["B"]
    assert [v.rel_path for v in engine.versions(remote=False)] == ["old.txt"]
    m.clock.now += 31 * DAY
    engine.state.set_meta("bin_pruned", "0")
    engine.sync(opts("B", expired_to_system_trash=True))
    assert engine.versions(remote=False) == []
    trash = Path(os.environ["XDG_DATA_HOME"]) / "Trash" / "files"
    assert [p.read_bytes() for p in trash.iterdir()] == [b"old"]


def test_history_holds_no_lock_between_calls(tmp_path: Path) -> None:
    """Several pairs (and the CLI beside the app) share one history file."""
    from blobsync.core.engine.history import Change

    path = tmp_path / "history.sqlite3"
    first, second = History(path), History(path)
    w = Writer("m", ID_A)
    run1 = first.start_run("p1", RunKind.SYNC, w)
    first.record(Change(run1, "p1", 0.0, ChangeKind.UPLOADED, "a.txt", 1, w))  # buffered
    run2 = second.start_run("p2", RunKind.SYNC, w)  # would wait for a lock if one were held
    second.record(Change(run2, "p2", 0.0, ChangeKind.DOWNLOADED, "b.txt", 2, None))
    second.finish_run(run2)
    assert [c.rel_path for c in first.changes(text="TXT")] == ["b.txt", "a.txt"]
    assert [c.rel_path for c in first.changes(pair="p2", kinds=[ChangeKind.DOWNLOADED])] == [
        "b.txt"
    ]
    first.finish_run(run1)
    assert {r.run_id for r in second.runs()} == {run1, run2}
    first.close()
    second.close()


def test_history_keeps_ninety_days(tmp_path: Path) -> None:
    from blobsync.core.engine.history import Change

    clock = Clock()
    history = History(tmp_path / "h.sqlite3", clock=clock)
    w = Writer("m", ID_A)
    old = history.start_run("p", RunKind.SYNC, w)
    history.record(Change(old, "p", 0.0, ChangeKind.UPLOADED, "old.txt", 1, w))
    history.finish_run(old)
    clock.now += 89 * DAY
    assert history.prune(force=True) == 0
    new = history.start_run("p", RunKind.SYNC, w)
    history.record(Change(new, "p", 0.0, ChangeKind.UPLOADED, "new.txt", 1, w))
    history.finish_run(new)
    clock.now += 2 * DAY  # the first row is 91 days old now
    assert history.prune(force=True) == 1
    assert [c.rel_path for c in history.changes()] == ["new.txt"]
    assert history.run(old) is None and history.run(new) is not None
    history.close()


def test_a_versions_folder_inside_the_synced_folder_is_refused(tmp_path: Path) -> None:
    from blobsync.core.errors import ConfigError

    root = tmp_path / "folder"
    root.mkdir()
    engine = SyncEngine(
        root, MemoryStore("c"), tmp_path / "s.sqlite3", versions_dir=root / "old versions"
    )
    try:
        with pytest.raises(ConfigError, match="outside"):
            engine.sync()
    finally:
        engine.close()


def test_a_pending_conflict_whose_sides_became_equal_resolves_itself(m: Machines) -> None:
    a, b = m.roots["A"], m.roots["B"]
    write(a, "n.txt", b"base")
    m.sync("A")
    m.sync("B")
    write(a, "n.txt", b"mine")
    write(b, "n.txt", b"theirs")
    m.sync("B")
    m.sync("A")
    (issue,) = m.engines["A"].pending_issues()
    assert issue.conflict_copy is not None
    write(a, issue.conflict_copy, b"theirs")  # the user made both the same
    m.sync("A")
    assert m.engines["A"].pending_issues() == []
    m.sync("A")
    assert set(tree(a)) == {"n.txt"} and set(blobs(m.store)) == {"n.txt"}
    assert any(v.rel_path == issue.conflict_copy for v in m.engines["A"].versions(remote=False))


def test_pruning_after_a_restore_keeps_the_restored_version_everywhere(m: Machines) -> None:
    """Restores copy out of the bins, so pruning a bin never takes a current version."""
    a, b = m.roots["A"], m.roots["B"]
    write(a, "p.txt", b"precious v1")
    write(a, "q.txt", b"other")
    m.sync("A")
    m.sync("B")
    write(b, "p.txt", b"v2")
    m.sync("B")
    m.sync("A")
    m.engines["A"].restore("p.txt", options=opts("A"))  # the newest kept: v1
    m.sync("B")
    m.clock.now += 400 * DAY
    for n in "AB":
        m.engines[n].state.set_meta("bin_pruned", "0")
        m.sync(n)
    assert m.engines["A"].versions("p.txt") == [] and bin_blobs(m.store) == []
    assert (a / "p.txt").read_bytes() == (b / "p.txt").read_bytes() == b"precious v1"
    assert m.store.content("p.txt") == b"precious v1"


def test_a_download_only_pair_never_prunes_the_container_bin(m: Machines) -> None:
    a = m.roots["A"]
    write(a, "d.txt", b"v1")
    write(a, "e.txt", b"e")
    m.sync("A")
    write(a, "d.txt", b"v2")
    m.sync("A")  # v1 into the container bin
    assert len(bin_blobs(m.store)) == 1
    m.clock.now += 60 * DAY
    writes = m.store.writes
    m.engines["B"].sync(opts("B", mode=SyncMode.DOWNLOAD))
    assert m.store.writes == writes and len(bin_blobs(m.store)) == 1
    m.sync("A")  # a two-way pair prunes it
    assert bin_blobs(m.store) == []


def test_protection_is_asked_once_a_day_and_only_when_a_blob_is_replaced(tmp_path: Path) -> None:
    class Counting(MemoryStore):
        asked = 0

        def protection(self):  # type: ignore[no-untyped-def]
            Counting.asked += 1
            return super().protection()

    store = Counting("p", soft_delete_days=7)
    clock = Clock()
    root = tmp_path / "f"
    root.mkdir()

    def engine() -> SyncEngine:
        return SyncEngine(root, store, tmp_path / "s.sqlite3", clock=clock)

    e = engine()
    write(root, "a.txt", b"1")
    write(root, "b.txt", b"b")
    e.sync()
    e.sync()
    assert Counting.asked == 0  # creating and idling replaces nothing
    write(root, "a.txt", b"22")
    e.sync()
    assert Counting.asked == 1
    assert e.protection().soft_delete_days == 7 and e.protection().versioning is False
    e.close()
    again = engine()  # a new process: the answer is in the state database
    write(root, "a.txt", b"333")
    again.sync()
    assert Counting.asked == 1
    clock.now += 2 * DAY
    write(root, "a.txt", b"4444")
    again.sync()
    assert Counting.asked == 2  # a day later it is asked again
    again.close()


def test_a_foreign_blob_without_mtime_is_kept_and_restored(m: Machines) -> None:
    import time

    a = m.roots["A"]
    write(a, "keep.txt", b"k")
    m.sync("A")
    m.store.put_raw("foreign.txt", b"from another app")  # no mtime metadata, no writer
    m.sync("A")
    write(a, "foreign.txt", b"edited here")
    m.sync("A")  # the foreign version goes to the container bin
    (v,) = [
        x for x in m.engines["B"].versions("foreign.txt") if x.source is VersionSource.CONTAINER_BIN
    ]
    assert v.writer is None and v.mtime_ns is None and v.removed_by == Writer("hostA", ID_A)
    m.engines["B"].restore("foreign.txt", v, opts("B"))
    entry = m.store.get_entry("foreign.txt")
    assert entry is not None and entry.writer == Writer("hostB", ID_B)
    assert entry.mtime_ns is not None and abs(entry.mtime_ns / 1e9 - time.time()) < 600
    assert (m.roots["B"] / "foreign.txt").read_bytes() == b"from another app"
