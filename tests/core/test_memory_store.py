"""MemoryStore follows Azure's rules (no network), and the shared limits in blobmeta.

The same behaviours are checked against Azurite in tests/integration/test_azure_store.py,
where a contract test runs on both stores.
"""

from __future__ import annotations

import hashlib
import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blobsync.core.errors import (
    BlobNotFound,
    Cancelled,
    ContainerNotFound,
    ItemError,
    ListingError,
    PreconditionFailed,
)
from blobsync.core.models import IssueKind
from blobsync.core.remote.base import CancelToken, RemoteStore
from blobsync.core.remote.blobmeta import (
    MAX_BLOB_SIZE,
    MAX_BLOCKS,
    MiB,
    block_size_for,
    check_metadata,
    format_mtime,
    mtime_from_metadata,
    parse_mtime,
)
from blobsync.core.remote.memory import MemoryStore

MTIME = 1_714_558_272_123_456_789  # 2024-05-01T10:11:12.123456789Z


def put(store: MemoryStore, name: str, data: bytes, if_match: str | None = None) -> str:
    md5 = hashlib.md5(data).digest()
    return store.upload(name, io.BytesIO(data), len(data), md5, MTIME, if_match).etag


def test_is_a_remote_store() -> None:
    store: RemoteStore = MemoryStore()
    assert store.container == "memory"


# ---- conditional writes -------------------------------------------------------------


def test_create_only_twice_fails_and_keeps_first() -> None:
    store = MemoryStore()
    put(store, "a.txt", b"one")
    with pytest.raises(PreconditionFailed):
        put(store, "a.txt", b"two")
    assert store.content("a.txt") == b"one"
    assert store.writes == 1


def test_every_write_gets_a_new_etag_including_metadata_only_changes() -> None:
    store = MemoryStore()
    e1 = put(store, "a", b"x")
    e2 = put(store, "a", b"x", if_match=e1)
    e3 = store.set_mtime("a", 5)
    assert len({e1, e2, e3}) == 3
    assert e1.startswith('"') and e1.endswith('"')
    assert store.get_entry("a") is not None and store.get_entry("a").etag == e3  # type: ignore[union-attr]


@pytest.mark.parametrize("op", ["update", "delete", "download"])
def test_stale_etag_is_refused(op: str) -> None:
    store = MemoryStore()
    stale = put(store, "a", b"v1")
    fresh = put(store, "a", b"v2", if_match=stale)
    attempts = {
        "update": lambda: put(store, "a", b"v3", if_match=stale),
        "delete": lambda: store.delete("a", stale),
        "download": lambda: store.download("a", stale, io.BytesIO()),
    }
    with pytest.raises(PreconditionFailed):
        attempts[op]()
    assert store.content("a") == b"v2"
    assert store.get_entry("a").etag == fresh  # type: ignore[union-attr]


def test_update_of_deleted_blob_is_a_precondition_failure_and_delete_is_not_found() -> None:
    store = MemoryStore()
    etag = put(store, "a", b"v1")
    store.remove_raw("a")
    with pytest.raises(PreconditionFailed):
        put(store, "a", b"v2", if_match=etag)
    with pytest.raises(BlobNotFound):
        store.delete("a", etag)
    with pytest.raises(BlobNotFound):
        store.download("a", etag, io.BytesIO())
    assert store.get_entry("a") is None


def test_before_write_hook_can_change_the_blob_between_listing_and_write() -> None:
    store = MemoryStore()
    etag = put(store, "a", b"v1")
    seen: list[tuple[str, str]] = []

    def other_client(op: str, name: str) -> None:
        seen.append((op, name))
        store.put_raw(name, b"theirs")

    store.before_write = other_client
    with pytest.raises(PreconditionFailed):
        put(store, "a", b"ours", if_match=etag)
    assert seen == [("upload", "a")]
    assert store.content("a") == b"theirs"


def test_fail_next_injects_once_after_skip() -> None:
    store = MemoryStore()
    store.fail_next("upload", RuntimeError("boom"), skip=1)
    put(store, "a", b"1")
    with pytest.raises(RuntimeError, match="boom"):
        put(store, "b", b"2")
    put(store, "b", b"2")
    assert store.names() == ["a", "b"]
    with pytest.raises(ValueError):
        store.fail_next("nope", RuntimeError())


def test_concurrent_create_only_has_exactly_one_winner() -> None:
    store = MemoryStore()
    barrier = threading.Barrier(8)

    def attempt(i: int) -> bool:
        barrier.wait()
        try:
            put(store, "race", f"client {i}".encode())
            return True
        except PreconditionFailed:
            return False

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(attempt, range(8)))
    assert results.count(True) == 1
    assert store.writes == 1


# ---- content, md5, mtime -----------------------------------------------------------------


def test_upload_stores_md5_and_mtime_and_download_returns_bytes() -> None:
    store = MemoryStore(chunk_size=4)
    data = b"0123456789"
    moved: list[int] = []
    result = store.upload(
        "d/f.bin", io.BytesIO(data), 10, hashlib.md5(data).digest(), MTIME, None, moved.append
    )
    assert result.md5 == hashlib.md5(data).digest()
    assert moved == [4, 4, 2]
    entry = store.get_entry("d/f.bin")
    assert entry is not None
    assert (entry.size, entry.md5, entry.mtime_ns, entry.etag) == (
        10,
        result.md5,
        MTIME,
        result.etag,
    )
    sink = io.BytesIO()
    assert store.download("d/f.bin", result.etag, sink) == 10
    assert sink.getvalue() == data
    assert store.bytes_uploaded == 10


def test_md5_mismatch_or_short_source_writes_nothing() -> None:
    store = MemoryStore()
    data = b"content"
    with pytest.raises(ItemError) as info:
        store.upload("a", io.BytesIO(data), len(data), hashlib.md5(b"other").digest(), 1, None)
    assert info.value.kind is IssueKind.FILE_CHANGED
    with pytest.raises(ItemError) as info:
        store.upload("a", io.BytesIO(data), len(data) + 5, hashlib.md5(data).digest(), 1, None)
    assert info.value.kind is IssueKind.FILE_CHANGED
    with pytest.raises(ItemError) as info:  # the file grew after it was hashed
        store.upload("a", io.BytesIO(data + b"!"), len(data), hashlib.md5(data).digest(), 1, None)
    assert info.value.kind is IssueKind.FILE_CHANGED
    assert store.names() == [] and store.writes == 0


def test_cancel_stops_upload_and_download() -> None:
    store = MemoryStore(chunk_size=2)
    token = CancelToken()
    data = b"abcdefgh"

    def cancel_after_first(n: int) -> None:
        token.cancel()

    with pytest.raises(Cancelled):
        store.upload(
            "a", io.BytesIO(data), 8, hashlib.md5(data).digest(), 1, None, cancel_after_first, token
        )
    assert store.names() == []
    etag = put(store, "a", data)
    sink = io.BytesIO()
    token = CancelToken()
    with pytest.raises(Cancelled):
        store.download("a", etag, sink, cancel_after_first, token)
    assert len(sink.getvalue()) == 2


def test_copy_keeps_content_md5_metadata_and_is_create_only() -> None:
    store = MemoryStore()
    etag = put(store, "src", b"data")
    result = store.copy("src", "dst", etag)
    entry = store.get_entry("dst")
    assert entry is not None and entry.etag == result.etag and entry.mtime_ns == MTIME
    assert result.md5 == hashlib.md5(b"data").digest()
    with pytest.raises(PreconditionFailed):
        store.copy("src", "dst", etag)  # target exists
    with pytest.raises(PreconditionFailed):
        store.copy("src", "other", '"0xSTALE"')
    with pytest.raises(BlobNotFound):
        store.copy("missing", "other", etag)
    assert store.writes == 2


# ---- listing --------------------------------------------------------------------------------


def test_listing_is_lexicographic_and_paged() -> None:
    store = MemoryStore(page_size=3)
    names = ["b", "a/z", "a", "c", "a/b", "B", "é", "a-b"]
    for name in names:
        store.put_raw(name, name.encode(), MTIME)
    listed = [e.rel_path for e in store.list_blobs()]
    assert listed == sorted(names)
    assert store.calls["list_page"] == 3
    assert all(e.mtime_ns == MTIME for e in store.list_blobs())


def test_listing_failure_mid_way_raises_not_a_partial_result() -> None:
    store = MemoryStore(page_size=2)
    for i in range(5):
        store.put_raw(f"f{i}", b"x")
    store.fail_next("list_page", ListingError("page 2 failed"), skip=1)
    seen: list[str] = []
    listing = store.list_blobs()
    seen.append(next(listing).rel_path)
    seen.append(next(listing).rel_path)
    with pytest.raises(ListingError):
        next(listing)
    assert seen == ["f0", "f1"]


def test_missing_container() -> None:
    store = MemoryStore(exists=False)
    assert not store.container_exists()
    with pytest.raises(ContainerNotFound):
        list(store.list_blobs())
    with pytest.raises(ContainerNotFound):
        put(store, "a", b"x")
    assert store.create_container() is True
    assert store.create_container() is False
    put(store, "a", b"x")


# ---- limits -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["x" * 1025, "a\x01b", "tab\there", "", "a/" * 254 + "z", "dir/", "dot.", "a//b", "a\\b"],
)
def test_names_azure_refuses_are_refused_before_writing(name: str) -> None:
    store = MemoryStore()
    with pytest.raises(ItemError) as info:
        put(store, name, b"x")
    assert info.value.kind is IssueKind.NAME_NOT_ALLOWED
    assert store.writes == 0


def test_longest_and_deepest_allowed_names_work() -> None:
    store = MemoryStore()
    put(store, "x" * 1024, b"x")
    put(store, "a/" * 253 + "z", b"x")
    assert len(store.names()) == 2


def test_too_large_is_refused_before_reading() -> None:
    store = MemoryStore()

    class Unreadable(io.RawIOBase):
        def read(self, size: int = -1) -> bytes:
            raise AssertionError("must not be read")

    with pytest.raises(ItemError) as info:
        store.upload("huge", Unreadable(), MAX_BLOB_SIZE + 1, b"\0" * 16, 1, None)  # type: ignore[arg-type]
    assert info.value.kind is IssueKind.TOO_LARGE


@pytest.mark.parametrize(
    "metadata",
    [{"my-key": "v"}, {"1abc": "v"}, {"k": "naïve"}, {"k": "a\nb"}, {"k": "x" * 8200}],
)
def test_metadata_rules(metadata: dict[str, str]) -> None:
    with pytest.raises(ItemError):
        check_metadata(metadata)


def test_metadata_within_limits_is_accepted() -> None:
    check_metadata({"mtime": format_mtime(MTIME), "_Other1": "x" * 8000})


def test_block_size_grows_to_stay_under_50000_blocks() -> None:
    assert block_size_for(100 * MiB) == 8 * MiB
    assert block_size_for(1, minimum=4) == 4
    for size in (400 * 1024 * MiB, MAX_BLOB_SIZE, 1_000_000 * MiB + 7):
        block = block_size_for(size)
        assert -(-size // block) <= MAX_BLOCKS
        assert block % MiB == 0


# ---- mtime format (rclone's) ---------------------------------------------------------------


def test_mtime_round_trip_with_nanoseconds() -> None:
    assert format_mtime(MTIME) == "2024-05-01T10:11:12.123456789Z"
    assert parse_mtime(format_mtime(MTIME)) == MTIME
    assert parse_mtime(format_mtime(0)) == 0
    assert format_mtime(1_000_000_000) == "1970-01-01T00:00:01.000000000Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:11:12.123456789Z", MTIME),
        ("2024-05-01T10:11:12.1234Z", MTIME - 56_789),  # rclone trims trailing zeros
        ("2024-05-01T10:11:12Z", MTIME - 123_456_789),
        ("2024-05-01T12:11:12.123456789+02:00", MTIME),
        ("2024-05-01T05:11:12.123456789-05:00", MTIME),
        ("garbage", None),
        ("", None),
        ("2024-13-01T10:11:12Z", None),
    ],
)
def test_mtime_parsing_tolerates_rclone_formats_and_garbage(
    text: str, expected: int | None
) -> None:
    assert parse_mtime(text) == expected


def test_mtime_key_is_case_insensitive() -> None:
    assert mtime_from_metadata({"Mtime": format_mtime(MTIME)}) == MTIME
    assert mtime_from_metadata({"other": "x"}) is None
    assert mtime_from_metadata(None) is None


@given(st.integers(min_value=0, max_value=253_402_300_799 * 1_000_000_000))  # up to year 9999
def test_mtime_round_trip_property(mtime_ns: int) -> None:
    text = format_mtime(mtime_ns)
    assert len(text) == 30 and text.endswith("Z")
    assert parse_mtime(text) == mtime_ns
