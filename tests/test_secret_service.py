"""Secrets through the REAL Secret Service (gnome-keyring), end to end with the CLI.

Runs only when ``BLOBSYNC_SECRET_SERVICE=1``: the test command starts pytest inside
``dbus-run-session`` with gnome-keyring unlocked and DISPLAY unset, e.g.::

    env -u DISPLAY dbus-run-session -- sh -c 'echo -n pw | gnome-keyring-daemon \
        --unlock --components=secrets >/dev/null && BLOBSYNC_SECRET_SERVICE=1 \
        .venv/bin/pytest tests/test_secret_service.py -q'

It proves the backend really is SecretService, stores an account key with
``blobsync account add`` (secret on stdin), reads it back, syncs against Azurite with
``--account`` at DEBUG, and then finds the key in no file under the test's XDG
config/data/cache/state dirs and in none of the CLI's output.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from blobsync.core.app.emulator import Azurite
from blobsync.core.app.settings import load_config
from blobsync.core.remote.azure import open_store

pytestmark = [
    pytest.mark.secret_service,
    pytest.mark.skipif(
        os.environ.get("BLOBSYNC_SECRET_SERVICE") != "1",
        reason="needs a real Secret Service: run under dbus-run-session with gnome-keyring "
        "unlocked and BLOBSYNC_SECRET_SERVICE=1",
    ),
]


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("AZURE_STORAGE_CONNECTION_STRING", "DISPLAY")
    }
    proc = subprocess.run(
        [sys.executable, "-m", "blobsync.core.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_backend_is_secret_service_and_status_says_usable() -> None:
    import keyring
    import keyring.backends.SecretService

    from blobsync.core.app.secrets import keyring_status

    assert isinstance(keyring.get_keyring(), keyring.backends.SecretService.Keyring)
    assert keyring_status() == (True, "SecretService.Keyring", "")


def test_account_key_lives_only_in_the_keyring(
    azurite: Azurite, container_name: str, tmp_path: Path
) -> None:
    import keyring

    # A connection string is a secret even for the emulator (its bare published key is
    # not, and is never stored): it must live in the Secret Service and nowhere else.
    key = azurite.connection_string
    label = "ss-" + uuid.uuid4().hex[:8]
    added = cli("account", "add", label, "--connection-string", "--secret-stdin", stdin=key + "\n")
    outputs = [added.stdout, added.stderr]
    try:
        assert added.returncode == 0, added.stderr
        assert "OS keyring (SecretService.Keyring)" in added.stdout
        assert keyring.get_password("blobsync", label) == key
        assert load_config().accounts[label].plaintext_secret_file is False

        folder = tmp_path / "folder"
        folder.mkdir()
        (folder / "note.txt").write_text("kept in sync")
        synced = cli("sync", str(folder), container_name, "--account", label, "-v")
        outputs += [synced.stdout, synced.stderr]
        assert synced.returncode == 0, synced.stderr
        store = open_store(azurite.credentials, container_name)
        try:
            # the file, and the change beacon the upload rewrote for other machines
            assert [e.rel_path for e in store.list_blobs()] == [".blobsync/beacon", "note.txt"]
        finally:
            store.close()
        tested = cli("account", "test", label, "-v")
        outputs += [tested.stdout, tested.stderr]
        assert tested.returncode == 0, tested.stderr

        bare = azurite.credentials.secret
        forms = [key.encode(), quote(key, safe="").encode(), bare.encode()]
        scanned = 0
        for sub in ("xdg-config", "xdg-data", "xdg-cache", "xdg-state"):
            for path in (tmp_path / sub).rglob("*"):
                if path.is_file():
                    scanned += 1
                    data = path.read_bytes()
                    assert not any(form in data for form in forms), path
        assert scanned >= 3  # settings.json, the state DB, the log file at least
        assert (tmp_path / "xdg-state" / "blobsync" / "log" / "blobsync.log").stat().st_size > 0
        for text in outputs:
            assert key not in text and bare not in text
    finally:
        removed = cli("account", "remove", label)
        assert removed.returncode == 0, removed.stderr
    assert keyring.get_password("blobsync", label) is None
