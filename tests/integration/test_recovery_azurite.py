"""Bins, history, restore and undo against Azurite: the issue's scenarios on the wire,
writer metadata on every blob BlobSync writes, and the cost of the container bin in
requests (counted in Azurite's request log).

What Azurite cannot show (it has no blob versioning and no soft delete) runs against
MemoryStore in tests/core/test_recovery_memory.py.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient
from folders import tree, write

from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.engine.history import ChangeKind
from blobsync.core.engine.recovery import VersionSource
from blobsync.core.models import IssueKind, Writer
from blobsync.core.names import is_reserved
from blobsync.core.remote.azure import open_store
from blobsync.core.remote.base import BEACON_BLOB

pytestmark = pytest.mark.azurite

IDS = {"A": "a1" * 16, "B": "b2" * 16}


@dataclass
class Req:
    method: str
    path: str
    copy: bool
    headers: dict[str, str]


_LINE = re.compile(
    r"BlobStorageContextMiddleware: RequestMethod=(\w+) RequestURL=\S*?/devstoreaccount1/(\S*) "
    r"RequestHeaders:(\{.*?\})\s"
)


class Wire:
    """Requests Azurite logged for one container from a point on."""

    def __init__(self, azurite, container: str) -> None:
        self.log = azurite.debug_log
        self.sdk = BlobServiceClient.from_connection_string(azurite.connection_string)
        self.container = container
        self.offset = 0

    def mark(self) -> None:
        self.offset = self._flushed()

    def _flushed(self) -> int:
        """Azurite writes its log asynchronously: send a marker request and wait until
        it is logged, so everything before it is too."""
        marker = "marker" + os.urandom(8).hex()
        self.sdk.get_container_client(marker).exists()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if marker.encode() in self.log.read_bytes()[self.offset :]:
                return self.log.stat().st_size
            time.sleep(0.05)
        raise AssertionError("Azurite's request log did not catch up")

    def since(self) -> list[Req]:
        end = self._flushed()
        with open(self.log, "rb") as fh:
            fh.seek(self.offset)
            text = fh.read(end - self.offset).decode("utf-8", "replace")
        out = []
        for method, path, headers in _LINE.findall(text):
            if path != self.container and not path.startswith(
                (self.container + "/", self.container + "?")
            ):
                continue
            try:
                parsed = {k.lower(): str(v) for k, v in json.loads(headers).items()}
            except ValueError:
                parsed = {}
            out.append(Req(method, path, "x-ms-copy-source" in parsed, parsed))
        return out


class Pair:
    """Machines A and B syncing their folders with one container on Azurite."""

    def __init__(self, azurite, container: str, tmp: Path) -> None:
        self.tmp = tmp
        self.azurite = azurite
        self.container = container
        self.roots = {n: tmp / n.lower() for n in "AB"}
        self.engines = {n: self._open(n) for n in "AB"}

    def _open(self, n: str) -> SyncEngine:
        self.roots[n].mkdir(parents=True, exist_ok=True)
        return SyncEngine(
            self.roots[n],
            open_store(self.azurite.credentials, self.container),
            self.tmp / f"state-{n}.sqlite3",
            history_path=self.tmp / f"history-{n}.sqlite3",
            versions_dir=self.tmp / f"versions-{n}",
            pair_id="docs",
        )

    def opts(self, n: str, **kw) -> SyncOptions:
        return SyncOptions(hostname=f"machine-{n}", installation_id=IDS[n], workers=4, **kw)

    def sync(self, n: str, **kw):
        return self.engines[n].sync(self.opts(n, **kw))

    def close(self) -> None:
        for engine in self.engines.values():
            engine.close()


@pytest.fixture
def pair(azurite, container_name, tmp_path) -> Iterator[Pair]:
    p = Pair(azurite, container_name, tmp_path)
    yield p
    p.close()


@pytest.fixture
def sdk(azurite) -> Iterator[BlobServiceClient]:
    client = BlobServiceClient.from_connection_string(azurite.connection_string)
    yield client
    client.close()


def synced_blobs(sdk: BlobServiceClient, container: str) -> dict[str, bytes]:
    cc = sdk.get_container_client(container)
    return {
        b.name: cc.download_blob(b.name).readall()
        for b in cc.list_blobs()
        if not is_reserved(b.name)
    }


def test_folder_deleted_on_b_comes_back_on_a_and_in_the_container_with_one_undo(
    pair: Pair, sdk: BlobServiceClient
) -> None:
    a, b = pair.roots["A"], pair.roots["B"]
    write(a, "reports/q1.txt", b"q1 figures")
    write(a, "reports/2026/q2.txt", b"q2 figures")
    write(a, "other.txt", b"other")
    pair.sync("A")
    pair.sync("B")
    for rel in ("reports/q1.txt", "reports/2026/q2.txt"):
        (b / rel).unlink()
    assert pair.sync("B").deleted_remote == 2
    ra = pair.sync("A")
    assert ra.deleted_local == 2 and set(tree(a)) == {"other.txt"}
    engine = pair.engines["A"]
    # in A's bin, and the history says B deleted them
    assert {v.rel_path for v in engine.versions(remote=False)} == {
        "reports/q1.txt",
        "reports/2026/q2.txt",
    }
    rows = engine.history.changes(pair="docs", kinds=[ChangeKind.DELETED_LOCAL])
    assert {(r.rel_path, r.writer) for r in rows} == {
        ("reports/q1.txt", Writer("machine-B", IDS["B"])),
        ("reports/2026/q2.txt", Writer("machine-B", IDS["B"])),
    }
    # one undo: back on A and in the container
    undo = engine.undo(ra.run_id, pair.opts("A"))
    assert sorted(undo.restored) == ["reports/2026/q2.txt", "reports/q1.txt"]
    assert not undo.issues and undo.sync is not None and undo.sync.in_sync
    assert tree(a)["reports/q1.txt"] == b"q1 figures"
    assert synced_blobs(sdk, pair.container) == tree(a)
    # B gets them back on its next sync
    pair.sync("B")
    assert tree(b) == tree(a)
    assert pair.sync("A").writes == 0 and pair.sync("B").writes == 0


def test_remote_overwrite_old_version_restorable_on_both_sides(
    pair: Pair, sdk: BlobServiceClient
) -> None:
    a, b = pair.roots["A"], pair.roots["B"]
    write(a, "plan.md", b"plan v1")
    pair.sync("A")
    pair.sync("B")
    write(b, "plan.md", b"plan v2, rewritten on B")
    pair.sync("B")
    pair.sync("A")
    versions = pair.engines["A"].versions("plan.md")
    by_source = {v.source: v for v in versions}
    assert set(by_source) == {VersionSource.LOCAL_BIN, VersionSource.CONTAINER_BIN}
    container_v = by_source[VersionSource.CONTAINER_BIN]
    assert container_v.removed_by == Writer("machine-B", IDS["B"])
    assert container_v.writer == Writer("machine-A", IDS["A"])  # who wrote v1
    # restore the old local version: it syncs to B
    result = pair.engines["A"].restore(
        "plan.md", by_source[VersionSource.LOCAL_BIN], pair.opts("A")
    )
    assert result.sync is not None and result.sync.uploaded == 1
    pair.sync("B")
    assert (b / "plan.md").read_bytes() == b"plan v1"
    # the blob's previous version (v2) is restorable from the container side, on B
    (v2,) = [
        v
        for v in pair.engines["B"].versions("plan.md")
        if v.source is VersionSource.CONTAINER_BIN and v.size == len(b"plan v2, rewritten on B")
    ]
    again = pair.engines["B"].restore("plan.md", v2, pair.opts("B"))
    assert again.sync is not None and again.sync.downloaded == 1
    assert (b / "plan.md").read_bytes() == b"plan v2, rewritten on B"
    pair.sync("A")
    assert (a / "plan.md").read_bytes() == b"plan v2, rewritten on B"
    assert synced_blobs(sdk, pair.container) == {"plan.md": b"plan v2, rewritten on B"}


def test_undo_with_one_item_changed_meanwhile(pair: Pair) -> None:
    a, b = pair.roots["A"], pair.roots["B"]
    for name in ("x.txt", "y.txt"):
        write(a, name, name.encode() + b" v1")
    pair.sync("A")
    pair.sync("B")
    for name in ("x.txt", "y.txt"):
        write(b, name, name.encode() + b" v2")
    pair.sync("B")
    ra = pair.sync("A")
    write(b, "y.txt", b"y.txt v3, B again")  # someone changed one item meanwhile
    pair.sync("B")
    undo = pair.engines["A"].undo(ra.run_id, pair.opts("A"))
    assert undo.restored == ["x.txt"]
    assert [(i.rel_path, i.kind) for i in undo.issues] == [("y.txt", IssueKind.CONCURRENT_CHANGE)]
    assert (a / "x.txt").read_bytes() == b"x.txt v1"
    assert (a / "y.txt").read_bytes() == b"y.txt v3, B again"  # not overwritten
    pair.sync("B")
    assert (b / "x.txt").read_bytes() == b"x.txt v1"


def test_every_blob_blobsync_writes_names_its_writer_and_nothing_else(
    pair: Pair, sdk: BlobServiceClient, azurite
) -> None:
    a, b = pair.roots["A"], pair.roots["B"]
    store = pair.engines["A"].store
    store.single_shot_max = 1024  # type: ignore[attr-defined]  # a block upload too
    store.min_block_size = 512  # type: ignore[attr-defined]
    write(a, "small.txt", b"s")
    write(a, "big.bin", os.urandom(3000))
    write(a, "moving.txt", b"moves")
    write(a, "c.txt", b"base")
    pair.sync("A")
    pair.sync("B")
    os.rename(a / "moving.txt", a / "moved.txt")  # a server-side copy
    write(a, "small.txt", b"s2")  # an overwrite: a bin copy first
    write(a, "c.txt", b"ours")
    write(b, "c.txt", b"theirs")  # a conflict: the copy is uploaded
    pair.sync("B")
    pair.sync("A")
    pair.engines["A"].restore("small.txt", options=pair.opts("A"))
    cc = sdk.get_container_client(pair.container)
    listed = list(cc.list_blobs(include=["metadata"]))
    assert any(n.name.startswith(".blobsync/trash/") for n in listed)
    secrets = [azurite.credentials.secret, str(pair.tmp), str(a), "/tmp/", "AccountKey"]
    for blob in listed:
        if blob.name == BEACON_BLOB:
            continue  # the change beacon carries no user data and no version to attribute
        meta = {k.lower(): v for k, v in blob.metadata.items()}
        assert "blobsync_machine" in meta and "blobsync_install" in meta, blob.name
        assert meta["blobsync_install"] in IDS.values()
        assert meta["blobsync_machine"] in ("machine-A", "machine-B")
        assert "mtime" in meta  # rclone's key stays
        text = json.dumps(meta)
        assert all(s not in text for s in secrets), (blob.name, meta)
        assert all(k.isidentifier() and "-" not in k for k in blob.metadata)
        assert sum(len(k) + len(v) for k, v in blob.metadata.items()) <= 8192
        assert all(v.isascii() for v in blob.metadata.values())
    # and a blob another tool wrote reads as "another app"
    cc.upload_blob("foreign.txt", b"foreign", overwrite=True)
    pair.sync("B")
    (row,) = pair.engines["B"].history.changes(rel_path="foreign.txt")
    assert row.kind is ChangeKind.DOWNLOADED and row.writer is None


# ---- cost -----------------------------------------------------------------------------------


def _cost(azurite, container: str, tmp: Path, keep: bool) -> dict[str, list[Req]]:
    p = Pair(azurite, container, tmp)
    wire = Wire(azurite, container)
    a = p.roots["A"]
    out: dict[str, list[Req]] = {}
    try:
        for i in range(5):
            write(a, f"f{i}.txt", f"file {i}".encode())
        p.engines["A"].store.create_container()
        p.sync("A", keep_versions=keep)
        write(a, "f0.txt", b"file 0, edited")
        wire.mark()
        p.sync("A", keep_versions=keep)
        out["first overwrite"] = wire.since()
        steps = {
            "overwrite": lambda: write(a, "f1.txt", b"file 1, edited"),
            "delete": lambda: (a / "f2.txt").unlink(),
            "create": lambda: write(a, "new.txt", b"new"),
            "idle": lambda: None,
        }
        for name, change in steps.items():
            change()
            wire.mark()
            p.sync("A", keep_versions=keep)
            out[name] = wire.since()
    finally:
        p.close()
    return out


def test_cost_of_the_container_bin_one_copy_per_replaced_or_deleted_blob(
    azurite, tmp_path: Path
) -> None:
    with_bin = _cost(azurite, "costa" + os.urandom(6).hex(), tmp_path / "on", keep=True)
    without = _cost(azurite, "costb" + os.urandom(6).hex(), tmp_path / "off", keep=False)
    figures = {}
    for step in with_bin:
        extra = len(with_bin[step]) - len(without[step])
        copies = [r for r in with_bin[step] if r.copy]
        figures[step] = (len(without[step]), len(with_bin[step]), extra)
        if step == "first overwrite":
            # once a day per pair, the first replacement also asks what the account
            # keeps by itself (Get Blob Service Properties + a one-item versions listing)
            # (the service properties are the account's, not in this container's log)
            probes = [r for r in with_bin[step] if "include=versions" in r.path]
            assert extra == 2 and len(probes) == 1, [(r.method, r.path) for r in with_bin[step]]
        elif step in ("overwrite", "delete"):
            # exactly one more request: a Copy Blob into .blobsync/trash/, create-only,
            # source pinned to the listed ETag, no body (the service copies the bytes)
            assert extra == 1, (
                step,
                [(r.method, r.path) for r in with_bin[step]],
                [(r.method, r.path) for r in without[step]],
            )
            (copy,) = copies
            assert "/.blobsync/trash/" in "/" + copy.path
            assert copy.headers.get("if-none-match") == "*"
            assert copy.headers.get("x-ms-source-if-match")
            assert copy.headers.get("content-length", "0") == "0"
        else:
            assert extra == 0 and not copies, (step, [(r.method, r.path) for r in with_bin[step]])
    assert figures["idle"][1] == figures["idle"][0]  # a no-change re-sync: no extra request
    print("\ncontainer bin cost (requests without bin, with bin, extra):", figures)


def test_bins_and_history_survive_a_lost_state_database(pair: Pair) -> None:
    a, b = pair.roots["A"], pair.roots["B"]
    write(a, "keep.txt", b"keep")
    write(a, "gone.txt", b"gone soon")
    pair.sync("A")
    pair.sync("B")
    (b / "gone.txt").unlink()
    pair.sync("B")
    ra = pair.sync("A")
    engine = pair.engines["A"]
    engine.close()
    for suffix in ("", "-wal", "-shm"):
        Path(str(pair.tmp / "state-A.sqlite3") + suffix).unlink(missing_ok=True)
    fresh = pair.engines["A"] = pair._open("A")
    sources = {v.source for v in fresh.versions("gone.txt")}
    assert sources == {VersionSource.LOCAL_BIN, VersionSource.CONTAINER_BIN}
    assert [c.kind for c in fresh.history.changes(run_id=ra.run_id)] == [ChangeKind.DELETED_LOCAL]
    undo = fresh.undo(ra.run_id, pair.opts("A"))
    assert undo.restored == ["gone.txt"] and (a / "gone.txt").read_bytes() == b"gone soon"
    pair.sync("B")
    assert (b / "gone.txt").read_bytes() == b"gone soon"
