"""A large download stopped midway (cancel, pause, lost connection, crash) continues in
its partial file on the next run instead of starting again; the whole file is still
checked against the blob's MD5, and a new version of the blob starts afresh."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.errors import Cancelled
from blobsync.core.local import fs
from blobsync.core.local.scanner import is_temp_name
from blobsync.core.remote.base import CancelToken
from blobsync.core.remote.memory import MemoryStore

MiB = 1024 * 1024
SIZE = fs.RESUME_MIN + 3 * MiB


def put(store: MemoryStore, name: str, data: bytes) -> None:
    store.upload(name, io.BytesIO(data), len(data), hashlib.md5(data).digest(), 1, None)


def partials(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if is_temp_name(p.name)]


class CancellingStore(MemoryStore):
    """Cancels the run once ``after`` bytes of a download have gone into the sink (the
    store checks the token between chunks, as the Azure store does)."""

    def __init__(self) -> None:
        super().__init__("c")
        self.chunk_size = MiB
        self.cancel: CancelToken | None = None
        self.after = 4 * MiB

    def download(self, blob_name, if_match, sink, progress=None, cancel=None, *, offset=0):  # type: ignore[no-untyped-def, override]
        token, after = self.cancel, self.after

        class Sink:
            written = 0

            def write(self, data: bytes) -> int:
                n = sink.write(data)
                Sink.written += len(data)
                if token is not None and Sink.written >= after:
                    token.cancel()
                return n

        return super().download(blob_name, if_match, Sink(), progress, cancel, offset=offset)  # type: ignore[arg-type]


def cancelled_midway(root: Path, store: CancellingStore, state: Path) -> None:
    """A first run that is cancelled once 4 MiB of big.bin have arrived."""
    store.cancel = CancelToken()
    engine = SyncEngine(root, store, state)
    try:
        with pytest.raises(Cancelled):
            engine.sync(SyncOptions(workers=1), store.cancel)
    finally:
        engine.close()
        store.cancel = None


@pytest.fixture
def store() -> CancellingStore:
    return CancellingStore()


def sync(root: Path, store: MemoryStore, state: Path):  # type: ignore[no-untyped-def]
    engine = SyncEngine(root, store, state)
    try:
        return engine.sync(SyncOptions(workers=1))
    finally:
        engine.close()


def test_a_cancelled_download_resumes_where_it_stopped(
    tmp_path: Path, store: CancellingStore
) -> None:
    data = os.urandom(SIZE)
    put(store, "big.bin", data)
    root, state = tmp_path / "f", tmp_path / "s.sqlite3"
    root.mkdir()
    cancelled_midway(root, store, state)
    [partial] = partials(root)
    kept = partial.stat().st_size
    assert 4 * MiB <= kept < SIZE and not (root / "big.bin").exists()

    result = sync(root, store, state)
    assert (root / "big.bin").read_bytes() == data
    assert result.bytes_resumed == kept and partials(root) == []


def test_a_new_version_of_the_blob_starts_afresh(tmp_path: Path, store: CancellingStore) -> None:
    put(store, "big.bin", os.urandom(SIZE))
    root, state = tmp_path / "f", tmp_path / "s.sqlite3"
    root.mkdir()
    cancelled_midway(root, store, state)
    assert len(partials(root)) == 1
    entry = store.get_entry("big.bin")
    assert entry is not None
    newer = os.urandom(SIZE)
    store.upload("big.bin", io.BytesIO(newer), SIZE, hashlib.md5(newer).digest(), 2, entry.etag)
    result = sync(root, store, state)
    assert result.bytes_resumed == 0 and (root / "big.bin").read_bytes() == newer
    assert partials(root) == []  # the old version's partial file went too


def test_a_partial_file_gone_bad_is_caught_by_the_md5_and_fetched_again(
    tmp_path: Path, store: CancellingStore
) -> None:
    data = os.urandom(SIZE)
    put(store, "big.bin", data)
    root, state = tmp_path / "f", tmp_path / "s.sqlite3"
    root.mkdir()
    cancelled_midway(root, store, state)
    [partial] = partials(root)
    with partial.open("r+b") as fh:  # e.g. a power cut left zeros where data was
        fh.write(b"\0" * 1024)
    first = sync(root, store, state)
    assert not (root / "big.bin").exists() and partials(root) == []
    assert [i.rel_path for i in first.issues] == ["big.bin"]
    assert "checksum" in first.issues[0].message
    second = sync(root, store, state)
    assert second.bytes_resumed == 0 and (root / "big.bin").read_bytes() == data
