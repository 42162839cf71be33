"""Bad configuration through the real ``blobsync sync`` command (subprocess): a wrong
key, an expired SAS, a read-only SAS, a nonexistent endpoint, an unknown host, the
network down, and the container deleted mid-sync or between runs. Each time: one clear
sentence on stderr, the right exit code, no traceback, no retry storm (requests are
counted by the proxy, time is boxed), and nothing lost locally or remotely.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import (
    AccountSasPermissions,
    BlobServiceClient,
    ResourceTypes,
    generate_account_sas,
)

from blobsync.core.app.emulator import free_port
from blobsync.core.credentials import AZURITE_KEY
from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.errors import ContainerNotFound, SafetyStop
from blobsync.core.models import SyncMode
from blobsync.core.remote.azure import open_store

from .faults import FaultProxy, HookedStore
from .harness import count, tree

pytestmark = [pytest.mark.azurite]

WRONG_KEY = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3Jvbmc9PQ=="


def conn(endpoint: str, *, key: str | None = AZURITE_KEY, sas: str | None = None) -> str:
    parts = ["DefaultEndpointsProtocol=http", "AccountName=devstoreaccount1"]
    if sas is not None:
        parts.append(f"SharedAccessSignature={sas}")
    elif key is not None:
        parts.append(f"AccountKey={key}")
    parts.append(f"BlobEndpoint={endpoint}")
    return ";".join(parts) + ";"


def blobsync(
    folder: Path, container: str, conn_str: str, timeout: float = 60
) -> tuple[subprocess.CompletedProcess[str], float]:
    env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=conn_str)
    env.pop("BLOBSYNC_CRASH_AT", None)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "blobsync.core.cli", "sync", str(folder), container],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return proc, time.monotonic() - started


def one_sentence(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("blobsync: ") and line.rstrip().endswith("."), line
    count("hostile_inputs")  # a bad configuration tried
    return line


def sas(permission: AccountSasPermissions, expiry: dt.datetime) -> str:
    token: str = generate_account_sas(
        "devstoreaccount1",
        AZURITE_KEY,
        resource_types=ResourceTypes(service=True, container=True, object=True),
        permission=permission,
        expiry=expiry,
        start=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
    )
    return token


@pytest.fixture
def setup(azurite: Any, tmp_path: Path) -> Iterator[tuple[Path, str, Any, FaultProxy]]:
    folder = tmp_path / "sandbox" / "folder"
    folder.mkdir(parents=True)
    (folder / "mine.txt").write_text("local only")
    container = "bad" + uuid.uuid4().hex[:12]
    sdk = BlobServiceClient.from_connection_string(azurite.connection_string)
    cc = sdk.get_container_client(container)
    cc.create_container()
    cc.upload_blob("theirs.txt", b"remote only")
    proxy = FaultProxy(azurite.port)
    yield folder, container, cc, proxy
    proxy.close()
    sdk.close()


def assert_untouched(folder: Path, cc: Any) -> None:
    assert tree(folder) == {"mine.txt": b"local only"}
    assert [b.name for b in cc.list_blobs()] == ["theirs.txt"]


def test_wrong_key(setup: tuple[Path, str, Any, FaultProxy]) -> None:
    folder, container, cc, proxy = setup
    proc, elapsed = blobsync(folder, container, conn(proxy.endpoint, key=WRONG_KEY))
    line = one_sentence(proc)
    assert proc.returncode == 3 and "key is wrong" in line, line
    assert len(proxy.requests) <= 2 and elapsed < 20  # 403 is never retried
    assert WRONG_KEY not in proc.stderr + proc.stdout
    assert_untouched(folder, cc)


def test_expired_sas(setup: tuple[Path, str, Any, FaultProxy]) -> None:
    folder, container, cc, proxy = setup
    token = sas(
        AccountSasPermissions(read=True, write=True, list=True, delete=True, create=True),
        dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
    )
    proc, elapsed = blobsync(folder, container, conn(proxy.endpoint, sas=token))
    line = one_sentence(proc)
    assert proc.returncode == 3 and "SAS" in line, line
    assert len(proxy.requests) <= 2 and elapsed < 20
    signature = token.split("sig=")[1].split("&")[0]
    assert signature not in proc.stderr + proc.stdout
    assert_untouched(folder, cc)


def test_read_only_sas_stops_at_the_first_write(setup: tuple[Path, str, Any, FaultProxy]) -> None:
    folder, container, cc, proxy = setup
    token = sas(
        AccountSasPermissions(read=True, list=True), dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    )
    proc, elapsed = blobsync(folder, container, conn(proxy.endpoint, sas=token))
    line = one_sentence(proc)
    assert proc.returncode == 3 and "permission" in line.lower(), line
    writes = [r for r in proxy.requests if r.is_write]
    assert len(writes) <= 2 and elapsed < 20, writes  # no retry of a refused write
    assert [b.name for b in cc.list_blobs()] == ["theirs.txt"]
    assert (folder / "mine.txt").read_text() == "local only"  # nothing lost locally


def test_nonexistent_endpoint_fails_fast(setup: tuple[Path, str, Any, FaultProxy]) -> None:
    folder, container, cc, _proxy = setup
    proc, elapsed = blobsync(
        folder, container, conn(f"http://127.0.0.1:{free_port()}/devstoreaccount1")
    )
    line = one_sentence(proc)
    assert proc.returncode == 3 and "Could not reach" in line, line
    assert elapsed < 15
    assert_untouched(folder, cc)


def test_unknown_host(setup: tuple[Path, str, Any, FaultProxy]) -> None:
    folder, container, cc, _proxy = setup
    proc, elapsed = blobsync(
        folder, container, conn("http://blobsync-no-such-host.invalid/devstoreaccount1"), timeout=90
    )
    line = one_sentence(proc)
    assert proc.returncode == 3 and "Could not reach" in line, line
    assert elapsed < 60
    assert_untouched(folder, cc)


def test_network_down(setup: tuple[Path, str, Any, FaultProxy]) -> None:
    folder, container, cc, proxy = setup
    endpoint = proxy.endpoint
    proxy.close()  # the route to the service is gone: connections are refused
    proc, elapsed = blobsync(folder, container, conn(endpoint))
    line = one_sentence(proc)
    assert proc.returncode == 3, line
    assert elapsed < 15
    assert_untouched(folder, cc)


def test_container_deleted_mid_sync(azurite: Any, tmp_path: Path) -> None:
    container = "del" + uuid.uuid4().hex[:12]
    folder = tmp_path / "sandbox" / "folder"
    folder.mkdir(parents=True)
    for i in range(4):
        (folder / f"f{i}.txt").write_text(f"v1 {i}")
    sdk = BlobServiceClient.from_connection_string(azurite.connection_string)
    store = HookedStore(open_store(azurite.credentials, container))
    engine = SyncEngine(folder, store, tmp_path / "state.sqlite3")
    try:
        assert engine.sync(SyncOptions(workers=1)).in_sync
        (folder / "f0.txt").write_text("v2 0")
        (folder / "new.txt").write_text("new")
        deleted = []

        def before(op: str, name: str) -> None:
            if op == "upload" and not deleted:
                sdk.delete_container(container)
                deleted.append(name)

        store.before = before
        with pytest.raises(ContainerNotFound) as info:
            engine.sync(SyncOptions(workers=1))
        assert info.value.exit_code == 2 and container in info.value.message
        count("hostile_inputs")
        store.before = None
        # The next run finds no container although files were synced to it: it must not
        # read that as "everything was deleted remotely" and delete the local files.
        with pytest.raises(SafetyStop) as stop:
            engine.sync(SyncOptions(workers=1))
        assert "nothing was deleted" in stop.value.message
        assert tree(folder) == {
            "f0.txt": b"v2 0",
            "f1.txt": b"v1 1",
            "f2.txt": b"v1 2",
            "f3.txt": b"v1 3",
            "new.txt": b"new",
        }
        # The way out the message offers: upload the folder again, then sync as usual.
        again = engine.sync(SyncOptions(workers=1, mode=SyncMode.UPLOAD))
        assert again.container_created and again.uploaded == 5
        assert engine.sync(SyncOptions(workers=1)).writes == 0
        assert len(tree(folder)) == 5
    finally:
        engine.close()
        sdk.close()
