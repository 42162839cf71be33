"""Listing a container on Azurite: pages (lean and SDK), a page whose body breaks off, a
malformed page, more than 5,000 blobs, a missing container, and the next page asked for
before this one is parsed (its marker read from the page's tail: a misread costs a
request, never a blob)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from azure.core.exceptions import ServiceResponseError

from blobsync.core.app.emulator import Azurite
from blobsync.core.errors import ContainerNotFound, ListingError
from blobsync.core.remote.azure import AzureBlobStore, open_store
from blobsync.core.remote.azure import store as azure_blob
from blobsync.core.remote.azure.policy import LIST_PAGE_RAMP

from .store_helpers import MTIME, counted_store, upload
from .store_helpers import azure_store as azure_store  # a fixture, used by name

pytestmark = pytest.mark.azurite


@pytest.mark.parametrize("lean", [True, False])
def test_listing_pages(azurite: Azurite, azure_store: AzureBlobStore, lean: bool) -> None:
    names = [f"f{i:04d}" for i in range(120)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: upload(azure_store, n, b"x"), names))
    store, policy = counted_store(azurite, azure_store.container)
    store.lean_listing = lean
    store.page_size = 50
    assert [e.rel_path for e in store.list_blobs()] == names
    assert policy.attempts == 3
    store.close()


def test_a_listing_page_whose_body_breaks_off_is_asked_for_again(
    azure_store: AzureBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A body that breaks off half-way is fetched again with the same marker, and
    # nothing of the broken half reaches the listing (no blob twice, none missing).
    names = [f"f{i:03d}" for i in range(30)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: upload(azure_store, n, b"x"), names))
    pipeline = azure_store.pipeline
    real_run = pipeline.run
    urls: list[str] = []

    def run(request: Any, **kwargs: Any) -> Any:
        urls.append(request.url)
        result = real_run(request, **kwargs)
        if len(urls) == 2:  # the second page's first try breaks in the middle
            response = result.http_response
            body = b"".join(response.iter_bytes())

            def broken() -> Iterator[bytes]:
                yield body[: len(body) // 2]
                raise ServiceResponseError("connection reset")

            response.iter_bytes = broken
        return result

    monkeypatch.setattr(pipeline, "run", run)
    monkeypatch.setattr(azure_blob, "STATUS_BACKOFFS", (0.0, 0.0))
    azure_store.page_size = 10
    assert [e.rel_path for e in azure_store.list_blobs()] == names
    assert len(urls) == 4 and "marker=" in urls[1] and urls[2] == urls[1]


@pytest.mark.parametrize(
    "damage",
    [
        (b"</Properties>", b"</Propertes>"),  # not XML
        (b"<Content-Length>1<", b"<Content-Length>one<"),  # XML, but no size
    ],
)
def test_a_malformed_listing_page_is_a_listing_error(
    azure_store: AzureBlobStore, monkeypatch: pytest.MonkeyPatch, damage: tuple[bytes, bytes]
) -> None:
    for i in range(4):
        upload(azure_store, f"f{i}", b"x")
    pipeline = azure_store.pipeline
    real_run = pipeline.run
    calls: list[str] = []

    def run(request: Any, **kwargs: Any) -> Any:
        calls.append(request.url)
        result = real_run(request, **kwargs)
        if len(calls) == 2:  # the second page comes back damaged
            response = result.http_response
            body = b"".join(response.iter_bytes()).replace(*damage)
            response.iter_bytes = lambda: iter([body])
        return result

    monkeypatch.setattr(pipeline, "run", run)
    azure_store.page_size = 2
    listing = azure_store.list_blobs()
    assert [next(listing).rel_path, next(listing).rel_path] == ["f0", "f1"]
    with pytest.raises(ListingError, match="malformed page; nothing was concluded"):
        next(listing)
    # A malformed page is not asked for again (the next one may have been asked for
    # already: it is asked for before a page is parsed, then dropped).
    assert calls[:2] == list(dict.fromkeys(calls[:2])) and calls.count(calls[1]) == 1


@pytest.mark.slow
def test_listing_more_than_5000_with_default_page_size(
    azurite: Azurite, azure_store: AzureBlobStore
) -> None:
    names = sorted(f"d{i % 7}/file-{i:05d}.txt" for i in range(5001))
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: upload(azure_store, n, b"x"), names))
    timings = {}
    results = {}
    for lean in (True, False):
        store, policy = counted_store(azurite, azure_store.container)
        store.lean_listing = lean
        started = time.monotonic()
        results[lean] = list(store.list_blobs())
        timings[lean] = time.monotonic() - started
        # The SDK: 5,000 then 1. Lean: the first pages smaller (500, 1,000, 2,000, 1,501).
        assert policy.attempts == (len(LIST_PAGE_RAMP) + 1 if lean else 2)
        store.close()
    assert results[True] == results[False]
    assert [e.rel_path for e in results[True]] == names
    assert all(e.mtime_ns == MTIME and e.md5 is not None for e in results[True])
    print(f"\nlisting 5,001 blobs: lean {timings[True]:.2f} s, SDK {timings[False]:.2f} s")


WEIRD_NAMES = ["c d", "é.txt", "a&b<c>'q'\"", "%41", "plus+sign", "日本/語", "tab-like\u00a0sp"]


def test_lean_and_sdk_listing_agree(azurite: Azurite, azure_store: AzureBlobStore) -> None:
    for i, name in enumerate(WEIRD_NAMES):
        upload(azure_store, name, name.encode(), mtime=MTIME + i)
    azure_store.client.upload_blob("no-md5-no-mtime", b"raw", validate_content=False)
    lean = list(azure_store.list_blobs())
    azure_store.lean_listing = False
    sdk = list(azure_store.list_blobs())
    assert lean == sdk
    assert {e.rel_path for e in lean} == {*WEIRD_NAMES, "no-md5-no-mtime"}
    raw = next(e for e in lean if e.rel_path == "no-md5-no-mtime")
    assert raw.mtime_ns is None


@pytest.mark.parametrize("lean", [True, False])
def test_listing_of_missing_container(azurite: Azurite, container_name: str, lean: bool) -> None:
    store = open_store(azurite.credentials, container_name)
    store.lean_listing = lean
    with pytest.raises(ContainerNotFound):
        list(store.list_blobs())


@pytest.mark.parametrize("misread", ["", "f0007", "zzz"])
def test_a_misread_next_marker_costs_a_request_not_a_blob(
    azure_store: AzureBlobStore, monkeypatch: pytest.MonkeyPatch, misread: str
) -> None:
    """The next page is asked for with the marker read from the page's tail before the
    page is parsed. Should that read ever differ from the parse (none, or another
    marker), the page asked for is dropped and the parse's marker asked for: the
    listing is whole, in order, no blob twice."""
    names = [f"f{i:04d}" for i in range(25)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: upload(azure_store, n, b"x"), names))
    monkeypatch.setattr(azure_blob, "sniff_next_marker", lambda body: misread)
    azure_store.page_size = 10
    assert [e.rel_path for e in azure_store.list_blobs()] == names
