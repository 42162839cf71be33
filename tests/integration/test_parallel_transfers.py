"""Parallel block uploads and ranged parallel downloads of AzureBlobStore, against Azurite.

The knobs are turned down (KiB-sized blocks and ranges) so small blobs take the same
paths as multi-GiB ones: the content arrives whole and in order, Content-MD5 is stored
for a block upload, every request stays conditional (a blob replaced part-way is a
PreconditionFailed, never a mix of two versions), a range whose body breaks resumes
from where it broke, and cancel stops both directions with nothing committed.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import ServiceResponseError

from blobsync.core.app.emulator import Azurite
from blobsync.core.errors import Cancelled, ItemError, PreconditionFailed
from blobsync.core.models import IssueKind
from blobsync.core.remote.azure import AzureBlobStore, open_store
from blobsync.core.remote.azure import store as azure_blob
from blobsync.core.remote.base import CancelToken

pytestmark = pytest.mark.azurite

MTIME = 1_700_000_000_123_456_789
KiB = 1024
RANGE = 600 * KiB  # three chunks of the transport's 256 KiB per range


@pytest.fixture
def azure_store(azurite: Azurite, container_name: str) -> Iterator[AzureBlobStore]:
    store = open_store(azurite.credentials, container_name)
    store.create_container()
    store.single_shot_max = 300 * KiB
    store.min_block_size = 128 * KiB
    store.upload_threads = 4
    store.range_size = RANGE
    store.parallel_download_min = 2 * RANGE
    store.download_threads = 3
    try:
        yield store
    finally:
        store.close()


def _put(store: AzureBlobStore, name: str, data: bytes, if_match: str | None = None) -> str:
    md5 = hashlib.md5(data).digest()
    return store.upload(name, io.BytesIO(data), len(data), md5, MTIME, if_match).etag


class Recorder:
    """Wraps the store's pipeline: records each request's method and headers and lets a
    test act before a given request is sent (``before``) or break its body."""

    def __init__(self, store: AzureBlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.pipeline = store.pipeline
        self.real_run = self.pipeline.run
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.before: dict[int, Any] = {}
        self.break_body: set[int] = set()
        monkeypatch.setattr(self.pipeline, "run", self.run)

    def run(self, request: Any, **kwargs: Any) -> Any:
        with self.lock:
            self.requests.append((request.method, dict(request.headers)))
            number = len(self.requests)
            action = self.before.get(number)
        if action is not None:
            action()
        result = self.real_run(request, **kwargs)
        if number in self.break_body:
            response = result.http_response
            real_iter = response.iter_bytes

            def broken() -> Iterator[bytes]:
                it = real_iter()
                yield next(it)
                raise ServiceResponseError("connection reset")

            response.iter_bytes = broken
        return result

    def gets(self) -> list[dict[str, str]]:
        return [h for m, h in self.requests if m == "GET"]


def test_block_upload_in_parallel_stores_content_and_md5(azure_store: AzureBlobStore) -> None:
    data = os.urandom(2 * 1024 * KiB + 3)  # 17 blocks of 128 KiB
    moved: list[int] = []
    result = azure_store.upload(
        "p.bin", io.BytesIO(data), len(data), hashlib.md5(data).digest(), MTIME, None, moved.append
    )
    committed, _ = azure_store.client.get_blob_client("p.bin").get_block_list("committed")
    assert [b.size for b in committed] == [128 * KiB] * 16 + [3]
    assert sum(moved) == len(data)
    entry = azure_store.get_entry("p.bin")
    assert entry is not None and entry.md5 == hashlib.md5(data).digest()
    assert (entry.size, entry.etag, entry.mtime_ns) == (len(data), result.etag, MTIME)
    listed = {e.rel_path: e for e in azure_store.list_blobs()}
    assert listed["p.bin"].md5 == entry.md5
    sink = io.BytesIO()
    azure_store.download("p.bin", result.etag, sink)
    assert sink.getvalue() == data


def test_block_upload_keeps_the_conditions(azure_store: AzureBlobStore) -> None:
    first = os.urandom(700 * KiB)
    etag = _put(azure_store, "c.bin", first)
    second = os.urandom(900 * KiB)
    with pytest.raises(PreconditionFailed):
        _put(azure_store, "c.bin", second)  # create-only, but it exists
    new_etag = _put(azure_store, "c.bin", second, if_match=etag)
    with pytest.raises(PreconditionFailed):
        _put(azure_store, "c.bin", first, if_match=etag)  # stale ETag
    entry = azure_store.get_entry("c.bin")
    assert entry is not None and entry.etag == new_etag
    assert entry.md5 == hashlib.md5(second).digest()


def test_block_upload_of_a_changed_file_or_cancelled_commits_nothing(
    azure_store: AzureBlobStore,
) -> None:
    data = os.urandom(1024 * KiB)
    etag = _put(azure_store, "x.bin", data)
    before = azure_store.get_entry("x.bin")
    changed = bytearray(data)
    changed[700 * KiB] ^= 1  # the file changed after it was hashed
    with pytest.raises(ItemError) as info:
        azure_store.upload(
            "x.bin", io.BytesIO(bytes(changed)), len(data), hashlib.md5(data).digest(), 1, etag
        )
    assert info.value.kind is IssueKind.FILE_CHANGED
    token = CancelToken()
    other = os.urandom(1024 * KiB)
    with pytest.raises(Cancelled):
        azure_store.upload(
            "x.bin",
            io.BytesIO(other),
            len(other),
            hashlib.md5(other).digest(),
            1,
            etag,
            lambda n: token.cancel(),
            token,
        )
    assert azure_store.get_entry("x.bin") == before


def test_ranged_download_is_whole_in_order_and_every_range_pinned(
    azure_store: AzureBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(5 * RANGE + 7)
    etag = _put(azure_store, "r.bin", data)
    rec = Recorder(azure_store, monkeypatch)
    moved: list[int] = []
    sink = io.BytesIO()
    assert azure_store.download("r.bin", etag, sink, moved.append) == len(data)
    assert sink.getvalue() == data and sum(moved) == len(data)
    gets = rec.gets()
    assert all(h["If-Match"] == etag for h in gets)
    assert gets[0].get("x-ms-range") is None  # the first range is read from a plain GET
    ranges = sorted(h["x-ms-range"] for h in gets[1:])
    expected = [
        f"bytes={s}-{min(s + RANGE, len(data)) - 1}" for s in range(RANGE, len(data), RANGE)
    ]
    assert ranges == sorted(expected)


def test_ranged_download_of_a_blob_replaced_part_way_fails_cleanly(
    azure_store: AzureBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(4 * RANGE)
    etag = _put(azure_store, "m.bin", data)
    replacement = os.urandom(4 * RANGE)
    rec = Recorder(azure_store, monkeypatch)
    # Another machine replaces the blob after the first range was sent.
    rec.before[2] = lambda: _put(azure_store, "m.bin", replacement, if_match=etag)
    with pytest.raises(PreconditionFailed):
        azure_store.download("m.bin", etag, io.BytesIO())
    entry = azure_store.get_entry("m.bin")
    assert entry is not None and entry.md5 == hashlib.md5(replacement).digest()


def test_a_range_whose_body_breaks_resumes_where_it_broke(
    azure_store: AzureBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(azure_blob, "STATUS_BACKOFFS", (0.0, 0.0))
    azure_store.download_threads = 1  # so request 2 is the range at RANGE
    data = os.urandom(3 * RANGE + 11)
    etag = _put(azure_store, "b.bin", data)
    rec = Recorder(azure_store, monkeypatch)
    rec.break_body.add(2)
    sink = io.BytesIO()
    assert azure_store.download("b.bin", etag, sink) == len(data)
    assert sink.getvalue() == data
    ranges = [h.get("x-ms-range") for h in rec.gets()]
    assert ranges[1] == f"bytes={RANGE}-{2 * RANGE - 1}"
    assert f"bytes={RANGE + 256 * KiB}-{2 * RANGE - 1}" in ranges  # resumed after one chunk


def test_ranged_download_cancel(azure_store: AzureBlobStore) -> None:
    data = os.urandom(6 * RANGE)
    etag = _put(azure_store, "k.bin", data)
    token = CancelToken()
    with pytest.raises(Cancelled):
        azure_store.download("k.bin", etag, io.BytesIO(), lambda n: token.cancel(), token)
    # The store is still usable afterwards (its range pool was not wedged).
    sink = io.BytesIO()
    assert azure_store.download("k.bin", etag, sink) == len(data) and sink.getvalue() == data


def test_a_listing_page_whose_body_breaks_is_asked_for_again(
    azure_store: AzureBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(azure_blob, "STATUS_BACKOFFS", (0.0, 0.0))
    names = [f"n{i}" for i in range(5)]
    for name in names:
        _put(azure_store, name, name.encode())
    azure_store.page_size = 2
    rec = Recorder(azure_store, monkeypatch)
    rec.break_body.add(2)  # the second page breaks off after its first chunk
    assert [e.rel_path for e in azure_store.list_blobs()] == names
    markers = [h for m, h in rec.requests if m == "GET"]
    assert len(markers) == 4  # 3 pages, the second one twice
