"""The change beacon's hint against Azurite: two watching machines on a container with
many other blobs; a save on A in one folder reaches B through a targeted run whose
listing asked only for that folder (counted in Azurite's debug log)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from blobsync.core import events as ev
from blobsync.core.app.emulator import Azurite
from blobsync.core.app.live import LiveSync
from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.local.watcher import IGNORE_TTL_S
from blobsync.core.remote.azure import open_store
from blobsync.core.remote.base import BEACON_BLOB

from .azurite_log import AzuriteLog, Request

pytestmark = pytest.mark.azurite

OTHER_FOLDERS = 20
FILES_EACH = 20


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


class Machine:
    def __init__(self, live: LiveSync, root: Path) -> None:
        self.live = live
        self.root = root

    def save(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def has(self, rel: str, text: str) -> bool:
        try:
            return (self.root / rel).read_text() == text
        except OSError:
            return False


@pytest.fixture
def machine(
    azurite: Azurite, container_name: str, tmp_path: Path
) -> Iterator[Callable[[str], Machine]]:
    made: list[Machine] = []

    def make(name: str) -> Machine:
        root = tmp_path / name
        root.mkdir(exist_ok=True)
        events: list[ev.Event] = []
        engine = SyncEngine(
            root,
            open_store(azurite.credentials, container_name),
            tmp_path / f"{name}.sqlite3",
            events.append,
        )
        live = LiveSync(
            engine, SyncOptions(workers=8), interval_s=300, debounce_s=0.3, beacon_s=0.5
        )
        m = Machine(live, root)
        made.append(m)
        live.start()
        wait_for(lambda: live.stats.syncs >= 1 and not live.live.running, 120)
        return m

    yield make
    for m in made:
        m.live.stop()
        m.live.engine.close()


def prefix_of(request: Request) -> str:
    return parse_qs(request.query).get("prefix", [""])[0]


def test_a_save_in_one_folder_reaches_b_by_listing_only_that_folder(
    machine: Callable[[str], Machine], azurite: Azurite, container_name: str
) -> None:
    assert azurite.debug_log is not None
    wire = AzuriteLog(azurite.debug_log, container_name)
    seed = machine("seed")
    for f in range(OTHER_FOLDERS):
        for i in range(FILES_EACH):
            seed.save(f"f{f:02d}/n{i}.txt", f"{f} {i}")
    seed.save("x/doc.txt", "first")
    seed.live.sync_now()
    wait_for(lambda: seed.live.stats.syncs >= 2 and not seed.live.live.running, 120)
    seed.live.stop()
    a = machine("a")
    b = machine("b")
    assert b.has("f19/n19.txt", "19 19") and a.has("x/doc.txt", "first")
    time.sleep(IGNORE_TTL_S + 0.5)  # A's watcher drops events on what its sync just wrote
    for n, (rel, folder) in enumerate([("x/doc.txt", "x/"), ("f07/new.txt", "f07/")]):
        wire.mark()
        targeted = b.live.stats.targeted
        a.save(rel, f"saved on a, {n}")
        wait_for(lambda rel=rel, n=n: b.has(rel, f"saved on a, {n}"), 60)
        wait_for(lambda targeted=targeted: b.live.stats.targeted > targeted, 30)
        requests = wire.requests()
        # the syncs' listings (not A's once-a-day versioning probe, include=versions)
        listings = [r for r in requests if r.is_listing and "include=metadata" in r.query]
        # A's own run lists everything; B's listing asked only for the saved-in folder
        assert sorted(prefix_of(r) for r in listings) == ["", folder], requests
        result = b.live.stats.last_result
        assert result is not None and result.scope == {folder[:-1]}
        assert result.downloaded == 1 and b.live.stats.triggered_by_beacon >= n + 1
        beacon_puts = [r for r in requests if r.method == "PUT" and r.blob == BEACON_BLOB]
        assert len(beacon_puts) == 1  # A's, once; B's targeted run wrote nothing
    body = json.loads(a.live.engine.store.read_beacon(None).body)
    assert body["v"] == 1 and body["hint"]["top"] == ["f07"]
    assert b.live.stats.failures == 0
