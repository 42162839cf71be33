"""The change beacon on Azure: one conditional Get Blob to read it, one conditional Put
Blob to write it (the store's :meth:`~.store.AzureBlobStore.read_beacon` and
:meth:`~.store.AzureBlobStore.write_beacon`).

Reading sends ``If-None-Match: <last ETag>``: while the beacon is unchanged the service
answers 304 Not Modified with no body, which is the whole cost of watching a pair (one
small read transaction). The request goes through the client's own pipeline (auth,
retries, timeouts) like the store's other lean requests. No range header: a ranged Get
of an empty blob answers 416 without an ETag (Azurite 3.37), and a garbled empty beacon
must still be told apart from a missing one; the body is read up to
``BEACON_MAX_BYTES`` instead. Conditional headers:
https://learn.microsoft.com/rest/api/storageservices/specifying-conditional-headers-for-blob-service-operations
"""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import AzureError, HttpResponseError
from azure.core.rest import HttpRequest

from ...credentials import Credentials
from ...errors import BlobNotFound, ContainerNotFound
from ..base import BEACON_MAX_BYTES, BeaconRead
from .errors import translate


def read_beacon(
    pipeline: Any,
    url: str,
    api_version: str,
    if_none_match: str | None,
    *,
    blob_name: str,
    container: str,
    creds: Credentials,
) -> BeaconRead:
    """One conditional Get Blob of the beacon at ``url``. Raises AuthError,
    ConnectionFailure, RemoteItemError (never for a missing beacon or container)."""
    headers = {"x-ms-version": api_version}
    if if_none_match is not None:
        headers["If-None-Match"] = if_none_match
    request = HttpRequest("GET", url, headers=headers)
    try:
        response = pipeline.run(request, stream=True).http_response
        try:
            status = response.status_code
            if status == 304:
                return BeaconRead(if_none_match, not_modified=True)
            if status != 200:
                response.read()
                raise HttpResponseError(response=response)
            etag = str(response.headers["ETag"])
            declared = int(response.headers.get("Content-Length", 0))
            if declared > BEACON_MAX_BYTES:
                return BeaconRead(etag, too_large=True)  # close() drops the rest unread
            body = b"".join(response.iter_bytes())[: BEACON_MAX_BYTES + 1]
            return BeaconRead(etag, body=body, too_large=len(body) > BEACON_MAX_BYTES)
        finally:
            response.close()
    except AzureError as exc:
        error = translate(exc, blob_name=blob_name, container=container, creds=creds)
        if isinstance(error, BlobNotFound | ContainerNotFound):
            return BeaconRead(None)
        raise error from None


def write_beacon(
    pipeline: Any,
    url: str,
    api_version: str,
    body: bytes,
    if_match: str | None,
    *,
    blob_name: str,
    container: str,
    creds: Credentials,
) -> str:
    """One conditional Put Blob of ``body`` at ``url``; returns the new ETag. Raises
    PreconditionFailed (409/412: someone else wrote or created it), AuthError,
    ContainerNotFound, ConnectionFailure, RemoteItemError."""
    headers = {
        "x-ms-version": api_version,
        "x-ms-blob-type": "BlockBlob",
        "Content-Type": "application/json",
        "Content-Length": str(len(body)),
    }
    if if_match is None:
        headers["If-None-Match"] = "*"  # create only
    else:
        headers["If-Match"] = if_match
    request = HttpRequest("PUT", url, headers=headers, content=body)
    try:
        response = pipeline.run(request).http_response
        if response.status_code != 201:
            # 412 (If-Match) and 409 BlobAlreadyExists (If-None-Match: *) both become
            # PreconditionFailed in translate(): someone else wrote it first.
            raise HttpResponseError(response=response)
    except AzureError as exc:
        raise translate(exc, blob_name=blob_name, container=container, creds=creds) from None
    return str(response.headers["ETag"])
