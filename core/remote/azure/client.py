"""Service clients and the account-level calls: connection check, containers, open a store.

One ``requests`` session per client with a bounded pool, proxies resolved once, our
retry policy and timeouts. Credentials: a connection string, a named key, a SAS in the
URL, or (Entra ID) any ``azure.core.credentials.TokenCredential``. A SAS whose ``se``
has passed is refused before each request is sent (:class:`SignInExpired`), so an
expired SAS never looks like a connection failure, also in a long-running watch.
"""

from __future__ import annotations

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

from ...credentials import Credentials, SecretKind
from ...errors import AuthReason, SignInExpired
from .errors import error_code, raise_translated, sign_in_expired_sentence
from .policy import (
    CONNECTION_TIMEOUT_S,
    READ_TIMEOUT_S,
    SINGLE_SHOT_MAX,
    BoundedRetryPolicy,
    sas_expiry_check,
)


class LeanSession(requests.Session):
    """A ``requests`` session whose ``request`` prepares and sends directly: no cookie
    jar, auth hooks, redirects or per-request settings merge, which a store talking to
    one endpoint never needs (they were ~8 % of the client CPU of a small Get Blob
    here). Anything else (files, redirects, extra options) takes the normal path."""

    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        headers: Any = None,
        data: Any = None,
        files: Any = None,
        verify: Any = True,
        timeout: Any = None,
        cert: Any = None,
        allow_redirects: bool = False,
        proxies: Any = None,
        stream: bool = False,
        **kwargs: Any,
    ) -> requests.Response:
        if files or allow_redirects or kwargs:
            return super().request(
                method,
                url,
                headers=headers,
                data=data,
                files=files,
                verify=verify,
                timeout=timeout,
                cert=cert,
                allow_redirects=allow_redirects,
                proxies=proxies,
                stream=stream,
                **kwargs,
            )
        prepared = requests.PreparedRequest()
        prepared.prepare_method(method)
        prepared.prepare_url(url, None)
        prepared.prepare_headers(headers)
        prepared.prepare_body(data, None)
        adapter = self.get_adapter(url)
        response = adapter.send(
            prepared,
            stream=stream,
            timeout=timeout,
            verify=verify,
            cert=cert,
            proxies=self.proxies if proxies is None else proxies,
        )
        if not stream:
            response.content  # noqa: B018 - read the body now, as Session.send does
        return response


def service_client(
    creds: Credentials,
    *,
    max_connections: int = 16,
    retry: HTTPPolicy | None = None,  # type: ignore[type-arg]
) -> BlobServiceClient:
    session = LeanSession()
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
    expiry_check = sas_expiry_check(creds)
    if expiry_check is not None:
        options["raw_request_hook"] = expiry_check
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
