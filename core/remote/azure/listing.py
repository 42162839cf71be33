"""Parsing List Blobs pages: the XML the lean listing reads, page by page.

Listing sends List Blobs through the client's own pipeline (same auth, retries and
timeouts) and parses the XML with ElementTree: the SDK's model deserialisation made it
2-3x slower (5,000 blobs on Azurite here: ~0.9-1.2 s lean vs ~2.4-2.7 s SDK).
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from urllib.parse import unquote

from ...models import AccessTier, RemoteEntry
from ..blobmeta import (
    mtime_from_metadata,
)


def rehydrating_to(archive_status: str | None) -> AccessTier | None:
    """The tier a blob is being rehydrated to, from its ArchiveStatus
    (``rehydrate-pending-to-hot`` / ``-cool`` / ``-cold``), or None."""
    prefix = "rehydrate-pending-to-"
    if archive_status and archive_status.lower().startswith(prefix):
        return AccessTier.parse(archive_status[len(prefix) :]) or AccessTier.HOT
    return None


def parse_xml(body: bytes, chunk: int = 64 * 1024) -> ET.Element:
    """``ET.fromstring`` in 64 KiB feeds: one call on a 5,000-blob page holds the GIL for
    ~50 ms, which freezes the GUI thread; between feeds other threads get to run.
    Raises ET.ParseError like ``fromstring``."""
    parser = ET.XMLParser()
    for start in range(0, len(body), chunk):
        parser.feed(body[start : start + chunk])
    root: ET.Element = parser.close()
    return root


def quoted(etag: str) -> str:
    """The ETag as the ETag header carries it: listings return it without the quotes."""
    return etag if etag.startswith(('"', "W/")) else f'"{etag}"'


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
    metadata: dict[str, str] = {}
    meta = blob.find("Metadata")
    if meta is not None:
        metadata = {child.tag: child.text or "" for child in meta}
    return RemoteEntry(
        rel_path=name,
        size=int(size),
        etag=quoted(etag),
        md5=base64.b64decode(md5_text) if md5_text else None,
        mtime_ns=mtime_from_metadata(metadata),
        tier=AccessTier.parse(tier),
        rehydrating_to=rehydrating_to(status),
    )
