"""Parsing List Blobs pages: the XML the lean listing reads, page by page (and a
blob's entry from the headers of a Get Blob Properties answer).

Listing sends List Blobs through the client's own pipeline (same auth, retries and
timeouts) and parses the XML with ElementTree (store.py ``_list_xml``): the SDK's
model deserialisation made it 2-3x slower (5,000 blobs on Azurite here: ~0.9-1.2 s
lean vs ~2.4-2.7 s SDK). The next page's marker is read from the tail of a page's body
(:func:`sniff_next_marker`) so that page can be asked for before this one is parsed;
the parse then confirms it.

:class:`PageParser` turns each ``<Blob>`` into its value (a RemoteEntry, say) as soon as
its end tag is read and then empties the element, so a page never holds a tree of
elements: a 5,000-blob page with metadata is ~90,000 elements, each an object the
cyclic garbage collector walks at every full collection, with the GIL held (in the app:
stalls of the window of 50-140 ms at 100,000 files, bench/gc_pauses.py).
"""

from __future__ import annotations

import base64
import html
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar, cast
from urllib.parse import unquote

from ...models import AccessTier, RemoteEntry
from ..blobmeta import (
    mtime_from_metadata,
    writer_from_metadata,
)

T = TypeVar("T")

#: Bytes parsed between two drains of the parsed elements (~30 blobs with metadata).
FEED_SLICE = 16 * 1024


class PageParser(Generic[T]):
    """One List Blobs page fed in pieces (any byte boundaries): ``convert`` is applied
    to each ``<Blob>`` element once it is complete, in order; the element is emptied
    right after. :meth:`close` returns the values and the page's NextMarker ("" on
    the last page). A malformed page (bad XML, or a ``<Blob>`` whose ``convert``
    raises ValueError) raises ``ET.ParseError`` from :meth:`feed` or :meth:`close`,
    whatever was converted before (the caller then concludes nothing from the page)."""

    def __init__(self, convert: Callable[[ET.Element], T]) -> None:
        self._convert = convert
        self._parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("end",))
        self._items: list[T] = []
        self._last: ET.Element | None = None  # the root, once its end tag is read

    def feed(self, data: bytes) -> None:
        """Parse the next piece of the body. Raises ET.ParseError."""
        # In slices: the elements of a slice are converted and freed before the next is
        # parsed (a 256 KiB body chunk is ~7,000 elements the collector would meet).
        view = memoryview(data)
        for start in range(0, len(view), FEED_SLICE):
            self._parser.feed(view[start : start + FEED_SLICE])
            self._drain()

    def close(self) -> tuple[list[T], str]:
        """The page's values and its NextMarker. Raises ET.ParseError (also for a body
        that ended before its root element did)."""
        self._parser.close()
        self._drain()
        root = self._last
        if root is None:  # pragma: no cover - close() raises first for an empty body
            raise ET.ParseError("no element found")
        return self._items, root.findtext("NextMarker") or ""

    def _drain(self) -> None:
        last = self._last
        convert, items = self._convert, self._items
        # With only "end" events subscribed, every event is ("end", element).
        events = cast("Iterator[tuple[str, ET.Element]]", self._parser.read_events())
        for _event, elem in events:
            last = elem
            # Only elements with children are structure: a metadata entry (whose name
            # the writer chose, "Blob" or "Blobs" included) holds only text.
            if len(elem):
                tag = elem.tag
                if tag == "Blob":
                    try:
                        items.append(convert(elem))
                    except ValueError as exc:  # e.g. a Content-Length that is no number
                        raise ET.ParseError(f"unreadable <Blob>: {exc}") from None
                    elem.clear()
                elif tag == "Blobs":
                    elem.clear()  # the emptied <Blob> shells
        self._last = last


def parse_page(body: bytes, convert: Callable[[ET.Element], T]) -> tuple[list[T], str]:
    """A whole List Blobs page: ``convert`` of each of its ``<Blob>`` elements, and its
    NextMarker. Raises ET.ParseError."""
    parser = PageParser(convert)
    parser.feed(body)
    return parser.close()


def sniff_next_marker(body: bytes) -> str:
    """The NextMarker of a List Blobs page read from its tail, without parsing the page:
    it follows the last ``</Blobs>``. ("" when there is none: the last page, or a body
    that is not what it should be.) A guess the caller checks against the parse: a
    metadata entry named ``NextMarker`` inside a ``<Blob>`` comes before ``</Blobs>``
    and is not seen."""
    tail = body[max(body.rfind(b"</Blobs>"), 0) :]
    start = tail.rfind(b"<NextMarker>")
    if start < 0:
        return ""
    start += len(b"<NextMarker>")
    end = tail.find(b"</NextMarker>", start)
    if end < 0:
        return ""
    return html.unescape(tail[start:end].decode("utf-8", "replace"))


def rehydrating_to(archive_status: str | None) -> AccessTier | None:
    """The tier a blob is being rehydrated to, from its ArchiveStatus
    (``rehydrate-pending-to-hot`` / ``-cool`` / ``-cold``), or None."""
    prefix = "rehydrate-pending-to-"
    if archive_status and archive_status.lower().startswith(prefix):
        return AccessTier.parse(archive_status[len(prefix) :]) or AccessTier.HOT
    return None


def quoted(etag: str) -> str:
    """The ETag as the ETag header carries it: listings return it without the quotes."""
    return etag if etag.startswith(('"', "W/")) else f'"{etag}"'


def metadata_from_xml(blob: ET.Element) -> dict[str, str]:
    """A listed blob's metadata (present when the listing included it)."""
    meta = blob.find("Metadata")
    if meta is None:
        return {}
    return {child.tag: child.text or "" for child in meta}


def entry_from_headers(name: str, headers: Mapping[str, str]) -> RemoteEntry:
    """A blob's entry from the headers of its Get Blob Properties (or Get Blob)
    answer: the same fields a listing gives, metadata from the ``x-ms-meta-`` headers."""
    metadata = {
        key[len(_META) :]: value for key, value in headers.items() if key.lower().startswith(_META)
    }
    md5_text = headers.get("Content-MD5") or ""
    return RemoteEntry(
        rel_path=name,
        size=int(headers.get("Content-Length") or 0),
        etag=quoted(headers.get("ETag") or ""),
        md5=base64.b64decode(md5_text) if md5_text else None,
        mtime_ns=mtime_from_metadata(metadata),
        tier=AccessTier.parse(headers.get("x-ms-access-tier")),
        rehydrating_to=rehydrating_to(headers.get("x-ms-archive-status")),
        writer=writer_from_metadata(metadata),
    )


_META = "x-ms-meta-"


def entry_from_xml(blob: ET.Element) -> RemoteEntry:
    name_el = blob.find("Name")
    name = (name_el.text or "") if name_el is not None else ""
    if name_el is not None and name_el.get("Encoded") == "true":
        name = unquote(name)  # names with characters XML cannot carry come percent-encoded
    props = blob.find("Properties")
    size = etag = md5_text = ""
    tier = status = None
    if props is not None:
        size = props.findtext("Content-Length") or "0"
        etag = props.findtext("Etag") or ""
        md5_text = props.findtext("Content-MD5") or ""
        tier = props.findtext("AccessTier")
        status = props.findtext("ArchiveStatus")
    metadata = metadata_from_xml(blob)
    return RemoteEntry(
        rel_path=name,
        size=int(size),
        etag=quoted(etag),
        md5=base64.b64decode(md5_text) if md5_text else None,
        mtime_ns=mtime_from_metadata(metadata),
        tier=AccessTier.parse(tier),
        rehydrating_to=rehydrating_to(status),
        writer=writer_from_metadata(metadata),
    )
