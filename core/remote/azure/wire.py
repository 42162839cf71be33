"""The lean request pipeline: the store's own requests over ``http.client``.

The store's everyday requests (Put Blob and blocks, Get Blob and its properties, List
Blobs, Delete and Copy Blob, the beacon's) are built by the store itself (:mod:`.store`, :mod:`.beacon`); this module sends them. It is an
azure-core :class:`~azure.core.pipeline.Pipeline` (so the same request objects,
exceptions and :class:`~.policy.BoundedRetryPolicy` as everywhere else) with four
policies instead of the storage SDK's dozen, (and azure-core's request logging) over a keep-alive connection pool built on
``http.client`` instead of ``requests`` + ``urllib3``:

- :class:`StorageHeaders`: ``x-ms-date``, ``x-ms-version``, a cheap client request ID,
  our User-Agent; refuses to send once a SAS has expired (:class:`SignInExpired`);
- :class:`BoundedRetryPolicy` (from :mod:`.policy`);
- :class:`SharedKeySigner`: the Shared Key signature, as
  https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key
  describes it (re-signed on every try: the date changes);
- :class:`HttpClientTransport`: the connections.

Why: the storage SDK's pipeline and ``requests`` cost ~0.15 s of imports at every
``blobsync sync`` start and a large part of the client CPU of each small request
(bench/RESULTS.md, issue 13). A SAS rides in the URL and needs no signer. Used only when
it can stand in for the SDK's pipeline exactly: a key or a SAS (Entra ID sign-in uses
the SDK's bearer-token policy) and no proxy configured (``requests`` resolves proxies;
with one set, the SDK's pipeline is used for everything).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import logging
import os
import platform
import queue
import select
import socket
import ssl
import urllib.request
from collections.abc import Iterator, Mapping
from functools import cmp_to_key
from typing import Any
from urllib.parse import unquote, urlsplit

from azure.core.exceptions import (
    ClientAuthenticationError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline import Pipeline, PipelineRequest
from azure.core.pipeline.policies import HttpLoggingPolicy, HTTPPolicy, SansIOHTTPPolicy
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest

from ...credentials import Credentials, SecretKind
from .policy import (
    CONNECTION_TIMEOUT_S,
    READ_TIMEOUT_S,
    BoundedRetryPolicy,
    RetryVia,
    redact,
    sas_expiry_check,
)

log = logging.getLogger(__name__)

#: The REST API version every request names: the one azure-storage-blob 12.31 sends
#: (``tests/integration/test_wire.py`` checks they agree), so both pipelines speak alike.
API_VERSION = "2026-10-06"
#: Bytes handed over per read of a response body, and per send of a file body.
CHUNK = 256 * 1024
_USER_AGENT = f"blobsync Python/{platform.python_version()}"


def lean_pipeline_possible(creds: Credentials) -> bool:
    """True when the lean pipeline can send these credentials' requests exactly as the
    SDK's would: a key or a SAS, no proxy for the account's host."""
    if creds.kind is SecretKind.ENTRA:
        return False
    host = urlsplit(creds.account_url).hostname or ""
    proxies = urllib.request.getproxies()
    scheme = urlsplit(creds.account_url).scheme
    if scheme in proxies or "all" in proxies:
        return bool(urllib.request.proxy_bypass(host))
    return True


def lean_pipeline(
    creds: Credentials,
    *,
    max_connections: int,
    retry: HTTPPolicy | None = None,  # type: ignore[type-arg]
) -> Pipeline:  # type: ignore[type-arg]
    """The lean pipeline for ``creds`` (check :func:`lean_pipeline_possible` first).
    ``retry``: a policy the SDK's pipeline of the same store uses too (one set of
    counters), or None for a new :class:`BoundedRetryPolicy`."""
    if retry is None:
        retry = BoundedRetryPolicy()
    via = RetryVia(retry) if isinstance(retry, BoundedRetryPolicy) else retry
    policies: list[Any] = [StorageHeaders(creds), via]
    key = creds.account_key  # None: a SAS, which rides in the URL
    if key is not None:
        policies.append(SharedKeySigner(creds.account_name, key))
    # With -v the requests are in the debug log, headers and query values redacted but
    # for azure-core's allow-list (a cheap level check otherwise).
    policies.append(HttpLoggingPolicy())
    return Pipeline(HttpClientTransport(creds.account_url, max_connections), policies)


class StorageHeaders(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """The headers every storage request carries, and the SAS expiry check (before
    each try, retries included: an expired SAS never looks like a network failure)."""

    def __init__(self, creds: Credentials) -> None:
        super().__init__()
        self._expiry_check = sas_expiry_check(creds)

    def on_request(self, request: PipelineRequest) -> None:  # type: ignore[type-arg]
        if self._expiry_check is not None:
            self._expiry_check()
        headers = request.http_request.headers
        headers["x-ms-date"] = _http_date()
        headers.setdefault("x-ms-version", API_VERSION)
        headers["User-Agent"] = _USER_AGENT
        request_id = request.context.options.pop("client_request_id", None)
        if request_id:
            headers["x-ms-client-request-id"] = request_id


def _http_date() -> str:
    """RFC 1123 date in GMT, as the service wants it."""
    now = dt.datetime.now(dt.UTC)
    return now.strftime("%a, %d %b %Y %H:%M:%S GMT")


# ---- Shared Key ---------------------------------------------------------------------------

#: The service sorts the x-ms- headers it signs with its own collation, not by code
#: point: at the first level '-' is ignored and '_' < digits < letters (case folded);
#: ties are broken by where the dashes are. Header names are ASCII letters, digits, '-'
#: and '_' (metadata names must be C# identifiers). Ported from the rule the storage SDK
#: implements (``_shared/authentication.py``, ``_storage_header_sort``).
_LEVEL0 = {c: i + 2 for i, c in enumerate("_0123456789abcdefghijklmnopqrstuvwxyz")}


def _collate(lhs: str, rhs: str) -> int:
    def weight(text: str, index: int, level: int) -> int:
        if index >= len(text):
            return 1  # the end of the string
        char = text[index].lower()
        if level == 0:
            return _LEVEL0.get(char, 0) if char != "-" else 0
        return 0x8212 if char == "-" else 0

    level, i, j = 0, 0, 0
    while level < 2:
        if level == 1 and i != j:
            return -1 if i > j else 1
        w1, w2 = weight(lhs, i, level), weight(rhs, j, level)
        if w1 == 1 and w2 == 1:
            i = j = 0
            level += 1
        elif w1 == w2:
            i += 1
            j += 1
        elif w1 == 0:
            i += 1
        elif w2 == 0:
            j += 1
        else:
            return -1 if w1 < w2 else 1
    return 0


_SIGNED = (
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
)


class SharedKeySigner(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """Signs each try with the account key (``Authorization: SharedKey NAME:SIG``)."""

    def __init__(self, account_name: str, key: str) -> None:
        super().__init__()
        self._account = account_name
        try:
            self._key: bytes | None = base64.b64decode(key)  # as lenient as the SDK's
        except ValueError:
            self._key = None

    def on_request(self, request: PipelineRequest) -> None:  # type: ignore[type-arg]
        if self._key is None:
            # Before anything is sent, as the SDK's signer does: translated to "the
            # account key is malformed" (errors.translate).
            raise ClientAuthenticationError("The account key is not base64.")
        http_request = request.http_request
        http_request.headers["Authorization"] = self.authorization(
            http_request.method, http_request.url, http_request.headers
        )

    def authorization(self, method: str, url: str, headers: Mapping[str, str]) -> str:
        return f"SharedKey {self._account}:{self.signature(method, url, headers)}"

    def signature(self, method: str, url: str, headers: Mapping[str, str]) -> str:
        lowered = {name.lower(): value for name, value in headers.items() if value is not None}
        standard = {name: value for name, value in lowered.items() if value}
        if standard.get("content-length") == "0":
            del standard["content-length"]
        lines = [method] + [standard.get(name, "") for name in _SIGNED]
        # Every x-ms- header is signed, one with an empty value too ("x-ms-meta-a:").
        ms = sorted((n for n in lowered if n.startswith("x-ms-")), key=cmp_to_key(_collate))
        canonical_headers = "".join(f"{name}:{lowered[name]}\n" for name in ms)
        split = urlsplit(url)
        resource = f"/{self._account}{split.path}"
        params: dict[str, list[str]] = {}
        for piece in split.query.split("&") if split.query else ():
            name, _, value = piece.partition("=")
            params.setdefault(unquote(name).lower(), []).append(unquote(value))
        for name in sorted(params):
            resource += f"\n{name}:{','.join(sorted(params[name]))}"
        to_sign = "\n".join(lines) + "\n" + canonical_headers + resource
        digest = hmac.new(self._key or b"", to_sign.encode("utf-8"), hashlib.sha256).digest()
        return base64.b64encode(digest).decode("ascii")


# ---- transport ------------------------------------------------------------------------


class _Headers(dict[str, str]):
    """Response headers, looked up case-insensitively (stored lower-cased)."""

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


class WireResponse:
    """What the store and azure-core's ``HttpResponseError`` read of a response:
    status, reason, headers, the body (whole or in chunks). The connection goes back to
    the pool once the body has been read to its end; closed early, it is dropped."""

    def __init__(
        self,
        request: HttpRequest,
        raw: http.client.HTTPResponse,
        connection: http.client.HTTPConnection,
        pool: HttpClientTransport,
    ) -> None:
        self.request = request
        self.status_code = raw.status
        self.reason = raw.reason
        self.headers = _Headers((k.lower(), v) for k, v in raw.getheaders())
        self.content_type = self.headers.get("content-type")
        self._raw = raw
        self._connection: http.client.HTTPConnection | None = connection
        self._pool = pool
        self._content: bytes | None = None

    def _done(self, reusable: bool) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if reusable and self._raw.isclosed() and not self._raw.will_close:
            self._pool.release(connection)
        else:
            connection.close()

    def iter_bytes(self, **_kwargs: Any) -> Iterator[bytes]:
        if self._content is not None:
            yield self._content
            return
        try:
            while True:
                try:
                    chunk = self._raw.read(CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    self._done(False)
                    raise ServiceResponseError(_broken(exc), error=exc) from None
                if not chunk:
                    self._done(True)
                    return
                yield chunk
        finally:
            if self._connection is not None and not self._raw.isclosed():
                self._done(False)  # the caller stopped early

    def read(self) -> bytes:
        if self._content is None:
            self._content = b"".join(self.iter_bytes())
        return self._content

    def body(self) -> bytes:
        return self.read()

    @property
    def content(self) -> bytes:
        return self.read()

    def text(self, encoding: str | None = None) -> str:
        return self.read().decode(encoding or "utf-8", errors="replace")

    def close(self) -> None:
        """Done with the response: its connection is kept if the body was read to its
        end (a download stops reading at the last byte it wants), dropped otherwise."""
        if self._connection is not None:
            self._done(True)


def _broken(exc: BaseException) -> str:
    return f"The connection broke or timed out ({type(exc).__name__})."


class HttpClientTransport(HttpTransport):  # type: ignore[type-arg]
    """Keep-alive ``http.client`` connections to one host: an idle connection is reused
    after checking the server has not closed it (as urllib3 does), at most ``max_idle``
    are kept."""

    def __init__(self, account_url: str, max_idle: int = 16) -> None:
        split = urlsplit(account_url)
        self._https = split.scheme == "https"
        self._host = split.hostname or ""
        self._port = split.port or (443 if self._https else 80)
        self._idle: queue.LifoQueue[http.client.HTTPConnection] = queue.LifoQueue()
        self._max_idle = max_idle
        self._ssl: ssl.SSLContext | None = None
        if self._https:
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            self._ssl = ssl.create_default_context(cafile=bundle or None)

    # HttpTransport
    def __enter__(self) -> HttpClientTransport:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def open(self) -> None:
        pass

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    def release(self, connection: http.client.HTTPConnection) -> None:
        if self._idle.qsize() < self._max_idle:
            self._idle.put(connection)
        else:
            connection.close()

    def _new(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection
        if self._https:
            connection = http.client.HTTPSConnection(
                self._host,
                self._port,
                timeout=CONNECTION_TIMEOUT_S,
                context=self._ssl,
                blocksize=CHUNK,
            )
        else:
            connection = http.client.HTTPConnection(
                self._host, self._port, timeout=CONNECTION_TIMEOUT_S, blocksize=CHUNK
            )
        try:
            connection.connect()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise ServiceRequestError(
                f"Could not connect ({type(exc).__name__}).", error=exc
            ) from None
        assert connection.sock is not None
        connection.sock.settimeout(READ_TIMEOUT_S)
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def _reuse(self) -> http.client.HTTPConnection | None:
        while True:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                return None
            sock = connection.sock
            if sock is not None and not select.select([sock], [], [], 0)[0]:
                return connection  # nothing to read: still open
            connection.close()  # closed by the server (or data we never asked for)

    def send(self, request: HttpRequest, **kwargs: Any) -> WireResponse:
        split = urlsplit(request.url)
        target = split.path + (f"?{split.query}" if split.query else "")
        body = request.content
        connection = self._reuse() or self._new()
        try:
            connection.request(request.method, target, body=body, headers=dict(request.headers))
            raw = connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            # Retried (if the body can be sent again) by the retry policy, as requests'
            # own pool did: a connection the server closed while idle is caught before
            # it is reused (``_reuse``), only a close in that very instant gets here.
            connection.close()
            log.debug("%s %s failed: %s", request.method, redact(target), exc)
            raise ServiceResponseError(_broken(exc), error=exc) from None
        response = WireResponse(request, raw, connection, self)
        if not kwargs.get("stream", False):
            response.read()
        return response
