"""Open a run: find the credentials, open the store and the engine for one pair.

Shared by the CLI and the GUI so both resolve accounts the same way:
``--account NAME`` (settings + OS keyring) wins, else the environment variable
``AZURE_STORAGE_CONNECTION_STRING``, else a :class:`ConfigError` that says what to do.
The snapshot database is per (folder, account URL, container), so the same folder
synced to two containers, or the same container name in two accounts, never share one.
Every secret that passes through here is registered with :mod:`.logs` for redaction.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from ..credentials import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    Credentials,
    SecretKind,
    parse_connection_string,
)
from ..engine import SyncEngine
from ..errors import ConfigError
from ..events import EventSink, ignore_event
from ..remote.base import RemoteStore
from ..remote.offline import OfflineStore
from . import logs
from .secrets import delete_secret, load_secret, store_secret
from .settings import AccountConfig, load_config, save_config, state_db_path

ENV_CONNECTION_STRING = "AZURE_STORAGE_CONNECTION_STRING"
_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def label_problem(label: str) -> str | None:
    """Why ``label`` cannot name an account, or None."""
    if not _LABEL_RE.match(label):
        return (
            "An account name must be 1 to 64 letters, digits, dots, hyphens or underscores, "
            "starting with a letter or digit."
        )
    return None


def _is_local_emulator(account: AccountConfig) -> bool:
    host = urlsplit(account.account_url).hostname or ""
    return account.account_name == AZURITE_ACCOUNT and host in ("127.0.0.1", "localhost", "::1")


def account_credentials(account: AccountConfig) -> Credentials:
    """Credentials of a configured account (secret from the keyring). Raises ConfigError.

    The GUI's local-emulator account may have no stored secret (its key is Azurite's
    public development key), so that one falls back to the well-known key.
    """
    try:
        secret = load_secret(account.name)
    except ConfigError:
        if not (_is_local_emulator(account) and account.kind is SecretKind.ACCOUNT_KEY):
            raise
        secret = AZURITE_KEY
    logs.register_secret(secret)
    if account.kind is SecretKind.CONNECTION_STRING:
        return parse_connection_string(secret)
    return Credentials(account.account_url, account.account_name, account.kind, secret)


def resolve_credentials(
    account: str | None, environ: Mapping[str, str] | None = None
) -> Credentials:
    """The credentials for a run: ``--account`` first, then the environment.

    Raises ConfigError when neither gives any (the message says what to do).
    """
    env = os.environ if environ is None else environ
    if account:
        config = load_config()
        if account not in config.accounts:
            raise ConfigError(f"No account named {account}; see 'blobsync account list'.")
        return account_credentials(config.accounts[account])
    conn_str = env.get(ENV_CONNECTION_STRING, "").strip()
    if conn_str:
        logs.register_secret(conn_str)
        return parse_connection_string(conn_str)
    raise ConfigError(
        f"No credentials: set {ENV_CONNECTION_STRING} or pass --account NAME "
        "(see 'blobsync account add')."
    )


def resolve_account_url(account: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The account URL a run would use, without touching the keyring (for offline
    commands such as ``blobsync issues``). Raises ConfigError."""
    if account:
        config = load_config()
        if account not in config.accounts:
            raise ConfigError(f"No account named {account}; see 'blobsync account list'.")
        return config.accounts[account].account_url
    return resolve_credentials(None, environ).account_url


def pair_state_path(local_root: str | Path, account_url: str, container: str) -> Path:
    """The snapshot database of (folder, account, container)."""
    return state_db_path(local_root, account_url, container)


def open_store(creds: Credentials, container: str) -> RemoteStore:
    """The Azure store for ``container`` (imported lazily: only that module uses the SDK)."""
    from ..remote import azure

    return azure.open_store(creds, container)


def open_engine(
    local_root: str | Path,
    creds: Credentials,
    container: str,
    events: EventSink = ignore_event,
    store: RemoteStore | None = None,
) -> SyncEngine:
    """The engine for one pair; ``store`` defaults to Azure via :func:`open_store`."""
    if store is None:
        store = open_store(creds, container)
    return SyncEngine(
        Path(local_root), store, pair_state_path(local_root, creds.account_url, container), events
    )


def open_offline_engine(local_root: str | Path, account_url: str, container: str) -> SyncEngine:
    """An engine that can only read its state DB (pending issues); any network use fails."""
    return SyncEngine(
        Path(local_root),
        OfflineStore(container),
        pair_state_path(local_root, account_url, container),
    )


def add_account(label: str, creds: Credentials, *, allow_plaintext: bool = False) -> AccountConfig:
    """Save an account: the secret to the keyring (or the opted-in plaintext file), the
    rest to settings.json. Replaces an account of the same name. Raises ConfigError."""
    problem = label_problem(label)
    if problem:
        raise ConfigError(problem)
    logs.register_secret(creds.secret)
    plaintext = store_secret(label, creds.secret, allow_plaintext=allow_plaintext)
    account = AccountConfig(
        name=label,
        account_url=creds.account_url,
        account_name=creds.account_name,
        kind=creds.kind,
        plaintext_secret_file=plaintext,
    )
    config = load_config()
    config.accounts[label] = account
    save_config(config)
    return account


def remove_account(label: str) -> list[str]:
    """Forget an account and its secret; returns the folders of pairs that still use it.
    Raises ConfigError when there is no such account."""
    config = load_config()
    if label not in config.accounts:
        raise ConfigError(f"No account named {label}; see 'blobsync account list'.")
    delete_secret(label)
    del config.accounts[label]
    save_config(config)
    return [pair.local_root for pair in config.pairs if pair.account == label]
