"""An in-memory RemoteStore with Azure's rules, for fast engine tests.

It behaves like a block-blob container: ETags change on every write (metadata-only
changes too), create-only writes fail if the blob exists, stale ETags fail with
PreconditionFailed, listings come in lexicographic order in pages of ``page_size``,
Content-MD5 and the ``mtime`` metadata are stored, and the same name/size/metadata
limits apply. Test hooks let a test play "another client": :meth:`put_raw`,
:meth:`set_mtime`, :meth:`remove_raw`, a ``before_write`` callable run just before each
write is applied, :meth:`fail_next` to inject an error into the next operation and
``refuse`` into every one (a missing permission). The change beacon
(:meth:`read_beacon`, :meth:`write_beacon`) is a blob like any other, as on Azure.
Thread-safe: the engine calls it from worker threads.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from ..errors import (
    BlobNotFound,
    Cancelled,
    ContainerNotFound,
    ItemError,
    PreconditionFailed,
)
from ..models import IssueKind, RemoteEntry
from .base import (
    BEACON_BLOB,
    BEACON_MAX_BYTES,
    BeaconRead,
    CancelToken,
    ProgressCallback,
    WriteResult,
)
from .blobmeta import (
    MiB,
    check_blob_name,
    check_metadata,
    check_size,
    metadata_for,
    mtime_from_metadata,
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


class MemoryStore:
    """A container held in a dict. ``writes`` counts PUT/DELETE/COPY operations that
    changed something; ``bytes_uploaded`` counts content bytes accepted by uploads."""

    def __init__(
        self,
        container: str = "memory",
        *,
        page_size: int = 5000,
        exists: bool = True,
        chunk_size: int = 1 * MiB,
    ) -> None:
        self.container = container
        self.page_size = page_size
        self.chunk_size = chunk_size
        self.writes = 0
        self.bytes_uploaded = 0
        self.calls: dict[str, int] = dict.fromkeys(OPS, 0)
        #: Called as ``before_write(op, blob_name)`` before a write is checked and applied
        #: (outside the lock, so it may call put_raw & co.).
        self.before_write: Callable[[str, str], None] | None = None
        #: ``op -> error`` raised by every call of ``op`` (credentials lacking a
        #: permission, e.g. a SAS that may not read the change beacon).
        self.refuse: dict[str, BaseException] = {}
        self._exists = exists
        self._blobs: dict[str, _Blob] = {}
        self._lock = threading.RLock()
        self._etags = itertools.count(random.randrange(1 << 40, 1 << 44))
        self._failures: dict[str, list[tuple[int, BaseException]]] = {}
        self._closed = False

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
            blob = _Blob(bytes(data), self._new_etag(), digest, meta)
            self._blobs[blob_name] = blob
            return WriteResult(blob.etag, digest)

    def set_mtime(self, blob_name: str, mtime_ns: int | None) -> str:
        """Metadata-only change by another client; returns the new ETag (it changes)."""
        with self._lock:
            blob = self._get(blob_name)
            blob.metadata = metadata_for(mtime_ns) if mtime_ns is not None else {}
            blob.etag = self._new_etag()
            return blob.etag

    def remove_raw(self, blob_name: str) -> None:
        """Delete a blob as another client would (not counted in ``writes``)."""
        with self._lock:
            self._get(blob_name)
            del self._blobs[blob_name]

    def content(self, blob_name: str) -> bytes:
        """The blob's bytes. Raises BlobNotFound."""
        with self._lock:
            return self._get(blob_name).data

    def names(self) -> list[str]:
        """All blob names, sorted."""
        with self._lock:
            return sorted(self._blobs)

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

    def list_blobs(self) -> Iterator[RemoteEntry]:
        marker = ""
        first = True
        while True:
            self._maybe_fail("list_page")
            with self._lock:
                self._require_container()
                names = sorted(n for n in self._blobs if first or n > marker)
                page = [self._entry(n, self._blobs[n]) for n in names[: self.page_size]]
                more = len(names) > self.page_size
            yield from page
            if not more or not page:
                return
            marker, first = page[-1].rel_path, False

    def get_entry(self, blob_name: str) -> RemoteEntry | None:
        check_blob_name(blob_name)
        self._maybe_fail("get_entry")
        with self._lock:
            self._require_container()
            blob = self._blobs.get(blob_name)
            return None if blob is None else self._entry(blob_name, blob)

    def read_beacon(self, if_none_match: str | None, blob_name: str = BEACON_BLOB) -> BeaconRead:
        check_blob_name(blob_name)
        self._maybe_fail("read_beacon")
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
        self._before_write("write_beacon", blob_name)
        with self._lock:
            self._require_container()
            self._check_condition(blob_name, self._blobs.get(blob_name), if_match)
            blob = _Blob(bytes(body), self._new_etag(), hashlib.md5(body).digest())
            self._blobs[blob_name] = blob
            self.writes += 1
            return blob.etag

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
        check_blob_name(blob_name)
        check_size(blob_name, size)
        metadata = metadata_for(mtime_ns)
        check_metadata(metadata)
        self._maybe_fail("upload")
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
        if remaining or source.read(1) or hasher.digest() != md5:
            raise ItemError(
                f"'{blob_name}' changed while it was being uploaded; nothing was written.",
                kind=IssueKind.FILE_CHANGED,
            )
        self._before_write("upload", blob_name)
        with self._lock:
            self._require_container()
            current = self._blobs.get(blob_name)
            self._check_condition(blob_name, current, if_match)
            blob = _Blob(buf.getvalue(), self._new_etag(), md5, metadata)
            self._blobs[blob_name] = blob
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
    ) -> int:
        check_blob_name(blob_name)
        self._maybe_fail("download")
        with self._lock:
            self._require_container()
            blob = self._blobs.get(blob_name)
            if blob is None:
                raise BlobNotFound(f"'{blob_name}' no longer exists in the container.")
            self._check_condition(blob_name, blob, if_match)
            data = blob.data
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
        self._before_write("delete", blob_name)
        with self._lock:
            self._require_container()
            blob = self._blobs.get(blob_name)
            if blob is None:
                raise BlobNotFound(f"'{blob_name}' no longer exists in the container.")
            self._check_condition(blob_name, blob, if_match)
            del self._blobs[blob_name]
            self.writes += 1

    def copy(self, source_name: str, target_name: str, source_etag: str) -> WriteResult:
        check_blob_name(source_name)
        check_blob_name(target_name)
        self._maybe_fail("copy")
        self._before_write("copy", target_name)
        with self._lock:
            self._require_container()
            source = self._blobs.get(source_name)
            if source is None:
                raise BlobNotFound(f"'{source_name}' no longer exists in the container.")
            if source.etag != source_etag:
                raise PreconditionFailed(
                    f"'{source_name}' changed since it was listed; it was not copied."
                )
            self._check_condition(target_name, self._blobs.get(target_name), None)
            blob = _Blob(source.data, self._new_etag(), source.md5, dict(source.metadata))
            self._blobs[target_name] = blob
            self.writes += 1
            return WriteResult(blob.etag, blob.md5)

    def close(self) -> None:
        self._closed = True

    # ---- internals -----------------------------------------------------------------

    def _new_etag(self) -> str:
        return f'"0x{next(self._etags):X}"'

    def _require_container(self) -> None:
        if not self._exists:
            raise ContainerNotFound(f"The container '{self.container}' does not exist.")

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
