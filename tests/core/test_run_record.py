"""What the state database remembers about runs, and the status rules both clients read
from it: a cancelled or paused run is "Not finished — N changes waiting", never "Up to
date"; a pair that never completed a sync says so; the last completed sync is kept
apart from the last time everything was in sync."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blobsync.core.app.status import Failure, Overview, PairState, PairStatus
from blobsync.core.engine import RunRecord, SyncEngine, SyncOptions
from blobsync.core.errors import Cancelled
from blobsync.core.models import Issue, IssueKind
from blobsync.core.remote.base import CancelToken
from blobsync.core.remote.memory import MemoryStore


def _engine(tmp_path: Path, store: MemoryStore) -> SyncEngine:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    return SyncEngine(root, store, tmp_path / "state.sqlite3")


def _files(root: Path, n: int, prefix: str = "f") -> None:
    for i in range(n):
        (root / f"{prefix}{i:02d}.txt").write_text(f"{prefix} {i}")


def test_a_cancelled_run_is_recorded_as_stopped_with_its_changes_waiting(tmp_path: Path) -> None:
    store = MemoryStore("c")
    engine = _engine(tmp_path, store)
    _files(engine.local_root, 10)
    cancel = CancelToken()

    def after_three(op: str, name: str) -> None:
        if store.writes >= 3:
            cancel.cancel()

    store.before_write = after_three
    with pytest.raises(Cancelled):
        engine.sync(SyncOptions(workers=1), cancel)
    record = engine.run_record()
    uploaded = len(store.synced_names())
    assert 3 <= uploaded < 10
    assert record.stopped and record.waiting == 10 - uploaded
    assert record.last_completed is None and record.last_in_sync is None
    assert not record.synced_before

    store.before_write = None
    engine.sync(SyncOptions(workers=1))
    record = engine.run_record()
    assert not record.stopped and record.waiting == 0
    assert record.last_completed is not None and record.last_in_sync == record.last_completed
    engine.close()


def test_a_run_with_a_lasting_issue_completes_but_is_not_in_sync(tmp_path: Path) -> None:
    store = MemoryStore("c")
    engine = _engine(tmp_path, store)
    _files(engine.local_root, 2)
    (engine.local_root / "link").symlink_to("f00.txt")
    engine.sync()
    record = engine.run_record()
    assert record.last_completed is not None
    assert record.last_in_sync is None  # the symlink stays pending
    engine.sync()
    assert engine.run_record().last_completed > record.last_completed  # "Last sync" moves
    engine.close()


def test_stopping_before_the_plan_leaves_the_count_unknown(tmp_path: Path) -> None:
    store = MemoryStore("c")
    engine = _engine(tmp_path, store)
    _files(engine.local_root, 3)
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        engine.sync(SyncOptions(), cancel)
    assert engine.run_record() == RunRecord(stopped=True, waiting=None)
    engine.close()


def test_a_dry_run_records_nothing(tmp_path: Path) -> None:
    store = MemoryStore("c")
    engine = _engine(tmp_path, store)
    _files(engine.local_root, 3)
    engine.sync(SyncOptions(dry_run=True))
    assert engine.run_record() == RunRecord()
    engine.close()


CANCELLED = Failure("Cancelled", "", cancelled=True)


@pytest.mark.parametrize(
    ("status", "paused", "state", "words"),
    [
        (PairStatus(), False, PairState.UNKNOWN, "Checking…"),
        (PairStatus(record=RunRecord()), False, PairState.NEW, "Not synced yet"),
        (PairStatus(record=RunRecord(1.0, 1.0)), False, PairState.IDLE, "Up to date"),
        (
            PairStatus(record=RunRecord(1.0, 1.0, stopped=True, waiting=3), failure=CANCELLED),
            False,
            PairState.UNFINISHED,
            "Not finished — 3 changes waiting",
        ),
        (
            PairStatus(record=RunRecord(None, None, stopped=True, waiting=1)),
            False,
            PairState.UNFINISHED,
            "Not finished — 1 change waiting",
        ),
        (
            PairStatus(record=RunRecord(1.0, 1.0, stopped=True, waiting=None)),
            False,
            PairState.UNFINISHED,
            "Not finished — changes waiting",
        ),
        (
            PairStatus(record=RunRecord(1.0, 1.0, stopped=True, waiting=5)),
            True,
            PairState.PAUSED,
            "Paused, 5 changes waiting",
        ),
        (
            PairStatus(
                record=RunRecord(None, 2.0),
                issues=[Issue("l", IssueKind.SYMLINK, "a link")],
            ),
            False,
            PairState.ATTENTION,
            "Needs attention (1)",
        ),
    ],
)
def test_status_words(status: PairStatus, paused: bool, state: PairState, words: str) -> None:
    assert status.state(paused) is state
    assert status.words(paused) == words


_records = st.builds(
    RunRecord,
    st.none() | st.floats(1, 2e9),
    st.none() | st.floats(1, 2e9),
    st.booleans(),
    st.none() | st.integers(0, 10_000),
)
_statuses = st.builds(
    PairStatus,
    syncing=st.booleans(),
    dry_run=st.booleans(),
    record=st.none() | _records,
    failure=st.none() | st.just(CANCELLED),
    issues=st.lists(st.just(Issue("x", IssueKind.VANISHED, "gone")), max_size=2),
)


@given(st.lists(_statuses, min_size=1, max_size=4), st.booleans())
def test_the_app_is_up_to_date_only_when_every_pair_is(
    statuses: list[PairStatus], paused: bool
) -> None:
    overview = Overview.of(paused, statuses)
    each = [s.state(paused) for s in statuses]
    if overview.state() is PairState.IDLE:
        assert all(state is PairState.IDLE for state in each)
        assert all(s.record is not None and s.record.last_completed for s in statuses)
        assert not any(s.unfinished or s.issues for s in statuses)
    for status in statuses:
        if status.unfinished and not (status.syncing and not status.dry_run):
            assert status.state(paused) is not PairState.IDLE


def test_no_pairs_is_not_up_to_date() -> None:
    assert Overview.of(False, []).state() is PairState.NEW


def test_an_ignored_item_is_left_alone_remembered_and_last_sync_moves(tmp_path: Path) -> None:
    from blobsync.core.engine import Resolution

    store = MemoryStore("c")
    engine = _engine(tmp_path, store)
    _files(engine.local_root, 2)
    (engine.local_root / "link").symlink_to("f00.txt")
    engine.sync()
    assert [i.rel_path for i in engine.pending_issues()] == ["link"]
    assert engine.run_record().last_in_sync is None
    engine.resolve("link", Resolution.IGNORE)
    assert engine.pending_issues() == [] and engine.ignored() == ["link"]
    result = engine.sync()
    assert result.in_sync and not result.issues
    assert engine.run_record().last_in_sync is not None  # "Up to date" again
    engine.close()
    again = _engine(tmp_path, store)  # remembered across restarts
    assert again.ignored() == ["link"] and again.sync().in_sync
    again.ignore("link", ignored=False)
    assert [i.rel_path for i in again.sync().issues] == ["link"]
    again.close()


def test_an_ignored_folder_covers_its_files_and_deletes_nothing(tmp_path: Path) -> None:
    store = MemoryStore("c")
    engine = _engine(tmp_path, store)
    (engine.local_root / "cache").mkdir()
    (engine.local_root / "cache" / "big.bin").write_text("x")
    (engine.local_root / "keep.txt").write_text("k")
    engine.sync()
    engine.ignore("cache")
    (engine.local_root / "cache" / "big.bin").unlink()
    (engine.local_root / "cache" / "new.bin").write_text("new")
    result = engine.sync()
    assert result.writes == 0
    assert store.synced_names() == ["cache/big.bin", "keep.txt"]  # its blob is not deleted
    engine.close()


def test_pending_items_and_an_unfinished_run_are_both_said() -> None:
    status = PairStatus(
        record=RunRecord(1.0, 1.0, stopped=True, waiting=4),
        issues=[Issue("x", IssueKind.CONFLICT, "both changed")],
    )
    assert status.words(False) == "Needs attention (1); not finished, 4 changes waiting"
