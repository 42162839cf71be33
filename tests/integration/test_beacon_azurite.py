"""The change beacon against Azurite: two watching machines on one container, the wire
cost of an idle pair (counted in Azurite's debug log), a change by a tool that knows no
beacon, and a beacon deleted, garbled, unreadable or unwritable."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from azure.storage.blob import (
    AccountSasPermissions,
    BlobServiceClient,
    ResourceTypes,
    generate_account_sas,
)

from blobsync.core import events as ev
from blobsync.core.app.emulator import Azurite
from blobsync.core.app.live import LiveSync
from blobsync.core.app.service import AppService
from blobsync.core.app.settings import PairConfig, SettingsStore, settings_path
from blobsync.core.cli.watch import beacon_interval
from blobsync.core.credentials import AZURITE_KEY, Credentials, from_sas_url
from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.engine.beacon import parse_beacon
from blobsync.core.errors import AuthError, ConfigError, PreconditionFailed
from blobsync.core.models import SyncMode
from blobsync.core.remote.azure import open_store
from blobsync.core.remote.base import BEACON_BLOB, BEACON_MAX_BYTES, RemoteStore
from blobsync.core.remote.memory import MemoryStore

from .azurite_log import AzuriteLog

pytestmark = pytest.mark.azurite


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> float:
    """Seconds until ``predicate()`` held; fails after ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


def account_sas(azurite: Azurite, **permissions: bool) -> Credentials:
    """An account SAS with just these permissions (Azurite enforces them)."""
    token = generate_account_sas(
        "devstoreaccount1",
        AZURITE_KEY,
        ResourceTypes(container=True, object=True),
        AccountSasPermissions(**permissions),
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    return from_sas_url(f"{azurite.blob_endpoint}?{token}")


@pytest.fixture
def sdk(azurite: Azurite) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(azurite.connection_string)


@pytest.fixture
def wire(azurite: Azurite, container_name: str) -> AzuriteLog:
    assert azurite.debug_log is not None
    return AzuriteLog(azurite.debug_log, container_name)


class Machine:
    """One machine: a folder, its own state database and store, a LiveSync."""

    def __init__(self, live: LiveSync, root: Path, events: list[ev.Event]) -> None:
        self.live = live
        self.root = root
        self.events = events

    def notices(self) -> list[ev.BeaconNotice]:
        return [e.notice for e in self.events if isinstance(e, ev.BeaconStatus)]

    def save(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def has(self, rel: str, text: str) -> bool:
        path = self.root / rel
        try:
            return path.read_text() == text
        except OSError:
            return False


@pytest.fixture
def machine(
    azurite: Azurite, container_name: str, tmp_path: Path
) -> Iterator[Callable[..., Machine]]:
    made: list[Machine] = []

    def make(
        name: str,
        *,
        store: RemoteStore | None = None,
        mode: SyncMode = SyncMode.TWO_WAY,
        interval_s: float = 300,
        beacon_s: float | None = 0.5,
    ) -> Machine:
        root = tmp_path / name
        root.mkdir(exist_ok=True)
        events: list[ev.Event] = []
        engine = SyncEngine(
            root,
            store or open_store(azurite.credentials, container_name),
            tmp_path / f"{name}.sqlite3",
            events.append,
        )
        live = LiveSync(
            engine,
            SyncOptions(mode=mode, workers=2),
            interval_s=interval_s,
            debounce_s=0.3,
            beacon_s=beacon_s,
        )
        m = Machine(live, root, events)
        made.append(m)
        live.start()
        wait_for(lambda: live.stats.syncs >= 1, 30)
        return m

    yield make
    for m in made:
        m.live.stop()
        m.live.engine.close()


# ---- the store calls, on both stores ---------------------------------------------------


@pytest.fixture(params=["memory", "azure"])
def store(request: pytest.FixtureRequest, container_name: str) -> Iterator[RemoteStore]:
    if request.param == "memory":
        yield MemoryStore(container_name)
        return
    azurite: Azurite = request.getfixturevalue("azurite")
    azure = open_store(azurite.credentials, container_name)
    azure.create_container()
    try:
        yield azure
    finally:
        azure.close()


def test_contract_beacon_read_and_write(store: RemoteStore) -> None:
    assert store.read_beacon(None).etag is None  # missing: not an error
    etag = store.write_beacon(b'{"v":1}', None)
    with pytest.raises(PreconditionFailed):
        store.write_beacon(b"again", None)  # create-only met an existing beacon (409)
    with pytest.raises(PreconditionFailed):
        store.write_beacon(b"again", '"0x8D0000000000000"')  # stale ETag (412)
    same = store.read_beacon(etag)
    assert same.not_modified and same.body == b"" and same.etag == etag  # 304
    read = store.read_beacon(None)
    assert (read.etag, read.body, read.not_modified) == (etag, b'{"v":1}', False)
    listed = {e.rel_path: e.etag for e in store.list_blobs()}
    assert listed[BEACON_BLOB] == etag  # the listing's ETag is the one reads compare to
    newer = store.write_beacon(b"{}", etag)
    assert newer != etag and store.read_beacon(etag).etag == newer
    store.write_beacon(b"x" * (BEACON_MAX_BYTES + 10), newer)
    big = store.read_beacon(None)
    assert big.too_large and len(big.body) <= BEACON_MAX_BYTES  # not read in full


def test_missing_container_reads_as_no_beacon(azurite: Azurite, container_name: str) -> None:
    store = open_store(azurite.credentials, container_name)  # never created
    try:
        assert store.read_beacon('"0x1"').etag is None
    finally:
        store.close()


def test_sas_permissions_decide_what_the_beacon_allows(
    azurite: Azurite, container_name: str
) -> None:
    full = open_store(azurite.credentials, container_name)
    full.create_container()
    etag = full.write_beacon(b"{}", None)
    no_read = open_store(account_sas(azurite, write=True, list=True, create=True), container_name)
    read_only = open_store(account_sas(azurite, read=True, list=True), container_name)
    try:
        with pytest.raises(AuthError):
            no_read.read_beacon(etag)
        assert read_only.read_beacon(etag).not_modified
        with pytest.raises(AuthError):
            read_only.write_beacon(b"{}", etag)
    finally:
        for s in (full, no_read, read_only):
            s.close()


# ---- the engine on the wire ------------------------------------------------------------


def test_no_change_sync_sends_no_write_and_no_beacon_request(
    azurite: Azurite, container_name: str, tmp_path: Path, wire: AzuriteLog
) -> None:
    root = tmp_path / "a"
    root.mkdir()
    for i in range(3):
        (root / f"f{i}.txt").write_text(f"file {i}")
    engine = SyncEngine(root, open_store(azurite.credentials, container_name), tmp_path / "s.db")
    try:
        wire.mark()
        engine.sync()
        first = wire.requests()
        beacon_puts = [r for r in first if r.method == "PUT" and r.blob == BEACON_BLOB]
        assert len(beacon_puts) == 1 and beacon_puts[0].status == 201  # once, for 3 uploads
        wire.mark()
        assert engine.sync().writes == 0
        again = wire.requests()
        assert not [r for r in again if r.is_write], again  # zero writes on the wire
        assert not [r for r in again if r.blob == BEACON_BLOB], again  # not even a read
    finally:
        engine.close()


# ---- two watching machines ----------------------------------------------------------------


def test_a_save_on_a_is_in_bs_folder_within_seconds(machine: Callable[..., Machine]) -> None:
    a = machine("a")
    b = machine("b")
    latencies = []
    for i in range(3):
        a.save("notes/today.txt", f"version {i}")
        start = time.monotonic()
        wait_for(lambda i=i: b.has("notes/today.txt", f"version {i}"), 30)
        latencies.append(time.monotonic() - start)
    print(f"A to B: {', '.join(f'{s:.2f}' for s in latencies)} s (full check every 300 s)")
    # 0.3 s debounce + A's sync + 0.5 s beacon interval + B's sync; generous for a busy box
    assert max(latencies) < 15
    assert b.live.stats.triggered_by_beacon >= 3 and b.live.stats.triggered_by_poll == 1
    time.sleep(1.5)  # several beacon reads after A's own last write
    assert a.live.stats.triggered_by_beacon == 0  # A's own beacon writes never woke A
    assert a.notices() == b.notices() == []


def test_an_idle_pair_sends_only_beacon_reads_between_full_checks(
    machine: Callable[..., Machine], wire: AzuriteLog
) -> None:
    a = machine("a", interval_s=4.0, beacon_s=0.5)
    a.save("x.txt", "something to announce")
    wait_for(lambda: a.live.stats.syncs >= 2, 15)
    time.sleep(1.0)
    polls_before = a.live.stats.triggered_by_poll
    wire.mark()
    time.sleep(9.0)
    requests = wire.requests()
    polls = a.live.stats.triggered_by_poll - polls_before
    assert not [r for r in requests if r.is_write], requests  # idle: no write at all
    beacon = [r for r in requests if r.blob == BEACON_BLOB]
    listings = [r for r in requests if r.is_listing]
    other = [r for r in requests if r not in beacon and r not in listings]
    assert all(r.method == "GET" and r.status == 304 for r in beacon), beacon
    assert 1 <= polls <= 3 and abs(len(listings) - polls) <= 1
    # per full check: one container probe (Get Container Properties) besides the listing
    assert all(not r.blob and r.method == "GET" and "comp=" not in r.query for r in other)
    assert len(other) <= polls + 1
    # one read per 0.5 s, plus one after each full check; fewer if the box is slow
    assert 6 <= len(beacon) <= 9.0 / 0.5 + polls + 2, len(beacon)
    print(f"idle 9 s: {len(beacon)} beacon reads (all 304), {len(listings)} listings")


def test_a_change_by_a_tool_without_the_beacon_arrives_at_the_next_full_check(
    machine: Callable[..., Machine], sdk: BlobServiceClient, container_name: str
) -> None:
    a = machine("a", interval_s=3.0, beacon_s=0.5)
    sdk.get_blob_client(container_name, "from-a-script.txt").upload_blob(b"raw sdk")
    wait_for(lambda: a.has("from-a-script.txt", "raw sdk"), 15)
    assert a.live.stats.triggered_by_beacon == 0 and a.live.stats.triggered_by_poll >= 2


def test_deleted_and_garbled_beacons_are_said_once_and_syncing_goes_on(
    machine: Callable[..., Machine], sdk: BlobServiceClient, container_name: str
) -> None:
    a = machine("a")
    b = machine("b")
    a.save("one.txt", "1")
    wait_for(lambda: b.has("one.txt", "1"), 30)
    beacon = sdk.get_blob_client(container_name, BEACON_BLOB)
    beacon.delete_blob()
    wait_for(lambda: ev.BeaconNotice.MISSING in b.notices(), 10)
    a.save("two.txt", "2")  # A's next run recreates it
    wait_for(lambda: b.has("two.txt", "2"), 30)
    assert parse_beacon(beacon.download_blob().readall()) is not None
    by_beacon = b.live.stats.triggered_by_beacon
    beacon.upload_blob(b"<html>not a beacon</html>", overwrite=True)
    wait_for(lambda: b.live.stats.triggered_by_beacon > by_beacon, 10)  # it changed: look
    wait_for(lambda: ev.BeaconNotice.GARBLED in b.notices(), 10)
    a.save("three.txt", "3")
    wait_for(lambda: b.has("three.txt", "3"), 30)
    assert parse_beacon(beacon.download_blob().readall()) is not None  # replaced
    time.sleep(1.0)
    assert b.notices() == [ev.BeaconNotice.MISSING, ev.BeaconNotice.GARBLED]  # once each
    assert b.live.stats.failures == a.live.stats.failures == 0


def test_credentials_that_may_not_write_the_beacon_still_sync_and_say_so_once(
    azurite: Azurite, machine: Callable[..., Machine], container_name: str
) -> None:
    b = machine("b")  # full rights, watching
    # read, list, create: new files go up, but an existing beacon may not be replaced
    creds = account_sas(azurite, read=True, list=True, create=True)
    a = machine("a", store=open_store(creds, container_name))
    a.save("x.txt", "x")
    wait_for(lambda: b.has("x.txt", "x"), 30)
    # creating the first beacon needs only the create permission: B knew within seconds
    assert b.live.stats.triggered_by_beacon >= 1 and a.notices() == []
    a.save("y.txt", "y")
    wait_for(lambda: ev.BeaconNotice.NOT_WRITABLE in a.notices(), 15)
    a.save("z.txt", "z")
    wait_for(lambda: a.live.stats.syncs >= 4, 15)
    assert a.notices() == [ev.BeaconNotice.NOT_WRITABLE]  # said once
    assert a.live.stats.failures == 0 and a.live.stats.last_result is not None
    assert a.live.stats.last_result.uploaded == 1  # the sync itself goes on
    assert "write this pair's change beacon" in next(
        e.message for e in a.events if isinstance(e, ev.BeaconStatus)
    )


def test_credentials_that_may_not_read_the_beacon_sync_at_the_interval_and_say_so_once(
    azurite: Azurite, machine: Callable[..., Machine], container_name: str, sdk: BlobServiceClient
) -> None:
    sdk.create_container(container_name)
    creds = account_sas(azurite, write=True, list=True, create=True, delete=True)
    a = machine(
        "a",
        store=open_store(creds, container_name),
        mode=SyncMode.UPLOAD,
        interval_s=2.0,
        beacon_s=0.5,
    )
    wait_for(lambda: ev.BeaconNotice.UNREADABLE in a.notices(), 10)
    a.save("up.txt", "still syncs")
    store = open_store(azurite.credentials, container_name)
    try:

        def uploaded() -> bool:
            try:
                out = io.BytesIO()
                entry = store.get_entry("up.txt")
                return entry is not None and store.download("up.txt", entry.etag, out) > 0
            except Exception:
                return False

        wait_for(uploaded, 15)
    finally:
        store.close()
    polls = a.live.stats.triggered_by_poll
    wait_for(lambda: a.live.stats.triggered_by_poll >= polls + 2, 15)  # full checks go on
    assert a.notices() == [ev.BeaconNotice.UNREADABLE]  # said once, tried after each check
    assert a.live.stats.failures == 0


# ---- the CLI: blobsync watch honours the pair's settings, blobsync pairs tells -----------


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AZURE_STORAGE_CONNECTION_STRING"}
    return subprocess.run(
        [sys.executable, "-m", "blobsync.core.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_watch_picks_up_another_machine_within_seconds_and_pairs_says_when(
    azurite: Azurite, container_name: str, tmp_path: Path
) -> None:
    service = AppService(SettingsStore.load())
    service.add_account("emu", azurite.credentials)
    here = tmp_path / "docs"
    here.mkdir()
    service.add_pair(PairConfig(str(here), "emu", container_name, name="docs", beacon_interval_s=1))
    raw = json.loads(settings_path().read_text())
    assert raw["pairs"][0]["beacon"] is True and raw["pairs"][0]["beacon_interval_s"] == 1
    listed = json.loads(_cli("pairs", "--json").stdout)["pairs"][0]
    assert listed["beacon"] is True and listed["last_pickup"] is None

    env = {k: v for k, v in os.environ.items() if k != "AZURE_STORAGE_CONNECTION_STRING"}
    watch = subprocess.Popen(
        [sys.executable, "-m", "blobsync.core.cli", "watch", "--pair", "docs", "--debounce", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    there = tmp_path / "there"
    there.mkdir()
    try:
        # the watch's first sync is done (it left nothing pending)
        wait_for(lambda: service.summary(service.pairs()[0]).last_in_sync is not None, 30)
        (there / "report.txt").write_text("from the other machine")
        other = SyncEngine(
            there, open_store(azurite.credentials, container_name), tmp_path / "other.db"
        )
        try:
            assert other.sync().uploaded == 1
        finally:
            other.close()
        elapsed = wait_for(lambda: (here / "report.txt").exists(), 20)
        assert elapsed < 15  # the full check is 300 s away: the beacon did it
    finally:
        watch.send_signal(signal.SIGINT)
        out, _ = watch.communicate(timeout=30)
    assert watch.returncode == 0, out
    assert "change beacon read every 1 s" in out and "Traceback" not in out
    listed = json.loads(_cli("pairs", "--json").stdout)["pairs"][0]
    assert listed["last_pickup"] is not None
    assert "changes from elsewhere picked up: just now" in _cli("pairs").stdout


def test_settings_saved_before_the_beacon_load_with_it_on(tmp_path: Path) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    old = {
        "version": 2,
        "accounts": {},
        "pairs": [
            {
                "local_root": str(tmp_path),
                "account": "acc",
                "container": "c1",
                "mode": "two-way",
                "interval_s": 300,
                "name": "old",
            }
        ],
    }
    path.write_text(json.dumps(old))
    pair = SettingsStore.load().config.pairs[0]
    assert (pair.beacon, pair.beacon_interval_s) == (True, 5)


def test_watch_flags_override_the_pair() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--beacon-interval", type=float, default=None)
    parser.add_argument("--no-beacon", action="store_true")
    off = PairConfig("/x", "a", "c", beacon=False, beacon_interval_s=9)
    on = PairConfig("/x", "a", "c", beacon_interval_s=9)
    assert beacon_interval(parser.parse_args([]), on) == 9
    assert beacon_interval(parser.parse_args([]), off) is None
    assert beacon_interval(parser.parse_args([]), None) == 5
    assert beacon_interval(parser.parse_args(["--beacon-interval", "2"]), off) == 2
    assert beacon_interval(parser.parse_args(["--no-beacon"]), on) is None
    with pytest.raises(ConfigError, match="at least 1 second"):
        beacon_interval(parser.parse_args(["--beacon-interval", "0.2"]), on)
