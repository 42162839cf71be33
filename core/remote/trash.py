"""The container-side recycle bin: previous versions of blobs kept under ``.blobsync/trash/``.

Before a sync (or a restore) replaces or deletes a blob, the blob is first copied
server-side (Copy Blob within the account: no bytes through the client, one request)
to ``.blobsync/trash/<UTC stamp>-<random>/<original name>``. A copy rather than a
snapshot: a blob that has snapshots cannot be deleted without deleting them too
(Delete Blob answers 409 ``SnapshotsPresent`` unless ``x-ms-delete-snapshots=include``),
so a deleted blob's previous version could not survive its deletion as a snapshot.

The copy's metadata says what it was and when (all keys C# identifiers, all values
printable ASCII, percent-encoded):

====================  ===============================================================
``mtime``             the original's mtime (rclone's format), kept for the restore
``blobsync_machine``  the machine that moved it to the bin (the deleter / replacer)
``blobsync_install``  its installation id
``blobsync_orig_machine`` / ``blobsync_orig_install``  who wrote the kept version
``blobsync_trash_path``   the original name (also in the blob name unless too long)
``blobsync_trash_reason`` ``deleted`` or ``replaced``
``blobsync_trash_run``    the run that did it
====================  ===============================================================

The stamp in the name orders the bin by age, so pruning needs no metadata: the sync's
own full listing (which contains the reserved space anyway) tells which entries are
older than the retention, and only those cost a request (one conditional Delete Blob
each). Every BlobSync client skips the reserved space (``names.is_reserved``).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from ..models import BinReason, RemoteEntry, Writer
from ..names import RESERVED_DIR, blob_name_problem
from .base import RemoteStore
from .blobmeta import (
    clean_machine_name,
    decode_text,
    encode_text,
    metadata_for,
    mtime_from_metadata,
    writer_from_metadata,
)

TRASH_PREFIX = f"{RESERVED_DIR}/trash/"
PATH_KEY = "blobsync_trash_path"
REASON_KEY = "blobsync_trash_reason"
RUN_KEY = "blobsync_trash_run"
ORIG_MACHINE_KEY = "blobsync_orig_machine"
ORIG_ID_KEY = "blobsync_orig_install"
#: When it went to the bin, to the microsecond (the name's stamp is to the second, so two
#: versions kept within one second are still told apart and numbered newest first).
TIME_KEY = "blobsync_trash_time"
_STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
_STAMP_LEN = 16  # 20261201T090455Z
#: Above this many characters the original path goes into metadata as base64 of its
#: UTF-8 (4 bytes per character at most: 1,024 characters stay under 5.5 KB) rather
#: than percent-encoded (up to 12 characters per character).
_MAX_PERCENT_PATH = 4000


@dataclass(frozen=True, slots=True)
class TrashEntry:
    """One previous version kept in the container's bin."""

    blob_name: str  # the trash blob itself
    rel_path: str  # what it was
    trashed_at: float  # epoch seconds
    size: int
    md5: bytes | None
    mtime_ns: int | None
    etag: str  # of the trash blob
    trashed_by: Writer | None = None
    original_writer: Writer | None = None
    reason: BinReason | None = None
    run_id: str = ""


def stamp(now: float) -> str:
    return datetime.fromtimestamp(now, tz=UTC).strftime(_STAMP_FORMAT)


def trash_name(rel_path: str, now: float) -> str:
    """A new, unique bin name for ``rel_path``; when the original name does not fit under
    the prefix (1,024 characters, 254 segments) a hash stands in for it."""
    folder = f"{TRASH_PREFIX}{stamp(now)}-{secrets.token_hex(4)}/"
    name = folder + rel_path
    if blob_name_problem(name) is None:
        return name
    return (
        folder + "long-" + hashlib.sha256(rel_path.encode("utf-8", "surrogateescape")).hexdigest()
    )


def trashed_at_from_name(blob_name: str) -> float | None:
    """Epoch seconds from a bin name, or None if it is not one of ours."""
    if not blob_name.startswith(TRASH_PREFIX):
        return None
    text = blob_name[len(TRASH_PREFIX) : len(TRASH_PREFIX) + _STAMP_LEN]
    try:
        return datetime.strptime(text, _STAMP_FORMAT).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def path_from_name(blob_name: str) -> str | None:
    """The original path a bin name carries (None for hashed long names or strangers)."""
    if trashed_at_from_name(blob_name) is None:
        return None
    rest = blob_name[len(TRASH_PREFIX) :]
    folder, sep, original = rest.partition("/")
    if not sep or not original or len(folder) != _STAMP_LEN + 9:
        return None
    if original.startswith("long-") and "/" not in original and len(original) == 69:
        return None
    return original


def _encode_path(rel_path: str) -> str:
    encoded = encode_text(rel_path)
    if len(encoded) <= _MAX_PERCENT_PATH:
        return encoded
    raw = rel_path.encode("utf-8", "surrogateescape")
    return "b64:" + base64.urlsafe_b64encode(raw).decode("ascii")


def _decode_path(value: str) -> str:
    if value.startswith("b64:"):
        try:
            return base64.urlsafe_b64decode(value[4:]).decode("utf-8", "replace")
        except ValueError:
            return ""
    return decode_text(value)


def trash_metadata(
    entry: RemoteEntry, reason: BinReason, run_id: str, by: Writer | None, at: float | None = None
) -> dict[str, str]:
    """The metadata of the bin copy of ``entry`` (see the module docstring)."""
    meta: dict[str, str] = {}
    if entry.mtime_ns is not None:
        meta = metadata_for(entry.mtime_ns, by)
    else:
        meta = {k: v for k, v in metadata_for(0, by).items() if k != "mtime"}
    original = entry.writer
    if original is not None:
        machine = clean_machine_name(original.machine)
        if machine:
            meta[ORIG_MACHINE_KEY] = encode_text(machine)
        if original.installation_id:
            meta[ORIG_ID_KEY] = original.installation_id
    meta[PATH_KEY] = _encode_path(entry.rel_path)
    meta[REASON_KEY] = reason.value
    if run_id.isalnum():
        meta[RUN_KEY] = run_id
    if at is not None:
        meta[TIME_KEY] = f"{at:.6f}"
    return meta


def _precise(named: float, text: str) -> float:
    """The bin time from metadata when it agrees with the name's second, else the name's."""
    try:
        value = float(text)
    except ValueError:
        return named
    return value if named <= value < named + 1 else named


def _lower(metadata: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in metadata.items()}


def entry_from(remote: RemoteEntry, metadata: dict[str, str] | None) -> TrashEntry | None:
    """A bin entry from a listed trash blob (metadata when it was listed with it)."""
    at = trashed_at_from_name(remote.rel_path)
    if at is None:
        return None
    meta = _lower(metadata or {})
    rel_path = _decode_path(meta[PATH_KEY]) if PATH_KEY in meta else path_from_name(remote.rel_path)
    if not rel_path:
        return None
    original = None
    if ORIG_MACHINE_KEY in meta or ORIG_ID_KEY in meta:
        original = writer_from_metadata(
            {
                "blobsync_machine": meta.get(ORIG_MACHINE_KEY, ""),
                "blobsync_install": meta.get(ORIG_ID_KEY, ""),
            }
        )
    reason_text = meta.get(REASON_KEY, "")
    reason = BinReason(reason_text) if reason_text in BinReason._value2member_map_ else None
    return TrashEntry(
        blob_name=remote.rel_path,
        rel_path=rel_path,
        trashed_at=_precise(at, meta.get(TIME_KEY, "")),
        size=remote.size,
        md5=remote.md5,
        mtime_ns=mtime_from_metadata(metadata) if metadata else remote.mtime_ns,
        etag=remote.etag,
        trashed_by=writer_from_metadata(metadata) if metadata else remote.writer,
        original_writer=original,
        reason=reason,
        run_id=meta.get(RUN_KEY, ""),
    )


class ContainerBin:
    """The bin in one container (through any :class:`RemoteStore`)."""

    def __init__(self, store: RemoteStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def keep(
        self,
        entry: RemoteEntry,
        reason: BinReason,
        run_id: str,
        by: Writer | None,
        now: float | None = None,
    ) -> str:
        """Copy the blob ``entry`` describes (pinned to its ETag) into the bin; returns
        the bin name. Raises PreconditionFailed (it changed since it was listed: the
        write that would replace it fails the same way), BlobNotFound, ItemError."""
        when = self.clock() if now is None else now
        name = trash_name(entry.rel_path, when)
        self.store.copy(
            entry.rel_path,
            name,
            entry.etag,
            metadata=trash_metadata(entry, reason, run_id, by, when),
        )
        return name

    def entries(self, rel_path: str | None = None) -> list[TrashEntry]:
        """Bin entries (of one path, when given), oldest first. Raises ListingError."""
        out = []
        for remote, metadata in self.store.list_meta(TRASH_PREFIX):
            entry = entry_from(remote, metadata)
            if entry is not None and (rel_path is None or entry.rel_path == rel_path):
                out.append(entry)
        out.sort(key=lambda e: (e.trashed_at, e.blob_name))
        return out


def expired(listed: Iterable[RemoteEntry], now: float, max_age_s: float) -> Iterator[RemoteEntry]:
    """The listed bin blobs older than ``max_age_s`` (by the stamp in their names)."""
    for remote in listed:
        at = trashed_at_from_name(remote.rel_path)
        if at is not None and now - at > max_age_s:
            yield remote
