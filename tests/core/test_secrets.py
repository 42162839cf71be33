"""Secrets go to the OS keyring; plaintext only on explicit opt-in (mode 0600, badged).

Uses a tiny in-memory keyring backend and keyring's own ``fail``/``null`` backends;
the real Secret Service is covered by ``tests/test_secret_service.py``.
"""

from __future__ import annotations

import json
import stat
import threading
import time
from collections.abc import Iterator

import keyring
import keyring.backends.fail
import keyring.backends.null
import pytest
from keyring.errors import KeyringLocked
from memkeyring import MemoryKeyring, installed

from blobsync.core.app import secrets
from blobsync.core.app.accounts import add_account, remove_account, resolve_credentials
from blobsync.core.app.settings import SettingsStore, config_dir, load_config
from blobsync.core.credentials import from_key
from blobsync.core.errors import ConfigError

KEY = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ=="


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("Failed to unlock the collection!")

    set_password = delete_password = get_password  # type: ignore[assignment]


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    with installed(MemoryKeyring()) as backend:
        yield backend  # type: ignore[misc]


@pytest.fixture
def fail_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


def test_round_trip_goes_to_the_keyring(memory_keyring: MemoryKeyring) -> None:
    assert secrets.store_secret("work", KEY) is False
    assert memory_keyring.items[("blobsync", "work")] == KEY
    assert secrets.load_secret("work") == KEY
    assert not secrets.plaintext_file().exists()
    secrets.delete_secret("work")
    assert ("blobsync", "work") not in memory_keyring.items
    secrets.delete_secret("work")  # deleting twice is fine


def test_missing_secret_says_what_to_do(memory_keyring: MemoryKeyring) -> None:
    with pytest.raises(ConfigError) as info:
        secrets.load_secret("nobody")
    assert info.value.message == (
        "No secret stored for account nobody; run 'blobsync account add nobody' again."
    )


def test_status_usable_with_a_working_backend(memory_keyring: MemoryKeyring) -> None:
    usable, name, reason = secrets.keyring_status()
    assert usable is True
    assert name.endswith("MemoryKeyring")
    assert reason == ""


def test_status_with_the_fail_backend_says_so(fail_keyring: None) -> None:
    usable, name, reason = secrets.keyring_status()
    assert usable is False
    assert name == "fail.Keyring"
    assert "No OS keyring is available" in reason


def test_status_with_the_null_backend_says_disabled() -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.null.Keyring())
    try:
        usable, name, reason = secrets.keyring_status()
    finally:
        keyring.set_keyring(previous)
    assert (usable, name) == (False, "null.Keyring")
    assert "disabled" in reason


def test_status_with_a_locked_keyring_says_locked() -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(LockedKeyring())
    try:
        usable, _, reason = secrets.keyring_status()
        with pytest.raises(ConfigError, match="locked"):
            secrets.load_secret("work")
    finally:
        keyring.set_keyring(previous)
    assert usable is False
    assert "locked" in reason


def test_no_plaintext_without_opt_in(fail_keyring: None) -> None:
    with pytest.raises(secrets.NoUsableKeyring) as info:
        secrets.store_secret("work", KEY)
    assert "not saved" in info.value.message and "--" not in info.value.message  # no CLI words
    assert KEY not in info.value.message
    assert not secrets.plaintext_file().exists()
    written = [p for p in config_dir().rglob("*") if p.is_file()]
    assert not any(KEY in p.read_text(errors="replace") for p in written)


def test_plaintext_opt_in_is_0600_and_the_account_is_badged(fail_keyring: None) -> None:
    creds = from_key("https://acct.blob.core.windows.net", KEY)
    account = add_account(SettingsStore.load(), "work", creds, allow_plaintext=True)
    assert account.plaintext_secret_file is True
    path = secrets.plaintext_file()
    assert path.name == "INSECURE-secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"work": KEY}
    saved = load_config().accounts["work"]
    assert saved.plaintext_secret_file is True
    # settings.json itself holds no secret
    assert KEY not in (config_dir() / "settings.json").read_text()
    assert resolve_credentials(load_config(), "work").secret == KEY
    remove_account(SettingsStore.load(), "work")
    assert not path.exists()  # last plaintext secret gone: file gone


def test_keyring_account_is_not_badged_and_settings_hold_no_secret(
    memory_keyring: MemoryKeyring,
) -> None:
    creds = from_key("https://acct.blob.core.windows.net", KEY)
    account = add_account(
        SettingsStore.load(), "work", creds, allow_plaintext=True
    )  # opt-in unused: keyring works
    assert account.plaintext_secret_file is False
    assert not secrets.plaintext_file().exists()
    assert KEY not in (config_dir() / "settings.json").read_text()
    got = resolve_credentials(load_config(), "work")
    assert (got.secret, got.account_name, got.account_url) == (
        KEY,
        "acct",
        "https://acct.blob.core.windows.net",
    )
    remove_account(SettingsStore.load(), "work")
    assert memory_keyring.items == {}
    with pytest.raises(ConfigError, match="No account named work"):
        resolve_credentials(load_config(), "work")


def test_bad_account_label_is_refused(memory_keyring: MemoryKeyring) -> None:
    creds = from_key("https://acct.blob.core.windows.net", KEY)
    with pytest.raises(ConfigError, match="account name"):
        add_account(SettingsStore.load(), "../evil", creds)
    assert memory_keyring.items == {}


def test_local_emulator_account_works_without_a_stored_secret(fail_keyring: None) -> None:
    from blobsync.core.app.accounts import account_credentials
    from blobsync.core.app.settings import AccountConfig, AppConfig, save_config
    from blobsync.core.credentials import AZURITE_KEY, SecretKind

    demo = AccountConfig(
        "Local emulator (Azurite)",
        "http://127.0.0.1:10000/devstoreaccount1",
        "devstoreaccount1",
        SecretKind.ACCOUNT_KEY,
    )
    remote = AccountConfig(
        "remote", "https://devstoreaccount1.example.com", "devstoreaccount1", SecretKind.ACCOUNT_KEY
    )
    save_config(AppConfig(accounts={demo.name: demo, remote.name: remote}))
    assert resolve_credentials(load_config(), demo.name).secret == AZURITE_KEY
    with pytest.raises(ConfigError, match=r"No OS keyring|No secret stored"):
        account_credentials(remote)  # only the loopback emulator gets the public key


class HangingKeyring(MemoryKeyring):
    """Blocks like a Secret Service waiting for an invisible unlock prompt."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def get_password(self, service: str, username: str) -> str | None:
        self.release.wait(30)
        return None


def test_a_hanging_keyring_is_reported_not_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "_PROBE_TIMEOUT_S", 0.2)
    monkeypatch.setattr(secrets, "_CALL_TIMEOUT_S", 0.2)
    previous = keyring.get_keyring()
    backend = HangingKeyring()
    keyring.set_keyring(backend)
    try:
        started = time.monotonic()
        usable, _, reason = secrets.keyring_status()
        assert usable is False and "did not answer" in reason
        with pytest.raises(ConfigError, match="did not answer in time"):
            secrets.load_secret("work")
        assert time.monotonic() - started < 5
    finally:
        backend.release.set()
        keyring.set_keyring(previous)
