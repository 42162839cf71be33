"""The safety valves and the deletion review's answers, against the in-memory store:
an emptied folder or container stops the run whatever the count, in every mode where
it would delete; the stop carries what would be deleted; "restore" puts the files back
from the side that still has them; a typed confirmation lets exactly that many go."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.engine.valves import check_valves
from blobsync.core.errors import SafetyReason, SafetyStop
from blobsync.core.models import Action, ActionKind, LocalEntry, RemoteEntry, SyncMode
from blobsync.core.remote.memory import MemoryStore


def _synced(
    tmp_path: Path, n: int, mode: SyncMode = SyncMode.TWO_WAY
) -> tuple[SyncEngine, MemoryStore]:
    root = tmp_path / "root"
    root.mkdir()
    for i in range(n):
        (root / "sub").mkdir(exist_ok=True)
        (root / "sub" / f"f{i}.txt").write_text("x" * (100 + i))
    store = MemoryStore("box")
    engine = SyncEngine(root, store, tmp_path / "state.sqlite3")
    assert engine.sync(SyncOptions(mode=mode)).uploaded == n or mode is SyncMode.DOWNLOAD
    return engine, store


def _local(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("mode", [SyncMode.TWO_WAY, SyncMode.DOWNLOAD])
@pytest.mark.parametrize("n", [1, 3, 10])
def test_an_emptied_container_stops_whatever_the_count(
    tmp_path: Path, mode: SyncMode, n: int
) -> None:
    engine, store = _synced(tmp_path, n)
    for name in store.synced_names():
        store.remove_raw(name)
    with pytest.raises(SafetyStop) as stop:
        engine.sync(SyncOptions(mode=mode))
    assert stop.value.reason is SafetyReason.CONTAINER_EMPTIED
    assert stop.value.deletes == stop.value.deletes_local == n and not stop.value.deletes_remote
    assert stop.value.nbytes == sum(100 + i for i in range(n))
    assert stop.value.paths == tuple(sorted(f"sub/f{i}.txt" for i in range(n)))
    assert "nothing was deleted" in stop.value.message
    assert len(_local(engine.local_root)) == n  # nothing deleted
    # The review's common answer: restore. The folder goes back into the container.
    result = engine.sync(SyncOptions(mode=mode, restore_deleted=True))
    assert result.uploaded == n and result.deleted_local == 0
    assert store.synced_names() == sorted(f"sub/f{i}.txt" for i in range(n))
    assert engine.sync(SyncOptions(mode=mode)).writes == 0
    engine.close()


@pytest.mark.parametrize("mode", [SyncMode.TWO_WAY, SyncMode.UPLOAD])
def test_an_emptied_folder_stops_and_restore_downloads_it_again(
    tmp_path: Path, mode: SyncMode
) -> None:
    engine, store = _synced(tmp_path, 2, mode)
    for path in (engine.local_root / "sub").iterdir():
        path.unlink()
    with pytest.raises(SafetyStop) as stop:
        engine.sync(SyncOptions(mode=mode))
    assert stop.value.reason is SafetyReason.FOLDER_EMPTIED
    assert stop.value.deletes_remote == 2 and len(store.synced_names()) == 2
    result = engine.sync(SyncOptions(mode=mode, restore_deleted=True))
    assert result.downloaded == 2 and result.deleted_remote == 0
    assert _local(engine.local_root) == {"sub/f0.txt", "sub/f1.txt"}
    engine.close()


def test_an_emptied_folder_in_download_mode_just_downloads_again(tmp_path: Path) -> None:
    engine, _store = _synced(tmp_path, 2)
    for path in (engine.local_root / "sub").iterdir():
        path.unlink()
    result = engine.sync(SyncOptions(mode=SyncMode.DOWNLOAD))  # nothing would be deleted
    assert result.downloaded == 2
    engine.close()


def test_a_typed_confirmation_lets_exactly_that_many_go(tmp_path: Path) -> None:
    engine, store = _synced(tmp_path, 30)
    for i in range(20):
        (engine.local_root / "sub" / f"f{i}.txt").unlink()
    with pytest.raises(SafetyStop) as stop:
        engine.sync()
    assert stop.value.reason is SafetyReason.MASS_DELETE and stop.value.deletes == 20
    (engine.local_root / "sub" / "f20.txt").unlink()  # one more since the review
    with pytest.raises(SafetyStop):
        engine.sync(SyncOptions(confirmed_deletes=20))
    result = engine.sync(SyncOptions(confirmed_deletes=21))
    assert result.deleted_remote == 21 and len(store.synced_names()) == 9
    engine.close()


def test_a_vanished_container_stops_and_restore_uploads_everything(tmp_path: Path) -> None:
    engine, store = _synced(tmp_path, 4)
    engine.store = store = MemoryStore("box", exists=False)
    with pytest.raises(SafetyStop) as stop:
        engine.sync()
    assert stop.value.reason is SafetyReason.CONTAINER_GONE and stop.value.deletes_local == 4
    assert not store.container_exists()  # not created before the review
    result = engine.sync(SyncOptions(restore_deleted=True))
    assert result.container_created and result.uploaded == 4
    engine.close()


def test_a_stopped_run_is_recorded_as_unfinished(tmp_path: Path) -> None:
    engine, store = _synced(tmp_path, 3)
    for name in store.synced_names():
        store.remove_raw(name)
    with pytest.raises(SafetyStop):
        engine.sync()
    record = engine.run_record()
    assert record.stopped and record.waiting == 3
    engine.close()


def _delete_remote(name: str, size: int = 1) -> Action:
    remote = RemoteEntry(name, size, "e")
    return Action(ActionKind.DELETE_REMOTE, name, remote=remote, if_match="e")


def _delete_local(name: str, size: int = 1) -> Action:
    return Action(ActionKind.DELETE_LOCAL, name, local=LocalEntry(name, size, 1))


def test_mass_delete_ratio_and_floor() -> None:
    facts: dict[str, Any] = {
        "local_files": 5,
        "local_blind": False,
        "remote_files": 5,
        "container_exists": True,
    }
    check_valves([_delete_remote(f"{i}") for i in range(10)], tracked=12, **facts)  # at the floor
    with pytest.raises(SafetyStop) as stop:
        check_valves([_delete_remote(f"{i}", 7) for i in range(11)], tracked=20, **facts)
    assert stop.value.reason is SafetyReason.MASS_DELETE and stop.value.nbytes == 77
    check_valves([_delete_remote(f"{i}") for i in range(11)], tracked=30, **facts)  # < half


def test_a_first_upload_mirror_over_a_full_container_still_stops() -> None:
    # Nothing was synced yet (tracked 0), so the "emptied" valves cannot apply, but
    # deleting 50 blobs someone else put there is still a mass delete.
    with pytest.raises(SafetyStop) as stop:
        check_valves(
            [_delete_remote(f"b{i}") for i in range(50)],
            tracked=0,
            local_files=2,
            local_blind=False,
            remote_files=50,
            container_exists=True,
        )
    assert stop.value.reason is SafetyReason.MASS_DELETE


def test_the_sample_of_paths_is_bounded() -> None:
    with pytest.raises(SafetyStop) as stop:
        check_valves(
            [_delete_local(f"p{i:05d}") for i in range(3000)],
            tracked=3000,
            local_files=3000,
            local_blind=False,
            remote_files=0,
            container_exists=True,
        )
    assert stop.value.deletes == 3000 and len(stop.value.paths) == 1000
    assert stop.value.paths[0] == "p00000"


def test_retry_leaves_a_conflict_pending(tmp_path: Path) -> None:
    from blobsync.core.engine import Resolution
    from blobsync.core.models import IssueKind

    engine, store = _synced(tmp_path, 1)
    store.put_raw("sub/f0.txt", b"theirs")
    (engine.local_root / "sub" / "f0.txt").write_text("mine, longer")
    engine.sync()
    assert [i.kind for i in engine.pending_issues()] == [IssueKind.CONFLICT]
    engine.resolve("sub/f0.txt", Resolution.RETRY)
    engine.sync()
    assert [i.kind for i in engine.pending_issues()] == [IssueKind.CONFLICT]
    engine.resolve("sub/f0.txt", Resolution.KEEP_BOTH)
    engine.sync()
    assert engine.pending_issues() == []
    engine.close()
