"""The protocol every remote store implements (Azure, in-memory), and its helper types.

The engine only ever talks to a :class:`RemoteStore`. Every write is conditional:
``if_match=None`` means *create only* (``If-None-Match: *``), otherwise the write or
delete applies only if the blob's ETag is still ``if_match``. A lost race raises
:class:`~blobsync.core.errors.PreconditionFailed`; a missing blob raises
:class:`~blobsync.core.errors.BlobNotFound`.

Optional capabilities, checked with ``isinstance`` (a store without them still syncs):
:class:`TierControl` (rehydrate archived blobs) and :class:`LinkMaker` (read-only share
links).
"""

from __future__ import annotations

import datetime as dt
import enum
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol, runtime_checkable

from ..models import AccessTier, RehydratePriority, RemoteEntry, Writer
from ..names import RESERVED_DIR

#: Called with the number of bytes moved since the previous call.
ProgressCallback = Callable[[int], None]

#: The pair's change beacon (:mod:`blobsync.core.engine.beacon`): a tiny blob in
#: BlobSync's reserved space, relative to the pair's root. A store for a path inside a
#: container maps it under that path, like every other name.
BEACON_BLOB = f"{RESERVED_DIR}/beacon"
#: At most this much of a beacon is read; anything longer is not one of ours.
BEACON_MAX_BYTES = 4096


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
class HashWhileSending:
    """In :meth:`RemoteStore.upload`'s ``md5`` place: the content's MD5 is not known
    yet (no pass over the file before it is sent). The store computes it while it reads
    and sends the content, and once all of it is read and sent, before anything is
    committed, calls ``unchanged()``, which raises ItemError FILE_CHANGED if the file
    moved on meanwhile: then nothing is committed. The MD5 comes back in
    :attr:`WriteResult.md5`. Only for contents of at least
    :attr:`RemoteStore.hash_while_sending_min` bytes (those go in staged blocks)."""

    unchanged: Callable[[], None]


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


@dataclass(frozen=True, slots=True)
class BeaconRead:
    """What one conditional read of the change beacon found."""

    etag: str | None  # None: there is no beacon (or no container)
    not_modified: bool = False  # still the ETag asked about: nothing was sent back (304)
    body: bytes = b""  # its first BEACON_MAX_BYTES bytes (when sent back)
    too_large: bool = False  # longer than BEACON_MAX_BYTES: not a beacon we wrote


class RemoteStore(Protocol):
    """A flat namespace of blobs in one container."""

    container: str

    @property
    def hash_while_sending_min(self) -> int:
        """Uploads of at least this many bytes may pass :class:`HashWhileSending` for
        the MD5 (they are staged in blocks, committed only after ``unchanged()``)."""
        ...

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
        md5: bytes | HashWhileSending,
        mtime_ns: int,
        if_match: str | None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        writer: Writer | None = None,
    ) -> WriteResult:
        """Write ``size`` bytes from ``source`` as the blob's content, conditionally.

        ``md5`` (of the whole content) is stored as Content-MD5; what is sent must match
        it, else nothing is written (ItemError FILE_CHANGED). For a large content it may
        be :class:`HashWhileSending` instead. ``mtime_ns`` goes in metadata ``mtime``,
        ``writer`` in the writer metadata, and a Content-Type from the name
        (``blobmeta.content_type_for``). Large contents go in blocks; the blob only
        changes at the final commit. Raises PreconditionFailed, RemoteItemError.
        """
        ...

    def download(
        self,
        blob_name: str,
        if_match: str,
        sink: BinaryIO,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        *,
        offset: int = 0,
    ) -> int:
        """Write the blob's content into ``sink`` if its ETag is still ``if_match``,
        from byte ``offset`` on (a download resumed into a partial file).

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

    def read_beacon(self, if_none_match: str | None, blob_name: str = BEACON_BLOB) -> BeaconRead:
        """The change beacon, unless its ETag is still ``if_none_match``: then the
        service answers 304 with no body (one small read). A missing beacon or container
        is ``etag=None``, never an error. Raises AuthError (e.g. a SAS without read
        permission), ConnectionFailure, RemoteItemError.
        """
        ...

    def write_beacon(self, body: bytes, if_match: str | None, blob_name: str = BEACON_BLOB) -> str:
        """Replace the change beacon with ``body`` if its ETag is still ``if_match``
        (``None``: create it only if there is none), like every other write. Returns the
        new ETag. Raises PreconditionFailed (someone else wrote it), AuthError (no write
        permission), ContainerNotFound, ConnectionFailure, RemoteItemError.
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...


# ---- optional capabilities -------------------------------------------------------------


@runtime_checkable
class TierControl(Protocol):
    """A store that can move an archived blob back to an online tier."""

    def rehydrate(self, blob_name: str, tier: AccessTier, priority: RehydratePriority) -> None:
        """Start rehydrating ``blob_name`` to ``tier``. Raises AuthError, BlobNotFound,
        RemoteItemError."""
        ...


class LinkKind(enum.StrEnum):
    """How a share link is signed."""

    SERVICE_SAS = "service_sas"  # signed with the account key
    USER_DELEGATION_SAS = "user_delegation_sas"  # signed with an Entra ID delegation key


class LinkDuration(enum.Enum):
    """The validity choices the clients offer for a share link."""

    HOUR = dt.timedelta(hours=1)
    DAY = dt.timedelta(days=1)
    WEEK = dt.timedelta(days=7)


#: A user delegation key, hence a link signed with one, lives at most 7 days (Azure:
#: "Create a user delegation SAS"); a service SAS link is held to the same limit.
MAX_LINK_VALIDITY = dt.timedelta(days=7)


@dataclass(frozen=True, slots=True)
class ShareLink:
    """A read-only URL to one blob that works without credentials until ``expires``.
    The URL is a bearer secret: hand it to the user, never log it."""

    url: str
    expires: dt.datetime
    kind: LinkKind

    def __repr__(self) -> str:
        return (
            f"ShareLink(url=<hidden>, expires={self.expires.isoformat()}, kind={self.kind.value})"
        )

    __str__ = __repr__


@runtime_checkable
class LinkMaker(Protocol):
    """A store that can sign read-only links to its blobs."""

    def share_link(self, blob_name: str, valid_for: dt.timedelta) -> ShareLink:
        """A read-only link valid for ``valid_for``. Raises LinkNotPossible (these
        credentials cannot sign links), AuthError, ConnectionFailure."""


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
