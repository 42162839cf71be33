"""The progress model both clients fold engine events through, on a fake clock."""

from __future__ import annotations

import pytest

from blobsync.core.app.progress import ETA_MIN_ELAPSED_S, ProgressModel
from blobsync.core.events import (
    IssueRaised,
    ItemFinished,
    ItemProgress,
    ItemStarted,
    OverallProgress,
    Phase,
    PhaseChanged,
    PlanReady,
)
from blobsync.core.models import ActionKind, Issue, IssueKind, SyncResult

GiB = 2**30


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_counts_bytes_speed_and_eta_beyond_32_bits() -> None:
    clock = Clock()
    model = ProgressModel(clock)
    model.reset()
    model.feed(PlanReady(2, 1, 0, 1, 0, 4, 6 * GiB))  # 6 GiB: beyond 32 bits
    model.feed(PhaseChanged(Phase.TRANSFERRING))
    first = model.snapshot()
    assert (first.files_done, first.files_total, first.bytes_total) == (0, 4, 6 * GiB)
    assert first.eta_s is None and first.phase is Phase.TRANSFERRING

    model.feed(ItemStarted("big.iso", ActionKind.UPLOAD, 4 * GiB))
    model.feed(ItemStarted("b.txt", ActionKind.DOWNLOAD, 2 * GiB))
    clock.now += 3.0
    model.feed(ItemProgress("big.iso", GiB, 4 * GiB))
    model.feed(ItemProgress("b.txt", GiB, 2 * GiB))
    snap = model.snapshot()
    assert snap.bytes_done == 2 * GiB
    assert snap.speed_bps == pytest.approx(2 * GiB / 3)
    assert snap.eta_s == pytest.approx(4 * GiB / (2 * GiB / 3))
    assert {t.rel_path: t.bytes_done for t in snap.transfers} == {"big.iso": GiB, "b.txt": GiB}
    assert snap.fraction == pytest.approx(2 / 6)

    model.feed(ItemFinished("b.txt", ActionKind.DOWNLOAD, True))
    model.feed(ItemFinished("gone.txt", ActionKind.DELETE_REMOTE, True))
    model.feed(ItemFinished("bad.txt", ActionKind.UPLOAD, False))
    model.feed(IssueRaised(Issue("bad.txt", IssueKind.UNREADABLE, "Cannot be read.")))
    snap = model.snapshot()
    assert (snap.downloaded, snap.deleted, snap.skipped, snap.uploaded) == (1, 1, 1, 0)
    assert snap.files_done == 3 and [t.rel_path for t in snap.transfers] == ["big.iso"]
    assert snap.bytes_done == 2 * GiB + GiB  # b.txt complete + big.iso so far

    model.finish(SyncResult(uploaded=1, downloaded=1, deleted_remote=1, skipped=1))
    done = model.snapshot()
    assert not done.running and done.transfers == ()
    assert done.files_done == done.files_total == 4
    assert done.bytes_done == done.bytes_total and done.eta_s is None
    assert done.phase is Phase.FINISHED and done.fraction == 1.0


def test_no_eta_until_the_rate_is_worth_extrapolating() -> None:
    """A run must not start with "94 h left": an early, tiny rate gives no ETA."""
    clock = Clock()
    model = ProgressModel(clock)
    model.reset()
    model.feed(PlanReady(1, 0, 0, 0, 0, 1, 300 * 2**20))
    model.feed(PhaseChanged(Phase.TRANSFERRING))
    model.snapshot()
    clock.now += 0.5
    model.feed(OverallProgress(0, 1, 4096, 300 * 2**20))
    early = model.snapshot()
    assert early.speed_bps > 0 and early.eta_s is None
    clock.now += ETA_MIN_ELAPSED_S
    model.feed(OverallProgress(0, 1, 60 * 2**20, 300 * 2**20))
    later = model.snapshot()
    assert later.eta_s is not None and later.eta_s > 0


def test_a_cancelled_run_is_not_complete() -> None:
    model = ProgressModel(Clock())
    model.reset()
    model.feed(PlanReady(3, 0, 0, 0, 0, 3, 3000))
    model.feed(ItemFinished("a", ActionKind.UPLOAD, True))
    model.finish(SyncResult(uploaded=1, cancelled=True))
    snap = model.snapshot()
    assert snap.cancelled and snap.files_done == 1 and snap.files_total == 3
    assert snap.fraction < 1.0


def test_one_wording_for_every_client() -> None:
    from blobsync.core.app.progress import ProgressSnapshot
    from blobsync.core.events import Phase

    snap = ProgressSnapshot(
        running=True,
        phase=Phase.TRANSFERRING,
        files_done=12,
        files_total=2001,
        bytes_done=150 * 1024 * 1024,
        bytes_total=300 * 1024 * 1024,
    )
    assert snap.files_words == "12 of 2,001 files"
    assert snap.bytes_words == "150.0 MiB of 300.0 MiB"
    # The percent is the bytes', and says so; the file count stands apart.
    assert snap.summary_words == "50% of 300.0 MiB · 12 of 2,001 files"
    one = ProgressSnapshot(running=True, files_done=0, files_total=1)
    assert one.files_words == "0 of 1 file" and one.summary_words == "0 of 1 file"
    assert one.bytes_words == ""
