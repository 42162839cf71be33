"""The real ``blobsync`` command (subprocess) against Azurite: exit codes, output, safety.

Credentials come from ``AZURE_STORAGE_CONNECTION_STRING`` (the ``azurite`` fixture);
the XDG dirs isolated by ``conftest.isolated_dirs`` reach the child through the
environment, so its log file lands in the test's temp dir and is grepped for secrets.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from blobsync.core.app.emulator import Azurite
from blobsync.core.names import is_reserved
from blobsync.core.remote.azure import open_store

pytestmark = pytest.mark.azurite

WRONG_KEY = base64.b64encode(b"definitely-not-the-azurite-key-" * 2).decode()


def blobsync(
    *args: str, conn: str | None, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("AZURE_STORAGE_CONNECTION_STRING", None)
    if conn is not None:
        env["AZURE_STORAGE_CONNECTION_STRING"] = conn
    env.update(env_extra or {})
    proc = subprocess.run(
        [sys.executable, "-m", "blobsync.core.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def blob_names(azurite: Azurite, container: str) -> list[str] | None:
    """Synced blob names (BlobSync's own ``.blobsync/`` space left out), or None if the
    container does not exist."""
    store = open_store(azurite.credentials, container)
    try:
        if not store.container_exists():
            return None
        return sorted(e.rel_path for e in store.list_blobs() if not is_reserved(e.rel_path))
    finally:
        store.close()


def beacon_etag(azurite: Azurite, container: str) -> str | None:
    """The change beacon's ETag (None: there is none)."""
    store = open_store(azurite.credentials, container)
    try:
        return store.read_beacon(None).etag
    finally:
        store.close()


def writes_to(azurite: Azurite, container: str) -> int:
    """PUT/DELETE requests Azurite has logged for this container so far."""
    assert azurite.debug_log is not None
    count = 0
    for line in azurite.debug_log.read_text(errors="replace").splitlines():
        if f"/{container}" in line and (
            "RequestMethod=PUT" in line or "RequestMethod=DELETE" in line
        ):
            count += 1
    return count


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "folder"
    (root / "docs").mkdir(parents=True)
    (root / "hello.txt").write_text("hello")
    (root / "docs" / "report.md").write_text("# report\n" * 100)
    return root


def test_first_sync_creates_container_then_no_change_run_writes_nothing(
    azurite: Azurite, container_name: str, folder: Path
) -> None:
    conn = azurite.connection_string
    first = blobsync("sync", str(folder), container_name, conn=conn)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == f"Created container {container_name}."
    assert "Uploaded 2," in first.stdout and "In sync." in first.stdout
    assert blob_names(azurite, container_name) == ["docs/report.md", "hello.txt"]
    beacon = beacon_etag(azurite, container_name)
    assert beacon is not None  # the run changed the container: it told other machines

    before = writes_to(azurite, container_name)
    assert before >= 4  # create container + two uploads + the beacon: the counter sees writes
    again = blobsync("sync", str(folder), container_name, "--json", conn=conn)
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)
    assert data["container_created"] is False
    assert (
        data["uploaded"] + data["downloaded"] + data["deleted_local"] + data["deleted_remote"] == 0
    )
    assert writes_to(azurite, container_name) == before  # zero writes on the wire
    assert beacon_etag(azurite, container_name) == beacon  # the beacon left alone too


def test_json_fields_and_types(azurite: Azurite, container_name: str, folder: Path) -> None:
    proc = blobsync("sync", str(folder), container_name, "--json", conn=azurite.connection_string)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # nothing but one JSON object on stdout
    for key in (
        "uploaded",
        "downloaded",
        "deleted_local",
        "deleted_remote",
        "conflicts",
        "skipped",
    ):
        assert type(data[key]) is int, key
    assert data["uploaded"] == 2
    assert data["issues"] == []
    assert data["container_created"] is True
    assert data["bytes_uploaded"] == len("hello") + len("# report\n" * 100)
    assert isinstance(data["duration_s"], float)
    assert data["dry_run"] is False


def test_dry_run_changes_nothing(azurite: Azurite, container_name: str, folder: Path) -> None:
    conn = azurite.connection_string
    proc = blobsync("sync", str(folder), container_name, "--dry-run", conn=conn)
    assert proc.returncode == 0, proc.stderr
    assert "upload  hello.txt" in proc.stdout and "upload  docs/report.md" in proc.stdout
    assert blob_names(azurite, container_name) is None  # not even created

    # And the other direction: a remote file is planned for download, not downloaded.
    assert blobsync("sync", str(folder), container_name, conn=conn).returncode == 0
    store = open_store(azurite.credentials, container_name)
    try:
        store.upload("remote-only.txt", io.BytesIO(b"x"), 1, _md5(b"x"), 0, None)
    finally:
        store.close()
    (folder / "hello.txt").unlink()
    listing = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
    proc = blobsync("sync", str(folder), container_name, "--dry-run", "--json", conn=conn)
    planned = {(p["action"], p["path"]) for p in json.loads(proc.stdout)["planned"]}
    assert ("download", "remote-only.txt") in planned
    assert ("delete remote", "hello.txt") in planned
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == listing
    assert blob_names(azurite, container_name) == ["docs/report.md", "hello.txt", "remote-only.txt"]


def _md5(data: bytes) -> bytes:
    import hashlib

    return hashlib.md5(data).digest()


def test_bad_container_name_is_exit_2(azurite: Azurite, folder: Path) -> None:
    proc = blobsync("sync", str(folder), "Not_Valid", conn=azurite.connection_string)
    assert proc.returncode == 2
    assert proc.stderr.startswith("blobsync: Configuration error: 'Not_Valid' is not a valid")
    assert proc.stderr.count("\n") == 1


def test_wrong_key_is_exit_3_without_the_key(
    azurite: Azurite, container_name: str, folder: Path
) -> None:
    conn = azurite.connection_string.replace(azurite.credentials.secret, WRONG_KEY)
    proc = blobsync("sync", str(folder), container_name, "-v", conn=conn)
    assert proc.returncode == 3
    assert proc.stderr.startswith("blobsync: Authentication failed: ")
    assert proc.stderr.count("\n") == 1
    assert WRONG_KEY not in proc.stdout + proc.stderr
    assert blob_names(azurite, container_name) is None


def test_no_credentials_is_exit_2(folder: Path, container_name: str) -> None:
    proc = blobsync("sync", str(folder), container_name, conn=None)
    assert proc.returncode == 2
    assert "No credentials: set AZURE_STORAGE_CONNECTION_STRING" in proc.stderr


def test_missing_folder_is_exit_2(azurite: Azurite, container_name: str, tmp_path: Path) -> None:
    proc = blobsync("sync", str(tmp_path / "nope"), container_name, conn=azurite.connection_string)
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr
    assert not (tmp_path / "nope").exists()
    assert blob_names(azurite, container_name) is None


def test_download_of_missing_container_is_exit_2(
    azurite: Azurite, container_name: str, tmp_path: Path
) -> None:
    target = tmp_path / "dl"
    proc = blobsync(
        "sync", str(target), container_name, "--mode", "download", conn=azurite.connection_string
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("blobsync: Container not found: ")
    assert not target.exists()
    assert blob_names(azurite, container_name) is None


def test_skipped_items_exit_1_and_are_listed_by_issues(
    azurite: Azurite, container_name: str, folder: Path
) -> None:
    conn = azurite.connection_string
    (folder / "shortcut").symlink_to(folder / "hello.txt")
    assert blobsync("sync", str(folder), container_name, conn=conn).returncode == 1
    # A blob whose name no local file system can hold (a 300-byte path segment).
    long_name = "dir/" + "n" * 300
    store = open_store(azurite.credentials, container_name)
    try:
        store.upload(long_name, io.BytesIO(b"data"), 4, _md5(b"data"), 0, None)
    finally:
        store.close()
    proc = blobsync("sync", str(folder), container_name, conn=conn)
    assert proc.returncode == 1
    assert "shortcut: Symbolic link (not followed)" in proc.stdout
    assert long_name in proc.stdout
    assert not (folder / "dir").exists() or not any((folder / "dir").iterdir())

    listed = blobsync("issues", str(folder), container_name, "--json", conn=conn)
    assert listed.returncode == 1
    kinds = {i["path"]: i["kind"] for i in json.loads(listed.stdout)["issues"]}
    assert kinds["shortcut"] == "symlink"
    assert long_name in kinds
    human = blobsync("issues", str(folder), container_name, conn=conn)
    assert human.returncode == 1
    assert "shortcut: Symbolic link (not followed)" in human.stdout


def test_debug_log_holds_no_key_and_no_sas_signature(
    azurite: Azurite, container_name: str, folder: Path, tmp_path: Path
) -> None:
    from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

    key = azurite.credentials.secret
    sas = generate_account_sas(
        "devstoreaccount1",
        key,
        ResourceTypes(service=True, container=True, object=True),
        AccountSasPermissions(read=True, write=True, delete=True, list=True, create=True, add=True),
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    sig = dict(part.split("=", 1) for part in sas.split("&"))["sig"]
    sas_conn = f"BlobEndpoint={azurite.blob_endpoint};SharedAccessSignature={sas}"
    by_key = blobsync("sync", str(folder), container_name, "-v", conn=azurite.connection_string)
    assert by_key.returncode == 0, by_key.stderr
    (folder / "more.txt").write_text("more")
    by_sas = blobsync("sync", str(folder), container_name, "-v", conn=sas_conn)
    assert by_sas.returncode == 0, by_sas.stderr
    assert "more.txt" in (blob_names(azurite, container_name) or [])

    log_file = tmp_path / "xdg-state" / "blobsync" / "log" / "blobsync.log"
    text = log_file.read_text()
    assert "DEBUG" in text and "Request URL" in text  # the SDK really logged requests
    for secret in (key, sig, sas):
        assert secret not in text
        assert secret not in by_key.stdout + by_key.stderr + by_sas.stdout + by_sas.stderr


def test_progress_bar_on_a_terminal_only(
    azurite: Azurite, container_name: str, tmp_path: Path
) -> None:
    import pty

    root = tmp_path / "big"
    root.mkdir()
    for i in range(4):
        (root / f"blob{i}.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string)
    master, slave = pty.openpty()  # a terminal that reports no size: the harder case
    proc = subprocess.Popen(
        [sys.executable, "-m", "blobsync.core.cli", "sync", str(root), container_name],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    stdout = proc.stdout.read().decode() if proc.stdout else ""
    assert proc.wait(60) == 0
    drawn = b"".join(chunks).decode(errors="replace")
    assert " of 4 files" in drawn  # the bar's file counter, in the words the app uses
    assert "B/s" in drawn  # a transfer rate
    assert "Traceback" not in drawn
    assert "Uploaded 4," in stdout  # the summary still goes to stdout


NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def _add_account(
    name: str, endpoint: str, key: str, *extra: str, kind: str = "--key"
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **NO_KEYRING)
    env.pop("AZURE_STORAGE_CONNECTION_STRING", None)
    url = ["--url", endpoint] if kind == "--key" else []
    argv = ["account", "add", name, kind, *url, "--secret-stdin", *extra]
    return subprocess.run(
        [sys.executable, "-m", "blobsync.core.cli", *argv],
        env=env,
        input=key,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_saved_account_without_keyring_needs_opt_in_then_syncs_and_tests(
    azurite: Azurite, container_name: str, folder: Path
) -> None:
    # A connection string is a secret (even the emulator's): it needs the keyring.
    key = azurite.connection_string
    cs = "--connection-string"
    refused = _add_account("local", "", key, kind=cs)
    assert refused.returncode == 2
    assert "No OS keyring is available" in refused.stderr and "--plaintext-secret" in refused.stderr
    added = _add_account("local", "", key, "--plaintext-secret", kind=cs)
    assert added.returncode == 0, added.stderr
    assert "INSECURE plaintext file" in added.stdout
    assert key not in added.stdout + added.stderr
    # The emulator's published account key is no secret: saved without any keyring.
    published = _add_account("emu", azurite.blob_endpoint, azurite.credentials.secret)
    assert published.returncode == 0, published.stderr
    assert "published development key" in published.stdout

    synced = blobsync(
        "sync", str(folder), container_name, "--account", "local", conn=None, env_extra=NO_KEYRING
    )
    assert synced.returncode == 0, synced.stderr
    assert blob_names(azurite, container_name) == ["docs/report.md", "hello.txt"]
    tested = blobsync("account", "test", "local", conn=None, env_extra=NO_KEYRING)
    assert tested.returncode == 0, tested.stderr
    assert "connected" in tested.stdout
    listed = blobsync("account", "list", conn=None, env_extra=NO_KEYRING)
    assert "[INSECURE: secret in a plaintext file]" in listed.stdout

    assert (
        _add_account("wrong", azurite.blob_endpoint, WRONG_KEY, "--plaintext-secret").returncode
        == 0
    )
    bad = blobsync("account", "test", "wrong", conn=None, env_extra=NO_KEYRING)
    assert bad.returncode == 3
    assert bad.stderr.startswith("blobsync: Authentication failed: ")
    assert WRONG_KEY not in bad.stdout + bad.stderr


def test_ctrl_c_cancels_cleanly_with_exit_130(
    azurite: Azurite, container_name: str, tmp_path: Path
) -> None:
    import signal
    import time

    root = tmp_path / "many"
    root.mkdir()
    for i in range(600):
        (root / f"f{i:04}.txt").write_bytes(os.urandom(1024))
    env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string)
    before = writes_to(azurite, container_name)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "blobsync.core.cli",
            "sync",
            str(root),
            container_name,
            "--workers",
            "2",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while writes_to(azurite, container_name) < before + 20 and time.monotonic() < deadline:
        time.sleep(0.05)  # wait until uploads are under way
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    assert "Cancelling" in err
    uploaded = blob_names(azurite, container_name) or []
    assert 0 < len(uploaded) < 600
    # The next run finishes the job.
    again = blobsync("sync", str(root), container_name, conn=azurite.connection_string)
    assert again.returncode == 0, again.stderr
    assert len(blob_names(azurite, container_name) or []) == 600
