"""The protocol every remote store implements (Azure, in-memory), and its helper types.

The engine only ever talks to a :class:`RemoteStore`. Every write is conditional:
``if_match=None`` means *create only* (``If-None-Match: *``), otherwise the write or
delete applies only if the blob's ETag is still ``if_match``. A lost race raises
:class:`~blobsync.core.errors.PreconditionFailed`; a missing blob raises
:class:`~blobsync.core.errors.BlobNotFound`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from ..models import RemoteEntry, Writer

#: Called with the number of bytes moved since the previous call.
ProgressCallback = Callable[[int], None]


class CancelToken:
    """Set by a client to stop a run; checked between items and between chunks."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What the service answered to a successful write."""

    etag: str
    md5: bytes | None


@dataclass(frozen=True, slots=True)
class Protection:
    """What the account itself keeps of replaced and deleted blobs.

    ``versioning``: Azure blob versioning is on (every overwrite and delete keeps the
    previous version, restorable by a copy from it); None when it could not be told
    (an empty container, or a store that cannot ask). ``soft_delete_days``: the
    account's blob soft delete retention, None when off or unknown (reading it needs an
    account-level credential). BlobSync relies on versioning when it is on and keeps its
    own copies under ``.blobsync/trash/`` otherwise (soft delete alone cannot be undone
    conditionally, so it is only reported).
    """

    versioning: bool | None = None
    soft_delete_days: int | None = None


@dataclass(frozen=True, slots=True)
class BlobVersion:
    """One version the service keeps of a blob (Azure blob versioning)."""

    blob_name: str
    version_id: str
    size: int
    md5: bytes | None
    mtime_ns: int | None
    writer: Writer | None
    created: float  # epoch seconds the version was written
    is_current: bool


class RemoteStore(Protocol):
    """A flat namespace of blobs in one container."""

    container: str

    def container_exists(self) -> bool:
        """True if the container exists. Raises AuthError / ConnectionFailure."""
        ...

    def create_container(self) -> bool:
        """Create the container; False if it already existed."""
        ...

    def list_blobs(self) -> Iterator[RemoteEntry]:
        """Every blob with its metadata, in the service's (lexicographic) order.

        Pages are fetched lazily. Raises ListingError if a page fails after retries:
        the caller must then infer nothing from what it has seen.
        """
        ...

    def get_entry(self, blob_name: str) -> RemoteEntry | None:
        """Current properties of one blob, or None if it does not exist."""
        ...

    def list_meta(self, prefix: str) -> Iterator[tuple[RemoteEntry, dict[str, str]]]:
        """Every blob whose name starts with ``prefix``, with all its metadata (for
        BlobSync's own space; the sync itself uses :meth:`list_blobs`). Raises
        ListingError like :meth:`list_blobs`."""
        ...

    def protection(self) -> Protection:
        """What the account keeps by itself (versioning, soft delete); never raises for
        "cannot tell" (the fields are None then). Raises AuthError / ConnectionFailure."""
        ...

    def list_versions(self, blob_name: str) -> list[BlobVersion]:
        """The versions the service keeps of ``blob_name``, oldest first (empty without
        versioning). Raises ListingError."""
        ...

    def upload(
        self,
        blob_name: str,
        source: BinaryIO,
        size: int,
        md5: bytes,
        mtime_ns: int,
        if_match: str | None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        writer: Writer | None = None,
    ) -> WriteResult:
        """Write ``size`` bytes from ``source`` as the blob's content, conditionally.

        ``md5`` (of the whole content) is stored as Content-MD5 and ``mtime_ns`` in
        metadata ``mtime``. Large contents go in blocks; the blob only changes at the
        final commit. ``writer`` goes into the writer metadata. Raises
        PreconditionFailed, RemoteItemError.
        """
        ...

    def download(
        self,
        blob_name: str,
        if_match: str,
        sink: BinaryIO,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> int:
        """Write the blob's content into ``sink`` if its ETag is still ``if_match``.

        Returns the number of bytes written. Raises PreconditionFailed, BlobNotFound.
        """
        ...

    def delete(self, blob_name: str, if_match: str) -> None:
        """Delete the blob if its ETag is still ``if_match``. Raises PreconditionFailed,
        BlobNotFound."""
        ...

    def copy(
        self,
        source_name: str,
        target_name: str,
        source_etag: str | None,
        *,
        metadata: dict[str, str] | None = None,
        target_if_match: str | None = None,
        source_version: str | None = None,
    ) -> WriteResult:
        """Server-side copy of ``source_name`` (pinned to ``source_etag``; a version of
        it with ``source_version``, then ``source_etag`` may be None) to ``target_name``:
        create only when ``target_if_match`` is None, else only over that ETag.
        ``metadata`` replaces the source's metadata (Azure copies it otherwise). The
        returned ``md5`` may be None. Raises PreconditionFailed, BlobNotFound."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
