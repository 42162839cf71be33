"""The store capabilities recovery needs, as a contract on MemoryStore and Azurite:
writer metadata (written, listed, read back, cleaned, inside Azure's rules), copies
with replaced metadata and conditional targets, prefix listings with metadata, the
container bin's copies, and protection detection. Azure's versioning and soft delete
are not in Azurite: those paths run against MemoryStore only (see test_recovery_memory).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator

import pytest

from blobsync.core.app.emulator import Azurite
from blobsync.core.errors import PreconditionFailed
from blobsync.core.models import BinReason, RemoteEntry, Writer
from blobsync.core.remote.azure import open_store
from blobsync.core.remote.base import RemoteStore
from blobsync.core.remote.blobmeta import (
    MAX_METADATA_BYTES,
    WRITER_ID_KEY,
    WRITER_MACHINE_KEY,
    check_metadata,
    metadata_for,
    writer_from_metadata,
)
from blobsync.core.remote.memory import MemoryStore
from blobsync.core.remote.trash import ContainerBin, entry_from, trash_metadata

pytestmark = pytest.mark.azurite

MTIME = 1_714_558_272_123_456_789
ID = "0123456789abcdef0123456789abcdef"


@pytest.fixture(params=["memory", "azure"])
def store(request: pytest.FixtureRequest, container_name: str) -> Iterator[RemoteStore]:
    if request.param == "memory":
        yield MemoryStore(container_name)
        return
    azurite: Azurite = request.getfixturevalue("azurite")
    azure = open_store(azurite.credentials, container_name)
    azure.create_container()
    try:
        yield azure
    finally:
        azure.close()


def put(store: RemoteStore, name: str, data: bytes, writer: Writer | None, if_match=None) -> str:
    md5 = hashlib.md5(data).digest()
    return store.upload(name, io.BytesIO(data), len(data), md5, MTIME, if_match, writer=writer).etag


def listed(store: RemoteStore) -> dict[str, RemoteEntry]:
    return {e.rel_path: e for e in store.list_blobs()}


def test_writer_round_trips_through_upload_listing_and_properties(store: RemoteStore) -> None:
    writer = Writer("laptöp-2 ☃", ID)
    put(store, "a.txt", b"a", writer)
    put(store, "b.txt", b"b", None)
    entries = listed(store)
    assert entries["a.txt"].writer == writer
    assert entries["b.txt"].writer is None  # "changed by another app"
    got = store.get_entry("a.txt")
    assert got is not None and got.writer == writer
    # rclone's interop keeps working: mtime metadata and Content-MD5
    assert entries["a.txt"].mtime_ns == MTIME
    assert entries["a.txt"].md5 == hashlib.md5(b"a").digest()


def test_writer_metadata_is_ascii_identifier_keyed_and_small() -> None:
    meta = metadata_for(MTIME, Writer("ü" * 500 + "\n\x00evil", ID))
    check_metadata(meta)  # keys C# identifiers, values printable ASCII, total <= 8 KiB
    assert set(meta) == {"mtime", WRITER_MACHINE_KEY, WRITER_ID_KEY}
    assert all("-" not in key for key in meta)
    assert sum(len(k) + len(v) for k, v in meta.items()) < MAX_METADATA_BYTES // 8
    back = writer_from_metadata(meta)
    assert back is not None and back.machine == "ü" * 64 and back.installation_id == ID
    # a bad id or an injected control character never comes back
    assert writer_from_metadata({WRITER_ID_KEY: "not hex!", WRITER_MACHINE_KEY: "%0Ax"}) == Writer(
        "x", ""
    )
    assert writer_from_metadata({"BLOBSYNC_MACHINE": "box"}) == Writer("box", "")  # any case
    assert writer_from_metadata({"other": "1"}) is None


def test_copy_replaces_metadata_and_can_overwrite_only_a_known_etag(store: RemoteStore) -> None:
    etag = put(store, "src", b"payload", Writer("a", ID))
    meta = metadata_for(MTIME + 1, Writer("b", ID))
    copied = store.copy("src", "dst", etag, metadata=meta)
    dst = store.get_entry("dst")
    assert dst is not None and dst.writer == Writer("b", ID) and dst.mtime_ns == MTIME + 1
    assert dst.etag == copied.etag and dst.md5 == hashlib.md5(b"payload").digest()
    other = put(store, "other", b"other", None)
    with pytest.raises(PreconditionFailed):
        store.copy("other", "dst", other, target_if_match='"0x1"')  # not dst's ETag
    store.copy("other", "dst", other, target_if_match=dst.etag)
    now = store.get_entry("dst")
    assert now is not None and now.md5 == hashlib.md5(b"other").digest()
    assert now.writer is None  # metadata copied from the source when none is given


def test_container_bin_keeps_a_copy_with_its_story(store: RemoteStore) -> None:
    etag = put(store, "dir/ä file.txt", b"v1", Writer("orig", ID))
    entry = store.get_entry("dir/ä file.txt")
    assert entry is not None
    bin_ = ContainerBin(store)
    name = bin_.keep(entry, BinReason.DELETED, "abc123", Writer("deleter", ID))
    assert name.startswith(".blobsync/trash/") and name.endswith("/dir/ä file.txt")
    (kept,) = bin_.entries("dir/ä file.txt")
    assert kept.blob_name == name and kept.rel_path == "dir/ä file.txt"
    assert kept.reason is BinReason.DELETED and kept.run_id == "abc123"
    assert kept.trashed_by == Writer("deleter", ID) and kept.original_writer == Writer("orig", ID)
    assert kept.md5 == hashlib.md5(b"v1").digest() and kept.mtime_ns == MTIME
    # pinned to the ETag: a blob that changed since it was listed is not copied
    put(store, "dir/ä file.txt", b"v2", None, if_match=etag)
    with pytest.raises(PreconditionFailed):
        bin_.keep(entry, BinReason.REPLACED, "abc124", None)
    assert len(bin_.entries()) == 1


def test_trash_metadata_fits_azure_for_the_longest_names() -> None:
    long_name = "é" * 1024
    entry = RemoteEntry(long_name, 1, '"e"', None, MTIME, Writer("w" * 64, ID))
    meta = trash_metadata(entry, BinReason.REPLACED, "r1", Writer("x" * 64, ID))
    check_metadata(meta)
    back = entry_from(
        RemoteEntry(".blobsync/trash/20260101T000000Z-00000000/long-" + "0" * 64, 1, '"e"'), meta
    )
    assert back is not None and back.rel_path == long_name


def test_list_meta_lists_one_prefix_with_all_metadata(store: RemoteStore) -> None:
    put(store, ".blobsync/trash/x/a", b"1", Writer("m", ID))
    put(store, ".blobsync/trash/x/b", b"2", None)
    put(store, "outside", b"3", None)
    got = {e.rel_path: meta for e, meta in store.list_meta(".blobsync/trash/")}
    assert sorted(got) == [".blobsync/trash/x/a", ".blobsync/trash/x/b"]
    assert {k.lower() for k in got[".blobsync/trash/x/a"]} >= {"mtime", WRITER_MACHINE_KEY}


def test_protection_reports_what_the_account_keeps(store: RemoteStore) -> None:
    put(store, "a", b"a", None)
    protection = store.protection()
    # neither Azurite nor a default MemoryStore keeps versions or soft-deleted blobs
    assert protection.versioning is False
    assert protection.soft_delete_days is None
    assert store.list_versions("a") == []


def test_azure_versions_listing_is_parsed_as_the_rest_docs_show(
    azurite: Azurite, container_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Azurite has no versioning: the parsing of a List Blobs ``include=versions`` page
    (the shape https://learn.microsoft.com/rest/api/storageservices/list-blobs shows) is
    checked on a page written here, fed to the real store."""
    import xml.etree.ElementTree as ET

    page = """<EnumerationResults><Blobs>
      <Blob><Name>doc.txt</Name><VersionId>2026-11-01T10:00:00.1234567Z</VersionId>
        <Properties><Content-Length>3</Content-Length><Etag>0x1</Etag>
        <Content-MD5>kAFQmDzST7DWlj99KOF/cg==</Content-MD5></Properties>
        <Metadata><mtime>2026-11-01T09:59:00.000000000Z</mtime>
        <blobsync_machine>laptop-2</blobsync_machine></Metadata></Blob>
      <Blob><Name>doc.txt</Name><VersionId>2026-11-02T10:00:00.0000000Z</VersionId>
        <IsCurrentVersion>true</IsCurrentVersion>
        <Properties><Content-Length>4</Content-Length><Etag>0x2</Etag></Properties></Blob>
      <Blob><Name>doc.txt.bak</Name><VersionId>2026-11-03T10:00:00.0000000Z</VersionId>
        <Properties><Content-Length>1</Content-Length><Etag>0x3</Etag></Properties></Blob>
    </Blobs><NextMarker/></EnumerationResults>"""
    store = open_store(azurite.credentials, container_name)
    root = ET.fromstring(page)
    monkeypatch.setattr(
        store,
        "_list_xml",
        lambda prefix, include, convert, page_size=None: map(convert, root.iter("Blob")),
    )
    old, current = store.list_versions("doc.txt")
    assert (old.version_id, old.size, old.is_current) == ("2026-11-01T10:00:00.1234567Z", 3, False)
    assert old.writer == Writer("laptop-2", "") and old.mtime_ns is not None
    assert old.created == pytest.approx(1793527200.1234567)
    assert current.is_current and current.size == 4
    assert store.protection().versioning is True  # a listed VersionId means versioning on
    store.close()


def test_two_versions_kept_within_one_second_are_told_apart(store: RemoteStore) -> None:
    put(store, "n.txt", b"first", None)
    first = store.get_entry("n.txt")
    assert first is not None
    bin_ = ContainerBin(store)
    bin_.keep(first, BinReason.REPLACED, "r1", None, now=1_800_000_000.7)
    put(store, "n.txt", b"second", None, if_match=first.etag)
    second = store.get_entry("n.txt")
    assert second is not None
    # later in the same second, and with a random part that may sort either way
    bin_.keep(second, BinReason.REPLACED, "r2", None, now=1_800_000_000.9)
    kept = sorted(bin_.entries("n.txt"), key=lambda e: e.trashed_at, reverse=True)
    assert [e.run_id for e in kept] == ["r2", "r1"]
    assert kept[0].trashed_at == pytest.approx(1_800_000_000.9)
