"""SDK and transport exceptions become BlobSync errors here and nowhere else.

Every sentence is plain and never carries a secret: SDK exception texts can contain
URLs with SAS signatures, so they are never echoed.
"""

from __future__ import annotations

import enum
import re
import sys
from typing import Any, NoReturn

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from ...credentials import Credentials, SecretKind, sas_times, utc_now
from ...errors import (
    CONTRIBUTOR_ROLE,
    AuthError,
    AuthReason,
    BlobArchived,
    BlobNotFound,
    BlobSyncError,
    ConfigError,
    ConnectionFailure,
    ContainerNotFound,
    PreconditionFailed,
    RemoteItemError,
    SignInExpired,
)

#: Codes Azure answers when the caller is authenticated but the operation is not allowed
#: (a SAS without that permission, an Entra ID user without that data action):
#: https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes
_PERMISSION_CODES = frozenset(
    {
        "AuthorizationPermissionMismatch",
        "AuthorizationResourceTypeMismatch",
        "AuthorizationServiceMismatch",
    }
)
#: Azure's AuthenticationErrorDetail for a SAS outside its validity window, e.g. "Signed
#: expiry time [...] must be after signed start time" or "Signature not valid in the
#: specified time frame: Start [...] - Expiry [...] - Current [...]".
_SAS_TIME_RE = re.compile(r"(?i)specified time frame|signed expiry time|expired")
#: Azure's (and Azurite's) words for a request whose Shared Key signature did not match:
#: a wrong key, whatever the error code says (Azurite answers it with AuthorizationFailure).
_BAD_SIGNATURE_RE = re.compile(r"(?i)failed to authenticate|signature .*not the same|did not match")
#: ... and for an Entra ID token past its lifetime ("Lifetime validation failed. The
#: token is expired.").
_TOKEN_EXPIRED_RE = re.compile(r"(?i)lifetime validation failed|token is expired")


def error_code(exc: HttpResponseError) -> str:
    code = getattr(exc, "error_code", None)
    if isinstance(code, enum.Enum):
        # The storage SDK stores known codes as StorageErrorCode members, whose str()
        # is "StorageErrorCode.NAME", not the service's code.
        code = code.value
    if code:
        return str(code)
    response = exc.response
    if response is not None:
        header = getattr(response, "headers", {}).get("x-ms-error-code")
        if header:
            return str(header)
    return ""


def error_detail(exc: HttpResponseError) -> str:
    """The service's ``AuthenticationErrorDetail`` and ``Message`` of an error response,
    for matching only: they may quote the request's signature, so they are never shown
    or logged."""
    info = getattr(exc, "additional_info", None) or {}
    parts = [str(info.get("authenticationerrordetail") or ""), str(exc.message or "")]
    response = exc.response
    if response is not None:
        try:
            text = response.text()
        except Exception:  # noqa: BLE001 - a body we cannot decode says nothing
            text = ""
        for tag in ("AuthenticationErrorDetail", "Message"):
            match = re.search(rf"<{tag}>(.*?)</{tag}>", text, re.S)
            if match:
                parts.append(match.group(1))
    return "\n".join(part for part in parts if part)


def sign_in_expired_sentence(creds: Credentials) -> str:
    """The one sentence for credentials whose validity ended."""
    if creds.kind is SecretKind.ENTRA:
        return "Sign-in expired — sign in with Microsoft again."
    times = sas_times(creds)
    if times is not None and times.expires is not None:
        return (
            f"Sign-in expired — update the SAS (it expired on {times.expires:%Y-%m-%d %H:%M} UTC)."
        )
    return "Sign-in expired — update the SAS."


def role_sentence(container: str | None) -> str:
    """A signed-in user refused by the storage account: name the missing role."""
    where = f"on the container '{container}'" if container else "on this container"
    return (
        f"Signed in, but your account does not have the role {CONTRIBUTOR_ROLE} {where} "
        "(or on its storage account); ask an administrator to assign it, or check that you "
        "signed in to the right tenant."
    )


def _auth_error(
    creds: Credentials | None, code: str, detail: str, container: str | None
) -> AuthError:
    """The AuthError for a 401/403 answer, with its reason."""
    if code == "KeyBasedAuthenticationNotPermitted":
        return AuthError(
            "This storage account does not allow access with account keys or SAS tokens; "
            "sign in with Microsoft Entra ID instead.",
            AuthReason.KEY_AUTH_DISABLED,
        )
    entra = creds is not None and creds.kind is SecretKind.ENTRA
    if creds is not None and entra and _TOKEN_EXPIRED_RE.search(detail):
        return SignInExpired(sign_in_expired_sentence(creds), AuthReason.SIGN_IN_REQUIRED)
    if entra and (code in _PERMISSION_CODES or code.startswith("Authentication") or not code):
        # Signed in (the token was accepted as ours, or refused as not for this
        # resource) but no data role: Azure does not say which role, so name the one
        # BlobSync needs.
        return AuthError(role_sentence(container), AuthReason.ROLE_MISSING, role=CONTRIBUTOR_ROLE)
    if code in _PERMISSION_CODES:
        return AuthError(
            "The credentials lack permission for this operation (check the SAS permissions).",
            AuthReason.PERMISSION_MISSING,
        )
    if code.startswith("Authorization") and code != "AuthorizationFailure":
        return AuthError(
            "The credentials lack permission for this operation (check the SAS permissions)."
        )
    times = sas_times(creds) if creds is not None else None
    if times is not None:
        now = utc_now()
        if (times.expires is not None and times.expires <= now) or (
            times.expires is None and _SAS_TIME_RE.search(detail)
        ):
            assert creds is not None
            return SignInExpired(
                sign_in_expired_sentence(creds), AuthReason.SAS_EXPIRED, expired_at=times.expires
            )
        if times.starts is not None and times.starts > now:
            return AuthError(
                f"The SAS is not valid yet: it starts on {times.starts:%Y-%m-%d %H:%M} UTC.",
                AuthReason.SAS_NOT_YET_VALID,
            )
        return AuthError(
            "The SAS token was refused: it has expired, is not yet valid, or lacks permission.",
            AuthReason.SAS_REFUSED,
        )
    if code == "AuthorizationFailure" and not _BAD_SIGNATURE_RE.search(detail):
        return AuthError(
            "The storage account refused this request (missing permission or network rule).",
            AuthReason.NETWORK_RULE,
        )
    if entra:
        return AuthError(role_sentence(container), AuthReason.ROLE_MISSING, role=CONTRIBUTOR_ROLE)
    return AuthError(
        "The storage account refused the credentials: the account key is wrong.",
        AuthReason.BAD_KEY,
    )


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
        if creds is not None and creds.kind is SecretKind.ENTRA:
            # The token credential could not produce a token (azure-identity raises
            # ClientAuthenticationError / CredentialUnavailableError /
            # AuthenticationRequiredError): never signed in here, or the sign-in lapsed.
            return SignInExpired(sign_in_expired_sentence(creds), AuthReason.SIGN_IN_REQUIRED)
        # Raised while signing, before anything is sent: the key itself is malformed.
        return AuthError(
            "The account key is malformed (it must be the base64 key shown in the Azure portal).",
            AuthReason.MALFORMED_KEY,
        )
    if isinstance(exc, HttpResponseError):
        status = exc.status_code or 0
        code = error_code(exc)
        if status in (401, 403):
            return _auth_error(creds, code, error_detail(exc), container)
        if code == "BlobArchived":
            return BlobArchived(f"{what} is archived in the container; rehydrate it to sync it.")
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
    if isinstance(exc, ValueError) and creds is not None and creds.kind is SecretKind.ENTRA:
        # The SDK refuses to send a bearer token over plain http.
        return ConfigError("Signing in with Microsoft Entra ID needs an https:// account URL.")
    requests = sys.modules.get("requests")  # only the SDK's pipeline imports it
    if requests is not None and isinstance(exc, requests.RequestException):
        return ConnectionFailure("The connection to the storage service failed.")
    raise exc


def raise_translated(exc: BaseException, **context: Any) -> NoReturn:
    raise translate(exc, **context) from None
