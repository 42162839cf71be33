"""Azure's rules for blob names, sizes and metadata, shared by every RemoteStore.

Azure is stricter than Azurite (which accepts 1,025-character names, 9 KB of metadata
and non-ASCII values, and breaks on control characters), so both stores check these
rules *before* sending anything. The ``mtime`` metadata format is rclone's (RFC 3339
UTC with nanoseconds) so blobs written by either tool look "in sync" to the other.
Every upload carries a Content-Type from the file name (:func:`content_type_for`), as
rclone and AzCopy set it, so a browser shows a synced photo instead of downloading it.
"""

from __future__ import annotations

import base64
import functools
import mimetypes
import re
from datetime import UTC, datetime
from urllib.parse import quote, unquote

from ..errors import ItemError
from ..models import IssueKind, Writer
from ..names import blob_name_problem

MiB = 1024 * 1024
#: Azure: at most 50,000 committed blocks per blob, each at most 4,000 MiB.
MAX_BLOCKS = 50_000
MAX_BLOCK_SIZE = 4000 * MiB
MAX_BLOB_SIZE = MAX_BLOCKS * MAX_BLOCK_SIZE
#: Azure: a single Put Blob may carry at most 5,000 MiB.
MAX_SINGLE_PUT = 5000 * MiB
#: Azure: all metadata names + values together at most 8 KiB.
MAX_METADATA_BYTES = 8 * 1024
MTIME_KEY = "mtime"
#: Writer identity (C# identifiers, so no hyphens; Azure compares names case-insensitively).
WRITER_MACHINE_KEY = "blobsync_machine"
WRITER_ID_KEY = "blobsync_install"
#: A machine name is cut to this many characters before it is percent-encoded (at most
#: 3 ASCII bytes per UTF-8 byte: the two writer keys stay far inside the 8 KiB limit).
MAX_MACHINE_CHARS = 64
_INSTALL_ID_RE = re.compile(r"^[0-9a-f]{8,64}$")
_UNSAFE_NAME_RE = re.compile(r"[\x00-\x1f\x7f]")

_IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PRINTABLE_ASCII_RE = re.compile(r"^[\x20-\x7e]*$")
# RFC 3339 as rclone writes it (Go's RFC3339Nano): fraction optional, 1-9 digits.
_RFC3339_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9})\d*)?"
    r"(Z|z|[+-]\d{2}:?\d{2})$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NS = 1_000_000_000


#: What Azure itself assumes for a blob without a Content-Type (Put Blob docs).
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Python's built-in table only, never the machine's (/etc/mime.types, the Windows
# registry): every machine must give a file the same type. A few common types the
# built-in table lacks (Office, OpenDocument, Markdown, some media) are added.
_MIME = mimetypes.MimeTypes(filenames=())
for _ext, _kind in {
    ".md": "text/markdown",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".epub": "application/epub+zip",
    ".7z": "application/x-7z-compressed",
    ".rar": "application/vnd.rar",
    ".mkv": "video/x-matroska",
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
}.items():
    _MIME.add_type(_kind, _ext, strict=False)
# A compressed file is served as what it is: a Content-Encoding would make browsers and
# HTTP clients unpack it on the fly, so the bytes read would not be the bytes stored.
_COMPRESSED = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
    "br": "application/x-brotli",
}


def content_type_for(blob_name: str) -> str:
    """The Content-Type an upload of ``blob_name`` carries: from the extension of its
    last segment (case-insensitive), :data:`DEFAULT_CONTENT_TYPE` when unknown."""
    base = blob_name.rsplit("/", 1)[-1]
    # "./" keeps a name like "data:x.txt" from being read as a URL scheme.
    kind, encoding = _MIME.guess_type("./" + base, strict=False)
    if encoding is not None:
        return _COMPRESSED.get(encoding, DEFAULT_CONTENT_TYPE)
    return kind or DEFAULT_CONTENT_TYPE


def check_blob_name(blob_name: str) -> None:
    """Raise ItemError(NAME_NOT_ALLOWED) if Azure would refuse or mangle this name."""
    problem = blob_name_problem(blob_name)
    if problem is not None:
        raise ItemError(problem, kind=IssueKind.NAME_NOT_ALLOWED)


def check_size(blob_name: str, size: int) -> None:
    """Raise ItemError(TOO_LARGE) if a block blob cannot hold ``size`` bytes."""
    if size > MAX_BLOB_SIZE:
        raise ItemError(
            f"'{blob_name}' is {size:,} bytes; a block blob holds at most {MAX_BLOB_SIZE:,}.",
            kind=IssueKind.TOO_LARGE,
        )
    if size < 0:
        raise ValueError("size must not be negative")


def check_metadata(metadata: dict[str, str]) -> None:
    """Raise ItemError(REMOTE_ERROR) unless keys are C# identifiers, values printable ASCII
    and the total is at most 8 KiB (Azure's rules; Azurite does not enforce them)."""
    total = 0
    for key, value in metadata.items():
        if not _IDENTIFIER_RE.match(key):
            raise ItemError(
                f"Metadata name '{key}' is not allowed (letters, digits and '_' only).",
                kind=IssueKind.REMOTE_ERROR,
            )
        if not _PRINTABLE_ASCII_RE.match(value):
            raise ItemError(
                f"Metadata value for '{key}' must be printable ASCII.", kind=IssueKind.REMOTE_ERROR
            )
        total += len(key) + len(value)
    if total > MAX_METADATA_BYTES:
        raise ItemError(
            f"Metadata is {total:,} bytes; Azure allows at most {MAX_METADATA_BYTES:,}.",
            kind=IssueKind.REMOTE_ERROR,
        )


def block_size_for(size: int, minimum: int = 8 * MiB) -> int:
    """Block size for a staged upload: ``minimum``, grown (in whole MiB) so that no blob
    needs more than 50,000 blocks."""
    needed = -(-size // MAX_BLOCKS)  # ceiling division
    if needed <= minimum:
        return minimum
    return min(-(-needed // MiB) * MiB, MAX_BLOCK_SIZE)


def resumable_block_id(md5: bytes, block_size: int, index: int) -> str:
    """The ID of block ``index`` of a staged upload of the content ``md5`` cut into
    ``block_size`` blocks: the same for the same content, block size and place, so an
    upload that stopped midway finds the blocks it already staged (Get Block List) and
    sends only the rest. Forty characters before base64, like the random IDs used
    before (every block ID of one blob must have the same length:
    https://learn.microsoft.com/rest/api/storageservices/put-block#uri-parameters)."""
    return base64.b64encode(f"{md5.hex()[:24]}{block_size:08x}{index:08d}".encode()).decode()


def format_mtime(mtime_ns: int) -> str:
    """``2024-05-01T10:11:12.123456789Z`` (UTC, always nine fraction digits)."""
    seconds, nanos = divmod(mtime_ns, _NS)
    stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


def parse_mtime(value: str | None) -> int | None:
    """Nanoseconds since the epoch from an RFC 3339 string, or None if missing/garbage."""
    if not value:
        return None
    match = _RFC3339_RE.match(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        stamp = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC
        )
    except ValueError:
        return None
    offset_s = 0
    if zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset_s = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    whole = (stamp - _EPOCH).days * 86400 + (stamp - _EPOCH).seconds - offset_s
    nanos = int((fraction or "").ljust(9, "0"))
    return whole * _NS + nanos


def mtime_from_metadata(metadata: dict[str, str] | None) -> int | None:
    """The ``mtime`` metadata value (key matched case-insensitively), parsed, or None."""
    if not metadata:
        return None
    for key, value in metadata.items():
        if key.lower() == MTIME_KEY:
            return parse_mtime(value)
    return None


def encode_text(text: str) -> str:
    """Any text as printable ASCII for a metadata value: UTF-8, percent-encoded
    (Azure refuses non-ASCII values; Azurite accepts them, so we never rely on it)."""
    return quote(text.encode("utf-8", "surrogateescape"), safe="-_.~()/")


def decode_text(value: str) -> str:
    """The inverse of :func:`encode_text`; undecodable bytes become U+FFFD."""
    return unquote(value, errors="replace")


def clean_machine_name(name: str) -> str:
    """A machine name fit to show and to store: no control characters, no surrounding
    blanks, at most :data:`MAX_MACHINE_CHARS` characters."""
    return _UNSAFE_NAME_RE.sub("", name).strip()[:MAX_MACHINE_CHARS]


def writer_metadata(writer: Writer | None) -> dict[str, str]:
    """The metadata naming ``writer`` (empty for None). Only the machine name and the
    installation id: nothing about the account, the local folder or the user."""
    if writer is None:
        return {}
    out = {}
    machine = clean_machine_name(writer.machine)
    if machine:
        out[WRITER_MACHINE_KEY] = encode_text(machine)
    if _INSTALL_ID_RE.match(writer.installation_id):
        out[WRITER_ID_KEY] = writer.installation_id
    return out


def _get_ci(metadata: dict[str, str], key: str) -> str | None:
    value = metadata.get(key)
    if value is not None:
        return value
    for name, value in metadata.items():
        if name.lower() == key:
            return value
    return None


def writer_from_metadata(metadata: dict[str, str] | None) -> Writer | None:
    """The writer a blob's metadata names, or None (written by another tool). Values
    are cleaned: whatever another client put there cannot inject control characters."""
    if not metadata:
        return None
    return _writer(_get_ci(metadata, WRITER_MACHINE_KEY), _get_ci(metadata, WRITER_ID_KEY))


@functools.lru_cache(maxsize=256)
def _writer(raw_machine: str | None, raw_id: str | None) -> Writer | None:
    # Cached: a listing names the same few writers thousands of times, and one shared
    # (frozen) Writer is one object for the garbage collector instead of one per blob.
    machine = clean_machine_name(decode_text(raw_machine)) if raw_machine else ""
    install = raw_id.lower() if raw_id and _INSTALL_ID_RE.match(raw_id.lower()) else ""
    if not machine and not install:
        return None
    return Writer(machine, install)


def metadata_for(mtime_ns: int, writer: Writer | None = None) -> dict[str, str]:
    """The metadata BlobSync writes with every upload: rclone's ``mtime``, then the
    writer's identity."""
    return {MTIME_KEY: format_mtime(mtime_ns), **writer_metadata(writer)}
