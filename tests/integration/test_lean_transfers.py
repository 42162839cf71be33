"""The lean Put Blob / Get Blob paths of AzureBlobStore, proven against Azurite.

Uploads and downloads go through the client's pipeline without the SDK's per-call
layer (a benchmark finding, bench/RESULTS.md). These tests pin what must not change:
Content-MD5 and ``mtime`` stored, conditions honoured, awkward names round-trip, a
file that changes while it is streamed writes nothing, cancel stops a stream, and a
download whose body breaks off resumes to the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import os
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
NAMES = ["plain.bin", "c d/é & <x>.txt", "日本/語#?%41+", "a'b\"c"]


@pytest.fixture
def azure_store(azurite: Azurite, container_name: str) -> Iterator[AzureBlobStore]:
    store = open_store(azurite.credentials, container_name)
    store.create_container()
    try:
        yield store
    finally:
        store.close()


def _put(store: AzureBlobStore, name: str, data: bytes, if_match: str | None = None) -> str:
    md5 = hashlib.md5(data).digest()
    return store.upload(name, io.BytesIO(data), len(data), md5, MTIME, if_match).etag


@pytest.mark.parametrize("streamed", [False, True])
def test_upload_stores_md5_mtime_and_awkward_names(
    azure_store: AzureBlobStore, monkeypatch: pytest.MonkeyPatch, streamed: bool
) -> None:
    if streamed:
        monkeypatch.setattr(azure_blob, "IN_MEMORY_MAX", 10)
    reported: list[int] = []
    for i, name in enumerate(NAMES):
        data = os.urandom(3000 + i)
        md5 = hashlib.md5(data).digest()
        result = azure_store.upload(
            name, io.BytesIO(data), len(data), md5, MTIME, None, progress=reported.append
        )
        entry = azure_store.get_entry(name)
        assert entry is not None
        assert (entry.size, entry.md5, entry.mtime_ns, entry.etag) == (
            len(data),
            md5,
            MTIME,
            result.etag,
        )
        sink = io.BytesIO()
        assert azure_store.download(name, result.etag, sink) == len(data)
        assert sink.getvalue() == data
    assert sum(reported) == sum(3000 + i for i in range(len(NAMES)))
    assert sorted(e.rel_path for e in azure_store.list_blobs()) == sorted(NAMES)


def test_conditions_create_only_and_if_match(azure_store: AzureBlobStore) -> None:
    etag = _put(azure_store, "x", b"one")
    with pytest.raises(PreconditionFailed):
        _put(azure_store, "x", b"two")  # create-only on an existing blob
    new = _put(azure_store, "x", b"two", if_match=etag)
    with pytest.raises(PreconditionFailed):
        _put(azure_store, "x", b"three", if_match=etag)  # stale ETag
    with pytest.raises(PreconditionFailed):
        azure_store.download("x", etag, io.BytesIO())
    sink = io.BytesIO()
    azure_store.download("x", new, sink)
    assert sink.getvalue() == b"two"


class _Changing(io.BytesIO):
    """Reads return other bytes than the ones the MD5 was computed from."""

    def read(self, n: int | None = -1) -> bytes:
        return bytes(len(super().read(n)))


@pytest.mark.parametrize("source", ["changed", "shrunk", "grown"])
def test_a_file_changing_while_streamed_writes_nothing(
    azure_store: AzureBlobStore, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    monkeypatch.setattr(azure_blob, "IN_MEMORY_MAX", 10)
    data = os.urandom(50_000)
    md5 = hashlib.md5(data).digest()
    stream: io.BytesIO = {
        "changed": _Changing(data),
        "shrunk": io.BytesIO(data[:-7]),
        "grown": io.BytesIO(data[:-1] + b"XY"),
    }[source]
    with pytest.raises(ItemError) as info:
        azure_store.upload("f", stream, len(data), md5, MTIME, None)
    assert info.value.kind is IssueKind.FILE_CHANGED
    assert azure_store.get_entry("f") is None


def test_cancel_stops_a_streamed_upload(
    azure_store: AzureBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(azure_blob, "IN_MEMORY_MAX", 10)
    data = os.urandom(2_000_000)
    cancel = CancelToken()

    def progress(n: int) -> None:
        cancel.cancel()

    with pytest.raises(Cancelled):
        azure_store.upload(
            "big",
            io.BytesIO(data),
            len(data),
            hashlib.md5(data).digest(),
            MTIME,
            None,
            progress=progress,
            cancel=cancel,
        )
    assert azure_store.get_entry("big") is None


def test_a_download_that_breaks_off_resumes_to_the_same_bytes(
    azure_store: AzureBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = os.urandom(3 * 256 * 1024 + 5)
    etag = _put(azure_store, "r", data)
    pipeline = azure_store.pipeline
    real_run = pipeline.run
    ranges: list[str | None] = []

    def run(request: Any, **kwargs: Any) -> Any:
        ranges.append(request.headers.get("x-ms-range"))
        result = real_run(request, **kwargs)
        if len(ranges) == 1:  # the first body breaks after one block
            response = result.http_response
            real_iter = response.iter_bytes

            def broken() -> Iterator[bytes]:
                it = real_iter()
                yield next(it)
                raise ServiceResponseError("connection reset")

            response.iter_bytes = broken
        return result

    monkeypatch.setattr(pipeline, "run", run)
    monkeypatch.setattr(azure_blob, "STATUS_BACKOFFS", (0.0, 0.0))
    sink = io.BytesIO()
    assert azure_store.download("r", etag, sink) == len(data)
    assert sink.getvalue() == data
    assert ranges[0] is None and ranges[1] == f"bytes={256 * 1024}-"
