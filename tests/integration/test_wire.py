"""The lean pipeline (core/remote/azure/wire.py): the same requests as the SDK's, signed
the same way, over http.client; it stands in for the SDK only where it can; a plain
``blobsync sync`` never imports the storage SDK or requests."""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from azure.core.pipeline import Pipeline, PipelineContext, PipelineRequest
from azure.core.rest import HttpRequest
from azure.storage.blob import ContainerClient
from azure.storage.blob._shared.authentication import (
    SharedKeyCredentialPolicy,
    _storage_header_sort,
)

from blobsync.core.credentials import from_key, parse_connection_string
from blobsync.core.errors import AuthError, AuthReason, ConnectionFailure
from blobsync.core.remote.azure import AzureBlobStore, wire
from blobsync.core.remote.azure.policy import BoundedRetryPolicy, RetryVia
from blobsync.core.remote.azure.wire import (
    API_VERSION,
    HttpClientTransport,
    SharedKeySigner,
    _collate,
    lean_pipeline_possible,
)

KEY = base64.b64encode(b"k" * 64).decode()
ACCOUNT = "devstoreaccount1"
BASE = f"http://127.0.0.1:10000/{ACCOUNT}"


def _sdk_signature(method: str, url: str, headers: dict[str, str]) -> str:
    request = HttpRequest(method, url, headers=dict(headers))
    SharedKeyCredentialPolicy(ACCOUNT, KEY).on_request(
        PipelineRequest(request, PipelineContext(None))
    )
    return str(request.headers["Authorization"])


@pytest.mark.parametrize(
    ("method", "url", "headers"),
    [
        ("GET", f"{BASE}/c?restype=container", {"x-ms-version": API_VERSION}),
        (
            "GET",
            f"{BASE}/c?restype=container&comp=list&include=metadata&maxresults=5000"
            "&prefix=a%20b%2F&marker=d049%2Ff004949.bin",
            {"x-ms-version": API_VERSION, "Accept": "application/xml"},
        ),
        (
            "PUT",
            f"{BASE}/c/dir/na%20me%C3%A9.txt",
            {
                "x-ms-version": API_VERSION,
                "x-ms-blob-type": "BlockBlob",
                "x-ms-blob-content-type": "text/plain",
                "Content-Type": "text/plain",
                "Content-Length": "12",
                "Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==",
                "x-ms-meta-mtime": "1700000000.123456789",
                "x-ms-meta-blobsync_machine": "laptop",
                "x-ms-meta-blobsync_Time": "1",
                "x-ms-meta-a1_b": "x",
                "x-ms-meta-empty": "",
                "If-None-Match": "*",
                "x-ms-date": "Tue, 01 Dec 2026 10:00:00 GMT",
                "x-ms-client-request-id": "abc-1",
            },
        ),
        (
            "PUT",
            f"{BASE}/c/empty",
            {"x-ms-version": API_VERSION, "Content-Length": "0", "If-Match": '"0x8D"'},
        ),
        (
            "GET",
            f"{BASE}/c/big.bin",
            {"x-ms-version": API_VERSION, "If-Match": '"0x1"', "x-ms-range": "bytes=5-"},
        ),
        ("DELETE", f"{BASE}/c/x", {"x-ms-version": API_VERSION, "If-Match": '"0x2"'}),
    ],
)
def test_shared_key_signatures_match_the_sdks(
    method: str, url: str, headers: dict[str, str]
) -> None:
    ours = SharedKeySigner(ACCOUNT, KEY).authorization(method, url, headers)
    assert ours == _sdk_signature(method, url, headers)


def test_header_collation_matches_the_sdks_on_random_names() -> None:
    rng = random.Random(7)
    alphabet = "abcz019_-"
    for _ in range(300):
        names = [
            "x-ms-" + "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))
            for _ in range(6)
        ]
        names = list(dict.fromkeys(names))
        expected = [n for n, _ in _storage_header_sort([(n, "") for n in names])]
        from functools import cmp_to_key

        assert sorted(names, key=cmp_to_key(_collate)) == expected, names


def test_the_api_version_is_the_sdks(azurite: Any) -> None:
    client = ContainerClient.from_connection_string(azurite.connection_string, "c")
    assert client.api_version == API_VERSION


def test_the_lean_pipeline_is_not_used_through_a_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    creds = from_key("https://acct.blob.core.windows.net", KEY)
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert lean_pipeline_possible(creds)
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    assert not lean_pipeline_possible(creds)
    store = AzureBlobStore(creds, "c")
    try:
        assert store._lean is None  # the SDK's pipeline (requests resolves the proxy)
    finally:
        store.close()
    monkeypatch.setenv("no_proxy", "acct.blob.core.windows.net")
    assert lean_pipeline_possible(creds)


class _ClosingHandler(http.server.BaseHTTPRequestHandler):
    """Answers keep-alive style (no Connection: close) and then closes the connection,
    as a server whose idle timeout passed does."""

    protocol_version = "HTTP/1.1"
    served: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).served.append(self.path)
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args: Any) -> None:
        pass


class _ClosingServer(http.server.ThreadingHTTPServer):
    closed = threading.Semaphore(0)

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        type(self).closed.release()  # the server's end of the connection is closed


@pytest.fixture
def closing_server() -> Iterator[str]:
    _ClosingHandler.served = []
    _ClosingServer.closed = threading.Semaphore(0)
    server = _ClosingServer(("127.0.0.1", 0), _ClosingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/acct"
    finally:
        server.shutdown()
        server.server_close()


def test_a_connection_the_server_closed_is_not_reused(closing_server: str) -> None:
    transport = HttpClientTransport(closing_server)
    for i in range(3):
        response = transport.send(HttpRequest("GET", f"{closing_server}/c/{i}"))
        assert response.status_code == 200 and response.read() == b"ok"
        assert _ClosingServer.closed.acquire(timeout=10)  # idle, and closed by the server
    assert _ClosingHandler.served == ["/acct/c/0", "/acct/c/1", "/acct/c/2"]
    transport.close()


def test_a_request_on_a_connection_closed_meanwhile_is_retried_on_a_new_one(
    closing_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server closes the idle connection just after our check that it is open: the
    # request fails on the stale connection, and the retry policy sends it again on a
    # fresh one (one more attempt, no more).
    policy = BoundedRetryPolicy(sleep=lambda _s: None)
    pipeline = Pipeline(HttpClientTransport(closing_server), [RetryVia(policy)])
    assert pipeline.run(HttpRequest("GET", f"{closing_server}/c/a")).http_response.read() == b"ok"
    assert _ClosingServer.closed.acquire(timeout=10)
    monkeypatch.setattr(wire.select, "select", lambda r, w, x, t: ([], [], []))
    response = pipeline.run(HttpRequest("GET", f"{closing_server}/c/b")).http_response
    assert response.status_code == 200 and response.read() == b"ok"
    assert _ClosingHandler.served == ["/acct/c/a", "/acct/c/b"]
    assert policy.attempts == 3
    pipeline.__exit__()


@pytest.mark.azurite
def test_a_plain_sync_imports_neither_the_storage_sdk_nor_requests(
    azurite: Any, tmp_path: Path
) -> None:
    """Neither the storage SDK, requests/urllib3, azure-identity nor watchdog (only
    ``blobsync watch`` needs it) is imported by ``blobsync sync``: not on a first
    upload, a no-change run, a second machine's first sync (it reads the container's
    ``.blobsyncignore`` properties and downloads) nor a run that deletes a blob."""
    folder = tmp_path / "folder"
    (folder / "d").mkdir(parents=True)
    (folder / "d" / "a.txt").write_bytes(b"hello")
    (folder / "b.txt").write_bytes(b"kept")
    env = {
        **os.environ,
        "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    container = "wire" + hashlib.md5(str(tmp_path).encode()).hexdigest()[:12]
    second = tmp_path / "second"
    second.mkdir()
    steps = [("first", folder, "data"), ("again", folder, "data")]
    steps += [("second machine", second, "data2"), ("deletion", second, "data2")]
    for step, root, data in steps:
        if step == "deletion":
            (second / "d" / "a.txt").unlink()
        done = subprocess.run(
            [
                sys.executable,
                "-X",
                "importtime",
                "-m",
                "blobsync.core.cli",
                "sync",
                str(root),
                container,
                "--json",
            ],
            env={**env, "XDG_DATA_HOME": str(tmp_path / data)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr[-2000:]
        imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
        assert "azure.storage.blob" not in imported, step
        assert "requests" not in imported and "urllib3" not in imported, step
        assert "azure.identity" not in imported, step
        assert "watchdog" not in imported, step
    assert (second / "d" / "a.txt").exists() is False and (second / "b.txt").read_bytes() == b"kept"
    creds = parse_connection_string(azurite.connection_string)
    store = AzureBlobStore(creds, container)
    try:
        assert store.get_entry("d/a.txt") is None  # deleted by the lean Delete Blob
        sink = io.BytesIO()
        entry = store.get_entry("b.txt")
        assert entry is not None
        store.download("b.txt", entry.etag, sink)
        assert sink.getvalue() == b"kept"
    finally:
        store.close()


@pytest.mark.azurite
def test_one_connection_serves_a_run_of_uploads_listings_and_downloads(
    azurite: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Keep-alive holds for every kind of request, downloads included (a download stops
    # reading at its last byte and closes the response: the connection stays).
    opened: list[int] = []
    real_new = HttpClientTransport._new

    def counting_new(self: HttpClientTransport) -> Any:
        opened.append(1)
        return real_new(self)

    monkeypatch.setattr(HttpClientTransport, "_new", counting_new)
    container = "wire" + os.urandom(6).hex()
    store = AzureBlobStore(parse_connection_string(azurite.connection_string), container)
    try:
        assert store._lean is not None
        store.create_container()
        etags = {}
        for i in range(10):
            data = f"blob {i}".encode() * (i + 1)
            md5 = hashlib.md5(data).digest()
            etags[f"b{i}"] = (
                store.upload(f"b{i}", io.BytesIO(data), len(data), md5, 1, None).etag,
                data,
            )
        assert sorted(e.rel_path for e in store.list_blobs()) == sorted(etags)
        for name, (etag, data) in etags.items():
            sink = io.BytesIO()
            assert store.download(name, etag, sink) == len(data)
            assert sink.getvalue() == data
        for name, (etag, _data) in etags.items():
            store.delete(name, etag)
        assert list(store.list_blobs()) == []
    finally:
        store.close()
    assert len(opened) <= 2, len(opened)  # the listing's page thread may take its own


@pytest.mark.azurite
def test_https_with_a_key_checks_the_certificate(
    azurite_oauth: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Over HTTPS the lean pipeline verifies the server's certificate against the
    # system's store or the bundle REQUESTS_CA_BUNDLE names (as the SDK's does).
    creds = azurite_oauth.credentials  # the published key, on the HTTPS endpoint
    assert creds.account_url.startswith("https://")
    container = "wire" + os.urandom(6).hex()
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    untrusted = AzureBlobStore(creds, container)
    try:
        with pytest.raises(ConnectionFailure):
            untrusted.create_container()
    finally:
        untrusted.close()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(azurite_oauth.cert))
    store = AzureBlobStore(creds, container)
    try:
        assert store._lean is not None
        assert store.create_container()
        data = b"over tls"
        etag = store.upload(
            "t.txt", io.BytesIO(data), len(data), hashlib.md5(data).digest(), 1, None
        ).etag
        assert [e.rel_path for e in store.list_blobs()] == ["t.txt"]
        sink = io.BytesIO()
        store.download("t.txt", etag, sink)
        assert sink.getvalue() == data
    finally:
        store.close()


def test_a_malformed_key_is_refused_before_anything_is_sent() -> None:
    # As with the SDK's signer: a key that is not base64 is said to be malformed, not
    # wrong (nothing listens on port 1: a request sent would be a connection failure).
    store = AzureBlobStore(from_key("http://127.0.0.1:1/devstoreaccount1", "not base64!"), "c")
    try:
        assert store._lean is not None
        with pytest.raises(AuthError) as info:
            store.create_container()
        assert info.value.reason is AuthReason.MALFORMED_KEY
    finally:
        store.close()


def test_a_copy_of_a_version_names_it_in_the_source_url(monkeypatch: pytest.MonkeyPatch) -> None:
    # Azurite keeps no versions, so only the request is checked here: the version goes
    # in the source URL's versionid, the conditions on both sides as for any copy.
    store = AzureBlobStore(from_key(BASE, KEY), "c")
    sent: list[Any] = []

    class Answer:
        status_code = 202
        headers: ClassVar[dict[str, str]] = {"x-ms-copy-status": "success", "ETag": '"0x9"'}

    def run(request: Any, stream: bool = False) -> Any:
        sent.append(request)
        return type("R", (), {"http_response": Answer()})()

    monkeypatch.setattr(store, "_run", run)
    try:
        result = store.copy(
            "a.txt", "b.txt", '"0x1"', target_if_match=None, source_version="2026-12-01T10:00:00.1Z"
        )
    finally:
        store.close()
    assert result.etag == '"0x9"'
    headers = sent[0].headers
    assert headers["x-ms-copy-source"] == f"{BASE}/c/a.txt?versionid=2026-12-01T10%3A00%3A00.1Z"
    assert headers["x-ms-source-if-match"] == '"0x1"' and headers["If-None-Match"] == "*"
