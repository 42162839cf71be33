"""Archive-tier blobs against Azurite 3.37 (Set Blob Tier Archive works there and a
later Get Blob answers 409 BlobArchived): listed with their tier, never downloaded or
overwritten, announced once, rehydrated by request, then synced.

Azurite rehydrates at once; Azure keeps a blob "rehydrate-pending-to-hot" for hours.
That pending state is proven against the in-memory store and with Azure's listing XML
(tests/core/test_archive_engine.py).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient

from blobsync.core import events as ev
from blobsync.core.app.emulator import Azurite
from blobsync.core.engine import SyncEngine
from blobsync.core.errors import BlobArchived
from blobsync.core.models import (
    AccessTier,
    ActionKind,
    ArchivedBlob,
    IssueKind,
    RehydratePriority,
)
from blobsync.core.names import is_reserved
from blobsync.core.remote.azure import open_store

pytestmark = pytest.mark.azurite


@pytest.fixture
def container(azurite: Azurite, container_name: str) -> ContainerClient:
    sdk = BlobServiceClient.from_connection_string(azurite.connection_string)
    return sdk.create_container(container_name)


def test_archived_blobs_are_a_state_not_a_download(
    azurite: Azurite, container: ContainerClient, container_name: str, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "kept.txt").write_bytes(b"synced before")
    events: list[ev.Event] = []
    store = open_store(azurite.credentials, container_name)
    engine = SyncEngine(root, store, tmp_path / "s.sqlite3", events.append)
    try:
        assert engine.sync().uploaded == 1
        container.upload_blob("cold.txt", b"archived data")
        container.get_blob_client("cold.txt").set_standard_blob_tier("Archive")
        container.get_blob_client("kept.txt").set_standard_blob_tier("Archive")

        tiers = {e.rel_path: e.tier for e in store.list_blobs() if not is_reserved(e.rel_path)}
        assert tiers == {"cold.txt": AccessTier.ARCHIVE, "kept.txt": AccessTier.ARCHIVE}
        entry = store.get_entry("cold.txt")
        assert entry is not None and entry.archived

        first = engine.sync()
        assert first.downloaded == 0 and first.in_sync and not first.issues
        assert first.archived == [ArchivedBlob("cold.txt", ActionKind.DOWNLOAD, None, 13)]
        assert first.archived_new == 1
        assert not (root / "cold.txt").exists()
        # kept.txt is archived but both sides agree: nothing to hold, nothing shown.

        (root / "kept.txt").write_bytes(b"changed here")
        events.clear()
        second = engine.sync()
        assert second.uploaded == 0 and second.in_sync
        assert {b.rel_path: b.held for b in second.archived} == {
            "cold.txt": ActionKind.DOWNLOAD,
            "kept.txt": ActionKind.UPLOAD,
        }
        announced = [e.blob.rel_path for e in events if isinstance(e, ev.ArchivedFound)]
        assert announced == ["kept.txt"]  # cold.txt was announced by the first run only
        blob = container.get_blob_client("kept.txt").get_blob_properties()
        assert blob.blob_tier == "Archive"  # not overwritten

        events.clear()
        third = engine.sync()
        assert third.archived_new == 0 and len(third.archived) == 2
        assert not [e for e in events if isinstance(e, ev.ArchivedFound)]
        assert [b.rel_path for b in engine.archived_blobs()] == ["cold.txt", "kept.txt"]

        engine.rehydrate("cold.txt", AccessTier.HOT, RehydratePriority.HIGH)
        assert container.get_blob_client("cold.txt").get_blob_properties().blob_tier == "Hot"
        fourth = engine.sync()
        assert fourth.downloaded == 1
        assert (root / "cold.txt").read_bytes() == b"archived data"
        assert [b.rel_path for b in engine.archived_blobs()] == ["kept.txt"]
    finally:
        engine.close()


def test_a_blob_archived_after_listing_is_a_typed_item_error(
    azurite: Azurite, container: ContainerClient, container_name: str
) -> None:
    etag = container.upload_blob("late.txt", b"x").get_blob_properties().etag
    container.get_blob_client("late.txt").set_standard_blob_tier("Archive")
    store = open_store(azurite.credentials, container_name)
    try:
        with pytest.raises(BlobArchived) as info:
            store.download("late.txt", etag, io.BytesIO())
    finally:
        store.close()
    assert info.value.kind is IssueKind.ARCHIVED
