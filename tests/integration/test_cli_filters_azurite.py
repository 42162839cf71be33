"""The real ``blobsync`` command (subprocess) against Azurite with container paths and
filter flags: ``sync FOLDER container/path --exclude ...``, two folders on sibling paths
of one container, the dry run's counts per rule, and ``watch`` on a path with excludes
(an excluded file starts no upload, an included one does)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from blobsync.core.app.emulator import Azurite

pytestmark = pytest.mark.azurite


def blobsync(azurite: Azurite, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
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


def names(sdk: BlobServiceClient, container: str) -> list[str]:
    """The container's names without BlobSync's own space (a pair's bin under its path)."""
    listed = (b.name for b in sdk.get_container_client(container).list_blobs())
    return sorted(n for n in listed if "/.blobsync/" not in f"/{n}")


def make(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_sync_on_sibling_paths_with_excludes(
    azurite: Azurite, container_name: str, tmp_path: Path
) -> None:
    sdk = BlobServiceClient.from_connection_string(azurite.connection_string)
    sdk.create_container(container_name)
    sdk.get_blob_client(container_name, "elsewhere/keep.txt").upload_blob(b"not ours")
    x = make(
        tmp_path / "x",
        {"a.txt": "a", "debug.log": "l", "build/out.o": "o", ".DS_Store": "junk"},
    )
    excludes = tmp_path / "excludes.txt"
    excludes.write_text("build/\n")
    target = f"{container_name}/projects/x"
    flags = ["--exclude", "*.log", "--exclude-from", str(excludes)]

    dry = blobsync(azurite, "sync", str(x), target, *flags, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "  upload  a.txt" in dry.stdout.splitlines()
    assert (
        "Left out by the filter rules: 3 items (1 by the built-in list, 2 by your patterns)."
        in dry.stdout
    )
    assert names(sdk, container_name) == ["elsewhere/keep.txt"]

    done = blobsync(azurite, "sync", str(x), target, *flags, "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["container_path"] == "projects/x" and data["uploaded"] == 1
    assert data["excluded"]["by_pattern"] == {"*.log": 1, "build/": 1, ".DS_Store": 1}

    # a second folder on the sibling path projects/xy never sees projects/x's blobs
    xy = make(tmp_path / "xy", {"b.txt": "b"})
    assert blobsync(azurite, "sync", str(xy), f"{container_name}/projects/xy").returncode == 0
    assert sorted(p.name for p in xy.iterdir()) == ["b.txt"]
    assert names(sdk, container_name) == [
        "elsewhere/keep.txt",
        "projects/x/a.txt",
        "projects/xy/b.txt",
    ]
    # deleting in one pair touches only its own path
    (x / "a.txt").unlink()
    assert blobsync(azurite, "sync", str(x), target, *flags).returncode == 0
    assert names(sdk, container_name) == ["elsewhere/keep.txt", "projects/xy/b.txt"]
    assert (x / "debug.log").exists() and (x / "build" / "out.o").exists()
    sdk.close()


def test_watch_on_a_path_uploads_what_is_included_only(
    azurite: Azurite, container_name: str, tmp_path: Path
) -> None:
    sdk = BlobServiceClient.from_connection_string(azurite.connection_string)
    root = make(tmp_path / "w", {"first.txt": "1"})
    env = {**os.environ, "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    proc = subprocess.Popen(
        [sys.executable, "-m", "blobsync.core.cli", "watch", str(root),
         f"{container_name}/team/w", "--exclude", "*.log", "--interval", "3600",
         "--debounce", "0.3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:

        def blobs() -> list[str]:
            container = sdk.get_container_client(container_name)
            if not container.exists():
                return []
            # BlobSync's own space (the change beacon, the bin) is not a synced file
            return sorted(
                b.name for b in container.list_blobs() if "/.blobsync/" not in f"/{b.name}"
            )

        def wait_for(wanted: str) -> None:
            deadline = time.monotonic() + 60
            while wanted not in blobs():
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, f"{wanted} never uploaded: {blobs()}"
                time.sleep(0.1)

        wait_for("team/w/first.txt")
        (root / "noise.log").write_text("excluded")
        (root / "second.txt").write_text("2")
        wait_for("team/w/second.txt")
        assert blobs() == ["team/w/first.txt", "team/w/second.txt"]
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"<-> {container_name}/team/w" in out
    sdk.close()
