"""End to end through the window against Azurite: Sync now, Preview, Cancel, Pause."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton, QToolButton

from blobsync.core.app.accounts import account_credentials
from blobsync.core.app.engines import open_engine
from blobsync.core.app.pause import PauseStore
from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig
from blobsync.core.app.status import PairState
from blobsync.core.events import EventSink
from blobsync.core.names import is_reserved
from blobsync.core.remote.azure import AzureBlobStore
from blobsync.gui.main_window import MainWindow

pytestmark = [pytest.mark.gui, pytest.mark.azurite]


def make_files(root: Path, count: int, size: int = 100) -> dict[str, bytes]:
    files = {}
    for i in range(count):
        rel = f"dir{i % 3}/file{i:04d}.txt"
        data = (f"{i:06d}" * (size // 6 + 1)).encode()[:size]
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
        files[rel] = data
    return files


def container_blobs(sdk: BlobServiceClient, container: str) -> dict[str, bytes]:
    client = sdk.get_container_client(container)
    if not client.exists():
        return {}
    # BlobSync's own ``.blobsync/`` space (the change beacon) is not a synced file
    return {
        b.name: client.download_blob(b.name).readall()
        for b in client.list_blobs()
        if not is_reserved(b.name)
    }


def button(window: MainWindow, name: str) -> QPushButton | QToolButton:
    found = window.findChild(QPushButton, name) or window.findChild(QToolButton, name)
    assert found is not None, name
    return found


def one_pair_config(account: AccountConfig, root: Path, container: str, **kw: object) -> AppConfig:
    pair = PairConfig(str(root), account.name, container, **kw)  # type: ignore[arg-type]
    return AppConfig(accounts={account.name: account}, pairs=[pair])


class SlowStore(AzureBlobStore):
    """The real Azure store, 30 ms slower per upload, so a test can cancel mid-run."""

    def upload(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(0.03)
        return super().upload(*args, **kwargs)


def test_sync_now_uploads_everything_and_progress_reaches_the_end(
    qtbot, make_window, azurite_account, sdk, container_name, tmp_path
):  # type: ignore[no-untyped-def]
    root = tmp_path / "folder"
    files = make_files(root, 30, size=2000)
    window = make_window(one_pair_config(azurite_account, root, container_name))
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    assert window.pairs_view.selected_pair_id() == pair_id

    qtbot.mouseClick(button(window, "syncNowButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.status(pair_id).syncing, timeout=5000)
    qtbot.waitUntil(
        lambda: not ctl.status(pair_id).syncing and ctl.status(pair_id).last_result is not None,
        timeout=60000,
    )

    snap = window.progress_view.last_snapshot
    assert snap is not None and not snap.running
    assert snap.files_done == snap.files_total == 30
    assert snap.bytes_done == snap.bytes_total == 30 * 2000
    assert snap.uploaded == 30
    assert window.progress_view.bar.value() == window.progress_view.bar.maximum()
    assert "Uploaded 30" in window.progress_view.counts_label.text()
    assert ctl.pair_state(pair_id) is PairState.IDLE
    assert ctl.status(pair_id).last_sync is not None
    assert container_blobs(sdk, container_name) == files
    assert "Up to date" in window.windowTitle()


def test_preview_shows_the_plan_and_changes_nothing(
    qtbot, make_window, azurite_account, sdk, container_name, tmp_path
):  # type: ignore[no-untyped-def]
    root = tmp_path / "folder"
    files = make_files(root, 5)
    window = make_window(one_pair_config(azurite_account, root, container_name))

    qtbot.mouseClick(button(window, "previewButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.preview_dialog is not None, timeout=30000)
    dialog = window.preview_dialog
    assert dialog is not None
    items = {dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())}
    assert items == set(files)
    assert {dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())} == {"Upload"}
    assert container_blobs(sdk, container_name) == {}

    # "Sync now" in the preview runs the real thing.
    qtbot.mouseClick(dialog.sync_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: container_blobs(sdk, container_name) == files, timeout=60000)


def test_preview_says_what_each_filter_rule_left_out(
    qtbot, make_window, azurite_account, sdk, container_name, tmp_path
):  # type: ignore[no-untyped-def]
    root = tmp_path / "folder"
    make_files(root, 3)
    for name in ("a.log", "b.log", "Thumbs.db", "build/out.o"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x")
    config = one_pair_config(azurite_account, root, container_name)
    config.pairs[0].patterns = ["*.log", "build/"]
    window = make_window(config)
    qtbot.mouseClick(button(window, "previewButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.preview_dialog is not None, timeout=30000)
    dialog = window.preview_dialog
    assert dialog is not None and dialog.table.rowCount() == 3
    text = dialog.exclusions.text()
    assert (
        "Left out by the filter rules: 4 items (1 by the built-in list, 3 by your patterns)."
        in text
    )
    assert "2 — *.log" in text and "1 — build/" in text and "1 — Thumbs.db" in text
    assert not dialog.exclusions.isHidden()


def test_cancel_stops_cleanly_and_the_next_sync_finishes(
    qtbot, make_window, azurite_account, sdk, container_name, tmp_path
):  # type: ignore[no-untyped-def]
    root = tmp_path / "folder"
    files = make_files(root, 150)
    creds = account_credentials(azurite_account)

    def slow_engine(pair: PairConfig, sink: EventSink):  # type: ignore[no-untyped-def]
        store = SlowStore(creds, pair.container)
        return open_engine(pair.local_root, creds, pair.container, events=sink, store=store)

    window = make_window(
        one_pair_config(azurite_account, root, container_name),
        engine_factory=slow_engine,
        workers=2,
    )
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    cancel = button(window, "cancelButton")
    assert not cancel.isEnabled()

    qtbot.mouseClick(button(window, "syncNowButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: (
            (window.progress_view.last_snapshot or None) is not None
            and window.progress_view.last_snapshot.files_done >= 5
        ),
        timeout=30000,
    )
    assert cancel.isEnabled()
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ctl.status(pair_id).syncing, timeout=20000)

    status = ctl.status(pair_id)
    cancelled = (status.last_result is not None and status.last_result.cancelled) or (
        status.failure is not None and status.failure.cancelled
    )
    assert cancelled
    assert ctl.pair_state(pair_id) is not PairState.ERROR
    uploaded = container_blobs(sdk, container_name)
    assert 0 < len(uploaded) < len(files)
    # Every blob that exists is complete: nothing partial.
    assert all(files[name] == data for name, data in uploaded.items())
    # The screen tells the truth: not "Up to date", and how much is left.
    waiting = len(files) - len(uploaded)
    assert ctl.pair_state(pair_id) is PairState.UNFINISHED
    row = window.pairs_view.model.data(window.pairs_view.model.index(0, 3))
    assert row == f"Not finished — {waiting} changes waiting"
    assert "Up to date" not in window.windowTitle() and "Not finished" in window.windowTitle()
    assert ctl.overview().state() is PairState.UNFINISHED
    assert "stopped before the end" in window.progress_view.title.text()

    qtbot.mouseClick(button(window, "syncNowButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.status(pair_id).syncing, timeout=5000)
    qtbot.waitUntil(lambda: not ctl.status(pair_id).syncing, timeout=60000)
    assert container_blobs(sdk, container_name) == files
    assert ctl.pair_state(pair_id) is PairState.IDLE


def test_pause_stops_scheduled_syncs(
    qtbot, make_window, azurite_account, sdk, container_name, tmp_path
):  # type: ignore[no-untyped-def]
    root = tmp_path / "folder"
    make_files(root, 3)
    config = one_pair_config(azurite_account, root, container_name, interval_s=0)
    PauseStore().set_everything_paused(True)  # paused before the app starts
    window = make_window(config, schedule=True)
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    started: list[bool] = []
    ctl.bridge(pair_id).started.connect(started.append)
    assert ctl.pair_state(pair_id) is PairState.PAUSED
    assert not button(window, "syncNowButton").isEnabled()
    assert button(window, "pauseButton").text() == "Resume"

    qtbot.wait(800)  # ~16 scheduler ticks while paused
    assert started == []
    assert container_blobs(sdk, container_name) == {}

    qtbot.mouseClick(button(window, "pauseButton"), Qt.MouseButton.LeftButton)  # Resume
    qtbot.waitUntil(lambda: len(container_blobs(sdk, container_name)) == 3, timeout=60000)
    assert started

    qtbot.mouseClick(button(window, "pauseButton"), Qt.MouseButton.LeftButton)  # Pause
    assert ctl.everything_paused() and PauseStore().everything_paused()
    qtbot.waitUntil(lambda: not ctl.status(pair_id).syncing, timeout=20000)
    count = len(started)
    qtbot.wait(800)
    assert len(started) == count
    assert ctl.pair_state(pair_id) is PairState.PAUSED


def test_first_start_runs_azurite_and_syncs_a_one_click_demo_pair(
    qtbot, qapp, tmp_path, monkeypatch
):  # type: ignore[no-untyped-def]
    """No settings at all: the app starts its own Azurite, adds the emulator account and
    offers ~/BlobSync ↔ blobsync-demo; one click later the folder is synced."""
    from azure.storage.blob import BlobServiceClient as Client

    from blobsync.core.app.emulator import DEMO_ACCOUNT_NAME, DEMO_CONTAINER
    from blobsync.core.app.settings import config_dir, load_config
    from blobsync.core.credentials import AZURITE_KEY
    from blobsync.gui.app import SingleInstance, start_app

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    session = start_app(qapp, SingleInstance(f"blobsync-test-{uuid.uuid4().hex[:8]}"))
    try:
        win, ctl = session.window, session.controller
        assert win.isVisible()
        assert "Starting the local storage emulator" in win.banner_label.text()
        qtbot.waitUntil(win.banner_button.isVisible, timeout=60000)
        assert "demo folder" in win.banner_label.text()
        qtbot.mouseClick(win.banner_button, Qt.MouseButton.LeftButton)
        assert len(ctl.pairs()) == 1
        pair_id = ctl.pairs()[0].pair_id
        qtbot.waitUntil(lambda: ctl.status(pair_id).last_result is not None, timeout=60000)
        assert ctl.status(pair_id).last_result.uploaded == 1
        url = ctl.config.accounts[DEMO_ACCOUNT_NAME].account_url
        client = Client(
            account_url=url,
            credential={"account_name": "devstoreaccount1", "account_key": AZURITE_KEY},
        )
        assert list(container_blobs(client, DEMO_CONTAINER)) == ["Welcome to BlobSync.txt"]
    finally:
        session.close()
    assert session.starter is not None and not session.starter.server.running

    saved = load_config()  # the account and the pair were saved, without any secret
    assert DEMO_ACCOUNT_NAME in saved.accounts and len(saved.pairs) == 1
    assert saved.pairs[0].local_root == str(tmp_path / "home" / "BlobSync")
    assert AZURITE_KEY not in (config_dir() / "settings.json").read_text()


def test_without_azurite_installed_the_window_says_so_and_keeps_working(
    qtbot, qapp, tmp_path, monkeypatch
):  # type: ignore[no-untyped-def]
    from blobsync.gui import app as app_module

    monkeypatch.setattr(app_module, "find_azurite", lambda: None)
    session = app_module.start_app(qapp, app_module.SingleInstance(f"t-{uuid.uuid4().hex[:8]}"))
    try:
        win = session.window
        assert win.banner.isVisible()
        assert "not installed" in win.banner_label.text()
        assert win.banner_button.text() == "Add account…"
        assert button(win, "addPairButton").isEnabled()
        assert session.starter is None
    finally:
        session.close()


def test_the_real_app_process_single_instance_and_clean_quit(tmp_path):  # type: ignore[no-untyped-def]
    """``python -m blobsync.gui`` as a user starts it: a second launch only brings the
    first forward; SIGTERM quits cleanly and stops the bundled Azurite."""
    import json
    import os
    import signal
    import socket
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        env[var] = str(tmp_path / var.lower())
    env.update(HOME=str(tmp_path / "home"), QT_QPA_PLATFORM="offscreen")
    settings = tmp_path / "xdg_config_home" / "blobsync" / "settings.json"
    cmd = [sys.executable, "-m", "blobsync.gui"]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:

        def port_open(port: int) -> bool:
            with socket.socket() as sock:
                sock.settimeout(0.5)
                return sock.connect_ex(("127.0.0.1", port)) == 0

        deadline = time.monotonic() + 60
        port = 0
        while time.monotonic() < deadline and not (port and port_open(port)):
            assert first.poll() is None, first.stdout.read() if first.stdout else ""
            if settings.exists():
                url = json.loads(settings.read_text())["accounts"]["Local emulator (Azurite)"]
                port = int(url["account_url"].split(":")[2].split("/")[0])
            time.sleep(0.2)
        assert port and port_open(port), "the app did not start its Azurite"

        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        assert "already running" in second.stdout

        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 0
        assert not port_open(port), "Azurite still runs after the app quit"
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()


def test_unreadable_settings_are_kept_aside_not_overwritten(qtbot, qapp, monkeypatch):  # type: ignore[no-untyped-def]
    from blobsync.core.app.settings import config_dir
    from blobsync.gui import app as app_module

    monkeypatch.setattr(app_module, "find_azurite", lambda: None)
    settings = config_dir() / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text("{ not json")
    session = app_module.start_app(qapp, app_module.SingleInstance(f"t-{uuid.uuid4().hex[:8]}"))
    try:
        text = session.window.banner_label.text()
        assert "Cannot read the settings file" in text and "settings.json.broken-" in text
        kept = list(config_dir().glob("settings.json.broken-*"))
        assert len(kept) == 1 and kept[0].read_text() == "{ not json"
    finally:
        session.close()


@pytest.mark.parametrize("side", ["folder", "container"])
def test_an_emptied_side_is_reviewed_and_restored_through_the_window(
    qtbot, make_window, azurite_account, sdk, container_name, tmp_path, side
):  # type: ignore[no-untyped-def]
    from blobsync.gui.widgets.deletion_review import DeletionReview

    root = tmp_path / "folder"
    files = make_files(root, 4)
    window = make_window(one_pair_config(azurite_account, root, container_name))
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    assert ctl.sync_now(pair_id)
    qtbot.waitUntil(lambda: ctl.pair_state(pair_id) is PairState.IDLE, timeout=30000)
    if side == "folder":
        for rel in files:
            (root / rel).unlink()
    else:
        client = sdk.get_container_client(container_name)
        for blob in list(client.list_blobs()):
            client.delete_blob(blob.name)
    assert ctl.sync_now(pair_id)
    qtbot.waitUntil(lambda: ctl.pair_state(pair_id) is PairState.REVIEW, timeout=30000)
    qtbot.mouseClick(window.banner_button, Qt.MouseButton.LeftButton)
    review = window.review_dialog
    assert isinstance(review, DeletionReview)
    other = "container" if side == "folder" else "folder"
    assert f"4 files (400 B) would be deleted in the {other}" in review.summary.text()
    assert review.restore_button.text() == f"&Restore the files from the {other}"
    qtbot.mouseClick(review.restore_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctl.pair_state(pair_id) is PairState.IDLE, timeout=30000)
    assert container_blobs(sdk, container_name) == files
    assert {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} == set(files)
