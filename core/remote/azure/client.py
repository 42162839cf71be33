"""Service clients and the account-level calls: connection check, containers, open a store.

One ``requests`` session per client with a bounded pool, proxies resolved once, our
retry policy and timeouts. Credentials: a connection string, a named key, a SAS in the
URL, or (Entra ID) any ``azure.core.credentials.TokenCredential``. A SAS whose ``se``
has passed is refused before each request is sent (:class:`SignInExpired`), so an
expired SAS never looks like a connection failure, also in a long-running watch.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any, cast

import requests
from azure.core.credentials import AzureNamedKeyCredential, TokenCredential
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
)
from azure.core.pipeline.policies import HTTPPolicy
from azure.core.pipeline.transport import RequestsTransport
from azure.storage.blob import (
    BlobServiceClient,
)

from ...credentials import Credentials, SecretKind, sas_times, utc_now
from ...errors import AuthReason, SignInExpired
from .errors import error_code, raise_translated, sign_in_expired_sentence
from .policy import (
    CONNECTION_TIMEOUT_S,
    READ_TIMEOUT_S,
    SINGLE_SHOT_MAX,
    BoundedRetryPolicy,
)


def service_client(
    creds: Credentials,
    *,
    max_connections: int = 16,
    retry: HTTPPolicy | None = None,  # type: ignore[type-arg]
) -> BlobServiceClient:
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=4, pool_maxsize=max_connections, max_retries=0
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    # requests re-reads proxy settings from the environment on every request (~1.7 ms,
    # about 10% of the client CPU of a small upload here); a store talks to one host, so
    # resolve proxies (honouring NO_PROXY) and the CA bundle once.
    session.proxies = requests.utils.get_environ_proxies(creds.account_url)
    session.trust_env = False
    ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    transport = RequestsTransport(
        session=session,
        session_owner=True,
        # streamed downloads hand over 256 KiB at a time (the default 4 KiB costs a
        # Python round per 4 KiB of a large file)
        connection_data_block_size=256 * 1024,
        connection_timeout=CONNECTION_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        connection_verify=ca_bundle or True,
    )
    options: dict[str, Any] = {
        "transport": transport,
        "retry_policy": retry if retry is not None else BoundedRetryPolicy(),
        "max_single_put_size": SINGLE_SHOT_MAX,
        "connection_timeout": CONNECTION_TIMEOUT_S,
        "read_timeout": READ_TIMEOUT_S,
    }
    times = sas_times(creds)
    if times is not None and times.expires is not None:
        options["raw_request_hook"] = _SasExpiryCheck(creds, times.expires)
    if creds.kind is SecretKind.ENTRA:
        if creds.token_credential is None:
            raise SignInExpired(sign_in_expired_sentence(creds), AuthReason.SIGN_IN_REQUIRED)
        token = cast(TokenCredential, creds.token_credential)
        return BlobServiceClient(creds.account_url, credential=token, **options)
    if creds.kind is SecretKind.CONNECTION_STRING:
        return BlobServiceClient.from_connection_string(creds.secret, **options)
    if creds.kind is SecretKind.ACCOUNT_KEY:
        credential: Any = AzureNamedKeyCredential(creds.account_name, creds.secret)
        return BlobServiceClient(creds.account_url, credential=credential, **options)
    # A SAS in the URL (rather than AzureSasCredential) so blob URLs we hand to the
    # service as copy sources carry it too.
    return BlobServiceClient(f"{creds.account_url}?{creds.secret}", **options)


class _SasExpiryCheck:
    """Called by the storage SDK before every request (``raw_request_hook``), retries
    included: refuses to send once the SAS's ``se`` has passed."""

    def __init__(self, creds: Credentials, expires: dt.datetime) -> None:
        self._creds = creds
        self._expires = expires

    def __call__(self, request: object) -> None:
        if utc_now() >= self._expires:
            raise SignInExpired(
                sign_in_expired_sentence(self._creds),
                AuthReason.SAS_EXPIRED,
                expired_at=self._expires,
            )


def check_connection(creds: Credentials) -> None:
    """Prove the account is reachable and accepts the credentials.

    Raises AuthError (wrong key, SAS expired or lacking permission) or
    ConnectionFailure (network down, endpoint unreachable, unknown account).
    """
    client = service_client(creds)
    try:
        try:
            next(iter(client.list_containers(results_per_page=1).by_page()), None)
        except HttpResponseError as exc:
            code = error_code(exc)
            if (
                exc.status_code == 403
                and code.startswith("Authorization")
                and code != ("AuthorizationFailure")
            ):
                # A container-scoped SAS may not list containers: that is not a failure
                # of the credentials themselves.
                return
            raise_translated(exc, creds=creds)
        except AzureError as exc:
            raise_translated(exc, creds=creds)
    finally:
        client.close()


def list_containers(creds: Credentials) -> list[str]:
    """Names of all containers in the account. Raises AuthError, ConnectionFailure."""
    client = service_client(creds)
    try:
        return [c.name for c in client.list_containers()]
    except AzureError as exc:
        raise_translated(exc, creds=creds)
    finally:
        client.close()
