"""The desktop app's driver of the shared live loop: real file watcher, debounce,
fallback, and the machine-wide pause flag (set here or by another client)."""

from __future__ import annotations

import pytest

from blobsync.core.app.live import PauseFlag
from blobsync.core.app.pause import PauseStore
from blobsync.core.local.watcher import WatcherUnavailable
from blobsync.gui.live import LiveScheduler


@pytest.fixture
def watchers(qtbot):
    w = LiveScheduler(tick_ms=20, debounce_s=0.2)
    yield w
    w.shutdown()


def collect(watchers):
    due: list[tuple[str, str]] = []
    watchers.sync_due.connect(lambda pid, why: due.append((pid, str(why))))
    return due


def settle(watchers, pair_id: str = "p") -> None:
    """Pretend the first (immediate) sync ran and finished."""
    watchers.started(pair_id)
    watchers.finished(pair_id, ok=True)


def test_first_sync_is_due_at_once(qtbot, watchers, tmp_path):
    due = collect(watchers)
    watchers.set_pair("p", str(tmp_path), 300, PauseFlag())
    qtbot.waitUntil(lambda: len(due) >= 1, timeout=2000)
    assert due[0] == ("p", "poll") and watchers.is_watching("p")


def test_a_burst_of_saves_is_a_handful_of_syncs(qtbot, watchers, tmp_path):
    due = collect(watchers)
    watchers.set_pair("p", str(tmp_path), 300, PauseFlag())
    qtbot.waitUntil(lambda: len(due) == 1, timeout=2000)
    settle(watchers)
    due.clear()
    for i in range(200):
        (tmp_path / "f.txt").write_text(str(i))
    qtbot.waitUntil(lambda: len(due) >= 1, timeout=5000)
    assert due[0] == ("p", "change")
    settle(watchers)
    qtbot.wait(800)
    # One sync, or two if the last events reached us after the first sync started.
    assert len(due) <= 2, due


def test_engine_writes_are_ignored(qtbot, watchers, tmp_path):
    due = collect(watchers)
    watchers.set_pair("p", str(tmp_path), 300, PauseFlag())
    qtbot.waitUntil(lambda: len(due) == 1, timeout=2000)
    settle(watchers)
    due.clear()
    live = watchers.live("p")
    assert live is not None
    live.ignore("downloaded.txt")  # what engine.on_local_write does before a write
    (tmp_path / "downloaded.txt").write_text("written by the engine")
    qtbot.wait(600)
    assert due == []


def test_paused_pair_neither_watches_nor_polls_and_resume_syncs(qtbot, watchers, tmp_path):
    """Paused through the shared store (as ``blobsync pause`` would do it)."""
    store = PauseStore(tmp_path / "pause.sqlite3")
    other_client = PauseStore(tmp_path / "pause.sqlite3")
    other_client.set_paused("k", True)
    changes: list[bool] = []
    watchers.pause_changed.connect(lambda pid, paused: changes.append(paused))
    due = collect(watchers)
    watchers.set_pair("p", str(tmp_path / "root"), 0.05, PauseFlag(store, "k"))
    (tmp_path / "root").mkdir(exist_ok=True)
    qtbot.wait(400)
    assert due == [] and not watchers.is_watching("p")
    other_client.set_paused("k", False)  # resumed by the other client
    qtbot.waitUntil(lambda: len(due) >= 1, timeout=2000)
    assert watchers.is_watching("p") and changes == [False]
    other_client.set_paused("k", True)
    qtbot.waitUntil(lambda: changes == [False, True], timeout=2000)
    assert not watchers.is_watching("p")


def test_unwatchable_folder_is_reported_once_and_polled(qtbot, tmp_path):
    def refuse(_watcher):
        raise WatcherUnavailable("The system's limit of inotify watches is reached (simulated).")

    w = LiveScheduler(tick_ms=20, start_watcher=refuse)
    problems: list[str] = []
    w.watch_problem.connect(lambda pid, msg: problems.append(msg))
    due = collect(w)
    try:
        w.set_pair("p", str(tmp_path), 0.1, PauseFlag())
        w.set_pair("p", str(tmp_path), 0.1, PauseFlag())
        for _ in range(3):
            qtbot.waitUntil(lambda: len(due) >= 1, timeout=2000)
            due.clear()
            settle(w)
        assert problems == ["The system's limit of inotify watches is reached (simulated)."]
        assert not w.is_watching("p")
    finally:
        w.shutdown()


# ---- end to end through the app's controller, against Azurite -------------------------


@pytest.mark.azurite
def test_app_syncs_local_edits_by_itself_and_pause_stops_it(
    qtbot, make_window, azurite_account, sdk, container_name, tmp_path
):
    from blobsync.core.app.settings import AppConfig, PairConfig

    root = tmp_path / "folder"
    root.mkdir()
    pair = PairConfig(str(root), azurite_account.name, container_name, interval_s=300)
    config = AppConfig(accounts={azurite_account.name: azurite_account}, pairs=[pair])
    ctl = make_window(config, schedule=True).controller
    pair_id = pair.pair_id

    def blob(name):
        client = sdk.get_blob_client(container_name, name)
        return client.download_blob().readall() if client.exists() else None

    qtbot.waitUntil(lambda: ctl.status(pair_id).last_result is not None, timeout=20000)
    (root / "edited.txt").write_text("saved in an editor")  # no Sync now: the watcher acts
    qtbot.waitUntil(lambda: blob("edited.txt") == b"saved in an editor", timeout=15000)
    qtbot.waitUntil(lambda: ctl.status(pair_id).last_result.uploaded == 1, timeout=5000)
    last = ctl.status(pair_id).last_result
    qtbot.wait(3000)  # a finished sync does not trigger another one
    assert ctl.status(pair_id).last_result is last

    ctl.set_pair_paused(pair_id, True)
    (root / "while-paused.txt").write_text("wait")
    qtbot.wait(3500)
    assert blob("while-paused.txt") is None  # paused: neither watched nor polled
    ctl.set_pair_paused(pair_id, False)
    qtbot.waitUntil(lambda: blob("while-paused.txt") == b"wait", timeout=15000)
