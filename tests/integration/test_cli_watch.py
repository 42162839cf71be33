"""``blobsync watch`` against Azurite: syncs by itself, stops cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient


def temp_files(root: Path) -> list[Path]:
    return [
        p for p in root.rglob("*") if p.name.startswith(".blobsync-") and p.name.endswith(".tmp")
    ]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_watch_syncs_and_stops_cleanly_mid_download(azurite, container_name, tmp_path, sig):
    sdk = BlobServiceClient.from_connection_string(azurite.connection_string)
    sdk.create_container(container_name)
    big = os.urandom(24 * 1024 * 1024)
    sdk.get_blob_client(container_name, "big.bin").upload_blob(big)
    root = tmp_path / "root"
    root.mkdir()
    (root / "local.txt").write_text("up")
    env = {**os.environ, "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "blobsync.core.cli",
            "watch",
            str(root),
            container_name,
            "--interval",
            "60",
            "--bwlimit-down",
            "2048",
        ],  # 24 MiB at 2 MiB/s: ~12 s
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not temp_files(root) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert temp_files(root), "the download never started"
        time.sleep(0.5)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in out + err
    # Nothing half-written under a real name; what arrived stays in the one partial file
    # a resumed download continues (and removes once the file is in place).
    [partial] = temp_files(root)
    assert partial.name.startswith(".blobsync-part-") and partial.stat().st_size > 0
    assert not (root / "big.bin").exists()  # never visible partially under its real name
    assert sdk.get_blob_client(container_name, "local.txt").download_blob().readall() == b"up"
    done = subprocess.run(
        [sys.executable, "-m", "blobsync.core.cli", "sync", str(root), container_name],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (root / "big.bin").read_bytes() == big and temp_files(root) == []
