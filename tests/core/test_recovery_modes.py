"""Restore and undo in the mirror modes: an upload-only pair brings a container version
into its folder too (the folder is its source, so it stays restored); a download-only
pair, whose folder mirrors a container it never writes to, refuses with a sentence."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.engine.recovery import VersionSource
from blobsync.core.errors import ItemError
from blobsync.core.models import SyncMode
from blobsync.core.remote.memory import MemoryStore

UP = SyncOptions(mode=SyncMode.UPLOAD)
DOWN = SyncOptions(mode=SyncMode.DOWNLOAD)


def engine(tmp_path: Path, store: MemoryStore, name: str = "a") -> SyncEngine:
    root = tmp_path / name
    root.mkdir(exist_ok=True)
    return SyncEngine(root, store, tmp_path / f"{name}.sqlite3")


def test_an_upload_only_pair_restores_a_container_version_into_its_folder(
    tmp_path: Path,
) -> None:
    store = MemoryStore("c")
    e = engine(tmp_path, store)
    try:
        (e.local_root / "doc.txt").write_text("v1")
        e.sync(UP)
        # Someone else overwrote the blob; the upload-only sync put the folder's back,
        # keeping theirs in the container's bin.
        current = store.get_entry("doc.txt")
        assert current is not None
        store.upload(
            "doc.txt",
            io.BytesIO(b"theirs"),
            6,
            hashlib.md5(b"theirs").digest(),
            1,
            current.etag,
        )
        e.sync(UP)
        assert store.content("doc.txt") == b"v1"
        theirs = [
            v
            for v in e.versions("doc.txt")
            if v.source is VersionSource.CONTAINER_BIN and v.size == 6
        ]
        assert theirs
        e.restore("doc.txt", theirs[0], options=UP)
        assert (e.local_root / "doc.txt").read_text() == "theirs"
        assert store.content("doc.txt") == b"theirs"
        e.sync(UP)  # and it stays restored
        assert store.content("doc.txt") == b"theirs"
        assert any(
            v.source is VersionSource.LOCAL_BIN and v.size == 2 for v in e.versions("doc.txt")
        )
    finally:
        e.close()


def test_a_download_only_pair_refuses_restore_and_undo_and_says_where_versions_are(
    tmp_path: Path,
) -> None:
    store = MemoryStore("c")
    store.put_raw("doc.txt", b"v1")
    e = engine(tmp_path, store)
    try:
        result = e.sync(DOWN)
        writes = store.writes
        with pytest.raises(ItemError, match="only downloads") as info:
            e.restore("doc.txt", options=DOWN)
        assert str(e.versions_folder.folder) in info.value.message
        with pytest.raises(ItemError, match="only downloads"):
            e.undo(result.run_id, options=DOWN)
        assert store.writes == writes and (e.local_root / "doc.txt").read_text() == "v1"
    finally:
        e.close()
