"""An in-memory RemoteStore with Azure's rules, for fast engine tests.

It behaves like a block-blob container: ETags change on every write (metadata-only
changes too), create-only writes fail if the blob exists, stale ETags fail with
PreconditionFailed, listings come in lexicographic order in pages of ``page_size``,
Content-MD5, Content-Type and the ``mtime`` metadata are stored, a listing can be limited
to a name prefix (served from a sorted index, as the service does), and the same
name/size/metadata limits apply. ``versioning=True`` plays an account with blob versioning
on (every overwrite and delete keeps the previous version; Azurite has no versioning, so
this is the only place that path is tested). Test hooks let a test play "another client": :meth:`put_raw`,
:meth:`set_mtime`, :meth:`remove_raw`, a ``before_write`` callable run just before each
write is applied, :meth:`fail_next` to inject an error into the next operation and
``refuse`` into every one (offline for good, say). The change beacon
(:meth:`read_beacon`, :meth:`write_beacon`) is a blob like any other, as on Azure.
Thread-safe: the engine calls it from worker threads.

Access tiers follow Azure: an Archive blob cannot be read, overwritten or copied (409
BlobArchived) but can be deleted; :meth:`rehydrate` leaves it archived and pending
(``rehydrating_to``) until :meth:`finish_rehydration`, as Azure does for hours (Azurite
rehydrates at once). Set Blob Tier keeps the ETag. ``denied`` plays a SAS or role
lacking permissions: a denied operation raises AuthError PERMISSION_MISSING, as Azure's
403 AuthorizationPermissionMismatch does.
"""

from __future__ import annotations

import bisect
import hashlib
import io
import itertools
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from ..errors import (
    AuthError,
    AuthReason,
    BlobArchived,
    BlobNotFound,
    Cancelled,
    ContainerNotFound,
    ItemError,
    PreconditionFailed,
)
from ..models import AccessTier, IssueKind, Permission, RehydratePriority, RemoteEntry, Writer
from ..names import RESERVED_DIR
from .base import (
    BEACON_BLOB,
    BEACON_MAX_BYTES,
    BeaconRead,
    BlobVersion,
    CancelToken,
    HashWhileSending,
    ProgressCallback,
    Protection,
    WriteResult,
)
from .blobmeta import (
    DEFAULT_CONTENT_TYPE,
    MiB,
    check_blob_name,
    check_metadata,
    check_size,
    content_type_for,
    metadata_for,
    mtime_from_metadata,
    writer_from_metadata,
)

#: Operation names used by :meth:`MemoryStore.fail_next`, ``refuse`` and ``before_write``.
OPS = (
    "upload",
    "download",
    "delete",
    "copy",
    "list_page",
    "get_entry",
    "read_beacon",
    "write_beacon",
)


@dataclass(slots=True)
class _Blob:
    data: bytes
    etag: str
    md5: bytes | None
    metadata: dict[str, str] = field(default_factory=dict)
    tier: AccessTier | None = None
    rehydrating_to: AccessTier | None = None
    content_type: str = DEFAULT_CONTENT_TYPE
    created: float = 0.0
    version_id: str = ""


class MemoryStore:
    """A container held in a dict. ``writes`` counts PUT/DELETE/COPY operations that
    changed something; ``bytes_uploaded`` counts content bytes accepted by uploads;
    ``listed`` counts entries returned by listings (a prefix listing returns only the
    names under its prefix)."""

    def __init__(
        self,
        container: str = "memory",
        *,
        page_size: int = 5000,
        exists: bool = True,
        chunk_size: int = 1 * MiB,
        versioning: bool = False,
        soft_delete_days: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.container = container
        self.versioning = versioning
        self.soft_delete_days = soft_delete_days
        self.clock = clock
        self.page_size = page_size
        self.chunk_size = chunk_size
        #: As AzureBlobStore's default (tests set it lower): see RemoteStore.
        self.hash_while_sending_min = 64 * MiB + 1
        self.writes = 0
        self.bytes_uploaded = 0
        self.listed = 0
        #: The ``prefix`` of every listing started (tests see what a run asked for).
        self.list_prefixes: list[str] = []
        self.calls: dict[str, int] = dict.fromkeys(OPS, 0)
        #: Called as ``before_write(op, blob_name)`` before a write is checked and applied
        #: (outside the lock, so it may call put_raw & co.).
        self.before_write: Callable[[str, str], None] | None = None
        #: ``op -> error`` raised by every call of ``op`` (a network that stays down;
        #: missing permissions are ``denied``).
        self.refuse: dict[str, BaseException] = {}
        self._exists = exists
        self._blobs: dict[str, _Blob] = {}
        self._sorted: list[str] | None = None  # sorted names, rebuilt after a change
        #: Previous versions per name (versioning on), oldest first.
        self._versions: dict[str, list[_Blob]] = {}
        self._lock = threading.RLock()
        self._etags = itertools.count(random.randrange(1 << 40, 1 << 44))
        self._failures: dict[str, list[tuple[int, BaseException]]] = {}
        self._closed = False
        #: Operations these "credentials" may not do (see the module docstring).
        self.denied: set[Permission] = set()
        #: Rehydration priorities asked for, by blob name (for tests).
        self.rehydrations: dict[str, RehydratePriority] = {}

    # ---- test hooks --------------------------------------------------------------

    def fail_next(self, op: str, exc: BaseException, *, skip: int = 0) -> None:
        """Make the next call of ``op`` (after ``skip`` more calls) raise ``exc``.

        ``op`` is one of :data:`OPS`; ``list_page`` counts pages of a listing.
        """
        if op not in OPS:
            raise ValueError(f"unknown op {op!r}; expected one of {OPS}")
        with self._lock:
            self._failures.setdefault(op, []).append((skip, exc))

    def put_raw(
        self, blob_name: str, data: bytes, mtime_ns: int | None = None, *, md5: bool = True
    ) -> WriteResult:
        """Write a blob unconditionally as another client would (not counted in
        ``writes``). ``md5=False`` stores no Content-MD5 (like a block upload without it)."""
        digest = hashlib.md5(data).digest() if md5 else None
        meta = metadata_for(mtime_ns) if mtime_ns is not None else {}
        with self._lock:
            self._require_container()
            blob = self._new_blob(bytes(data), digest, meta, blob_name)
            self._set(blob_name, blob)
            return WriteResult(blob.etag, digest)

    def set_mtime(self, blob_name: str, mtime_ns: int | None) -> str:
        """Metadata-only change by another client; returns the new ETag (it changes)."""
        with self._lock:
            blob = self._get(blob_name)
            blob.metadata = metadata_for(mtime_ns) if mtime_ns is not None else {}
            blob.etag = self._new_etag()
            return blob.etag

    def set_tier_raw(self, blob_name: str, tier: AccessTier) -> None:
        """Set a blob's tier as another client (or a lifecycle rule) would; the ETag
        stays, as with Azure's Set Blob Tier."""
        with self._lock:
            blob = self._get(blob_name)
            blob.tier = tier
            blob.rehydrating_to = None

    def finish_rehydration(self, blob_name: str) -> None:
        """Complete a pending rehydration (Azure takes up to 15 hours)."""
        with self._lock:
            blob = self._get(blob_name)
            if blob.rehydrating_to is not None:
                blob.tier, blob.rehydrating_to = blob.rehydrating_to, None

    def remove_raw(self, blob_name: str) -> None:
        """Delete a blob as another client would (not counted in ``writes``)."""
        with self._lock:
            self._get(blob_name)
            self._drop(blob_name)

    def metadata(self, blob_name: str) -> dict[str, str]:
        """A copy of the blob's metadata. Raises BlobNotFound."""
        with self._lock:
            return dict(self._get(blob_name).metadata)

    def set_metadata_raw(self, blob_name: str, metadata: dict[str, str]) -> str:
        """Replace a blob's metadata as another client would; returns the new ETag."""
        with self._lock:
            blob = self._get(blob_name)
            blob.metadata = dict(metadata)
            blob.etag = self._new_etag()
            return blob.etag

    def content_type(self, blob_name: str) -> str:
        """The blob's Content-Type. Raises BlobNotFound."""
        with self._lock:
            return self._get(blob_name).content_type

    def content(self, blob_name: str) -> bytes:
        """The blob's bytes. Raises BlobNotFound."""
        with self._lock:
            return self._get(blob_name).data

    def names(self) -> list[str]:
        """All blob names, sorted."""
        with self._lock:
            return sorted(self._blobs)

    def synced_names(self) -> list[str]:
        """Blob names outside BlobSync's own space (``.blobsync/``: the change beacon,
        the bin), at the container's root or under a pair's path, sorted: what a test
        compares with the folder."""
        return [name for name in self.names() if f"/{RESERVED_DIR}/" not in f"/{name}"]

    # ---- RemoteStore -------------------------------------------------------------

    def container_exists(self) -> bool:
        with self._lock:
            return self._exists

    def create_container(self) -> bool:
        with self._lock:
            if self._exists:
                return False
            self._exists = True
            return True

    def list_blobs(self, prefix: str = "") -> Iterator[RemoteEntry]:
        with self._lock:
            self.list_prefixes.append(prefix)
        yield from self._list(prefix)

    def _list(self, prefix: str) -> Iterator[RemoteEntry]:
        marker = ""
        first = True
        while True:
            self._maybe_fail("list_page")
            self._require(Permission.LIST)
            with self._lock:
                self._require_container()
                if self._sorted is None:
                    self._sorted = sorted(self._blobs)
                names = self._sorted
                start = bisect.bisect_left(names, prefix)
                if not first:
                    start = max(start, bisect.bisect_right(names, marker))
                page: list[RemoteEntry] = []
                end = start
                while end < len(names) and len(page) < self.page_size:
                    if not names[end].startswith(prefix):
                        break
                    page.append(self._entry(names[end], self._blobs[names[end]]))
                    end += 1
                more = end < len(names) and names[end].startswith(prefix)
                self.listed += len(page)
            yield from page
            if not more or not page:
                return
            marker, first = page[-1].rel_path, False

    def list_folders(self, prefix: str = "") -> list[str]:
        self._maybe_fail("list_page")
        with self._lock:
            self._require_container()
            names = self._sorted if self._sorted is not None else sorted(self._blobs)
            self._sorted = names
            folders: set[str] = set()
            for name in names[bisect.bisect_left(names, prefix) :]:
                if not name.startswith(prefix):
                    break
                cut = name.find("/", len(prefix))
                if cut >= 0:
                    folders.add(name[: cut + 1])
        return sorted(folders)

    def list_meta(self, prefix: str) -> Iterator[tuple[RemoteEntry, dict[str, str]]]:
        self._maybe_fail("list_page")
        with self._lock:
            self._require_container()
            names = sorted(n for n in self._blobs if n.startswith(prefix))
            page = [(self._entry(n, self._blobs[n]), dict(self._blobs[n].metadata)) for n in names]
        yield from page

    def protection(self) -> Protection:
        return Protection(versioning=self.versioning, soft_delete_days=self.soft_delete_days)

    def list_versions(self, blob_name: str) -> list[BlobVersion]:
        with self._lock:
            old = list(self._versions.get(blob_name, []))
            current = self._blobs.get(blob_name)
        out = [self._version(blob_name, b, False) for b in old]
        if current is not None and self.versioning:
            out.append(self._version(blob_name, current, True))
        return out

    def get_entry(self, blob_name: str) -> RemoteEntry | None:
        check_blob_name(blob_name)
        self._maybe_fail("get_entry")
        self._require(Permission.READ)
        with self._lock:
            self._require_container()
            blob = self._blobs.get(blob_name)
            return None if blob is None else self._entry(blob_name, blob)

    def read_beacon(self, if_none_match: str | None, blob_name: str = BEACON_BLOB) -> BeaconRead:
        check_blob_name(blob_name)
        self._maybe_fail("read_beacon")
        self._require(Permission.READ)
        with self._lock:
            blob = self._blobs.get(blob_name) if self._exists else None
            if blob is None:
                return BeaconRead(None)
            if blob.etag == if_none_match:
                return BeaconRead(blob.etag, not_modified=True)  # 304: no body
            too_large = len(blob.data) > BEACON_MAX_BYTES
            body = b"" if too_large else blob.data
            return BeaconRead(blob.etag, body=body, too_large=too_large)

    def write_beacon(self, body: bytes, if_match: str | None, blob_name: str = BEACON_BLOB) -> str:
        check_blob_name(blob_name)
        self._maybe_fail("write_beacon")
        self._require(Permission.WRITE)
        self._before_write("write_beacon", blob_name)
        with self._lock:
            self._require_container()
            self._check_condition(blob_name, self._blobs.get(blob_name), if_match)
            blob = _Blob(
                bytes(body),
                self._new_etag(),
                hashlib.md5(body).digest(),
                content_type="application/json",
            )
            self._set(blob_name, blob)
            self.writes += 1
            return blob.etag

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
        check_blob_name(blob_name)
        check_size(blob_name, size)
        metadata = metadata_for(mtime_ns, writer)
        check_metadata(metadata)
        self._maybe_fail("upload")
        self._require(Permission.WRITE)
        buf = io.BytesIO()
        hasher = hashlib.md5()
        remaining = size
        while remaining > 0:
            if cancel is not None and cancel.cancelled:
                raise Cancelled("The upload was cancelled.")
            chunk = source.read(min(self.chunk_size, remaining))
            if not chunk:
                break
            hasher.update(chunk)
            buf.write(chunk)
            remaining -= len(chunk)
            if progress is not None:
                progress(len(chunk))
        streamed = isinstance(md5, HashWhileSending)
        if streamed and size < self.hash_while_sending_min:
            raise ValueError("HashWhileSending is for contents of hash_while_sending_min bytes")
        if remaining or source.read(1) or (not streamed and hasher.digest() != md5):
            raise ItemError(
                f"'{blob_name}' changed while it was being uploaded; nothing was written.",
                kind=IssueKind.FILE_CHANGED,
            )
        if isinstance(md5, HashWhileSending):
            md5.unchanged()  # raises FILE_CHANGED: nothing is committed
            md5 = hasher.digest()
        self._before_write("upload", blob_name)
        with self._lock:
            self._require_container()
            current = self._blobs.get(blob_name)
            self._check_condition(blob_name, current, if_match)
            if current is not None:
                self._check_online(blob_name, current)
            blob = self._new_blob(buf.getvalue(), md5, metadata, blob_name)
            self._set(blob_name, blob)
            self.writes += 1
            self.bytes_uploaded += size
            return WriteResult(blob.etag, md5)

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
        check_blob_name(blob_name)
        self._maybe_fail("download")
        self._require(Permission.READ)
        with self._lock:
            self._require_container()
            blob = self._blobs.get(blob_name)
            if blob is None:
                raise BlobNotFound(f"'{blob_name}' no longer exists in the container.")
            self._check_condition(blob_name, blob, if_match)
            self._check_online(blob_name, blob)
            data = blob.data[offset:]
        for start in range(0, len(data), self.chunk_size):
            if cancel is not None and cancel.cancelled:
                raise Cancelled("The download was cancelled.")
            chunk = data[start : start + self.chunk_size]
            sink.write(chunk)
            if progress is not None:
                progress(len(chunk))
        return len(data)

    def delete(self, blob_name: str, if_match: str) -> None:
        check_blob_name(blob_name)
        self._maybe_fail("delete")
        self._require(Permission.DELETE)
        self._before_write("delete", blob_name)
        with self._lock:
            self._require_container()
            blob = self._blobs.get(blob_name)
            if blob is None:
                raise BlobNotFound(f"'{blob_name}' no longer exists in the container.")
            self._check_condition(blob_name, blob, if_match)
            self._drop(blob_name)
            self.writes += 1

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
        check_blob_name(source_name)
        check_blob_name(target_name)
        if metadata is not None:
            check_metadata(metadata)
        self._maybe_fail("copy")
        self._require(Permission.READ)
        self._require(Permission.WRITE)
        self._before_write("copy", target_name)
        with self._lock:
            self._require_container()
            if source_version is not None:
                source = next(
                    (
                        b
                        for b in [
                            *self._versions.get(source_name, []),
                            self._blobs.get(source_name),
                        ]
                        if b is not None and b.version_id == source_version
                    ),
                    None,
                )
                if source is None:
                    raise BlobNotFound(f"That version of '{source_name}' no longer exists.")
            else:
                source = self._blobs.get(source_name)
                if source is None:
                    raise BlobNotFound(f"'{source_name}' no longer exists in the container.")
                if source_etag is None or source.etag != source_etag:
                    raise PreconditionFailed(
                        f"'{source_name}' changed since it was listed; it was not copied."
                    )
            self._check_online(source_name, source)
            self._check_condition(target_name, self._blobs.get(target_name), target_if_match)
            meta = dict(source.metadata) if metadata is None else dict(metadata)
            # Azure's Copy Blob keeps the source's Content-Type; AzureBlobStore.copy then
            # sets the target's own type when its name asks for another one.
            blob = self._new_blob(source.data, source.md5, meta, target_name)
            self._set(target_name, blob)
            self.writes += 1
            return WriteResult(blob.etag, blob.md5)

    def rehydrate(self, blob_name: str, tier: AccessTier, priority: RehydratePriority) -> None:
        """Set Blob Tier: an archived blob becomes pending (see the module docstring)."""
        check_blob_name(blob_name)
        self._require(Permission.WRITE)
        with self._lock:
            self._require_container()
            blob = self._get(blob_name)
            self.rehydrations[blob_name] = priority
            if blob.tier is AccessTier.ARCHIVE:
                blob.rehydrating_to = tier
            else:
                blob.tier = tier

    def close(self) -> None:
        self._closed = True

    # ---- internals -----------------------------------------------------------------

    def _new_blob(
        self, data: bytes, md5: bytes | None, metadata: dict[str, str], blob_name: str
    ) -> _Blob:
        etag = self._new_etag()
        return _Blob(
            data,
            etag,
            md5,
            metadata,
            content_type=content_type_for(blob_name),
            created=self.clock(),
            version_id=f"v{etag.strip(chr(34))}",
        )

    def _set(self, blob_name: str, blob: _Blob) -> None:
        """Put ``blob`` under the name; with versioning the previous content is kept as
        a version. Call with the lock held."""
        old = self._blobs.get(blob_name)
        if old is None:
            self._sorted = None
        elif self.versioning:
            self._versions.setdefault(blob_name, []).append(old)
        self._blobs[blob_name] = blob

    def _drop(self, blob_name: str) -> None:
        """Delete the name (with versioning the content is kept as a version)."""
        old = self._blobs.pop(blob_name)
        if self.versioning:
            self._versions.setdefault(blob_name, []).append(old)
        self._sorted = None

    @staticmethod
    def _version(blob_name: str, blob: _Blob, current: bool) -> BlobVersion:
        return BlobVersion(
            blob_name,
            blob.version_id,
            len(blob.data),
            blob.md5,
            mtime_from_metadata(blob.metadata),
            writer_from_metadata(blob.metadata),
            blob.created,
            current,
        )

    def _new_etag(self) -> str:
        return f'"0x{next(self._etags):X}"'

    def _require_container(self) -> None:
        if not self._exists:
            raise ContainerNotFound(f"The container '{self.container}' does not exist.")

    def _require(self, permission: Permission) -> None:
        if permission in self.denied:
            raise AuthError(
                "The credentials lack permission for this operation (check the SAS permissions).",
                AuthReason.PERMISSION_MISSING,
            )

    @staticmethod
    def _check_online(blob_name: str, blob: _Blob) -> None:
        if blob.tier is AccessTier.ARCHIVE:
            raise BlobArchived(
                f"'{blob_name}' is archived in the container; rehydrate it to sync it."
            )

    def _get(self, blob_name: str) -> _Blob:
        blob = self._blobs.get(blob_name)
        if blob is None:
            raise BlobNotFound(f"'{blob_name}' does not exist in the container.")
        return blob

    @staticmethod
    def _check_condition(blob_name: str, current: _Blob | None, if_match: str | None) -> None:
        if if_match is None:
            if current is not None:
                raise PreconditionFailed(f"'{blob_name}' was created by someone else meanwhile.")
        elif current is None:  # Azure answers 412 to If-Match on a missing blob
            raise PreconditionFailed(
                f"'{blob_name}' was deleted on the server since it was listed."
            )
        elif current.etag != if_match:
            raise PreconditionFailed(f"'{blob_name}' changed on the server since it was listed.")

    @staticmethod
    def _entry(blob_name: str, blob: _Blob) -> RemoteEntry:
        return RemoteEntry(
            rel_path=blob_name,
            size=len(blob.data),
            etag=blob.etag,
            md5=blob.md5,
            mtime_ns=mtime_from_metadata(blob.metadata),
            tier=blob.tier,
            rehydrating_to=blob.rehydrating_to,
            writer=writer_from_metadata(blob.metadata),
        )

    def _maybe_fail(self, op: str) -> None:
        with self._lock:
            self.calls[op] += 1
            refused = self.refuse.get(op)
            if refused is not None:
                raise refused
            pending = self._failures.get(op)
            if not pending:
                return
            skip, exc = pending[0]
            if skip > 0:
                pending[0] = (skip - 1, exc)
                return
            pending.pop(0)
        raise exc

    def _before_write(self, op: str, blob_name: str) -> None:
        hook = self.before_write
        if hook is not None:
            hook(op, blob_name)
