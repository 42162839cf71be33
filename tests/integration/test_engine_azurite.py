"""The sync engine against a real Azure Storage server (Azurite): every behaviour that
touches Azure, proven on the wire."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient
from folders import tree, write

from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.models import IssueKind
from blobsync.core.names import is_reserved
from blobsync.core.remote.azure import AzureBlobStore, open_store


@pytest.fixture
def sdk(azurite) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(azurite.connection_string)


def container_blobs(sdk: BlobServiceClient, container: str) -> dict[str, bytes]:
    """The synced blobs (BlobSync's own ``.blobsync/`` space, e.g. the bin, left out)."""
    cc = sdk.get_container_client(container)
    return {
        b.name: cc.download_blob(b.name).readall()
        for b in cc.list_blobs()
        if not is_reserved(b.name)
    }


@pytest.fixture
def engine_for(azurite, container_name, tmp_path):
    made: list[SyncEngine] = []

    def make(root: Path, name: str = "a", store: AzureBlobStore | None = None) -> SyncEngine:
        root.mkdir(parents=True, exist_ok=True)
        engine = SyncEngine(
            root,
            store or open_store(azurite.credentials, container_name),
            tmp_path / f"{name}.sqlite3",
        )
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.close()


def writes_logged(azurite) -> int:
    """PUT/DELETE requests Azurite has seen so far (its --debug log)."""
    text = azurite.debug_log.read_text(errors="replace")
    return len(re.findall(r"RequestMethod=(PUT|DELETE)", text))


def test_nested_tree_upload_with_md5_and_zero_write_rerun(
    azurite, sdk, container_name, engine_for, tmp_path
):
    root = tmp_path / "a"
    big = os.urandom(17 * 1024 * 1024 + 123)  # above the single-upload threshold: block upload
    write(root, "big.bin", big)
    write(root, "empty.txt", b"")
    write(root, "ünïcödé/日本語/файл ☃.txt", "unicode")
    write(root, "a/b/c/d/e.txt", "deep")
    engine = engine_for(root)
    result = engine.sync()
    assert result.container_created and result.uploaded == 4 and result.in_sync
    assert container_blobs(sdk, container_name) == tree(root)
    props = {
        b.name: b for b in sdk.get_container_client(container_name).list_blobs(include=["metadata"])
    }
    assert bytes(props["big.bin"].content_settings.content_md5) == hashlib.md5(big).digest()
    assert bytes(props["empty.txt"].content_settings.content_md5) == hashlib.md5(b"").digest()
    # rclone's mtime, then who wrote it (a block upload carries it like a single Put Blob)
    assert {k.lower() for k in props["big.bin"].metadata} == {
        "mtime",
        "blobsync_machine",
        "blobsync_install",
    }
    before = writes_logged(azurite)
    again = engine.sync()
    assert again.writes == 0 and again.in_sync
    assert writes_logged(azurite) == before  # no PUT/DELETE reached the server


def test_download_two_way_edits_deletes_and_rename(sdk, container_name, engine_for, tmp_path):
    sdk.create_container(container_name)
    cc = sdk.get_container_client(container_name)
    for name, data in {
        "r1.txt": b"one",
        "dir/r2.txt": b"two",
        "old-name.txt": b"rename me",
    }.items():
        cc.upload_blob(name, data)
    root = tmp_path / "a"
    engine = engine_for(root)
    assert engine.sync().downloaded == 3
    assert tree(root) == {"r1.txt": b"one", "dir/r2.txt": b"two", "old-name.txt": b"rename me"}
    # edits both ways, deletes both ways, a local rename
    write(root, "r1.txt", "one, edited locally")
    cc.upload_blob("dir/r2.txt", b"two, edited remotely", overwrite=True)
    cc.upload_blob("remote-new.txt", b"new remote")
    (root / "old-name.txt").rename(root / "new-name.txt")
    result = engine.sync()
    assert result.in_sync, result.issues
    expected = {
        "r1.txt": b"one, edited locally",
        "dir/r2.txt": b"two, edited remotely",
        "remote-new.txt": b"new remote",
        "new-name.txt": b"rename me",
    }
    assert tree(root) == container_blobs(sdk, container_name) == expected
    cc.delete_blob("remote-new.txt")
    (root / "r1.txt").unlink()
    result = engine.sync()
    assert (result.deleted_local, result.deleted_remote) == (1, 1)
    assert (
        tree(root)
        == container_blobs(sdk, container_name)
        == {
            "dir/r2.txt": b"two, edited remotely",
            "new-name.txt": b"rename me",
        }
    )


class RacingStore(AzureBlobStore):
    """Another client writes the blob just before our conditional write reaches it."""

    def __init__(self, *args, sdk: BlobServiceClient, victim: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._sdk, self._victim = sdk, victim

    def upload(self, blob_name, *args, **kwargs):
        if blob_name == self._victim and self._sdk is not None:
            self._sdk.get_blob_client(self.container, blob_name).upload_blob(
                b"written by another machine", overwrite=True
            )
            self._sdk = None
        return super().upload(blob_name, *args, **kwargs)


def test_second_writer_between_listing_and_write(
    azurite, sdk, container_name, engine_for, tmp_path
):
    root = tmp_path / "a"
    write(root, "shared.txt", "v1")
    engine_for(root).sync()
    write(root, "shared.txt", "v2 from this machine")
    racing = RacingStore(azurite.credentials, container_name, sdk=sdk, victim="shared.txt")
    engine = engine_for(root, name="a", store=racing)
    result = engine.sync()
    assert not result.in_sync and result.skipped == 1
    assert [(i.rel_path, i.kind) for i in result.issues] == [
        ("shared.txt", IssueKind.CONCURRENT_CHANGE)
    ]
    blob = sdk.get_blob_client(container_name, "shared.txt").download_blob().readall()
    assert blob == b"written by another machine"  # not overwritten
    assert [i.rel_path for i in engine.pending_issues()] == ["shared.txt"]
    # The next run resolves it: both versions kept, on both sides.
    result = engine.sync(SyncOptions(hostname="pc1"))
    assert result.conflicts == 1
    files = tree(root)
    assert sorted(files.values()) == [b"v2 from this machine", b"written by another machine"]
    assert files == container_blobs(sdk, container_name)
    assert engine.sync().writes == 0


def test_two_engines_on_two_folders_converge(container_name, engine_for, sdk, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write(a, "only-a.txt", "A")
    write(a, "both.txt", "same")
    write(b, "only-b.txt", "B")
    write(b, "both.txt", "same")
    ea, eb = engine_for(a, "a"), engine_for(b, "b")
    ea.sync()
    eb.sync()
    ea.sync()
    write(a, "both.txt", "edited on a")
    write(b, "both.txt", "edited on b")
    ea.sync()
    eb.sync()
    ea.sync()
    assert tree(a) == tree(b) == container_blobs(sdk, container_name)
    # only-a, only-b, both.txt and one conflict copy: neither edit lost
    assert sorted(tree(a).values()) == [b"A", b"B", b"edited on a", b"edited on b"]


def test_blob_escaping_the_folder_is_never_written(sdk, container_name, engine_for, tmp_path):
    sdk.create_container(container_name)
    cc = sdk.get_container_client(container_name)
    cc.upload_blob("fine.txt", b"ok")
    cc.upload_blob("dir/\uff0e\uff0e/\uff0e\uff0e/escaped.txt", b"evil")  # look-alike dots
    cc.upload_blob("C:/windows.txt", b"evil")
    sandbox = tmp_path / "sandbox"
    root = sandbox / "root"
    result = engine_for(root).sync()
    assert tree(sandbox) == {"root/fine.txt": b"ok"}
    kinds = {i.rel_path: i.kind for i in result.issues}
    assert set(kinds.values()) == {IssueKind.NAME_NOT_ALLOWED} and len(kinds) == 2


def test_an_emptied_container_stops_then_restore_uploads_it_again(
    engine_for, sdk, container_name, tmp_path
):  # type: ignore[no-untyped-def]
    from blobsync.core.errors import SafetyReason, SafetyStop

    root = tmp_path / "root"
    for i in range(3):
        write(root, f"d/f{i}.txt", f"content {i}")
    engine = engine_for(root)
    assert engine.sync().uploaded == 3
    cc = sdk.get_container_client(container_name)
    for blob in list(cc.list_blobs()):
        cc.delete_blob(blob.name)  # the container stays, empty
    with pytest.raises(SafetyStop) as stop:
        engine.sync()
    assert stop.value.reason is SafetyReason.CONTAINER_EMPTIED
    assert stop.value.paths == ("d/f0.txt", "d/f1.txt", "d/f2.txt")
    assert len(tree(root)) == 3  # nothing deleted locally
    assert engine.sync(SyncOptions(restore_deleted=True)).uploaded == 3
    assert container_blobs(sdk, container_name) == tree(root)
    assert engine.sync().writes == 0


def test_an_emptied_folder_stops_then_restore_downloads_it_again(
    engine_for, sdk, container_name, tmp_path
):  # type: ignore[no-untyped-def]
    from blobsync.core.errors import SafetyReason, SafetyStop

    root = tmp_path / "root"
    write(root, "a.txt", "a")
    write(root, "b/c.txt", "c")
    engine = engine_for(root)
    engine.sync()
    for path in (root / "a.txt", root / "b" / "c.txt"):
        path.unlink()
    with pytest.raises(SafetyStop) as stop:
        engine.sync()
    assert stop.value.reason is SafetyReason.FOLDER_EMPTIED and stop.value.deletes_remote == 2
    assert engine.sync(SyncOptions(restore_deleted=True)).downloaded == 2
    assert tree(root) == {"a.txt": b"a", "b/c.txt": b"c"}
    assert len(container_blobs(sdk, container_name)) == 2
