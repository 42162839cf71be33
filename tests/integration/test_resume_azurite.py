"""Large transfers stopped midway (cancel, pause, crash) resume against Azurite: an
upload with the blocks it already staged (Azure keeps uncommitted blocks for a week;
the block IDs name the content (its MD5; hashed while sending: its size and mtime),
the block size and the index, so the next try finds them with Get Block List and sends
only the rest), a download from an offset pinned to the same ETag."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator

import pytest

from blobsync.core.app.emulator import Azurite
from blobsync.core.errors import Cancelled, PreconditionFailed
from blobsync.core.remote.azure import AzureBlobStore, open_store
from blobsync.core.remote.base import CancelToken
from blobsync.core.remote.blobmeta import resumable_block_id

MTIME = 1_700_000_000_000_000_000
BLOCK = 256
SIZE = 40 * BLOCK


@pytest.fixture
def azure_store(azurite: Azurite, container_name: str) -> Iterator[AzureBlobStore]:
    store = open_store(azurite.credentials, container_name)
    store.create_container()
    store.single_shot_max = 1000
    store.min_block_size = BLOCK
    store.upload_threads = 2
    try:
        yield store
    finally:
        store.close()


def count_staged(store: AzureBlobStore) -> list[int]:
    """Counts Put Block requests (sizes) the store sends from now on."""
    sent: list[int] = []
    put_block = store._put_block

    def counted(blob_name: str, block_id: str, chunk: bytes) -> None:
        sent.append(len(chunk))
        put_block(blob_name, block_id, chunk)

    store._put_block = counted  # type: ignore[method-assign]
    return sent


def test_a_cancelled_block_upload_resumes_with_the_blocks_it_sent(
    azure_store: AzureBlobStore,
) -> None:
    data = os.urandom(SIZE)
    md5 = hashlib.md5(data).digest()
    cancel = CancelToken()
    moved: list[int] = []

    def progress(n: int) -> None:
        moved.append(n)
        if sum(moved) >= 12 * BLOCK:
            cancel.cancel()

    with pytest.raises(Cancelled):
        azure_store.upload("big.bin", io.BytesIO(data), SIZE, md5, MTIME, None, progress, cancel)
    assert azure_store.get_entry("big.bin") is None  # nothing committed

    sent = count_staged(azure_store)
    done: list[int] = []
    result = azure_store.upload("big.bin", io.BytesIO(data), SIZE, md5, MTIME, None, done.append)
    assert azure_store.resumed_bytes >= 12 * BLOCK  # what the first try had sent
    assert sum(sent) + azure_store.resumed_bytes == SIZE and sum(sent) < SIZE - 11 * BLOCK
    assert sum(done) == SIZE  # progress counts the resumed blocks too
    sink = io.BytesIO()
    azure_store.download("big.bin", result.etag, sink)
    assert sink.getvalue() == data


def test_other_content_of_the_same_size_reuses_nothing(azure_store: AzureBlobStore) -> None:
    first = os.urandom(SIZE)
    cancel = CancelToken()

    def progress(_n: int) -> None:
        cancel.cancel()

    with pytest.raises(Cancelled):
        azure_store.upload(
            "f.bin",
            io.BytesIO(first),
            SIZE,
            hashlib.md5(first).digest(),
            MTIME,
            None,
            progress,
            cancel,
        )
    second = os.urandom(SIZE)  # the file changed before the next try
    sent = count_staged(azure_store)
    result = azure_store.upload(
        "f.bin", io.BytesIO(second), SIZE, hashlib.md5(second).digest(), MTIME, None
    )
    assert azure_store.resumed_bytes == 0 and sum(sent) == SIZE
    sink = io.BytesIO()
    azure_store.download("f.bin", result.etag, sink)
    assert sink.getvalue() == second


def test_block_ids_name_content_block_size_and_place() -> None:
    md5 = hashlib.md5(b"x").digest()
    ids = {resumable_block_id(md5, BLOCK, i) for i in range(3)}
    assert len(ids) == 3
    assert resumable_block_id(md5, BLOCK, 1) != resumable_block_id(md5, 2 * BLOCK, 1)
    other = hashlib.md5(b"y").digest()
    assert resumable_block_id(md5, BLOCK, 0) != resumable_block_id(other, BLOCK, 0)
    assert (
        len({len(resumable_block_id(md5, b, i)) for b in (1, 4000 << 20) for i in (0, 49999)}) == 1
    )


def test_a_download_resumes_from_an_offset_pinned_to_the_same_version(
    azure_store: AzureBlobStore,
) -> None:
    data = os.urandom(SIZE)
    result = azure_store.upload(
        "d.bin", io.BytesIO(data), SIZE, hashlib.md5(data).digest(), MTIME, None
    )
    azure_store.parallel_download_min = 2 * BLOCK  # the resumed part is one ranged request
    sink = io.BytesIO()
    assert azure_store.download("d.bin", result.etag, sink, offset=3 * BLOCK) == SIZE - 3 * BLOCK
    assert sink.getvalue() == data[3 * BLOCK :]
    newer = os.urandom(SIZE)
    azure_store.upload(
        "d.bin", io.BytesIO(newer), SIZE, hashlib.md5(newer).digest(), MTIME, result.etag
    )
    with pytest.raises(PreconditionFailed):  # another version: no mixing of the two
        azure_store.download("d.bin", result.etag, io.BytesIO(), offset=3 * BLOCK)
