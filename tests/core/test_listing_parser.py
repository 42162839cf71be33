"""The streaming List Blobs page parser (core/remote/azure/listing.py ``PageParser``).

A page fed in pieces cut at any byte (inside a tag, a multi-byte character, an entity)
gives exactly what parsing the whole page at once gives; metadata named like the
page's own structure (``Blob``, ``Blobs``, ``NextMarker``) is metadata; each ``<Blob>``
is emptied once converted (a page never holds its tree of elements); a malformed or
cut-short page, or a blob whose properties cannot be read, raises ``ET.ParseError``.
The next page's marker read from a page's tail (``sniff_next_marker``, so the next page
can be asked for before this one is parsed) is the marker the parse finds.
"""

from __future__ import annotations

import base64
import hashlib
import weakref
import xml.etree.ElementTree as ET

import pytest

from blobsync.core.models import AccessTier, RemoteEntry, Writer
from blobsync.core.remote.azure.listing import (
    PageParser,
    entry_from_xml,
    metadata_from_xml,
    parse_page,
    sniff_next_marker,
)


def _blob(i: int) -> str:
    md5 = base64.b64encode(hashlib.md5(str(i).encode()).digest()).decode()
    name = f"d{i % 3}/fïle {i} &amp; &lt;x&gt;.bin"
    extra = ""
    if i % 4 == 1:  # a name XML cannot carry comes percent-encoded
        name = f"ctl%01/{i}%E2%82%AC"
        encoded = ' Encoded="true"'
    else:
        encoded = ""
    if i % 5 == 2:
        extra = (
            "<AccessTier>Archive</AccessTier>"
            "<ArchiveStatus>rehydrate-pending-to-cool</ArchiveStatus>"
        )
    elif i % 5 == 3:
        extra = "<AccessTier>Cool</AccessTier><AccessTierInferred>false</AccessTierInferred>"
    return (
        f"<Blob><Name{encoded}>{name}</Name><Properties>"
        "<Last-Modified>Tue, 01 Dec 2026 10:00:00 GMT</Last-Modified>"
        f"<Etag>0x8DD{i:012X}</Etag><Content-Length>{i * 7}</Content-Length>"
        "<Content-Type>application/octet-stream</Content-Type>"
        f"<Content-MD5>{md5}</Content-MD5><BlobType>BlockBlob</BlobType>{extra}"
        "</Properties><Metadata>"
        f"<mtime>2026-11-{1 + i % 28:02d}T09:59:00.123456789Z</mtime>"
        "<blobsync_machine>laptop-%C3%A9</blobsync_machine>"
        f"<Blob>meta {i}</Blob><Blobs>x</Blobs><NextMarker>not the marker</NextMarker>"
        "</Metadata></Blob>"
    )


def _page(n: int, marker: str) -> bytes:
    next_marker = f"<NextMarker>{marker}</NextMarker>" if marker else "<NextMarker />"
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<EnumerationResults ServiceEndpoint="http://127.0.0.1:10000/devstoreaccount1" '
        'ContainerName="c"><MaxResults>5000</MaxResults><Blobs>'
        + "".join(_blob(i) for i in range(n))
        + f"</Blobs>{next_marker}</EnumerationResults>"
    ).encode()


def _whole(page: bytes) -> tuple[list[RemoteEntry], str]:
    """What parsing the whole page at once gives (the reference)."""
    root = ET.fromstring(page)
    blobs = root.find("Blobs")
    assert blobs is not None
    return [entry_from_xml(b) for b in blobs.iterfind("Blob")], root.findtext("NextMarker") or ""


def _fed(page: bytes, cuts: list[int]) -> tuple[list[RemoteEntry], str]:
    parser = PageParser(entry_from_xml)
    start = 0
    for cut in [*cuts, len(page)]:
        parser.feed(page[start:cut])
        start = cut
    return parser.close()


def test_a_page_fed_in_pieces_cut_anywhere_parses_as_the_whole() -> None:
    page = _page(12, "2!84!MDAwMDM4IWQxL2ZpbGUwMDA!")
    expected = _whole(page)
    assert len(expected[0]) == 12 and expected[1] == "2!84!MDAwMDM4IWQxL2ZpbGUwMDA!"
    # every single cut point: inside tags, entities and the two-byte 'ï'
    for cut in range(1, len(page)):
        assert _fed(page, [cut]) == expected, cut
    # byte by byte, and in pieces of awkward sizes
    assert _fed(page, list(range(1, len(page)))) == expected
    for size in (2, 3, 7, 61, 1000):
        assert _fed(page, list(range(size, len(page), size))) == expected, size


def test_what_a_listed_blob_carries_survives_the_stream() -> None:
    entries, marker = _fed(_page(6, ""), [100, 101, 900])
    assert marker == ""  # the last page: an empty NextMarker
    plain, encoded, archived, cool = entries[0], entries[1], entries[2], entries[3]
    assert plain.rel_path == "d0/fïle 0 & <x>.bin" and plain.size == 0
    assert encoded.rel_path == "ctl\x01/1€"  # Encoded="true": percent-decoded
    assert plain.etag == '"0x8DD000000000000"'
    assert plain.md5 == hashlib.md5(b"0").digest()
    assert plain.mtime_ns is not None and plain.writer == Writer("laptop-é", "")
    assert archived.tier is AccessTier.ARCHIVE and archived.rehydrating_to is AccessTier.COOL
    assert cool.tier is AccessTier.COOL and not cool.archived
    assert plain.tier is None


def test_metadata_named_like_the_page_structure_is_only_metadata() -> None:
    parser = PageParser(metadata_from_xml)
    parser.feed(_page(3, "m1"))
    metas, marker = parser.close()
    assert marker == "m1"  # not the metadata value "not the marker"
    assert [m["Blob"] for m in metas] == ["meta 0", "meta 1", "meta 2"]
    assert all(m["Blobs"] == "x" and m["NextMarker"] == "not the marker" for m in metas)


def test_each_blob_is_emptied_once_converted() -> None:
    seen: list[weakref.ref[ET.Element]] = []

    def convert(blob: ET.Element) -> int:
        assert blob.find("Name") is not None and blob.find("Metadata") is not None  # whole
        assert all(len(ref() or ()) == 0 for ref in seen)  # the earlier ones: emptied
        seen.append(weakref.ref(blob))
        return len(seen)

    parser = PageParser(convert)
    page = _page(40, "m")
    for start in range(0, len(page), 512):
        parser.feed(page[start : start + 512])
    assert parser.close() == (list(range(1, 41)), "m")
    assert all(ref() is None for ref in seen)  # no element of the page is left


def test_an_empty_container_page() -> None:
    page = b'<?xml version="1.0" encoding="utf-8"?><EnumerationResults><Blobs /><NextMarker /></EnumerationResults>'
    assert _fed(page, [10]) == ([], "")


@pytest.mark.parametrize(
    "page",
    [
        _page(3, "m")[:-30],  # the body ended early (at a chunk boundary)
        _page(3, "m").replace(b"</Properties>", b"</Propertes>", 1),  # mismatched tag
        _page(3, "m").replace(b"&amp;", b"& ", 1),  # a bare ampersand
        b"",  # nothing at all
        b"<html><body>Service Unavailable</body>",  # not XML of a listing, cut short
        _page(3, "m").replace(b"<Content-Length>7<", b"<Content-Length>seven<", 1),  # no number
    ],
)
def test_a_malformed_page_raises_parse_error(page: bytes) -> None:
    def parse() -> None:
        parser = PageParser(entry_from_xml)
        for start in range(0, max(len(page), 1), 97):
            parser.feed(page[start : start + 97])
        parser.close()

    with pytest.raises(ET.ParseError):
        parse()


@pytest.mark.parametrize(
    "marker",
    ["2!84!MDAwMDM4IWQxL2ZpbGUwMDA!", "file000999.bin", "a&amp;b &lt;c&gt; &#233;", ""],
)
def test_the_marker_read_from_the_tail_is_the_one_the_parse_finds(marker: str) -> None:
    """Every blob's metadata holds ``<Blobs>`` and ``<NextMarker>`` entries: the tail
    read still finds the page's own marker, entities decoded, and none on a last page."""
    for n in (0, 1, 7):
        page = _page(n, marker)
        entries, parsed = parse_page(page, entry_from_xml)
        assert (entries, parsed) == _whole(page)
        assert sniff_next_marker(page) == parsed
    assert sniff_next_marker(_page(2, "a&amp;b &lt;c&gt; &#233;")) == "a&b <c> é"


@pytest.mark.parametrize(
    "page",
    [b"", b"<html>Service Unavailable</html>", _page(3, "m")[:-40], b"<NextMarker>m"],
)
def test_a_tail_without_a_whole_marker_names_none(page: bytes) -> None:
    assert sniff_next_marker(page) == ""
