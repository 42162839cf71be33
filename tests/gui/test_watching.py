"""The desktop app's live sync scheduling: real file watcher, debounce, fallback, pause."""

from __future__ import annotations

import time

import pytest

from blobsync.core.local.watcher import WatcherUnavailable
from blobsync.gui.watching import PairWatchers


@pytest.fixture
def watchers(qtbot):
    w = PairWatchers(tick_ms=20, debounce_s=0.2)
    yield w
    w.shutdown()


def collect(watchers):
    due: list[tuple[str, str]] = []
    watchers.sync_due.connect(lambda pid, why: due.append((pid, why)))
    return due


def settle(watchers, pair_id: str = "p") -> None:
    """Pretend the first (immediate) sync ran and finished."""
    watchers.started(pair_id)
    watchers.finished(pair_id, ok=True)


def test_first_sync_is_due_at_once(qtbot, watchers, tmp_path):
    due = collect(watchers)
    watchers.set_pair("p", str(tmp_path), interval_s=300, enabled=True)
    qtbot.waitUntil(lambda: due == [("p", "poll")] or len(due) >= 1, timeout=2000)
    assert due[0] == ("p", "poll") and watchers.is_watching("p")


def test_a_burst_of_saves_is_one_sync_after_quiet(qtbot, watchers, tmp_path):
    due = collect(watchers)
    watchers.set_pair("p", str(tmp_path), interval_s=300, enabled=True)
    qtbot.waitUntil(lambda: len(due) == 1, timeout=2000)
    settle(watchers)
    due.clear()
    for i in range(50):
        (tmp_path / "f.txt").write_text(str(i))
        time.sleep(0.002)
    qtbot.waitUntil(lambda: len(due) >= 1, timeout=3000)
    assert due[0] == ("p", "change")
    settle(watchers)
    qtbot.wait(500)
    assert len(due) == 1  # the burst caused exactly one sync


def test_engine_writes_are_ignored(qtbot, watchers, tmp_path):
    due = collect(watchers)
    watchers.set_pair("p", str(tmp_path), interval_s=300, enabled=True)
    qtbot.waitUntil(lambda: len(due) == 1, timeout=2000)
    settle(watchers)
    due.clear()
    watchers.ignore_callback("p")("downloaded.txt")
    (tmp_path / "downloaded.txt").write_text("written by the engine")
    qtbot.wait(600)
    assert due == []


def test_paused_pair_neither_watches_nor_polls_and_resume_syncs(qtbot, watchers, tmp_path):
    due = collect(watchers)
    watchers.set_pair("p", str(tmp_path), interval_s=0.05, enabled=False)
    (tmp_path / "x.txt").write_text("x")
    qtbot.wait(400)
    assert due == [] and not watchers.is_watching("p")
    watchers.set_pair("p", str(tmp_path), interval_s=300, enabled=True)
    qtbot.waitUntil(lambda: len(due) >= 1, timeout=2000)
    assert watchers.is_watching("p")


def test_unwatchable_folder_is_reported_once_and_polled(qtbot, tmp_path):
    def refuse(_watcher):
        raise WatcherUnavailable("The system's limit of inotify watches is reached (simulated).")

    w = PairWatchers(tick_ms=20, start_watcher=refuse)
    problems: list[str] = []
    w.watch_problem.connect(lambda pid, msg: problems.append(msg))
    due = collect(w)
    try:
        w.set_pair("p", str(tmp_path), interval_s=0.1, enabled=True)
        w.set_pair("p", str(tmp_path), interval_s=0.1, enabled=True)
        for _ in range(3):
            qtbot.waitUntil(lambda: len(due) >= 1, timeout=2000)
            due.clear()
            settle(w)
        assert problems == ["The system's limit of inotify watches is reached (simulated)."]
        assert not w.is_watching("p")
    finally:
        w.shutdown()
