"""The desktop app's driver of the shared live loop: real file watcher, debounce,
fallback, and the machine-wide pause flag (set here or by another client)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from blobsync.core.app.pause import PauseFlag, PauseStore
from blobsync.core.app.settings import PairConfig
from blobsync.core.app.status import PairState
from blobsync.core.local.watcher import WatcherUnavailable
from blobsync.gui.controller import Controller
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


# ---- one pause for both clients (against Azurite) ---------------------------------------


def _shared_pair(azurite, container: str, root):  # type: ignore[no-untyped-def]
    """A pair saved in settings.json the way the app saves it (emulator account: the
    published key, no keyring), so a ``blobsync`` process sees it by name."""
    from blobsync.core.app.service import AppService
    from blobsync.core.app.settings import SettingsStore

    service = AppService(SettingsStore.load())
    service.add_account("emu", azurite.credentials)
    root.mkdir(parents=True, exist_ok=True)
    return service, service.add_pair(PairConfig(str(root), "emu", container, name="docs"))


def _blob(azurite, container: str, name: str):  # type: ignore[no-untyped-def]
    from azure.storage.blob import BlobServiceClient

    client = BlobServiceClient.from_connection_string(azurite.connection_string)
    blob = client.get_blob_client(container, name)
    return blob.download_blob().readall() if blob.exists() else None


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AZURE_STORAGE_CONNECTION_STRING"}
    return subprocess.run(
        [sys.executable, "-m", "blobsync.core.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.azurite
def test_pausing_in_the_app_pauses_blobsync_watch_and_resuming_restarts_it(
    qtbot, azurite, container_name, tmp_path
):  # type: ignore[no-untyped-def]
    root = tmp_path / "docs"
    service, pair = _shared_pair(azurite, container_name, root)
    ctl = Controller(service=service, schedule=False)
    env = {k: v for k, v in os.environ.items() if k != "AZURE_STORAGE_CONNECTION_STRING"}
    watch = subprocess.Popen(
        [sys.executable, "-m", "blobsync.core.cli", "watch", "--pair", "docs", "--debounce", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        (root / "a.txt").write_text("first")
        qtbot.waitUntil(lambda: _blob(azurite, container_name, "a.txt") == b"first", timeout=30000)
        ctl.set_pair_paused(pair.pair_id, True)  # the app's Pause button
        time.sleep(1.5)  # the watch loop notices within a second
        (root / "b.txt").write_text("while paused")
        time.sleep(3.0)
        assert _blob(azurite, container_name, "b.txt") is None
        ctl.set_pair_paused(pair.pair_id, False)
        qtbot.waitUntil(
            lambda: _blob(azurite, container_name, "b.txt") == b"while paused", timeout=30000
        )
    finally:
        watch.send_signal(signal.SIGINT)
        out, _ = watch.communicate(timeout=30)
        ctl.shutdown()
    assert watch.returncode == 0, out
    assert "Paused; not syncing until resumed." in out and "Resumed." in out
    assert "Traceback" not in out


@pytest.mark.azurite
def test_blobsync_pause_pauses_the_app_and_resume_restarts_it(
    qtbot, azurite, container_name, tmp_path
):  # type: ignore[no-untyped-def]
    root = tmp_path / "docs"
    service, pair = _shared_pair(azurite, container_name, root)
    ctl = Controller(service=service, schedule=True)
    try:
        qtbot.waitUntil(lambda: ctl.status(pair.pair_id).last_result is not None, timeout=30000)
        paused = _cli("pause", "docs")
        assert paused.returncode == 0 and "docs paused." in paused.stdout, paused.stderr
        qtbot.waitUntil(lambda: ctl.pair_state(pair.pair_id) is PairState.PAUSED, timeout=5000)
        (root / "c.txt").write_text("while paused")
        qtbot.wait(3000)
        assert _blob(azurite, container_name, "c.txt") is None
        listed = _cli("pairs")
        assert "docs" in listed.stdout and "\tPaused" in listed.stdout
        resumed = _cli("resume", "docs")
        assert resumed.returncode == 0, resumed.stderr
        qtbot.waitUntil(
            lambda: _blob(azurite, container_name, "c.txt") == b"while paused", timeout=30000
        )
        assert ctl.pair_state(pair.pair_id) is not PairState.PAUSED
    finally:
        ctl.shutdown()


@pytest.mark.azurite
def test_blobsync_watch_says_the_folder_is_missing_and_waits_for_it(
    azurite, container_name, tmp_path
):  # type: ignore[no-untyped-def]
    root = tmp_path / "docs"
    _shared_pair(azurite, container_name, root)
    (root / "a.txt").write_text("a")
    env = {k: v for k, v in os.environ.items() if k != "AZURE_STORAGE_CONNECTION_STRING"}
    watch = subprocess.Popen(
        [sys.executable, "-m", "blobsync.core.cli", "watch", "--pair", "docs", "--debounce", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while _blob(azurite, container_name, "a.txt") != b"a" and time.monotonic() < deadline:
            time.sleep(0.1)
        root.rename(tmp_path / "away")
        time.sleep(2.0)
        (tmp_path / "away" / "b.txt").write_text("b")
        (tmp_path / "away").rename(root)
        deadline = time.monotonic() + 30
        while _blob(azurite, container_name, "b.txt") != b"b" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _blob(azurite, container_name, "b.txt") == b"b"
        assert _blob(azurite, container_name, "a.txt") == b"a"  # never read as deleted
    finally:
        watch.send_signal(signal.SIGINT)
        out, _ = watch.communicate(timeout=30)
    assert watch.returncode == 0, out
    assert f"The folder {root} is missing" in out and f"The folder {root} is back." in out
    assert "sync failed" not in out and "Traceback" not in out
