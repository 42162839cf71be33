"""SDK and transport exceptions become BlobSync errors here and nowhere else.

Every sentence is plain and never carries a secret: SDK exception texts can contain
URLs with SAS signatures, so they are never echoed.
"""

from __future__ import annotations

from typing import Any, NoReturn

import requests
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from ...credentials import Credentials, SecretKind
from ...errors import (
    AuthError,
    BlobNotFound,
    BlobSyncError,
    ConnectionFailure,
    ContainerNotFound,
    PreconditionFailed,
    RemoteItemError,
)


def error_code(exc: HttpResponseError) -> str:
    code = getattr(exc, "error_code", None)
    if code:
        return str(code)
    response = exc.response
    if response is not None:
        header = getattr(response, "headers", {}).get("x-ms-error-code")
        if header:
            return str(header)
    return ""


def _auth_sentence(creds: Credentials | None, code: str) -> str:
    if code.startswith("Authorization") and code != "AuthorizationFailure":
        return "The credentials lack permission for this operation (check the SAS permissions)."
    if creds is not None and (
        creds.kind is SecretKind.SAS
        or (
            creds.kind is SecretKind.CONNECTION_STRING
            and "sharedaccesssignature=" in creds.secret.lower()
        )
    ):
        return "The SAS token was refused: it has expired, is not yet valid, or lacks permission."
    if code == "AuthorizationFailure":
        return "The storage account refused this request (missing permission or network rule)."
    return "The storage account refused the credentials: the account key is wrong."


def translate(
    exc: BaseException,
    *,
    blob_name: str | None = None,
    container: str | None = None,
    creds: Credentials | None = None,
) -> BlobSyncError:
    """The BlobSync error for an SDK/transport exception (message has no secrets)."""
    what = f"'{blob_name}'" if blob_name else "the request"
    if isinstance(exc, BlobSyncError):
        return exc
    if isinstance(exc, ServiceRequestError):
        host = creds.account_url if creds is not None else "the storage endpoint"
        return ConnectionFailure(
            f"Could not reach {host}: the network is down, the endpoint is unreachable "
            "or the account name is unknown."
        )
    if isinstance(exc, ServiceResponseError):
        return ConnectionFailure(
            "The connection to the storage service broke or timed out; try again later."
        )
    if isinstance(exc, ClientAuthenticationError) and exc.response is None:
        # Raised while signing, before anything is sent: the key itself is malformed.
        return AuthError(
            "The account key is malformed (it must be the base64 key shown in the Azure portal)."
        )
    if isinstance(exc, HttpResponseError):
        status = exc.status_code or 0
        code = error_code(exc)
        if status in (401, 403):
            return AuthError(_auth_sentence(creds, code))
        if code == "ContainerNotFound":
            return ContainerNotFound(f"The container '{container}' does not exist.")
        if status == 404:
            return BlobNotFound(f"{what} no longer exists in the container.")
        if status == 412 or code == "BlobAlreadyExists":
            return PreconditionFailed(f"{what} changed on the server since it was listed.")
        return RemoteItemError(
            f"The storage service refused {what} (status {status}, error code {code or 'none'})."
        )
    if isinstance(exc, AzureError):
        return RemoteItemError(f"The storage client failed on {what} ({type(exc).__name__}).")
    if isinstance(exc, requests.RequestException):
        return ConnectionFailure("The connection to the storage service failed.")
    raise exc


def raise_translated(exc: BaseException, **context: Any) -> NoReturn:
    raise translate(exc, **context) from None
