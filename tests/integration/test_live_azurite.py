"""Live sync against Azurite: file watching, debouncing, polling, pause, renames."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from blobsync.core.app.live import LiveSync
from blobsync.core.app.pause import PauseFlag, PauseStore
from blobsync.core.engine import SyncEngine
from blobsync.core.local.watcher import WatcherUnavailable
from blobsync.core.remote.azure import AzureBlobStore


class CountingStore(AzureBlobStore):
    """Counts what the engine sends."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.uploads = 0
        self.bytes_sent = 0
        self.copies = 0

    def upload(self, blob_name, source, size, *args, **kwargs):
        self.uploads += 1
        self.bytes_sent += size
        return super().upload(blob_name, source, size, *args, **kwargs)

    def copy(self, *args, **kwargs):
        self.copies += 1
        return super().copy(*args, **kwargs)


def wait_for(predicate, timeout: float, step: float = 0.05) -> float:
    """Seconds until ``predicate()`` held; fails after ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


@pytest.fixture
def sdk(azurite) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(azurite.connection_string)


@pytest.fixture
def live_pair(azurite, container_name, tmp_path):
    made = []

    def make(
        root: Path | None = None, state: str = "state", **kwargs
    ) -> tuple[LiveSync, CountingStore]:
        root = root or tmp_path / "root"
        root.mkdir(parents=True, exist_ok=True)
        store = CountingStore(azurite.credentials, container_name)
        engine = SyncEngine(root, store, tmp_path / f"{state}.sqlite3")
        kwargs.setdefault("debounce_s", 0.3)
        kwargs.setdefault("interval_s", 60)
        # The machine-wide pause store, in the test's folder; one key per state DB.
        kwargs.setdefault("pause", PauseFlag(PauseStore(tmp_path / "pause.sqlite3"), state))
        live = LiveSync(engine, **kwargs)
        made.append(live)
        return live, store

    yield make
    for live in made:
        live.stop()
        live.engine.close()


def blob_text(sdk, container, name):
    try:
        return sdk.get_blob_client(container, name).download_blob().readall()
    except Exception:
        return None


def test_local_edit_reaches_container_without_explicit_sync(
    live_pair, sdk, container_name, tmp_path
):
    live, _store = live_pair()
    live.start()
    wait_for(lambda: live.stats.syncs >= 1, 10)  # the initial sync
    assert live.watching
    (tmp_path / "root" / "note.txt").write_text("hello")
    latency = wait_for(lambda: blob_text(sdk, container_name, "note.txt") == b"hello", 10)
    print(f"local edit reached the container in {latency:.2f} s (debounce 0.3 s)")
    assert latency < 5


def test_burst_of_saves_is_a_handful_of_syncs(live_pair, sdk, container_name, tmp_path):
    live, _store = live_pair()
    live.start()
    wait_for(lambda: live.stats.syncs >= 1, 10)
    target = tmp_path / "root" / "burst.txt"
    for i in range(200):
        target.write_text(f"save {i}")
        time.sleep(0.005)
    wait_for(lambda: blob_text(sdk, container_name, "burst.txt") == b"save 199", 15)
    time.sleep(1.0)
    assert 1 <= live.stats.triggered_by_change <= 5, live.stats


def test_remote_change_arrives_within_one_poll_and_does_not_echo(
    live_pair, sdk, container_name, tmp_path
):
    live, store = live_pair(interval_s=1.0)
    live.start()
    wait_for(lambda: live.stats.syncs >= 1, 10)
    sdk.get_blob_client(container_name, "dir/remote.txt").upload_blob(b"from elsewhere")
    latency = wait_for(lambda: (tmp_path / "root/dir/remote.txt").exists(), 5)
    assert latency < 3
    syncs_by_change = live.stats.triggered_by_change
    time.sleep(1.5)  # events of our own download must not trigger a sync / an upload
    assert live.stats.triggered_by_change == syncs_by_change
    assert store.uploads == 0


def test_renames_use_server_side_copies(live_pair, sdk, container_name, tmp_path):
    live, store = live_pair()
    root = tmp_path / "root"
    big = os.urandom(8 * 1024 * 1024)
    (root / "big.bin").parent.mkdir(parents=True, exist_ok=True)
    (root / "big.bin").write_bytes(big)
    folder = root / "folder"
    folder.mkdir()
    for i in range(100):
        (folder / f"f{i:03d}.txt").write_text(f"file {i}")
    live.start()
    wait_for(lambda: live.stats.syncs >= 1 and store.uploads == 101, 60)
    sent = store.bytes_sent
    (root / "big.bin").rename(root / "big-renamed.bin")
    folder.rename(root / "folder-renamed")
    cc = sdk.get_container_client(container_name)
    wait_for(
        lambda: (
            sorted(b.name for b in cc.list_blobs() if b.name.startswith("folder"))
            == [f"folder-renamed/f{i:03d}.txt" for i in range(100)]
        ),
        30,
    )
    wait_for(
        lambda: (
            blob_text(sdk, container_name, "big-renamed.bin") is not None
            and blob_text(sdk, container_name, "big.bin") is None
        ),
        10,
    )
    assert store.bytes_sent - sent < len(big) // 10  # not re-uploaded
    assert store.copies == 101


def test_pause_survives_restart_and_blocks_transfers(live_pair, sdk, container_name, tmp_path):
    live, _store = live_pair(interval_s=0.5)
    live.start()
    wait_for(lambda: live.stats.syncs >= 1, 10)
    live.pause()
    live.stop()
    live.engine.close()
    live2, store2 = live_pair(interval_s=0.5)  # "restart": new engine on the same state DB
    assert live2.paused
    live2.start()
    (tmp_path / "root" / "while-paused.txt").write_text("wait")
    time.sleep(2.0)
    assert store2.uploads == 0 and live2.stats.syncs == 0 and not live2.watching
    live2.resume()
    wait_for(lambda: blob_text(sdk, container_name, "while-paused.txt") == b"wait", 10)


def test_watcher_failure_falls_back_to_polling(live_pair, sdk, container_name, tmp_path):
    def broken(_watcher):
        raise WatcherUnavailable("The system's limit of inotify watches is reached (simulated).")

    seen = []
    live, _store = live_pair(interval_s=0.5, watcher_factory=broken)
    live.engine.events = seen.append
    live.start()
    assert not live.watching and "inotify" in (live.watch_problem or "")
    assert sum(1 for e in seen if type(e).__name__ == "WatcherStatus") == 1  # told once
    (tmp_path / "root" / "polled.txt").write_text("converges anyway")
    wait_for(lambda: blob_text(sdk, container_name, "polled.txt") == b"converges anyway", 10)
    assert live.stats.triggered_by_poll >= 1
