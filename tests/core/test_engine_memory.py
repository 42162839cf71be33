"""The engine end to end against the in-memory store with Azure's rules."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
from folders import tree, write

from blobsync.core import events as ev
from blobsync.core.engine import Resolution, SyncEngine, SyncOptions
from blobsync.core.errors import ContainerNotFound, SafetyStop
from blobsync.core.models import IssueKind, SyncMode
from blobsync.core.names import is_reserved
from blobsync.core.remote.memory import MemoryStore


def blobs(store: MemoryStore) -> dict[str, bytes]:
    """The synced blobs (BlobSync's own ``.blobsync/`` space, e.g. the bin, left out)."""
    return {name: store.content(name) for name in store.names() if not is_reserved(name)}


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore("c1", exists=False)


@pytest.fixture
def make_engine(tmp_path: Path):
    engines = []

    def make(root: Path, store: MemoryStore, name: str = "a", events=ev.ignore_event) -> SyncEngine:
        root.mkdir(parents=True, exist_ok=True)
        engine = SyncEngine(root, store, tmp_path / f"state-{name}.sqlite3", events)
        engines.append(engine)
        return engine

    yield make
    for e in engines:
        e.state.close()


def test_first_upload_creates_container_and_converges(tmp_path, store, make_engine):
    root = tmp_path / "a"
    write(root, "x.txt", "hello")
    write(root, "sub/deep/y.bin", os.urandom(3000))
    write(root, "empty", b"")
    write(root, "ünï/cödé ☃.txt", "snow")
    seen = []
    engine = make_engine(root, store, events=seen.append)
    result = engine.sync()
    assert result.container_created and result.uploaded == 4 and result.in_sync
    assert blobs(store) == tree(root)
    assert any(isinstance(e, ev.PlanReady) and e.uploads == 4 for e in seen)
    assert isinstance(seen[-1], ev.SyncFinished)
    writes = store.writes
    again = engine.sync()
    assert again.writes == 0 and store.writes == writes  # idempotent: zero writes


def test_download_into_empty_folder_restores_mtime(tmp_path, store, make_engine):
    store.create_container()
    store.put_raw("a/b.txt", b"remote", mtime_ns=1_600_000_000_123_456_789)
    root = tmp_path / "a"
    result = make_engine(root, store).sync()
    assert result.downloaded == 1
    assert (root / "a/b.txt").read_bytes() == b"remote"
    assert os.stat(root / "a/b.txt").st_mtime_ns == 1_600_000_000_123_456_789


def test_edits_and_deletes_both_ways(tmp_path, store, make_engine):
    root = tmp_path / "a"
    write(root, "keep.txt", "k")
    write(root, "local-edit.txt", "v1")
    write(root, "remote-edit.txt", "v1")
    write(root, "local-del.txt", "d")
    write(root, "remote-del.txt", "d")
    engine = make_engine(root, store)
    engine.sync()
    write(root, "local-edit.txt", "v2 local")
    store.put_raw("remote-edit.txt", b"v2 remote")
    (root / "local-del.txt").unlink()
    store.remove_raw("remote-del.txt")
    result = engine.sync()
    assert (result.uploaded, result.downloaded, result.deleted_local, result.deleted_remote) == (
        1,
        1,
        1,
        1,
    )
    assert (
        tree(root)
        == blobs(store)
        == {
            "keep.txt": b"k",
            "local-edit.txt": b"v2 local",
            "remote-edit.txt": b"v2 remote",
        }
    )


def test_conflict_keeps_both(tmp_path, store, make_engine):
    root = tmp_path / "a"
    write(root, "doc.txt", "base")
    engine = make_engine(root, store)
    engine.sync()
    write(root, "doc.txt", "mine")
    store.put_raw("doc.txt", b"theirs")
    result = engine.sync(SyncOptions(hostname="laptop"))
    assert result.conflicts == 1
    files = tree(root)
    assert files["doc.txt"] == b"theirs"
    copies = [k for k in files if k.startswith("doc (conflict from laptop ")]
    assert len(copies) == 1 and files[copies[0]] == b"mine" and copies[0].endswith(".txt")
    assert blobs(store) == files  # the copy was uploaded too
    pending = engine.pending_issues()
    assert [(i.kind, i.conflict_copy) for i in pending] == [(IssueKind.CONFLICT, copies[0])]
    # Keep mine: our copy goes back under the name, the copy disappears everywhere.
    engine.resolve("doc.txt", Resolution.KEEP_MINE)
    engine.sync()
    assert tree(root) == blobs(store) == {"doc.txt": b"mine"}
    assert engine.pending_issues() == []


def test_race_between_listing_and_write_is_a_recoverable_skip(tmp_path, store, make_engine):
    root = tmp_path / "a"
    write(root, "f.txt", "v1")
    engine = make_engine(root, store)
    engine.sync()
    write(root, "f.txt", "v2 mine")

    def other_client(op: str, name: str) -> None:
        if op == "upload" and name == "f.txt":
            store.before_write = None
            store.put_raw("f.txt", b"v2 theirs")

    store.before_write = other_client
    result = engine.sync()
    assert result.skipped == 1 and not result.in_sync
    assert store.content("f.txt") == b"v2 theirs"  # never overwritten
    assert [i.kind for i in engine.pending_issues()] == [IssueKind.CONCURRENT_CHANGE]
    # Next run: both changed -> keep both, nothing lost.
    result = engine.sync()
    assert result.conflicts == 1
    contents = sorted(tree(root).values())
    assert contents == [b"v2 mine", b"v2 theirs"] and blobs(store) == tree(root)


def test_identical_content_never_transfers(tmp_path, store, make_engine):
    store.create_container()
    store.put_raw("same.txt", b"same")
    root = tmp_path / "a"
    write(root, "same.txt", "same")
    result = make_engine(root, store).sync()
    assert result.writes == 0 and result.recorded == 1 and store.writes == 0


def test_mass_delete_stops_and_can_be_allowed(tmp_path, store, make_engine):
    root = tmp_path / "a"
    for i in range(30):
        write(root, f"f{i}.txt", str(i))
    engine = make_engine(root, store)
    engine.sync()
    for i in range(20):
        (root / f"f{i}.txt").unlink()
    with pytest.raises(SafetyStop, match="would delete 20 of 30"):
        engine.sync()
    assert len(blobs(store)) == 30
    result = engine.sync(SyncOptions(allow_mass_delete=True))
    assert result.deleted_remote == 20 and len(blobs(store)) == 10


def test_empty_root_with_snapshot_stops(tmp_path, store, make_engine):
    root = tmp_path / "a"
    write(root, "only.txt", "x")
    engine = make_engine(root, store)
    engine.sync()
    (root / "only.txt").unlink()
    with pytest.raises(SafetyStop, match="empty"):
        engine.sync()
    assert sorted(blobs(store)) == ["only.txt"]


def test_lost_snapshot_never_deletes(tmp_path, store, make_engine):
    root = tmp_path / "a"
    write(root, "a.txt", "a")
    write(root, "b.txt", "b")
    engine = make_engine(root, store)
    engine.sync()
    engine.state.close()
    (tmp_path / "state-a.sqlite3").write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        Path(str(tmp_path / "state-a.sqlite3") + suffix).unlink(missing_ok=True)
    (root / "a.txt").unlink()
    write(root, "b.txt", "b changed")
    engine2 = make_engine(root, store, name="a")
    assert engine2.state.recovered_from_corruption
    result = engine2.sync(SyncOptions(hostname="h"))
    assert result.deleted_remote == 0 and result.deleted_local == 0
    assert (root / "a.txt").read_bytes() == b"a"  # merged back, not deleted
    assert b"b changed" in tree(root).values() and b"b" in tree(root).values()


def test_download_mode_missing_container_is_an_error(tmp_path, make_engine):
    store = MemoryStore("nope", exists=False)
    with pytest.raises(ContainerNotFound):
        make_engine(tmp_path / "a", store).sync(SyncOptions(mode=SyncMode.DOWNLOAD))


def test_dry_run_changes_nothing(tmp_path, store, make_engine):
    root = tmp_path / "a"
    write(root, "x.txt", "x")
    result = make_engine(root, store).sync(SyncOptions(dry_run=True))
    assert [a.kind.value for a in result.planned] == ["upload"]
    assert store.names() == [] and not store.container_exists()


def test_hostile_blob_names_are_never_written(tmp_path, store, make_engine):
    store.create_container()
    store.put_raw("ok.txt", b"fine")
    store.put_raw("a/\uff0e\uff0e/x", b"lookalike")
    root = tmp_path / "sandbox" / "root"
    result = make_engine(root, store).sync()
    assert tree(root) == {"ok.txt": b"fine"}
    assert tree(tmp_path / "sandbox") == {"root/ok.txt": b"fine"}
    assert [i.kind for i in result.issues] == [IssueKind.NAME_NOT_ALLOWED]


def test_symlinked_folder_is_not_followed_or_written_through(tmp_path, store, make_engine):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "a"
    root.mkdir()
    (root / "link").symlink_to(outside)
    store.create_container()
    store.put_raw("link/evil.txt", b"evil")
    result = make_engine(root, store).sync()
    assert list(outside.iterdir()) == []
    assert any(i.kind is IssueKind.SYMLINK for i in result.issues)


def test_case_twins_are_reported_not_clobbered(tmp_path, store, make_engine):
    store.create_container()
    store.put_raw("Readme.md", b"upper")
    store.put_raw("readme.md", b"lower")
    root = tmp_path / "a"
    result = make_engine(root, store).sync()
    assert len(tree(root)) == 1
    assert [i.kind for i in result.issues] == [IssueKind.NAME_COLLISION]


def test_two_engines_share_a_container(tmp_path, store, make_engine):
    a, b = tmp_path / "a", tmp_path / "b"
    write(a, "from-a.txt", "A")
    write(b, "from-b.txt", "B")
    ea, eb = make_engine(a, store, "a"), make_engine(b, store, "b")
    ea.sync()
    eb.sync()
    ea.sync()
    assert tree(a) == tree(b) == blobs(store) == {"from-a.txt": b"A", "from-b.txt": b"B"}
    write(a, "from-a.txt", "A2")
    write(b, "from-a.txt", "B2")
    ea.sync()
    eb.sync()
    ea.sync()
    assert tree(a) == tree(b) == blobs(store)
    assert sorted(v for k, v in tree(a).items() if k.startswith("from-a")) == [b"A2", b"B2"]


def test_unchanged_files_are_not_rehashed(tmp_path, store, make_engine, monkeypatch):
    root = tmp_path / "a"
    for i in range(5):  # written long before the sync: not "racily clean", never rehashed
        write(root, f"{i}.txt", str(i), mtime_ns=1_600_000_000 * 10**9)
    engine = make_engine(root, store)
    engine.sync()
    from blobsync.core.local import fs

    calls = []
    real = fs.md5_file
    monkeypatch.setattr(fs, "md5_file", lambda p: calls.append(p) or real(p))
    engine.sync()
    assert calls == []
    assert hashlib.md5(b"0").digest() == engine.state.get_snapshot("0.txt").md5


def test_local_rename_is_a_server_side_copy(tmp_path, store, make_engine):
    root = tmp_path / "a"
    big = os.urandom(300_000)
    write(root, "folder/big.bin", big)
    for i in range(5):
        write(root, f"folder/f{i}.txt", f"file {i}")
    engine = make_engine(root, store)
    engine.sync()
    sent = store.bytes_uploaded
    (root / "folder").rename(root / "renamed")
    result = engine.sync()
    assert result.moved == 6 and result.uploaded == 0 and result.deleted_remote == 0
    assert store.bytes_uploaded == sent  # nothing re-uploaded
    assert store.calls["copy"] == 6
    assert tree(root) == blobs(store) and "renamed/big.bin" in blobs(store)
    assert engine.sync().writes == 0


def test_remote_rename_is_a_local_rename(tmp_path, store, make_engine):
    root = tmp_path / "a"
    write(root, "old.txt", "content")
    engine = make_engine(root, store)
    engine.sync()
    data = store.content("old.txt")
    store.remove_raw("old.txt")
    store.put_raw("new.txt", data)
    downloads = store.calls["download"]
    result = engine.sync()
    assert result.moved == 1 and result.downloaded == 0 and store.calls["download"] == downloads
    assert tree(root) == {"new.txt": b"content"}


def test_own_local_writes_are_announced(tmp_path, store, make_engine):
    store.create_container()
    store.put_raw("d/x.txt", b"x")
    root = tmp_path / "a"
    engine = make_engine(root, store)
    seen: list[str] = []
    engine.on_local_write = seen.append
    engine.sync()
    assert "d/x.txt" in seen


def test_conflict_copy_never_takes_a_name_this_run_writes(
    tmp_path, store, make_engine, monkeypatch
):
    """Regression (reliability seed 1497): a conflict copy named like a path the same run
    downloads could be replaced by that download a moment later."""
    from blobsync.core.engine import executor

    real_strftime = executor.time.strftime

    def fixed(fmt, *args):
        return "2026-01-01 120000" if fmt == "%Y-%m-%d %H%M%S" else real_strftime(fmt, *args)

    monkeypatch.setattr(executor.time, "strftime", fixed)
    copy = "f (conflict from h 2026-01-01 120000).txt"
    root = tmp_path / "a"
    write(root, "f.txt", "base")
    write(root, copy, "old copy")
    engine = make_engine(root, store)
    engine.sync()
    real_download = store.download

    def slow_download(name, *args, **kwargs):  # the copy's download lands after the conflict
        if name == copy:
            time.sleep(0.5)
        return real_download(name, *args, **kwargs)

    monkeypatch.setattr(store, "download", slow_download)
    (root / copy).unlink()  # deleted here ...
    store.put_raw(copy, b"copy edited elsewhere")  # ... edited there: downloaded back
    write(root, "f.txt", "mine")
    store.put_raw("f.txt", b"theirs")
    result = engine.sync(SyncOptions(hostname="h"))
    assert result.conflicts == 1
    [issue] = [i for i in result.issues if i.kind is IssueKind.CONFLICT]
    assert issue.conflict_copy == "f (conflict from h 2026-01-01 120000 2).txt"
    files = tree(root)
    assert files[copy] == b"copy edited elsewhere"
    assert files["f.txt"] == b"theirs" and files[issue.conflict_copy] == b"mine"
    assert files == blobs(store)


def test_reserved_space_is_never_synced(tmp_path: Path, store: MemoryStore, make_engine) -> None:
    """BlobSync's own names (``.blobsync/...``) stay where they are on both sides."""
    a = tmp_path / "a"
    write(a, ".blobsync/local-only.txt", "mine")
    write(a, ".blobsyncfile.txt", "a user file whose name only starts alike")
    engine = make_engine(a, store)
    engine.sync()
    # the user file, and the change beacon this run wrote (it uploaded something)
    assert set(store.names()) == {".blobsyncfile.txt", ".blobsync/beacon"}
    store.put_raw(".blobsync/beacon", b"x")
    result = engine.sync()
    assert result.writes == 0
    assert not (a / ".blobsync" / "beacon").exists()
    assert ".blobsync/beacon" in store.names()
