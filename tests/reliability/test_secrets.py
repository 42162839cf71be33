"""Secrets never leak: the real command runs with DEBUG logging (``BLOBSYNC_DEBUG=1`` and
``-v``) through successes, conflicts, retries (503 storms, lost responses and resets
injected by the proxy), authentication failures (wrong key, expired and read-only
SAS), a crash at a named point, and ``blobsync issues``; then every byte of every file
the app wrote — XDG config, data (state DBs with their WAL), cache, state (logs), and
the synced folder — and everything it printed is scanned for the account key and the
SAS signatures, raw, percent-encoded and base64-decoded: zero hits.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from azure.storage.blob import (
    AccountSasPermissions,
    BlobServiceClient,
    ResourceTypes,
    generate_account_sas,
)

from .faults import LOST, RESET, FaultProxy, Status, is_put_blob
from .harness import count

pytestmark = [pytest.mark.azurite, pytest.mark.slow]


def make_sas(key: str, *, write: bool, hours: float) -> str:
    token: str = generate_account_sas(
        "devstoreaccount1",
        key,
        resource_types=ResourceTypes(service=True, container=True, object=True),
        permission=AccountSasPermissions(
            read=True, list=True, write=write, create=write, delete=write, add=write
        ),
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours),
        start=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
    )
    return token


def needles(secret: str) -> set[bytes]:
    """The forms a secret could take in a file or on a terminal."""
    forms = {secret, quote(secret, safe=""), quote(secret), unquote(secret)}
    out = {f.encode() for f in forms if len(f) >= 16}
    try:
        raw = base64.b64decode(unquote(secret), validate=True)
        if len(raw) >= 16:
            out.add(raw)
    except ValueError:
        pass
    return out


def test_debug_runs_leave_no_secret_anywhere(azurite: Any, tmp_path: Path) -> None:
    key = azurite.credentials.secret
    container = "sec" + uuid.uuid4().hex[:12]
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    (folder / "conflict.txt").write_text("ours")
    proxy = FaultProxy(azurite.port)
    good_sas = make_sas(key, write=True, hours=1)
    expired_sas = make_sas(key, write=True, hours=-1)
    read_only_sas = make_sas(key, write=False, hours=1)
    endpoint = proxy.endpoint
    key_conn = f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};BlobEndpoint={endpoint};"
    wrong_key = base64.b64encode(os.urandom(64)).decode()
    outputs: list[str] = []

    def run(conn: str, *args: str, crash: str | None = None) -> int:
        env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=conn, BLOBSYNC_DEBUG="1")
        env.pop("BLOBSYNC_CRASH_AT", None)
        if crash:
            env["BLOBSYNC_CRASH_AT"] = crash
        proc = subprocess.run(
            [sys.executable, "-m", "blobsync.core.cli", *args, "-v"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        outputs.append(proc.stdout + proc.stderr)
        return proc.returncode

    sync = ("sync", str(folder), container)
    try:
        assert run(key_conn, *sync) == 0
        sdk = BlobServiceClient.from_connection_string(azurite.connection_string)
        sdk.get_container_client(container).upload_blob("conflict.txt", b"theirs", overwrite=True)
        sdk.close()
        (folder / "conflict.txt").write_text("ours, changed")
        (folder / "b.txt").write_text("b")
        # retries and lost answers, logged at DEBUG with their URLs and headers
        proxy.add(lambda r: True, Status(503, "ServerBusy"), times=2)
        proxy.add(is_put_blob, LOST, times=1)
        proxy.add(lambda r: r.method == "GET", RESET, times=1)
        assert run(key_conn, *sync, "--json") == 1  # the conflict
        (folder / "c.txt").write_text("c")
        assert run(key_conn, *sync, crash="after_upload_before_record") == 137
        assert run(f"BlobEndpoint={endpoint};SharedAccessSignature={good_sas}", *sync) in (0, 1)
        (folder / "d.txt").write_text("d")
        assert run(f"BlobEndpoint={endpoint};SharedAccessSignature={read_only_sas}", *sync) == 3
        assert run(f"BlobEndpoint={endpoint};SharedAccessSignature={expired_sas}", *sync) == 3
        bad = key_conn.replace(key, wrong_key)
        assert run(bad, *sync, "--json") == 3
        assert run(key_conn, "issues", str(folder), container) in (0, 1)
    finally:
        proxy.close()
    count("faults_injected", proxy.faults_injected())

    secrets = {key, wrong_key, key_conn}
    for token in (good_sas, expired_sas, read_only_sas):
        secrets.add(token)
        secrets.add(dict(part.split("=", 1) for part in token.split("&"))["sig"])
    patterns: set[bytes] = set()
    for secret in secrets:
        patterns |= needles(secret)

    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    logs = [p for p in written if p.name.startswith("blobsync.log")]
    dbs = [p for p in written if ".sqlite" in p.name or p.suffix in (".db", ".sqlite3")]
    assert logs and dbs, [str(p) for p in written]
    log_text = b"".join(p.read_bytes() for p in logs)
    assert b"DEBUG" in log_text and b"Request URL" in log_text  # it really logged requests
    hits = [
        str(path.relative_to(tmp_path))
        for path in written
        for pattern in patterns
        if pattern in path.read_bytes()
    ]
    hits += [
        f"output #{i}" for i, text in enumerate(outputs) for p in patterns if p in text.encode()
    ]
    count("secret_scans", len(written) + len(outputs))
    assert not hits, f"secrets found in: {sorted(set(hits))}"
