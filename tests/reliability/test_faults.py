"""Faults injected between the engine and Azurite by :class:`FaultProxy`: connection
resets, stalls longer than the read timeout, 503 ServerBusy storms, 500
OperationTimedOut (before and after the server did the work), responses lost after the
server committed a write, a listing that fails on page k, the network going down
mid-run. In every case: nothing lost, no deletion inferred from a partial listing, no
blob write without its condition, and the run ends in a clear state (finished, per-item
issues retried next time, or one FatalError sentence); afterwards a fault-free run
converges with zero writes on the idle re-sync.

Retries use the production policy's number of attempts with shorter waits, and the
read timeout is lowered from the production 60 s so stalls stay fast.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from blobsync.core.credentials import from_key
from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.errors import ConnectionFailure, FatalError, ListingError
from blobsync.core.models import SyncResult
from blobsync.core.remote import azure as azure_blob
from blobsync.core.remote.azure import AzureBlobStore, BoundedRetryPolicy
from blobsync.core.remote.azure import client as azure_client

from .faults import (
    LOST,
    RESET,
    FaultProxy,
    Request,
    Stall,
    Status,
    any_request,
    is_delete_blob,
    is_download,
    is_listing_page,
    is_put_blob,
)
from .harness import (
    Ledger,
    LocalActor,
    RemoteActor,
    SdkView,
    check_confined,
    check_converged,
    check_idle,
    check_no_version_lost,
    count,
    local_bins,
    settle,
    tree,
)

pytestmark = [pytest.mark.azurite]

FAST_STATUS = (0.01, 0.02, 0.04, 0.08)  # as many retries as production, shorter waits
FAST_CONNECT = (0.01, 0.02)
#: Blocks staged in parallel per upload (the bound below counts them).
BLOCK_THREADS = 4
READ_TIMEOUT = 1.0


class World:
    """A synced folder of 12 files (listings in pages of 3), then changes on both sides;
    the engine talks to Azurite through the proxy."""

    def __init__(self, azurite: Any, base: Path) -> None:
        self.azurite = azurite
        self.sandbox = base / "sandbox"
        self.root = self.sandbox / "folder"
        self.root.mkdir(parents=True)
        self.container = "flt" + uuid.uuid4().hex[:16]
        self.sdk = BlobServiceClient.from_connection_string(azurite.connection_string)
        self.cc = self.sdk.get_container_client(self.container)
        self.cc.create_container()
        self.proxy = FaultProxy(azurite.port)
        self.ledger = Ledger()
        self.local = LocalActor(self.root, self.ledger, "L")
        self.remote = RemoteActor(SdkView(self.cc), self.ledger)
        self.engine = SyncEngine(self.root, self.store(), base / "state.sqlite3")
        for i in range(12):
            self.local.write(f"d{i % 3}/f{i}.txt", f"v1 f{i}\n".encode(), f"v1 f{i}")
        first = self.engine.sync(self.options())
        assert first.in_sync

    def store(self) -> AzureBlobStore:
        creds = from_key(self.proxy.endpoint, self.azurite.credentials.secret)
        policy = BoundedRetryPolicy(status_backoffs=FAST_STATUS, connect_backoffs=FAST_CONNECT)
        store = AzureBlobStore(creds, self.container, retry_policy=policy)
        store.page_size = 3
        store.single_shot_max = 64
        store.min_block_size = 32
        store.upload_threads = BLOCK_THREADS
        return store

    def options(self) -> SyncOptions:
        return SyncOptions(workers=4, hostname="faulty")

    def change_both_sides(self) -> None:
        """Every kind of write: uploads (new, update, block), downloads, deletes on both
        sides, a rename (server-side copy), a conflict."""
        self.local.write("d0/f0.txt", b"v2 f0 local\n", "v2 f0")
        self.local.write("new_local.txt", b"new local\n", "new local")
        self.local.write("big_local.txt", b"B" * 300 + b"\n", "big local")  # staged blocks
        self.local.delete("d1/f1.txt")
        self.local.rename("d2/f2.txt", "d2/renamed.txt")
        self.local.write("d0/f3.txt", b"v2 f3 ours\n", "v2 f3 ours")
        self.remote.write("d0/f3.txt", b"v2 f3 theirs\n", "v2 f3 theirs")
        self.remote.write("d1/f4.txt", b"v2 f4 remote\n", "v2 f4")
        self.remote.write("new_remote.txt", b"new remote\n", "new remote")
        self.remote.delete("d2/f5.txt")

    def sync(self) -> SyncResult:
        return self.engine.sync(self.options())

    def wire_writes(self) -> int:
        return self.proxy.writes()

    def finish(self) -> None:
        """No more faults: the next runs converge; every invariant holds."""
        injected = self.proxy.faults_injected()
        count("faults_injected", injected)
        self.proxy.rules.clear()
        opts: Callable[[SyncEngine], SyncOptions] = lambda _e: self.options()  # noqa: E731
        settle([self.engine], opts)
        check_idle([self.engine], opts, self.wire_writes)
        remote = SdkView(self.cc).contents()
        check_converged([self.root], remote, [self.engine])
        check_no_version_lost(
            self.ledger,
            [
                tree(self.root),
                {n: d for n, (d, _) in remote.items()},
                SdkView(self.cc).bin_contents(),
                local_bins([self.engine]),
            ],
        )
        check_confined(self.sandbox, {"folder"})
        unconditional = self.proxy.unconditional_blob_writes()
        assert not unconditional, unconditional

    def close(self) -> None:
        self.engine.close()
        self.proxy.close()
        self.sdk.close()


@pytest.fixture
def world(azurite: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setattr(azure_client, "READ_TIMEOUT_S", READ_TIMEOUT)
    w = World(azurite, tmp_path)
    yield w
    w.close()


def first_try_of(kind: Callable[[Request], bool]) -> Callable[[Request], bool]:
    """Matches the first attempt of each distinct request of ``kind`` (not its retry)."""
    seen: set[tuple[str, str]] = set()

    def match(req: Request) -> bool:
        key = (req.method, req.path)
        if not kind(req) or key in seen:
            return False
        seen.add(key)
        return True

    return match


def is_blob_write(req: Request) -> bool:
    return req.blob_write_needs_condition


def test_production_read_timeout_bounds_a_stall() -> None:
    # A stalled connection costs at most the read timeout per attempt; the default SDK
    # read timeout (~22 h) would hang a run.
    assert azure_blob.READ_TIMEOUT_S <= 60
    assert azure_blob.CONNECTION_TIMEOUT_S <= 10


def test_connection_resets_on_every_first_attempt(world: World) -> None:
    world.change_both_sides()
    world.proxy.add(first_try_of(lambda r: True), RESET, times=None)
    result = world.sync()
    assert world.proxy.faults_injected() >= 10
    assert result.uploaded >= 3 and result.downloaded >= 2
    world.finish()


def test_stalls_longer_than_the_read_timeout(world: World) -> None:
    world.change_both_sides()
    world.proxy.add(first_try_of(is_download), Stall(READ_TIMEOUT * 3), times=2)
    world.proxy.add(first_try_of(is_put_blob), Stall(READ_TIMEOUT * 3), times=2)
    started = time.monotonic()
    world.sync()
    assert time.monotonic() - started < 30
    assert world.proxy.faults_injected() == 4
    world.finish()


def test_server_busy_storm_absorbed(world: World) -> None:
    world.change_both_sides()
    # Three 503s in a row for every request before it gets through: within the budget.
    tries: dict[tuple[str, str], int] = {}

    def busy(req: Request) -> bool:
        key = (req.method, req.path)
        tries[key] = tries.get(key, 0) + 1
        return tries[key] <= 3

    world.proxy.add(busy, Status(503, "ServerBusy"), times=None)
    result = world.sync()
    assert result.uploaded >= 3 and result.downloaded >= 2
    world.finish()


def test_server_busy_storm_beyond_the_budget_stops_clearly(world: World) -> None:
    world.change_both_sides()
    before = {p: (world.root / p).read_bytes() for p in tree(world.root)}
    rule = world.proxy.add(any_request, Status(503, "ServerBusy"), times=None)
    started = time.monotonic()
    with pytest.raises(FatalError) as info:
        world.sync()
    elapsed = time.monotonic() - started
    assert "Traceback" not in info.value.message and info.value.message.endswith(".")
    assert info.value.exit_code == 3
    # No retry storm: one request and its bounded retries, then the run stops.
    assert rule.fired <= len(FAST_STATUS) + 1 and elapsed < 10
    assert tree(world.root) == before  # nothing changed locally
    world.finish()


def test_operation_timed_out_before_and_after_the_server_did_the_work(world: World) -> None:
    world.change_both_sides()
    world.proxy.add(first_try_of(is_put_blob), Status(500, "OperationTimedOut"), times=2)
    world.proxy.add(
        first_try_of(is_blob_write), Status(500, "OperationTimedOut", forward=True), times=None
    )
    result = world.sync()
    assert world.proxy.faults_injected() >= 6
    assert not [i for i in result.issues if "lost" in i.message.lower()]
    world.finish()


def test_responses_lost_after_the_server_committed(world: World) -> None:
    world.change_both_sides()
    world.proxy.add(first_try_of(is_blob_write), LOST, times=None)
    world.sync()  # may leave per-item issues (e.g. the rename's copy); never a loss
    assert world.proxy.faults_injected() >= 6
    world.finish()


@pytest.mark.parametrize("page", [1, 2, 4])
def test_listing_failing_on_page_k_infers_nothing(world: World, page: int) -> None:
    world.change_both_sides()
    local_before = tree(world.root)
    blobs_before = SdkView(world.cc).contents()
    snapshot_before = list(world.engine.state.iter_snapshot())
    writes_before = world.proxy.writes()
    world.proxy.add(is_listing_page(page), Status(500, "InternalError"), times=None)
    with pytest.raises(ListingError) as info:
        world.sync()
    assert "nothing was concluded" in info.value.message and info.value.exit_code == 3
    assert world.proxy.writes() == writes_before  # not one write after a partial listing
    assert tree(world.root) == local_before
    assert SdkView(world.cc).contents() == blobs_before
    assert list(world.engine.state.iter_snapshot()) == snapshot_before
    world.finish()


def test_listing_page_failing_once_is_retried(world: World) -> None:
    world.change_both_sides()
    world.proxy.add(is_listing_page(3), Status(503, "ServerBusy"), times=1)
    world.proxy.add(is_listing_page(2), RESET, times=1)
    result = world.sync()
    assert result.uploaded >= 3
    world.finish()


def test_network_down_mid_run_stops_with_one_sentence(world: World) -> None:
    world.change_both_sides()
    seen = itertools.count()
    # After a few requests, every connection is dropped: the network is gone.
    rule = world.proxy.add(lambda _r: next(seen) >= 6, RESET, times=None)
    started = time.monotonic()
    with pytest.raises(ConnectionFailure) as info:
        world.sync()
    assert time.monotonic() - started < 15
    assert info.value.exit_code == 3 and "\n" not in info.value.message
    # Bounded: only the requests already in flight finish their retries (workers and
    # block-staging threads, each at most 1 + retries attempts); no new item starts.
    in_flight = world.options().workers + BLOCK_THREADS
    assert rule.fired <= in_flight * (len(FAST_STATUS) + 1), rule.fired
    world.finish()


def test_deletes_whose_answer_is_lost_are_not_repeated_as_errors(world: World) -> None:
    world.local.delete("d0/f0.txt")
    world.local.delete("d1/f1.txt")
    world.proxy.add(first_try_of(is_delete_blob), LOST, times=None)
    result = world.sync()
    assert result.deleted_remote == 2 and result.in_sync, result.issues
    world.finish()
