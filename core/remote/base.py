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

from ..models import RemoteEntry

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
    ) -> WriteResult:
        """Write ``size`` bytes from ``source`` as the blob's content, conditionally.

        ``md5`` (of the whole content) is stored as Content-MD5, ``mtime_ns`` in
        metadata ``mtime``, and a Content-Type from the name (``blobmeta.content_type_for``). Large contents go in blocks; the blob only changes at the
        final commit. Raises PreconditionFailed, RemoteItemError.
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

    def copy(self, source_name: str, target_name: str, source_etag: str) -> WriteResult:
        """Server-side copy of ``source_name`` (pinned to ``source_etag``) to a new blob
        ``target_name`` (create only). Raises PreconditionFailed, BlobNotFound."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class PrefixListingStore(RemoteStore, Protocol):
    """A store that can list only the names under a prefix, on the service's side (the
    Azure and in-memory stores): what a pair on a path inside a container needs
    (:mod:`.prefixed`)."""

    def list_blobs(self, prefix: str = "") -> Iterator[RemoteEntry]:
        """Every blob whose name starts with ``prefix``, as :meth:`RemoteStore.list_blobs`
        does for all; the service applies the prefix, so other names are never sent."""
        ...

    def list_folders(self, prefix: str = "") -> list[str]:
        """The "folders" right under ``prefix`` (which ends with "/" or is ""): the
        distinct next path segments of the names below it, each as ``prefix + name +
        "/"``, sorted; for a container path picker. Raises ListingError, AuthError."""
        ...
