"""AzureBlobStore against a real Azurite: conditional writes, MD5/mtime, limits, errors,
retries (listing and paging: test_listing_azurite.py). A contract test runs the same
checks on MemoryStore to prove the fake follows the same rules.

Retries and lost responses are proven through :class:`FaultProxy`, a tiny HTTP proxy on
127.0.0.1 in front of Azurite that answers scripted statuses, drops connections, or
forwards a request and then drops the response (the "lost response" of SDK issue
#19486).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.client
import io
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote

import pytest

from blobsync.core.app.emulator import Azurite
from blobsync.core.credentials import (
    AZURITE_KEY,
    from_key,
    from_sas_url,
    parse_connection_string,
)
from blobsync.core.errors import (
    AuthError,
    BlobNotFound,
    Cancelled,
    ConfigError,
    ConnectionFailure,
    ContainerNotFound,
    ItemError,
    ListingError,
    PreconditionFailed,
    RemoteItemError,
)
from blobsync.core.models import IssueKind, Writer
from blobsync.core.remote.azure import (
    AzureBlobStore,
    BoundedRetryPolicy,
    check_connection,
    create_container,
    list_containers,
    open_store,
)
from blobsync.core.remote.azure.policy import SINGLE_SHOT_MAX, STATUS_BACKOFFS
from blobsync.core.remote.base import CancelToken, HashWhileSending, RemoteStore
from blobsync.core.remote.memory import MemoryStore

from .store_helpers import MTIME, counted_store, upload
from .store_helpers import azure_store as azure_store  # a fixture, used by name

pytestmark = pytest.mark.azurite


@pytest.fixture(params=["memory", "azure"])
def store(request: pytest.FixtureRequest, container_name: str) -> Iterator[RemoteStore]:
    if request.param == "memory":
        yield MemoryStore(container_name)
        return
    azurite: Azurite = request.getfixturevalue("azurite")
    azure = open_store(azurite.credentials, container_name)
    azure.create_container()
    try:
        yield azure
    finally:
        azure.close()


# ---- contract: both stores behave the same --------------------------------------------


def test_contract_create_only_and_conditional_writes(store: RemoteStore) -> None:
    e1 = upload(store, "dir/a.txt", b"one")
    assert e1.startswith('"') and e1.endswith('"')
    with pytest.raises(PreconditionFailed):
        upload(store, "dir/a.txt", b"two")  # create-only on an existing blob
    e2 = upload(store, "dir/a.txt", b"two", if_match=e1)
    assert e2 != e1
    with pytest.raises(PreconditionFailed):
        upload(store, "dir/a.txt", b"three", if_match=e1)
    with pytest.raises(PreconditionFailed):
        store.delete("dir/a.txt", e1)
    with pytest.raises(PreconditionFailed):
        store.download("dir/a.txt", e1, io.BytesIO())
    sink = io.BytesIO()
    assert store.download("dir/a.txt", e2, sink) == 3
    assert sink.getvalue() == b"two"
    store.delete("dir/a.txt", e2)
    assert store.get_entry("dir/a.txt") is None
    with pytest.raises(BlobNotFound):
        store.delete("dir/a.txt", e2)
    with pytest.raises(BlobNotFound):
        store.download("dir/a.txt", e2, io.BytesIO())
    with pytest.raises(PreconditionFailed):
        upload(store, "dir/a.txt", b"four", if_match=e2)  # If-Match on a missing blob


def test_contract_listing_matches_entries_md5_and_mtime(store: RemoteStore) -> None:
    names = ["b", "a/z", "a", "c d", "a/b", "B", "é.txt", "a-b"]
    etags = {
        name: upload(store, name, name.encode(), mtime=MTIME + i) for i, name in enumerate(names)
    }
    listed = list(store.list_blobs())
    assert [e.rel_path for e in listed] == sorted(names)  # the service's order
    for i, name in enumerate(names):
        entry = next(e for e in listed if e.rel_path == name)
        assert entry.etag == etags[name]  # listing ETags compare equal to write ETags
        assert entry.md5 == hashlib.md5(name.encode()).digest()
        assert entry.size == len(name.encode())
        assert entry.mtime_ns == MTIME + i
        assert store.get_entry(name) == entry


def test_contract_empty_blob_and_grown_source(store: RemoteStore) -> None:
    etag = upload(store, "empty", b"")
    entry = store.get_entry("empty")
    assert entry is not None and entry.size == 0 and entry.etag == etag
    assert entry.md5 == hashlib.md5(b"").digest()
    sink = io.BytesIO()
    assert store.download("empty", etag, sink) == 0
    with pytest.raises(ItemError) as info:  # the file grew after it was hashed
        store.upload("grown", io.BytesIO(b"abc+"), 3, hashlib.md5(b"abc").digest(), 1, None)
    assert info.value.kind is IssueKind.FILE_CHANGED
    assert store.get_entry("grown") is None


def test_contract_copy(store: RemoteStore) -> None:
    etag = upload(store, "src.bin", b"payload")
    result = store.copy("src.bin", "moved/dst.bin", etag)
    entry = store.get_entry("moved/dst.bin")
    assert entry is not None
    assert (entry.etag, entry.mtime_ns) == (result.etag, MTIME)
    assert entry.md5 == hashlib.md5(b"payload").digest()  # Content-MD5 travels with the copy
    assert result.md5 in (None, entry.md5)  # a synchronous copy's answer carries none
    with pytest.raises(PreconditionFailed):
        store.copy("src.bin", "moved/dst.bin", etag)  # target exists: create-only
    upload(store, "src.bin", b"changed", if_match=etag)
    with pytest.raises(PreconditionFailed):
        store.copy("src.bin", "other.bin", etag)  # source changed since listed
    with pytest.raises(BlobNotFound):
        store.copy("missing.bin", "other.bin", etag)
    assert store.get_entry("other.bin") is None


def test_contract_names(store: RemoteStore) -> None:
    upload(store, "n" * 1024, b"x")
    assert store.get_entry("n" * 1024) is not None
    for bad in ("n" * 1025, "ctl\x01char", "a/" * 254 + "z"):
        with pytest.raises(ItemError) as info:
            upload(store, bad, b"x")
        assert info.value.kind is IssueKind.NAME_NOT_ALLOWED
    assert [e.rel_path for e in store.list_blobs()] == ["n" * 1024]


# ---- Azure specifics ---------------------------------------------------------------------


def test_refused_names_are_never_sent(azurite: Azurite, azure_store: AzureBlobStore) -> None:
    store, policy = counted_store(azurite, azure_store.container)
    for bad in ("n" * 1025, "tab\tname", "x\x7f"):
        with pytest.raises(ItemError):
            upload(store, bad, b"x")
    assert policy.attempts == 0
    upload(store, "fine", b"x")
    assert policy.attempts == 1


def test_same_content_already_there_counts_as_our_write(azure_store: AzureBlobStore) -> None:
    # Another client (or the SDK's own retry of our request) wrote the same bytes first.
    theirs = upload(azure_store, "same.txt", b"identical", mtime=1)
    result = azure_store.upload(
        "same.txt", io.BytesIO(b"identical"), 9, hashlib.md5(b"identical").digest(), 2, None
    )
    assert result.etag == theirs
    with pytest.raises(PreconditionFailed):
        upload(azure_store, "same.txt", b"different")


def test_block_upload_stores_md5_and_commits_only_matching_content(
    azure_store: AzureBlobStore,
) -> None:
    azure_store.single_shot_max = 1000
    azure_store.min_block_size = 256
    data = os.urandom(2500)  # 10 blocks
    moved: list[int] = []
    result = azure_store.upload(
        "blocks.bin",
        io.BytesIO(data),
        len(data),
        hashlib.md5(data).digest(),
        MTIME,
        None,
        moved.append,
    )
    assert sum(moved) == 2500 and len(moved) == 10
    entry = azure_store.get_entry("blocks.bin")
    assert entry is not None and entry.md5 == hashlib.md5(data).digest()
    assert entry.etag == result.etag and entry.mtime_ns == MTIME
    assert next(azure_store.list_blobs()).md5 == entry.md5
    sink = io.BytesIO()
    azure_store.download("blocks.bin", result.etag, sink)
    assert sink.getvalue() == data
    # The file "changed while reading": the md5 we were given no longer matches.
    with pytest.raises(ItemError) as info:
        azure_store.upload(
            "blocks.bin", io.BytesIO(data[::-1]), 2500, entry.md5, MTIME, result.etag
        )
    assert info.value.kind is IssueKind.FILE_CHANGED
    assert azure_store.get_entry("blocks.bin") == entry  # nothing committed


@pytest.fixture(params=["lean", "sdk"])
def either_pipeline(request: pytest.FixtureRequest, azure_store: AzureBlobStore) -> Iterator[str]:
    """The store's requests on the lean pipeline, or all on the storage SDK's (as with
    Entra ID or a proxy)."""
    lean = azure_store._lean
    if request.param == "sdk":
        azure_store._lean = None
    try:
        yield request.param
    finally:
        azure_store._lean = lean


def test_hash_while_sending_stages_checked_blocks_and_commits_their_md5(
    azure_store: AzureBlobStore, either_pipeline: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    azure_store.single_shot_max = 1000
    azure_store.min_block_size = 256
    data = os.urandom(2500)  # 10 blocks
    sent: dict[str, str] = {}  # block URL -> its Content-MD5
    real_run = azure_store.pipeline.run

    def run(request: Any, **kwargs: Any) -> Any:
        if "comp=block&" in request.url:
            sent[request.url] = request.headers.get("Content-MD5", "")
        return real_run(request, **kwargs)

    if either_pipeline == "lean":
        monkeypatch.setattr(azure_store.pipeline, "run", run)
    checks: list[int] = []
    result = azure_store.upload(
        "hws.bin",
        io.BytesIO(data),
        len(data),
        HashWhileSending(lambda: checks.append(1)),
        MTIME,
        None,
    )
    assert checks == [1]  # asked once, before the commit
    assert result.md5 == hashlib.md5(data).digest()
    entry = azure_store.get_entry("hws.bin")
    assert entry is not None and (entry.md5, entry.size, entry.mtime_ns) == (
        result.md5,
        len(data),
        MTIME,
    )
    sink = io.BytesIO()
    azure_store.download("hws.bin", entry.etag, sink)
    assert sink.getvalue() == data
    if either_pipeline == "lean":  # every block carried its own checksum
        expected = {
            base64.b64encode(hashlib.md5(data[i : i + 256]).digest()).decode()
            for i in range(0, 2500, 256)
        }
        assert len(sent) == 10 and set(sent.values()) == expected


def test_hash_while_sending_commits_nothing_when_the_file_moved_on(
    azure_store: AzureBlobStore, either_pipeline: str
) -> None:
    """``unchanged()`` refuses: the staged blocks are not committed (the old blob
    stays). A later try of the same file (same size and mtime) finds its blocks staged
    and sends none again; another mtime is another file and sends all."""
    azure_store.single_shot_max = 1000
    azure_store.min_block_size = 256
    old = upload(azure_store, "moved.bin", b"old content")
    data = os.urandom(2500)

    def changed() -> None:
        raise ItemError("The file changed while it was read.", IssueKind.FILE_CHANGED)

    with pytest.raises(ItemError) as info:
        azure_store.upload(
            "moved.bin", io.BytesIO(data), len(data), HashWhileSending(changed), MTIME, old
        )
    assert info.value.kind is IssueKind.FILE_CHANGED
    entry = azure_store.get_entry("moved.bin")
    assert entry is not None and entry.etag == old and entry.size == len(b"old content")
    azure_store.resumed_bytes = 0
    result = azure_store.upload(
        "moved.bin", io.BytesIO(data), len(data), HashWhileSending(lambda: None), MTIME, old
    )
    assert azure_store.resumed_bytes == len(data)  # every block was staged already
    assert result.md5 == hashlib.md5(data).digest()
    sink = io.BytesIO()
    azure_store.download("moved.bin", result.etag, sink)
    assert sink.getvalue() == data
    other = data[::-1]
    azure_store.resumed_bytes = 0
    again = azure_store.upload(
        "moved.bin",
        io.BytesIO(other),
        len(other),
        HashWhileSending(lambda: None),
        MTIME + 1,
        result.etag,
    )
    assert azure_store.resumed_bytes == 0 and again.md5 == hashlib.md5(other).digest()
    with pytest.raises(ValueError):  # only for staged contents
        azure_store.upload("s", io.BytesIO(b"x"), 1, HashWhileSending(lambda: None), MTIME, None)


def test_single_shot_md5_mismatch_writes_nothing(azure_store: AzureBlobStore) -> None:
    with pytest.raises(ItemError) as info:
        azure_store.upload("x", io.BytesIO(b"abc"), 3, hashlib.md5(b"abd").digest(), 1, None)
    assert info.value.kind is IssueKind.FILE_CHANGED
    assert azure_store.get_entry("x") is None


@pytest.mark.slow
def test_just_above_default_threshold_goes_in_blocks_with_md5(
    azurite: Azurite, azure_store: AzureBlobStore
) -> None:
    assert SINGLE_SHOT_MAX <= 256 * 1024 * 1024  # one streamed Put Blob up to 256 MiB
    store, policy = counted_store(azurite, azure_store.container)
    store.single_shot_max = 16 * 1024 * 1024  # (a smaller threshold keeps the test quick)
    data = os.urandom(16 * 1024 * 1024 + 1)
    result = store.upload(
        "big.bin", io.BytesIO(data), len(data), hashlib.md5(data).digest(), MTIME, None
    )
    assert policy.attempts == 5  # Get Block List (resume), 3 blocks (8 + 8 + 1 byte), commit
    entry = azure_store.get_entry("big.bin")
    assert entry is not None
    assert (entry.size, entry.md5, entry.etag) == (
        len(data),
        hashlib.md5(data).digest(),
        result.etag,
    )
    store.close()


# ---- account-level functions and fatal errors ---------------------------------------


def test_wrong_key_is_an_auth_error_without_the_key(azurite: Azurite, container_name: str) -> None:
    wrong = "A" * 20 + azurite.credentials.secret[20:]
    creds = from_key(azurite.blob_endpoint, wrong)
    with pytest.raises(AuthError) as info:
        check_connection(creds)
    assert "key" in str(info.value)
    assert wrong not in str(info.value) and wrong[:20] not in repr(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    store = open_store(creds, container_name)
    with pytest.raises(AuthError):
        list(store.list_blobs())
    with pytest.raises(AuthError):
        upload(store, "a", b"x")
    assert wrong not in repr(store)


def test_unreachable_port_fails_fast(container_name: str) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    creds = from_key(f"http://127.0.0.1:{port}/devstoreaccount1", "a2V5")
    started = time.monotonic()
    with pytest.raises(ConnectionFailure):
        check_connection(creds)
    with pytest.raises(ConnectionFailure):
        open_store(creds, container_name).container_exists()
    assert time.monotonic() - started < 5


def test_proxy_settings_from_the_environment_are_honoured(
    azurite: Azurite, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a proxy address nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead_proxy = f"http://127.0.0.1:{sock.getsockname()[1]}"
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTP_PROXY", dead_proxy)
    monkeypatch.setenv("http_proxy", dead_proxy)
    with pytest.raises(ConnectionFailure):
        check_connection(azurite.credentials)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    check_connection(azurite.credentials)


def test_missing_container(azurite: Azurite, container_name: str) -> None:
    store = open_store(azurite.credentials, container_name)
    assert store.container_exists() is False
    with pytest.raises(ContainerNotFound):
        list(store.list_blobs())
    with pytest.raises(ContainerNotFound):
        upload(store, "a", b"x")
    with pytest.raises(ContainerNotFound):
        store.get_entry("a")


def test_create_and_list_containers(azurite: Azurite, container_name: str) -> None:
    assert create_container(azurite.credentials, container_name) is True
    assert create_container(azurite.credentials, container_name) is False
    assert container_name in list_containers(azurite.credentials)
    with pytest.raises(ConfigError):
        create_container(azurite.credentials, "Bad_Name")
    check_connection(azurite.credentials)
    conn = open_store(parse_connection_string(azurite.connection_string), container_name)
    assert conn.container_exists()


def account_sas(endpoint: str, permissions: str, expiry: dt.datetime) -> str:
    """An account SAS URL for Azurite's dev account, signed by hand (tests only)."""
    version, expires = "2021-06-08", expiry.strftime("%Y-%m-%dT%H:%M:%SZ")
    to_sign = "\n".join(
        ["devstoreaccount1", permissions, "b", "sco", "", expires, "", "", version, "", ""]
    )
    digest = hmac.new(base64.b64decode(AZURITE_KEY), to_sign.encode(), hashlib.sha256).digest()
    sig = quote(base64.b64encode(digest).decode(), safe="")
    return f"{endpoint}?sv={version}&ss=b&srt=sco&sp={permissions}&se={quote(expires)}&sig={sig}"


def test_sas_credentials_and_no_secret_in_logs(
    azurite: Azurite, container_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    now = dt.datetime.now(dt.UTC)
    good = from_sas_url(account_sas(azurite.blob_endpoint, "rwdlac", now + dt.timedelta(hours=1)))
    check_connection(good)
    store = open_store(good, container_name)
    assert store.create_container()
    etag = upload(store, "a.txt", b"sas")
    store.copy("a.txt", "b.txt", etag)  # the copy source URL must carry the SAS
    assert [e.rel_path for e in store.list_blobs()] == ["a.txt", "b.txt"]
    read_only = from_sas_url(account_sas(azurite.blob_endpoint, "rl", now + dt.timedelta(hours=1)))
    with pytest.raises(AuthError, match="lack permission"):
        upload(open_store(read_only, container_name), "c.txt", b"x")
    expired = from_sas_url(
        account_sas(azurite.blob_endpoint, "rwdlac", now - dt.timedelta(hours=1))
    )
    with pytest.raises(AuthError, match="expired") as info:
        check_connection(expired)
    for creds in (good, read_only, expired):
        signature = creds.secret.split("sig=")[1]
        assert signature not in caplog.text
        assert signature not in str(info.value)
    assert AZURITE_KEY not in caplog.text


def test_download_progress_and_cancel(azure_store: AzureBlobStore) -> None:
    data = os.urandom(9 * 1024 * 1024)  # more than one 4 MiB download chunk
    etag = upload(azure_store, "dl.bin", data)
    moved: list[int] = []
    sink = io.BytesIO()
    assert azure_store.download("dl.bin", etag, sink, moved.append) == len(data)
    assert sink.getvalue() == data and sum(moved) == len(data) and len(moved) > 1
    token = CancelToken()
    with pytest.raises(Cancelled):
        azure_store.download("dl.bin", etag, io.BytesIO(), lambda n: token.cancel(), token)


def test_block_upload_cancel_commits_nothing(azure_store: AzureBlobStore) -> None:
    azure_store.single_shot_max = 100
    azure_store.min_block_size = 100
    data = os.urandom(1000)
    token = CancelToken()
    with pytest.raises(Cancelled):
        azure_store.upload(
            "c.bin",
            io.BytesIO(data),
            1000,
            hashlib.md5(data).digest(),
            1,
            None,
            lambda n: token.cancel(),
            token,
        )
    assert azure_store.get_entry("c.bin") is None


# ---- retries, through a fault-injecting proxy ----------------------------------------


class FaultProxy:
    """HTTP proxy to Azurite that first plays ``script`` (status codes, "reset",
    "forward-reset"), then forwards. ``requests`` counts every request it received."""

    def __init__(self, upstream_port: int) -> None:
        self.script: list[int | str] = []
        self.requests: list[str] = []
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

            def _handle(self) -> None:
                body = self._read_body()
                proxy.requests.append(f"{self.command} {self.path}")
                action = proxy.script.pop(0) if proxy.script else "forward"
                if isinstance(action, int):
                    payload = b"<Error><Code>Injected</Code></Error>"
                    self.send_response(action)
                    self.send_header("x-ms-error-code", "Injected")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                    return
                if action == "reset":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
                upstream.request(self.command, self.path, body=body, headers=dict(self.headers))
                response = upstream.getresponse()
                data = response.read()
                upstream.close()
                if action == "forward-reset":  # the write happened; its answer is lost
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(response.status)
                length = response.getheader("Content-Length") or "0"
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                # a HEAD answer keeps the blob's length; anything else carries its body
                self.send_header(
                    "Content-Length", length if self.command == "HEAD" else str(len(data))
                )
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxied(
    azurite: Azurite, azure_store: AzureBlobStore
) -> Iterator[tuple[AzureBlobStore, FaultProxy, list[float]]]:
    proxy = FaultProxy(azurite.port)
    waits: list[float] = []
    creds = from_key(f"http://127.0.0.1:{proxy.port}/devstoreaccount1", azurite.credentials.secret)
    store = AzureBlobStore(
        creds, azure_store.container, retry_policy=BoundedRetryPolicy(sleep=waits.append)
    )
    try:
        yield store, proxy, waits
    finally:
        store.close()
        proxy.close()


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retried(
    proxied: tuple[AzureBlobStore, FaultProxy, list[float]], status: int
) -> None:
    store, proxy, waits = proxied
    upload(store, "r.txt", b"x")
    proxy.requests.clear()
    proxy.script = [status, status]
    assert store.get_entry("r.txt") is not None
    assert len(proxy.requests) == 3
    assert len(waits) == 2 and waits[1] > waits[0]


@pytest.mark.parametrize(("status", "error"), [(403, AuthError), (412, PreconditionFailed)])
def test_auth_and_conflicts_are_not_retried(
    proxied: tuple[AzureBlobStore, FaultProxy, list[float]],
    status: int,
    error: type[Exception],
) -> None:
    store, proxy, waits = proxied
    proxy.script = [status]
    with pytest.raises(error):
        upload(store, "n.txt", b"x", if_match='"0x1"')
    methods = [r.split()[0] for r in proxy.requests]
    assert methods.count("PUT") == 1 and waits == []


def test_retries_are_bounded(proxied: tuple[AzureBlobStore, FaultProxy, list[float]]) -> None:
    store, proxy, waits = proxied
    proxy.script = [503] * 10
    with pytest.raises(ItemError):
        store.get_entry("x")
    assert len(proxy.requests) == len(STATUS_BACKOFFS) + 1
    assert sum(waits) <= 15
    assert sum(STATUS_BACKOFFS) * 1.2 <= 15


def test_dropped_connection_is_retried(
    proxied: tuple[AzureBlobStore, FaultProxy, list[float]],
) -> None:
    store, proxy, _ = proxied
    upload(store, "d.txt", b"x")
    proxy.requests.clear()
    proxy.script = ["reset"]
    assert store.get_entry("d.txt") is not None
    assert len(proxy.requests) == 2


def test_lost_response_of_our_own_create_is_success(
    proxied: tuple[AzureBlobStore, FaultProxy, list[float]],
) -> None:
    # The PUT reaches Azurite but its answer is lost; the retry meets our own blob (409),
    # the store re-reads it, sees our MD5 and reports success (azure-sdk-for-python#19486).
    store, proxy, _ = proxied
    proxy.script = ["forward-reset"]
    etag = upload(store, "lost.txt", b"mine")
    methods = [r.split()[0] for r in proxy.requests]
    assert methods == ["PUT", "PUT", "HEAD"]
    entry = store.get_entry("lost.txt")
    assert entry is not None and entry.etag == etag


@pytest.mark.parametrize("lean", [True, False])
def test_listing_failing_part_way_raises_listing_error(
    proxied: tuple[AzureBlobStore, FaultProxy, list[float]], lean: bool
) -> None:
    store, proxy, waits = proxied
    for i in range(5):
        upload(store, f"f{i}", b"x")
    store.page_size = 2
    store.lean_listing = lean
    proxy.script = ["forward"] + [500] * 5  # page 1 fine, page 2 fails after all retries
    listing = store.list_blobs()
    assert [next(listing).rel_path, next(listing).rel_path] == ["f0", "f1"]
    with pytest.raises(ListingError):
        next(listing)
    assert len(waits) == len(STATUS_BACKOFFS)


def test_other_service_errors_become_item_errors_with_the_code(
    proxied: tuple[AzureBlobStore, FaultProxy, list[float]],
) -> None:
    store, proxy, waits = proxied
    proxy.script = [400]
    with pytest.raises(RemoteItemError, match="status 400, error code Injected"):
        upload(store, "e.txt", b"x")
    assert waits == []


def test_malformed_account_key_is_a_clear_auth_error(azurite):
    from blobsync.core.credentials import from_key
    from blobsync.core.errors import AuthError
    from blobsync.core.remote.azure import check_connection

    with pytest.raises(AuthError, match="malformed") as info:
        check_connection(from_key(azurite.blob_endpoint, "not-base64!"))
    assert "not-base64" not in str(info.value)


def test_lean_properties_match_the_sdk(azure_store: AzureBlobStore) -> None:
    """Get Blob Properties on the lean pipeline (a HEAD read from its headers) gives the
    entry the storage SDK's ``get_blob_properties`` gives, metadata and all."""
    writer = Writer("host-é", "0123456789abcdef0123456789abcdef")
    data = b"properties" * 100
    azure_store.upload(
        "p/a b.txt",
        io.BytesIO(data),
        len(data),
        hashlib.md5(data).digest(),
        MTIME,
        None,
        writer=writer,
    )
    lean = azure_store.get_entry("p/a b.txt")
    assert lean is not None
    assert lean == azure_store._get_entry_sdk("p/a b.txt")
    assert (lean.size, lean.md5, lean.mtime_ns, lean.writer) == (
        len(data),
        hashlib.md5(data).digest(),
        MTIME,
        writer,
    )
    assert lean == next(e for e in azure_store.list_blobs() if e.rel_path == "p/a b.txt")
    assert azure_store.get_entry("p/missing") is None
    assert azure_store._get_entry_sdk("p/missing") is None
