"""Fault injection between the engine and the storage service.

:class:`FaultProxy` is a small HTTP/1.1 proxy on 127.0.0.1 in front of Azurite (threads,
bounded: it only ever stalls for a bounded time and reads bodies it can hold). Rules
decide, per request, whether to forward it or to inject a fault:

* ``Status(503, "ServerBusy")`` — answer an Azure-style error without forwarding;
* ``RESET`` — drop the connection before forwarding (the request never arrives);
* ``LOST`` — forward, let the server commit, then drop the answer (SDK issue #19486);
* ``Stall(seconds)`` — hold the request, then drop it (longer than the read timeout).

It also records every request (method, path, whether a write carried a condition, the
answer's status) so tests can count writes, retries, and prove "no write without its
condition".

:class:`HookedStore` wraps any RemoteStore and runs test hooks just before each store
operation (a racing client acting on the same name), and can swap an upload's source
for one that changes the file while it is being read.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, BinaryIO
from urllib.parse import parse_qs, urlsplit

from blobsync.core.models import RemoteEntry
from blobsync.core.remote.base import (
    BEACON_BLOB,
    BeaconRead,
    CancelToken,
    ProgressCallback,
    WriteResult,
)

RESET = "reset"
LOST = "lost"
FORWARD = "forward"


@dataclass(frozen=True)
class Status:
    """Answer with this status and Azure error code; without forwarding, or after
    forwarding (``forward=True``: the server did the work, the client hears an error)."""

    code: int
    error_code: str = "Injected"
    forward: bool = False


@dataclass(frozen=True)
class Stall:
    """Hold the request for ``seconds`` (bounded), then drop the connection."""

    seconds: float


Action = str | Status | Stall


@dataclass
class Request:
    """One request as the proxy saw it."""

    method: str
    path: str  # path + query
    headers: dict[str, str]
    action: str = FORWARD
    status: int = 0

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)

    @property
    def is_write(self) -> bool:
        """A request that changes a blob or a container."""
        return self.method in ("PUT", "DELETE")

    @property
    def is_listing(self) -> bool:
        q = self.query
        return self.method == "GET" and q.get("comp") == ["list"]

    @property
    def blob_write_needs_condition(self) -> bool:
        """Writes that replace or delete a blob's visible content: Put Blob, Put Block
        List, Copy Blob, Delete Blob. Staging a block changes nothing visible; container
        operations are not blob writes."""
        if not self.is_write:
            return False
        q = self.query
        if q.get("restype") == ["container"]:
            return False
        return q.get("comp") not in (["block"],)

    @property
    def conditional(self) -> bool:
        h = {k.lower() for k in self.headers}
        return "if-match" in h or "if-none-match" in h


@dataclass
class Rule:
    """``action`` for requests matching ``match``, ``times`` times (None = always)."""

    match: Callable[[Request], bool]
    action: Action
    times: int | None = 1
    fired: int = 0


@dataclass
class FaultProxy:
    """HTTP proxy to ``127.0.0.1:upstream_port``; see the module docstring."""

    upstream_port: int
    rules: list[Rule] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    max_stall_s: float = 10.0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _read_body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                    length = int(self.headers.get("Content-Length") or 0)
                    return self.rfile.read(length) if length else b""
                del self.headers["Transfer-Encoding"]
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        break
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                data = b"".join(chunks)
                self.headers["Content-Length"] = str(len(data))
                return data

            def _drop(self) -> None:
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            def _handle(self) -> None:
                body = self._read_body()
                req = Request(self.command, self.path, dict(self.headers))
                action = proxy._decide(req)
                req.action = action if isinstance(action, str) else repr(action)
                if isinstance(action, Status):
                    if action.forward:
                        proxy._forward(self.command, self.path, body, dict(self.headers))
                    req.status = action.code
                    payload = (
                        '<?xml version="1.0" encoding="utf-8"?><Error>'
                        f"<Code>{action.error_code}</Code><Message>injected</Message></Error>"
                    ).encode()
                    self.send_response(action.code)
                    self.send_header("x-ms-error-code", action.error_code)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                    return
                if isinstance(action, Stall):
                    time.sleep(min(action.seconds, proxy.max_stall_s))
                    self._drop()
                    return
                if action == RESET:
                    self._drop()
                    return
                response, data = proxy._forward(self.command, self.path, body, dict(self.headers))
                req.status = response.status
                if action == LOST:  # the server did it; its answer never arrives
                    self._drop()
                    return
                self.send_response(response.status)
                length = response.getheader("Content-Length") or "0"
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header(
                    "Content-Length", length if self.command == "HEAD" else str(len(data))
                )
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _forward(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[http.client.HTTPResponse, bytes]:
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=60)
        try:
            upstream.request(method, path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
        finally:
            upstream.close()
        return response, data

    def _decide(self, req: Request) -> Action:
        with self._lock:
            self.requests.append(req)
            for rule in self.rules:
                if rule.times is not None and rule.fired >= rule.times:
                    continue
                if rule.match(req):
                    rule.fired += 1
                    return rule.action
        return FORWARD

    # ---- helpers for tests ---------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/devstoreaccount1"

    def add(self, match: Callable[[Request], bool], action: Action, times: int | None = 1) -> Rule:
        rule = Rule(match, action, times)
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.requests.clear()

    def faults_injected(self) -> int:
        with self._lock:
            return sum(rule.fired for rule in self.rules)

    def writes(self) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.is_write)

    def unconditional_blob_writes(self) -> list[str]:
        """Blob writes that carried neither If-Match nor If-None-Match."""
        with self._lock:
            return [
                f"{r.method} {r.path}"
                for r in self.requests
                if r.blob_write_needs_condition and not r.conditional
            ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ---- request predicates ------------------------------------------------------------------


def blob_path(req: Request) -> str:
    """The blob name part of a request path (``/account/container/NAME``), URL-decoded."""
    from urllib.parse import unquote

    parts = urlsplit(req.path).path.split("/", 3)
    return unquote(parts[3]) if len(parts) > 3 else ""


def is_put_blob(req: Request) -> bool:
    """Put Blob or Put Block List (the write that makes content visible)."""
    q = req.query
    return (
        req.method == "PUT"
        and q.get("restype") != ["container"]
        and q.get("comp") in (None, ["blocklist"])
    )


def is_delete_blob(req: Request) -> bool:
    return req.method == "DELETE" and req.query.get("restype") != ["container"]


def is_download(req: Request) -> bool:
    return req.method == "GET" and "comp" not in req.query and "restype" not in req.query


def is_listing_page(k: int) -> Callable[[Request], bool]:
    """The k-th page of a listing (1-based; pages after the first carry a marker)."""

    def match(req: Request) -> bool:
        if not req.is_listing:
            return False
        has_marker = "marker" in req.query
        return has_marker if k > 1 else not has_marker

    return match


def any_request(_req: Request) -> bool:
    return True


# ---- a store wrapper with hooks ------------------------------------------------------------


class _ChangingReader:
    """Reads from ``source``; after the first read, runs ``during`` once (e.g. a racing
    writer changing the file on disk while it is being uploaded)."""

    def __init__(self, source: BinaryIO, during: Callable[[], None]) -> None:
        self._source = source
        self._during: Callable[[], None] | None = during

    def read(self, n: int = -1) -> bytes:
        data = self._source.read(n)
        if self._during is not None:
            during, self._during = self._during, None
            during()
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)


class HookedStore:
    """A RemoteStore that runs ``before(op, blob_name)`` before each blob operation and
    counts the writes it passes on. ``during_upload(blob_name)`` may return a callable run
    after the first read of the upload's source (to change the file mid-upload)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.container: str = inner.container
        self.before: Callable[[str, str], None] | None = None
        self.during_upload: Callable[[str], Callable[[], None] | None] | None = None
        #: How each upload's MD5 came: "bytes" (hashed first) or "HashWhileSending".
        self.md5_kinds: dict[str, str] = {}
        self.writes = 0
        self._lock = threading.Lock()

    @property
    def hash_while_sending_min(self) -> int:
        return int(self.inner.hash_while_sending_min)

    def _hook(self, op: str, name: str) -> None:
        if self.before is not None:
            self.before(op, name)

    def _wrote(self) -> None:
        with self._lock:
            self.writes += 1

    def container_exists(self) -> bool:
        return bool(self.inner.container_exists())

    def create_container(self) -> bool:
        return bool(self.inner.create_container())

    def list_blobs(self) -> Iterator[RemoteEntry]:
        self._hook("list", "")
        yield from self.inner.list_blobs()

    def get_entry(self, blob_name: str) -> RemoteEntry | None:
        entry: RemoteEntry | None = self.inner.get_entry(blob_name)
        return entry

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
        writer: Any = None,
    ) -> WriteResult:
        self._hook("upload", blob_name)
        self.md5_kinds[blob_name] = type(md5).__name__
        if self.during_upload is not None:
            during = self.during_upload(blob_name)
            if during is not None:
                source = _ChangingReader(source, during)  # type: ignore[assignment]
        result: WriteResult = self.inner.upload(
            blob_name, source, size, md5, mtime_ns, if_match, progress, cancel, writer=writer
        )
        self._wrote()
        return result

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
        self._hook("download", blob_name)
        n: int = self.inner.download(blob_name, if_match, sink, progress, cancel, offset=offset)
        return n

    def delete(self, blob_name: str, if_match: str) -> None:
        self._hook("delete", blob_name)
        self.inner.delete(blob_name, if_match)
        self._wrote()

    def copy(
        self, source_name: str, target_name: str, source_etag: str | None, **kwargs: Any
    ) -> WriteResult:
        self._hook("copy", source_name)
        result: WriteResult = self.inner.copy(source_name, target_name, source_etag, **kwargs)
        self._wrote()
        return result

    def list_meta(self, prefix: str) -> Iterator[tuple[RemoteEntry, dict[str, str]]]:
        yield from self.inner.list_meta(prefix)

    def protection(self) -> Any:
        return self.inner.protection()

    def list_versions(self, blob_name: str) -> Any:
        return self.inner.list_versions(blob_name)

    def read_beacon(self, if_none_match: str | None, blob_name: str = BEACON_BLOB) -> BeaconRead:
        beacon: BeaconRead = self.inner.read_beacon(if_none_match, blob_name)
        return beacon

    def write_beacon(self, body: bytes, if_match: str | None, blob_name: str = BEACON_BLOB) -> str:
        # No hook: the racing actors play users, who never touch BlobSync's own space.
        etag: str = self.inner.write_beacon(body, if_match, blob_name)
        self._wrote()
        return etag

    def close(self) -> None:
        self.inner.close()
