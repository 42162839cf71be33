"""The RemoteStore for one Azure container: list, read, conditional write, delete, copy.

Every write is conditional (create-only = ``If-None-Match: *``; update/delete/download
pinned with ``If-Match``); every upload stores Content-MD5, a Content-Type from the name
and rclone's ``mtime`` metadata; Azure's name/size/metadata limits are checked before
anything is sent. A listing can be limited to a name prefix, which the service applies
(List Blobs ``prefix=``): a pair on a path inside a container never pages through the
rest of it.
Put Blob, Put Block and Put Block List (with Get Block List), Get Blob and Get Blob
Properties, List Blobs, Delete Blob, Copy Blob, the container's and the service's
properties and the beacon are requests the store builds itself and sends through the
lean pipeline of :mod:`.wire` (http.client, our Shared Key signer, the same retry
policy): the storage SDK's per-call model layer, its pipeline and ``requests`` cost
measurable client CPU per request and ~0.15 s of imports per run (bench/RESULTS.md).
The SDK's clients are made on first use, for what is rare (versions, tiers, links, a
copy that needs its properties polled) or for credentials the lean pipeline does not
sign (Entra ID) or cannot route (a proxy); the SDK path of the listing stays as
``lean_listing = False``.

Why this module is over 800 lines: :class:`AzureBlobStore` implements the whole
``RemoteStore`` protocol for one container (list, get, upload single and in resumable
blocks, download streamed and in ranges with resume, delete, copy, the beacon, archive
tiers, versions, links), and every call shares the client, its pipeline and the same
error translation. What needs none of that is in its own modules: page parsing
(:mod:`.listing`), the retry and timeout policy (:mod:`.policy`), error translation
(:mod:`.errors`), the body reader (:mod:`.transfer`), links (:mod:`.links`), the beacon's
requests (:mod:`.beacon`), sign-in (:mod:`.identity`), the lean pipeline and its signer
(:mod:`.wire`), the SDK's clients (:mod:`.client`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import itertools
import logging
import os
import random
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceResponseError,
)
from azure.core.pipeline.policies import HTTPPolicy
from azure.core.rest import HttpRequest

from ...crashpoints import crash_point
from ...credentials import Credentials
from ...errors import (
    AuthError,
    AuthReason,
    BlobNotFound,
    Cancelled,
    ConfigError,
    ContainerNotFound,
    ItemError,
    ListingError,
    PreconditionFailed,
    RemoteItemError,
)
from ...models import AccessTier, IssueKind, RehydratePriority, RemoteEntry, Writer
from ...names import container_name_problem
from ..base import (
    BEACON_BLOB,
    BeaconRead,
    BlobVersion,
    CancelToken,
    HashWhileSending,
    ProgressCallback,
    Protection,
    ShareLink,
    WriteResult,
)
from ..blobmeta import (
    MiB,
    block_size_for,
    check_blob_name,
    check_metadata,
    check_size,
    content_type_for,
    metadata_for,
    mtime_from_metadata,
    parse_mtime,
    resumable_block_id,
    writer_from_metadata,
)
from ..probe import PermissionReport, probe_permissions
from . import beacon
from .errors import error_code, raise_translated, translate
from .listing import (
    entry_from_headers,
    entry_from_xml,
    metadata_from_xml,
    parse_page,
    quoted,
    rehydrating_to,
    sniff_next_marker,
)
from .policy import (
    COPY_WAIT_S,
    DOWNLOAD_THREADS,
    IN_MEMORY_MAX,
    LIST_PAGE_RAMP,
    PARALLEL_DOWNLOAD_MIN,
    RANGE_SIZE,
    SINGLE_SHOT_MAX,
    STATUS_BACKOFFS,
    UPLOAD_THREADS,
)
from .transfer import ExactReader
from .wire import API_VERSION, lean_pipeline, lean_pipeline_possible

if TYPE_CHECKING:
    from azure.core.pipeline import Pipeline
    from azure.storage.blob import BlobClient, BlobServiceClient, ContainerClient, ContentSettings

log = logging.getLogger(__name__)
T = TypeVar("T")


class AzureBlobStore:
    """RemoteStore for one container. One client + connection pool per store; safe to
    share between the engine's worker threads.

    Knobs for tests: ``single_shot_max`` (bytes up to which one Put Blob is used),
    ``min_block_size``, ``page_size``, ``upload_threads`` (blocks staged in parallel),
    ``range_size`` / ``parallel_download_min`` / ``download_threads`` (ranged parallel
    downloads), ``lean_listing``. During a block upload the ``progress`` callback is
    called from the staging threads (serialised by a lock), not the caller's thread.
    """

    def __init__(
        self,
        creds: Credentials,
        container: str,
        *,
        max_connections: int = 16,
        retry_policy: HTTPPolicy | None = None,  # type: ignore[type-arg]
    ) -> None:
        self.container = container
        self.single_shot_max = SINGLE_SHOT_MAX
        self.min_block_size = 8 * MiB
        self.page_size = 5000
        self.upload_threads = UPLOAD_THREADS
        #: Bytes of staged uploads found already sent (a resumed upload; for tests).
        self.resumed_bytes = 0
        self.range_size = RANGE_SIZE
        self.parallel_download_min = PARALLEL_DOWNLOAD_MIN
        self.download_threads = DOWNLOAD_THREADS
        self._range_pool: ThreadPoolExecutor | None = None
        self._id_prefix = uuid.uuid4().hex[:20]
        self._ids = itertools.count(1)
        self._range_pool_lock = threading.Lock()
        #: List through our own XML parsing (fast) rather than the SDK's models.
        self.lean_listing = True
        self._creds = creds
        self._max_connections = max_connections
        self._retry_policy = retry_policy
        self._sdk_lock = threading.Lock()
        self._sdk_clients: tuple[BlobServiceClient, ContainerClient] | None = None
        sas = creds.sas_token
        #: The container's URL (with the SAS, if any), as the SDK builds it.
        self._url = f"{creds.account_url}/{quote(container, safe='')}" + (f"?{sas}" if sas else "")
        #: Put/Get/List/Delete Blob and the beacon go through this pipeline: the lean one
        #: (:mod:`.wire`) when it can stand in for the SDK's, else the SDK's own.
        self._lean: Pipeline | None = None  # type: ignore[type-arg]
        if lean_pipeline_possible(creds):
            self._lean = lean_pipeline(creds, max_connections=max_connections, retry=retry_policy)
        else:
            self._clients()  # at once, as before: e.g. Entra ID refuses here before a sign-in

    def __repr__(self) -> str:
        return f"AzureBlobStore({self._creds.account_url!r}, {self.container!r})"

    # ---- helpers ------------------------------------------------------------------

    def _clients(self) -> tuple[BlobServiceClient, ContainerClient]:
        """The storage SDK's clients, made on first use: a run that only lists, reads
        and writes whole blobs never imports the SDK (~0.15 s of start-up here)."""
        with self._sdk_lock:
            if self._sdk_clients is None:
                from .client import service_client

                service = service_client(
                    self._creds, max_connections=self._max_connections, retry=self._retry_policy
                )
                self._sdk_clients = (service, service.get_container_client(self.container))
            return self._sdk_clients

    @property
    def _service(self) -> BlobServiceClient:
        return self._clients()[0]

    @property
    def _container(self) -> ContainerClient:
        return self._clients()[1]

    @property
    def pipeline(self) -> Pipeline:  # type: ignore[type-arg]
        """The pipeline the store's own requests go through (for tests)."""
        return self._lean if self._lean is not None else self._container._pipeline

    def _run(self, request: HttpRequest, stream: bool = False) -> Any:
        """Send ``request`` through :attr:`pipeline` with a cheap request ID: the storage
        SDK's default is ``uuid1()``, which asks libuuid's daemon socket on every request
        (three system calls and a lock, ~2 % of a small download's client CPU)."""
        return self.pipeline.run(
            request, stream=stream, client_request_id=f"{self._id_prefix}-{next(self._ids)}"
        )

    def _blob(self, blob_name: str) -> BlobClient:
        return self._container.get_blob_client(blob_name)

    def _fail(self, exc: BaseException, blob_name: str | None = None) -> NoReturn:
        raise_translated(exc, blob_name=blob_name, container=self.container, creds=self._creds)

    @staticmethod
    def _conditions(if_match: str | None) -> dict[str, Any]:
        if if_match is None:
            # No etag with IfMissing: the SDK raises TypeError for etag="*" + IfMissing.
            return {"match_condition": MatchConditions.IfMissing}
        return {"etag": if_match, "match_condition": MatchConditions.IfNotModified}

    @property
    def client(self) -> ContainerClient:
        """The SDK container client (for benchmarks and tests only)."""
        return self._container

    # ---- RemoteStore --------------------------------------------------------------

    def container_exists(self) -> bool:
        """One Get Container Properties (``restype=container``)."""
        try:
            self._answer("GET", _with_query(self._url, "restype=container"), 200)
            return True
        except AzureError as exc:
            if (
                isinstance(exc, HttpResponseError)
                and exc.status_code == 404
                and error_code(exc) in ("ContainerNotFound", "")
            ):
                return False
            error = translate(exc, container=self.container, creds=self._creds)
            if not (isinstance(error, AuthError) and error.reason is AuthReason.PERMISSION_MISSING):
                raise error from None
        # A container SAS may not read the container's properties (403
        # AuthorizationPermissionMismatch) but may list it: a listing tells.
        try:
            next(iter(self._list_lean("")), None)
        except ContainerNotFound:
            return False
        return True

    def create_container(self) -> bool:
        """One Create Container (``PUT ?restype=container``); False if it existed."""
        try:
            self._answer("PUT", _with_query(self._url, "restype=container"), 201)
            return True
        except HttpResponseError as exc:
            if error_code(exc) == "ContainerAlreadyExists":
                return False
            self._fail(exc)
        except AzureError as exc:
            self._fail(exc)

    def _answer(
        self,
        method: str,
        url: str,
        ok: int,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> Any:
        """One request of the store's own (a small body, if any); its response when
        the status is ``ok``. Raises HttpResponseError (the service refused), AzureError."""
        request = HttpRequest(
            method, url, headers={"x-ms-version": API_VERSION, **(headers or {})}, content=content
        )
        response = self._run(request).http_response
        if response.status_code != ok:
            raise HttpResponseError(response=response)
        return response

    def list_blobs(self, prefix: str = "") -> Iterator[RemoteEntry]:
        if self.lean_listing:
            return self._list_lean(prefix)
        return self._list_sdk(prefix)

    def _listing_failed(self, exc: BaseException) -> NoReturn:
        error = translate(exc, container=self.container, creds=self._creds)
        if isinstance(error, (AuthError, ContainerNotFound)):
            raise error from None
        raise ListingError(
            f"Listing the container '{self.container}' failed part-way "
            f"({error.message}); nothing was concluded from it."
        ) from None

    def _list_lean(self, prefix: str) -> Iterator[RemoteEntry]:
        """List Blobs sent through the client's own pipeline (auth, retries, timeouts)
        but parsed with ElementTree: the SDK's XML model deserialisation is the slow part
        (~3x slower for 5,000 blobs)."""
        return self._list_xml(prefix, "metadata", entry_from_xml)

    def _list_xml(
        self,
        prefix: str,
        include: str,
        convert: Callable[[ET.Element], T],
        page_size: int | None = None,
    ) -> Iterator[T]:
        """``convert`` applied to each ``<Blob>`` element of a flat listing of
        ``prefix``, page by page (the element is gone after: keep what you need).

        The next page is asked for as soon as this page's body is in, before it is
        parsed (its NextMarker read from the body's tail, checked against the parse):
        the service prepares that page while this one is parsed and handed out, at most
        two pages in memory. The first pages are smaller (:data:`LIST_PAGE_RAMP`), so a
        small container's parse overlaps the service's work instead of following it.
        """
        sizes = itertools.chain(
            (min(size, page_size or self.page_size) for size in LIST_PAGE_RAMP),
            itertools.repeat(page_size or self.page_size),
        )

        def request_for(marker: str) -> HttpRequest:
            query = f"restype=container&comp=list&include={include}&maxresults={next(sizes)}"
            if prefix:
                query += "&prefix=" + quote(prefix, safe="")
            if marker:
                query += "&marker=" + quote(marker, safe="")
            return HttpRequest(
                "GET",
                _with_query(self._url, query),  # the container URL carries the SAS, if any
                headers={"x-ms-version": API_VERSION, "Accept": "application/xml"},
            )

        # Not a with-block: a run that stops early must not wait for the page in flight.
        ahead = ThreadPoolExecutor(1, thread_name_prefix="blobsync-list")
        try:
            page: Future[tuple[bytes, str]] | None = ahead.submit(self._fetch_page, request_for(""))
            while page is not None:
                try:
                    body, sniffed = page.result()
                except AzureError as exc:
                    self._listing_failed(exc)
                page = ahead.submit(self._fetch_page, request_for(sniffed)) if sniffed else None
                try:
                    items, marker = parse_page(body, convert)
                except ET.ParseError:
                    raise ListingError(
                        f"Listing the container '{self.container}' returned a malformed "
                        "page; nothing was concluded from it."
                    ) from None
                del body
                if marker != sniffed:  # the tail was misread: the page asked for is wrong
                    if page is not None:
                        page.cancel()
                    page = ahead.submit(self._fetch_page, request_for(marker)) if marker else None
                yield from items
                del items  # not kept alive while the next page is awaited
        finally:
            ahead.shutdown(wait=False, cancel_futures=True)

    def _fetch_page(self, request: HttpRequest) -> tuple[bytes, str]:
        """One List Blobs page: its whole body and the NextMarker its tail names. A
        body that breaks off is asked for again (same marker), a bounded number of
        times; nothing of the broken body is kept. Raises AzureError."""
        retries = 0
        while True:
            response = self._run(request, stream=True).http_response
            try:
                if response.status_code != 200:
                    response.read()
                    raise HttpResponseError(response=response)
                body = b"".join(response.iter_bytes())
                return body, sniff_next_marker(body)
            except ServiceResponseError:
                if retries >= len(STATUS_BACKOFFS):
                    raise
                time.sleep(STATUS_BACKOFFS[retries] * random.uniform(0.8, 1.2))
                retries += 1
            finally:
                response.close()

    def list_meta(self, prefix: str) -> Iterator[tuple[RemoteEntry, dict[str, str]]]:
        return self._list_xml(prefix, "metadata", _entry_and_metadata)

    def protection(self) -> Protection:
        """Soft delete from Get Blob Service Properties (needs an account-level
        credential; a container SAS cannot read it: then None). Versioning is an
        account setting the data plane cannot read, so it is inferred: a listing with
        ``include=versions`` shows a ``VersionId`` on blobs only when versioning is or
        was on (https://learn.microsoft.com/rest/api/storageservices/list-blobs).
        Azurite supports neither feature: there it reports versioning off."""
        days: int | None = None
        try:
            days = self._soft_delete_days()
        except HttpResponseError as exc:
            if exc.status_code not in (400, 403, 404):
                self._fail(exc)
        except AzureError as exc:
            self._fail(exc)
        versioning: bool | None = None
        try:
            for versioned in self._list_xml("", "versions", _has_version_id, page_size=1):
                versioning = versioned
                break
        except (ListingError, ContainerNotFound):
            versioning = None  # refused include=versions, or no container yet: cannot tell
        return Protection(versioning=versioning, soft_delete_days=days)

    def _soft_delete_days(self) -> int | None:
        """Get Blob Service Properties' ``DeleteRetentionPolicy``: its days when on.
        Raises HttpResponseError, AzureError."""
        sas = self._creds.sas_token
        service_url = f"{self._creds.account_url}/" + (f"?{sas}" if sas else "")
        answer = self._answer(
            "GET", _with_query(service_url, "restype=service&comp=properties"), 200
        )
        try:
            policy = ET.fromstring(answer.read()).find("DeleteRetentionPolicy")
        except ET.ParseError:
            return None
        if policy is None or (policy.findtext("Enabled") or "").lower() != "true":
            return None
        days = policy.findtext("Days") or ""
        return int(days) if days.isdigit() and int(days) > 0 else None

    def list_versions(self, blob_name: str) -> list[BlobVersion]:
        check_blob_name(blob_name)
        out = []
        for entry, version_id, metadata, current in self._list_xml(
            blob_name, "versions,metadata", _version_of
        ):
            if entry.rel_path != blob_name or not version_id:
                continue
            out.append(
                BlobVersion(
                    blob_name,
                    version_id,
                    entry.size,
                    entry.md5,
                    entry.mtime_ns,
                    writer_from_metadata(metadata),
                    _version_time(version_id),
                    current,
                )
            )
        out.sort(key=lambda v: v.version_id)  # version ids are timestamps: sortable
        return out

    def _list_sdk(self, prefix: str) -> Iterator[RemoteEntry]:
        pages = self._container.list_blobs(
            name_starts_with=prefix or None, include=["metadata"], results_per_page=self.page_size
        ).by_page()
        while True:
            try:
                page = list(next(pages))
            except StopIteration:
                return
            except AzureError as exc:
                self._listing_failed(exc)
            for blob in page:
                md5 = blob.content_settings.content_md5
                yield RemoteEntry(
                    rel_path=blob.name,
                    size=blob.size,
                    etag=quoted(blob.etag),
                    md5=bytes(md5) if md5 else None,
                    mtime_ns=mtime_from_metadata(blob.metadata),
                    tier=AccessTier.parse(blob.blob_tier),
                    rehydrating_to=rehydrating_to(blob.archive_status),
                    writer=writer_from_metadata(blob.metadata),
                )

    def list_folders(self, prefix: str = "") -> list[str]:
        """List Blobs with ``delimiter=/``: the service folds everything below each next
        segment into one BlobPrefix, so a container path picker never pages through all
        the blobs (https://learn.microsoft.com/rest/api/storageservices/enumerating-blob-resources)."""
        folders: list[str] = []
        try:
            for item in self._container.walk_blobs(name_starts_with=prefix or None, delimiter="/"):
                if isinstance(item, _sdk().BlobPrefix):
                    folders.append(item.name)
        except AzureError as exc:
            self._listing_failed(exc)
        return sorted(folders)

    def get_entry(self, blob_name: str) -> RemoteEntry | None:
        """One Get Blob Properties (``HEAD``); None if there is no such blob."""
        check_blob_name(blob_name)
        if self._lean is None:
            return self._get_entry_sdk(blob_name)
        try:
            response = self._answer("HEAD", self._blob_url(blob_name), 200)
        except HttpResponseError as exc:
            # A HEAD answer has no body: the service names the error in x-ms-error-code.
            if exc.status_code == 404 and error_code(exc) != "ContainerNotFound":
                return None
            self._fail(exc, blob_name)
        except AzureError as exc:
            self._fail(exc, blob_name)
        return entry_from_headers(blob_name, response.headers)

    def _get_entry_sdk(self, blob_name: str) -> RemoteEntry | None:
        try:
            props = self._blob(blob_name).get_blob_properties()
        except ResourceNotFoundError as exc:
            if error_code(exc) == "ContainerNotFound":
                self._fail(exc, blob_name)
            return None
        except AzureError as exc:
            self._fail(exc, blob_name)
        md5 = props.content_settings.content_md5
        return RemoteEntry(
            rel_path=blob_name,
            size=props.size,
            etag=props.etag,
            md5=bytes(md5) if md5 else None,
            mtime_ns=mtime_from_metadata(props.metadata),
            tier=AccessTier.parse(props.blob_tier),
            rehydrating_to=rehydrating_to(props.archive_status),
            writer=writer_from_metadata(props.metadata),
        )

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
        if cancel is not None and cancel.cancelled:
            raise Cancelled("The upload was cancelled.")
        if isinstance(md5, HashWhileSending) and size < self.hash_while_sending_min:
            raise ValueError("HashWhileSending is for contents of hash_while_sending_min bytes")
        known = md5 if isinstance(md5, bytes) else None
        try:
            if known is not None and size <= self.single_shot_max:
                etag = self._upload_single(
                    blob_name, source, size, known, metadata, if_match, progress, cancel
                )
            else:
                block_ids, known = self._stage_blocks(
                    blob_name, source, size, md5, mtime_ns, progress, cancel
                )
                etag = self._commit_blocks(blob_name, block_ids, known, metadata, if_match)
        except PreconditionFailed:
            # The SDK may have retried a write whose response was lost, and the retry
            # met our own write (azure-sdk-for-python#19486): same content = success.
            current = self._entry_if_readable(blob_name)
            if (
                current is not None
                and known is not None
                and (current.md5, current.size)
                == (
                    known,
                    size,
                )
            ):
                return WriteResult(current.etag, known)
            raise
        return WriteResult(etag, known)

    @property
    def hash_while_sending_min(self) -> int:
        """Staged uploads (above :attr:`single_shot_max`) may hash while sending."""
        return self.single_shot_max + 1

    def _changed(self, blob_name: str) -> ItemError:
        return ItemError(
            f"'{blob_name}' changed while it was being uploaded; nothing was written.",
            kind=IssueKind.FILE_CHANGED,
        )

    def read_beacon(self, if_none_match: str | None, blob_name: str = BEACON_BLOB) -> BeaconRead:
        """One conditional Get Blob (:mod:`.beacon`)."""
        return beacon.read_beacon(
            self.pipeline,
            self._blob_url(blob_name),
            API_VERSION,
            if_none_match,
            blob_name=blob_name,
            container=self.container,
            creds=self._creds,
        )

    def write_beacon(self, body: bytes, if_match: str | None, blob_name: str = BEACON_BLOB) -> str:
        """One conditional Put Blob (:mod:`.beacon`)."""
        return beacon.write_beacon(
            self.pipeline,
            self._blob_url(blob_name),
            API_VERSION,
            body,
            if_match,
            blob_name=blob_name,
            container=self.container,
            creds=self._creds,
        )

    def _upload_single(
        self,
        blob_name: str,
        source: BinaryIO,
        size: int,
        md5: bytes,
        metadata: dict[str, str],
        if_match: str | None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> str:
        body: bytes | ExactReader
        if size <= IN_MEMORY_MAX:
            body = source.read(size) if size else b""
            if len(body) != size or source.read(1) or hashlib.md5(body).digest() != md5:
                raise self._changed(blob_name)
        else:
            body = ExactReader(source, size, progress, cancel)
        try:
            etag = self._put_blob(blob_name, body, size, md5, metadata, if_match)
        except HttpResponseError as exc:
            if if_match is None and exc.status_code == 409:
                current = self.get_entry(blob_name)
                if current is None:
                    # Only uncommitted blocks are there (a block upload stopped before
                    # its commit): Put Blob answers 409 to If-None-Match: * forever, Put
                    # Block List accepts it and drops them (found by tests/reliability).
                    data = body if isinstance(body, bytes) else body.reread()
                    if hashlib.md5(data).digest() != md5:
                        raise self._changed(blob_name) from None
                    etag = self._commit_as_block(blob_name, data, md5, metadata)
                elif current.md5 == md5 and current.size == size:
                    etag = current.etag  # our own write, its answer lost (SDK #19486)
                else:
                    self._fail(exc, blob_name)
            else:
                self._fail(exc, blob_name)
        if progress is not None and isinstance(body, bytes):
            progress(size)
        return etag

    def _commit_as_block(
        self, blob_name: str, data: bytes, md5: bytes, metadata: dict[str, str]
    ) -> str:
        blob = self._blob(blob_name)
        block_ids = []
        try:
            if data:
                # All block IDs of a blob, uncommitted ones included, must have one length.
                _committed, leftovers = blob.get_block_list("uncommitted")
                size = len(base64.b64decode(leftovers[0].id)) if leftovers else 16
                block_id = base64.b64encode(os.urandom(size)).decode()
                blob.stage_block(block_id, data, length=len(data))
                block_ids.append(block_id)
            response = blob.commit_block_list(
                [_sdk().BlobBlock(block_id=block_id) for block_id in block_ids],
                content_settings=self._content_settings(blob_name, md5),
                metadata=metadata,
                **self._conditions(None),
            )
        except AzureError as exc:
            self._fail(exc, blob_name)
        return str(response["etag"])

    @staticmethod
    def _content_settings(blob_name: str, md5: bytes) -> ContentSettings:
        settings: ContentSettings = _sdk().ContentSettings(
            content_type=content_type_for(blob_name), content_md5=bytearray(md5)
        )
        return settings

    def _blob_url(self, blob_name: str) -> str:
        """The blob's URL as the SDK builds it (name quoted, SAS kept)."""
        split = urlsplit(self._url)
        path = f"{split.path}/{quote(blob_name, safe='~/')}"
        return urlunsplit((split.scheme, split.netloc, path, split.query, ""))

    def _put_blob(
        self,
        blob_name: str,
        body: bytes | ExactReader,
        size: int,
        md5: bytes,
        metadata: dict[str, str],
        if_match: str | None,
    ) -> str:
        """One conditional Put Blob sent through the client's own pipeline (auth, retries,
        timeouts) without the SDK's per-call model layer: that layer was ~25 % of the
        client's CPU per small upload (bench/RESULTS.md, W1). Raises HttpResponseError
        for a refusal (the caller looks at 409s), ItemError FILE_CHANGED for a
        Content-MD5 mismatch, BlobSync errors for the rest.
        """
        content_type = content_type_for(blob_name)
        headers = {
            "x-ms-version": API_VERSION,
            "x-ms-blob-type": "BlockBlob",
            # The blob's own Content-Type (what a browser gets); the request's says the
            # same. https://learn.microsoft.com/rest/api/storageservices/put-blob
            "x-ms-blob-content-type": content_type,
            "Content-Type": content_type,
            "Content-Length": str(size),
            "Content-MD5": base64.b64encode(md5).decode("ascii"),
        }
        _add_write_headers(headers, metadata, if_match)
        request = HttpRequest("PUT", self._blob_url(blob_name), headers=headers, content=body)
        try:
            response = self._run(request).http_response
        except AzureError as exc:
            self._fail(exc, blob_name)
        if response.status_code != 201:
            error = HttpResponseError(response=response)
            if error_code(error) == "Md5Mismatch":  # the file changed while it was sent
                raise self._changed(blob_name)
            raise error
        return str(response.headers["ETag"])

    def _stage_blocks(
        self,
        blob_name: str,
        source: BinaryIO,
        size: int,
        md5: bytes | HashWhileSending,
        mtime_ns: int,
        progress: ProgressCallback | None,
        cancel: CancelToken | None,
    ) -> tuple[list[str], bytes]:
        """Stage ``source`` as blocks, ``upload_threads`` at a time, each with its own
        Content-MD5, hashing the whole content as it is read. Blocks a stopped try left
        are not sent again: block IDs name the content (its MD5; hashed while sending:
        its size and mtime), the block size and the place. Checks the content against
        ``md5``, or calls ``HashWhileSending.unchanged()``, before returning: nothing is
        committed yet. Returns the block IDs and the content's MD5."""
        block_size = block_size_for(size, self.min_block_size)
        if isinstance(md5, bytes):
            identity = md5
        else:  # what the engine also takes as "the same file": size and mtime
            identity = hashlib.md5(f"while-sending:{size}:{mtime_ns}".encode()).digest()
        staged = self._uncommitted(blob_name)  # what a cancelled, paused or crashed try left
        hasher = hashlib.md5()
        block_ids: list[str] = []
        pending: set[Future[None]] = set()
        read = 0
        lock = threading.Lock()

        def stage(block_id: str, chunk: bytes) -> None:
            self._put_block(blob_name, block_id, chunk)
            if progress is not None:
                with lock:
                    progress(len(chunk))

        with ThreadPoolExecutor(self.upload_threads, thread_name_prefix="blobsync-block") as pool:
            try:
                while read < size:
                    if cancel is not None and cancel.cancelled:
                        raise Cancelled("The upload was cancelled.")
                    chunk = source.read(min(block_size, size - read))
                    if not chunk:
                        break
                    hasher.update(chunk)
                    read += len(chunk)
                    block_id = resumable_block_id(identity, block_size, len(block_ids))
                    block_ids.append(block_id)
                    if staged.get(block_id) == len(chunk):
                        # Resume: this very block is already there (the whole content's
                        # MD5 is still taken from every byte read, sent or not).
                        self.resumed_bytes += len(chunk)
                        if progress is not None:
                            with lock:
                                progress(len(chunk))
                        continue
                    while len(pending) >= self.upload_threads:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for future in done:
                            future.result()
                    pending.add(pool.submit(stage, block_id, chunk))
                for future in pending:
                    future.result()
            except AzureError as exc:
                self._fail(exc, blob_name)
            finally:
                for future in pending:
                    future.cancel()
        digest = hasher.digest()
        if read != size or source.read(1):
            raise self._changed(blob_name)
        if isinstance(md5, HashWhileSending):
            md5.unchanged()  # raises FILE_CHANGED: nothing is committed
        elif digest != md5:
            raise self._changed(blob_name)
        if cancel is not None and cancel.cancelled:
            raise Cancelled("The upload was cancelled.")
        crash_point("mid_block_upload")  # blocks staged, nothing committed
        return block_ids, digest

    def _put_block(self, blob_name: str, block_id: str, chunk: bytes) -> None:
        """One Put Block with the block's Content-MD5 (the service checks it; Azurite is
        also faster with it, see policy.SINGLE_SHOT_MAX). Raises AzureError."""
        if self._lean is None:
            self._blob(blob_name).stage_block(
                block_id, chunk, length=len(chunk), validate_content=True
            )
            return
        query = "comp=block&blockid=" + quote(block_id, safe="")
        headers = {
            "Content-Length": str(len(chunk)),
            "Content-MD5": base64.b64encode(hashlib.md5(chunk).digest()).decode("ascii"),
        }
        self._answer("PUT", _with_query(self._blob_url(blob_name), query), 201, headers, chunk)

    def _commit_blocks(
        self,
        blob_name: str,
        block_ids: list[str],
        md5: bytes,
        metadata: dict[str, str],
        if_match: str | None,
    ) -> str:
        """One conditional Put Block List: the blob becomes the staged blocks, with
        ``md5`` as its Content-MD5. Returns its ETag."""
        try:
            if self._lean is None:
                response = self._blob(blob_name).commit_block_list(
                    [_sdk().BlobBlock(block_id=block_id) for block_id in block_ids],
                    content_settings=self._content_settings(blob_name, md5),
                    metadata=metadata,
                    **self._conditions(if_match),
                )
                return str(response["etag"])
            body = (
                '<?xml version="1.0" encoding="utf-8"?><BlockList>'
                + "".join(f"<Latest>{block_id}</Latest>" for block_id in block_ids)
                + "</BlockList>"
            ).encode("ascii")
            headers = {
                "Content-Type": "application/xml",
                "Content-Length": str(len(body)),
                "x-ms-blob-content-type": content_type_for(blob_name),
                "x-ms-blob-content-md5": base64.b64encode(md5).decode("ascii"),
            }
            _add_write_headers(headers, metadata, if_match)
            url = _with_query(self._blob_url(blob_name), "comp=blocklist")
            return str(self._answer("PUT", url, 201, headers, body).headers["ETag"])
        except AzureError as exc:
            self._fail(exc, blob_name)

    def _uncommitted(self, blob_name: str) -> dict[str, int]:
        """The blob's uncommitted blocks (ID → size): Azure keeps staged blocks for a
        week (https://learn.microsoft.com/rest/api/storageservices/put-block#remarks),
        so an upload stopped midway resumes with the blocks it already sent. One Get
        Block List per staged upload; nothing is lost when it fails (all are sent)."""
        try:
            if self._lean is None:
                _committed, uncommitted = self._blob(blob_name).get_block_list("uncommitted")
                return {block.id: block.size for block in uncommitted}
            url = _with_query(self._blob_url(blob_name), "comp=blocklist&blocklisttype=uncommitted")
            root = ET.fromstring(self._answer("GET", url, 200).read())
        except (AzureError, ET.ParseError):
            return {}
        blocks: dict[str, int] = {}
        for block in root.iterfind("UncommittedBlocks/Block"):
            name, size = block.findtext("Name"), block.findtext("Size")
            if name and size and size.isdigit():
                blocks[name] = int(size)
        return blocks

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
        """One conditional Get Blob streamed into ``sink``, sent through the client's
        pipeline (auth, retries, timeouts) without the SDK's downloader, which cost ~1 ms
        more client CPU per small blob (bench/RESULTS.md, W5). A body that breaks off
        is resumed with a range request pinned to the same ETag (so the same content).
        A blob of at least ``parallel_download_min`` bytes is read as ``range_size``
        ranges, ``download_threads`` at a time, every one pinned to the ETag, written
        into ``sink`` in order (``sink`` only ever sees sequential writes)."""
        check_blob_name(blob_name)
        response = self._get(blob_name, if_match, offset, None)
        total = int(response.headers.get("Content-Length", 0))
        if offset:  # a resumed download: the rest in one ranged request
            return self._stream(
                blob_name,
                if_match,
                response,
                offset,
                offset + total,
                sink,
                progress,
                cancel,
                open_end=True,
            )
        if total < self.parallel_download_min:
            return self._stream(
                blob_name, if_match, response, 0, total, sink, progress, cancel, open_end=True
            )
        # The first range comes from the response already open; then it is dropped.
        first = min(self.range_size, total)
        head = io.BytesIO()
        self._stream(blob_name, if_match, response, 0, first, head, None, cancel)
        self._write(sink, head.getvalue(), progress)
        del head
        pool = self._ranges()
        pending: deque[Future[bytes]] = deque()
        starts = iter(range(first, total, self.range_size))
        written = first

        def fetch(start: int) -> bytes:
            end = min(start + self.range_size, total)
            buffer = io.BytesIO()
            self._stream(
                blob_name,
                if_match,
                self._get(blob_name, if_match, start, end),
                start,
                end,
                buffer,
                None,
                cancel,
            )
            return buffer.getvalue()

        try:
            for start in itertools.islice(starts, self.download_threads + 1):
                pending.append(pool.submit(fetch, start))
            while pending:
                data = pending.popleft().result()
                if cancel is not None and cancel.cancelled:
                    raise Cancelled("The download was cancelled.")
                self._write(sink, data, progress)
                written += len(data)
                for start in itertools.islice(starts, 1):
                    pending.append(pool.submit(fetch, start))
        finally:
            for future in pending:
                future.cancel()
            wait(pending)
        return written

    @staticmethod
    def _write(sink: BinaryIO, data: bytes, progress: ProgressCallback | None) -> None:
        sink.write(data)
        if progress is not None:
            progress(len(data))

    def _ranges(self) -> ThreadPoolExecutor:
        """The store's pool for range requests (shared by concurrent downloads, so the
        connections in use stay bounded)."""
        with self._range_pool_lock:
            if self._range_pool is None:
                self._range_pool = ThreadPoolExecutor(
                    self.download_threads, thread_name_prefix="blobsync-range"
                )
            return self._range_pool

    def _get(self, blob_name: str, if_match: str, start: int, end: int | None) -> Any:
        """A Get Blob (bytes ``start``..``end``, or all) pinned to ``if_match``, its
        body not read yet. Raises PreconditionFailed, BlobNotFound, BlobSync errors."""
        headers = {"x-ms-version": API_VERSION, "If-Match": if_match}
        if start or end is not None:
            headers["x-ms-range"] = f"bytes={start}-{'' if end is None else end - 1}"
        request = HttpRequest("GET", self._blob_url(blob_name), headers=headers)
        try:
            response = self._run(request, stream=True).http_response
            if response.status_code not in (200, 206):
                response.read()
                response.close()
                raise HttpResponseError(response=response)
        except AzureError as exc:
            error = translate(exc, blob_name=blob_name, container=self.container, creds=self._creds)
            if isinstance(error, PreconditionFailed):
                self._gone_or(error, blob_name)
            raise error from None
        return response

    def _stream(
        self,
        blob_name: str,
        if_match: str,
        response: Any,
        start: int,
        end: int,
        sink: BinaryIO,
        progress: ProgressCallback | None,
        cancel: CancelToken | None,
        open_end: bool = False,
    ) -> int:
        """Bytes ``start``..``end`` from ``response`` into ``sink``; a body that breaks
        off is resumed from where it broke (same ETag; ``open_end``: the resumed range
        runs to the blob's end). Closes every response; stops reading at ``end`` even if
        the response goes on. Returns the bytes written."""
        position = start
        resumes = 0
        while True:
            try:
                for chunk in response.iter_bytes():
                    if cancel is not None and cancel.cancelled:
                        raise Cancelled("The download was cancelled.")
                    if position + len(chunk) > end:
                        chunk = chunk[: end - position]
                    sink.write(chunk)
                    position += len(chunk)
                    if progress is not None:
                        progress(len(chunk))
                    if position >= end:
                        break
                return position - start
            except AzureError as exc:  # the body broke off part-way
                if position >= end or resumes >= len(STATUS_BACKOFFS):
                    self._fail(exc, blob_name)
                time.sleep(STATUS_BACKOFFS[resumes] * random.uniform(0.8, 1.2))
                resumes += 1
            finally:
                response.close()
            response = self._get(blob_name, if_match, position, None if open_end else end)

    def delete(self, blob_name: str, if_match: str) -> None:
        check_blob_name(blob_name)
        try:
            if self._lean is None:
                self._blob(blob_name).delete_blob(**self._conditions(if_match))
            else:  # one conditional Delete Blob
                self._answer("DELETE", self._blob_url(blob_name), 202, {"If-Match": if_match})
        except AzureError as exc:
            error = translate(exc, blob_name=blob_name, container=self.container, creds=self._creds)
            if isinstance(error, PreconditionFailed):
                self._gone_or(error, blob_name)
            raise error from None

    def _gone_or(self, error: PreconditionFailed, blob_name: str) -> NoReturn:
        # Azurite answers a conditional delete/read of a missing blob with 412: report it
        # as the 404 it is, so the engine can treat it as "already gone".
        try:
            gone = self.get_entry(blob_name) is None
        except AuthError:  # may not read properties (a SAS without 'r'): keep the 412
            raise error from None
        if gone:
            raise BlobNotFound(f"'{blob_name}' no longer exists in the container.") from None
        raise error from None

    def _entry_if_readable(self, blob_name: str) -> RemoteEntry | None:
        """``get_entry``, or None when these credentials may not read properties."""
        try:
            return self.get_entry(blob_name)
        except AuthError as exc:
            if exc.reason is AuthReason.PERMISSION_MISSING:
                return None
            raise

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
        """Copy Blob within the account. A copy inside one storage account completes
        synchronously (the response says ``success``); only then is no Get Blob
        Properties poll sent."""
        check_blob_name(source_name)
        check_blob_name(target_name)
        if metadata is not None:
            check_metadata(metadata)
        try:
            status, etag = self._start_copy(
                source_name, target_name, source_etag, metadata, target_if_match, source_version
            )
            same_type = content_type_for(source_name) == content_type_for(target_name)
            if status == "success" and same_type:
                return WriteResult(etag, None)
            target = self._blob(target_name)
            deadline = time.monotonic() + COPY_WAIT_S
            while True:
                props = target.get_blob_properties()
                status = props.copy.status
                if status in (None, "success"):
                    break
                if status != "pending":
                    raise RemoteItemError(
                        f"Copying '{source_name}' to '{target_name}' ended with status {status}."
                    )
                if time.monotonic() > deadline:
                    raise RemoteItemError(
                        f"Copying '{source_name}' to '{target_name}' did not finish in time."
                    )
                time.sleep(0.5)
        except HttpResponseError as exc:
            code = error_code(exc)
            name = (
                source_name if code in ("CannotVerifyCopySource", "BlobNotFound") else target_name
            )
            if code == "CannotVerifyCopySource" and exc.status_code == 404:
                raise BlobNotFound(f"'{source_name}' no longer exists in the container.") from None
            self._fail(exc, name)
        except AzureError as exc:
            self._fail(exc, target_name)
        settings = props.content_settings
        md5 = settings.content_md5
        etag = str(props.etag)
        wanted = content_type_for(target_name)
        if settings.content_type != wanted:
            # Copy Blob keeps the source's Content-Type: a rename to another extension
            # sets the one its new name asks for (Set Blob Properties replaces all the
            # content headers, so the others, Content-MD5 included, are sent back).
            settings.content_type = wanted
            try:
                answer = target.set_http_headers(
                    settings, etag=etag, match_condition=MatchConditions.IfNotModified
                )
                etag = str(answer["etag"])
            except AzureError as exc:  # cosmetic: the copy itself is done
                log.info("Content-Type of %s not updated: %s", target_name, exc)
        return WriteResult(etag, bytes(md5) if md5 else None)

    def _start_copy(
        self,
        source_name: str,
        target_name: str,
        source_etag: str | None,
        metadata: dict[str, str] | None,
        target_if_match: str | None,
        source_version: str | None,
    ) -> tuple[str | None, str]:
        """One conditional Copy Blob of ``source_name``, or of its version
        ``source_version`` (``versionid=`` in the source URL). The source URL carries
        the SAS, if any; a Shared Key request authorises a source in the same account.
        Returns the copy status and the target's ETag. Raises HttpResponseError,
        AzureError."""
        source_url = self._blob_url(source_name)
        if source_version is not None:
            source_url = _with_query(source_url, "versionid=" + quote(source_version, safe=""))
        headers = {"x-ms-copy-source": source_url}
        if source_etag is not None:
            headers["x-ms-source-if-match"] = source_etag
        _add_write_headers(headers, metadata or {}, target_if_match)
        response = self._answer("PUT", self._blob_url(target_name), 202, headers)
        return response.headers.get("x-ms-copy-status"), str(response.headers["ETag"])

    def rehydrate(self, blob_name: str, tier: AccessTier, priority: RehydratePriority) -> None:
        """Set Blob Tier from Archive back to an online tier. Azure keeps the blob
        archived (ArchiveStatus ``rehydrate-pending-to-*``) for up to 15 hours (Standard)
        or about one hour (High); the content and ETag do not change. Raises AuthError,
        BlobNotFound, RemoteItemError."""
        check_blob_name(blob_name)
        try:
            self._blob(blob_name).set_standard_blob_tier(
                tier.value, rehydrate_priority=_sdk().RehydratePriority(priority.value)
            )
        except AzureError as exc:
            self._fail(exc, blob_name)

    def share_link(self, blob_name: str, valid_for: dt.timedelta) -> ShareLink:
        """A read-only link to one blob, valid for ``valid_for`` (see :mod:`.links`)."""
        check_blob_name(blob_name)
        from .links import make_share_link

        return make_share_link(self._service, self._creds, self.container, blob_name, valid_for)

    def close(self) -> None:
        with self._range_pool_lock:
            if self._range_pool is not None:
                self._range_pool.shutdown(wait=True, cancel_futures=True)
                self._range_pool = None
        if self._sdk_clients is not None:
            self._sdk_clients[0].close()
        if self._lean is not None:
            self._lean.__exit__()


def _add_write_headers(
    headers: dict[str, str], metadata: dict[str, str], if_match: str | None
) -> None:
    """Add a write's metadata (``x-ms-meta-``) and its condition to ``headers``: create
    only (``If-None-Match: *``) or ``If-Match``."""
    for key, value in metadata.items():
        headers[f"x-ms-meta-{key}"] = value
    if if_match is None:
        headers["If-None-Match"] = "*"  # create only
    else:
        headers["If-Match"] = if_match


def _with_query(url: str, query: str) -> str:
    """``url`` with ``query`` appended to whatever query it has (a SAS, say)."""
    split = urlsplit(url)
    joined = f"{split.query}&{query}" if split.query else query
    return urlunsplit((split.scheme, split.netloc, split.path, joined, ""))


def _sdk() -> Any:
    """The storage SDK's model classes (imported on first use, see ``_clients``)."""
    import azure.storage.blob

    return azure.storage.blob


def _entry_and_metadata(blob: ET.Element) -> tuple[RemoteEntry, dict[str, str]]:
    return entry_from_xml(blob), metadata_from_xml(blob)


def _has_version_id(blob: ET.Element) -> bool:
    return blob.findtext("VersionId") is not None


def _version_of(blob: ET.Element) -> tuple[RemoteEntry, str | None, dict[str, str], bool]:
    """What :meth:`AzureBlobStore.list_versions` needs of a listed version."""
    current = (blob.findtext("IsCurrentVersion") or "").lower() == "true"
    return entry_from_xml(blob), blob.findtext("VersionId"), metadata_from_xml(blob), current


def _version_time(version_id: str) -> float:
    """Epoch seconds of a version id (``2024-05-01T10:11:12.1234567Z``); 0 if odd."""
    stamp = parse_mtime(version_id)
    return stamp / 1e9 if stamp is not None else 0.0


def create_container(creds: Credentials, name: str) -> bool:
    """Create container ``name``; False if it already existed.

    Raises ConfigError (invalid name), AuthError, ConnectionFailure.
    """
    problem = container_name_problem(name)
    if problem is not None:
        raise ConfigError(problem)
    store = AzureBlobStore(creds, name)
    try:
        return store.create_container()
    finally:
        store.close()


def check_container(creds: Credentials, container: str) -> PermissionReport:
    """Which of list, read, write and delete these credentials may do in ``container``
    (see :func:`~blobsync.core.remote.probe.probe_permissions`). Only container- and
    blob-level requests: a container SAS works. Raises ConfigError (invalid name),
    AuthError (credentials refused outright, expired: SignInExpired), ConnectionFailure.
    """
    problem = container_name_problem(container)
    if problem is not None:
        raise ConfigError(problem)
    store = AzureBlobStore(creds, container)
    try:
        return probe_permissions(store)
    finally:
        store.close()


def open_store(creds: Credentials, container: str, *, max_connections: int = 16) -> AzureBlobStore:
    """An :class:`AzureBlobStore` for ``container`` (nothing is sent yet)."""
    return AzureBlobStore(creds, container, max_connections=max_connections)
