"""Storage accounts, once for both clients: turn what the user typed into credentials,
save and forget accounts, and resolve a saved account back into credentials.

One rule for the local emulator (:func:`~blobsync.core.app.pairs.is_local_emulator`:
Azurite's ``devstoreaccount1`` on a loopback host): when no secret was stored for it,
its key is Azurite's published development key, and the keyring is not consulted.
One parser for secrets (:func:`credentials_from_secret`): a connection string, an
account key with its URL, or a SAS given as a whole URL or as a token with the URL, in
the CLI and in the app alike. Every secret that passes through here is registered with
:mod:`.logs` for redaction.

Microsoft Entra ID accounts (:attr:`SecretKind.ENTRA`) store nothing in the keyring:
their saved sign-in goes to the settings and is restored by :mod:`.entra`. A SAS's
validity window is saved with the account (:mod:`.expiry`), so both clients can warn
before it ends. The permission check of one container is :func:`check_permissions`.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import logging
import os
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from ..credentials import (
    AZURITE_KEY,
    Credentials,
    SecretKind,
    from_key,
    from_sas_url,
    parse_connection_string,
)
from ..errors import BlobSyncError, ConfigError
from . import entra, logs
from .expiry import times_to_save
from .pairs import is_local_emulator
from .secrets import delete_secret, load_secret, store_secret
from .settings import AccountConfig, AppConfig, PairConfig, SettingsStore

if TYPE_CHECKING:
    from ..remote.probe import PermissionReport

log = logging.getLogger(__name__)

ENV_CONNECTION_STRING = "AZURE_STORAGE_CONNECTION_STRING"
#: Without a connection string: sign in to this account URL with DefaultAzureCredential
#: (environment, managed identity, Azure CLI), for servers and scripts.
ENV_ACCOUNT_URL = "AZURE_STORAGE_ACCOUNT_URL"
_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ ()-]{0,63}$")

SecretLoader = Callable[[str], str]


def label_problem(label: str) -> str | None:
    """Why ``label`` cannot name an account, or None."""
    if not _LABEL_RE.match(label) or label != label.strip():
        return (
            "An account name must be 1 to 64 letters, digits, spaces, dots, hyphens, "
            "underscores or parentheses, starting with a letter or digit."
        )
    return None


def account_url_from(text: str) -> str:
    """An account URL from an account name or a URL (``NAME`` ->
    ``https://NAME.blob.core.windows.net``)."""
    text = text.strip()
    return text if "://" in text else f"https://{text}.blob.core.windows.net"


def credentials_from_secret(kind: SecretKind, secret: str, account_url: str = "") -> Credentials:
    """Credentials from a secret of ``kind`` and, where it needs one, the account URL
    (or account name). A SAS may be a whole SAS URL or a token. Raises ConfigError,
    never echoing the secret."""
    secret = secret.strip()
    if not secret:
        raise ConfigError("No secret was given.")
    if kind is SecretKind.CONNECTION_STRING:
        creds = parse_connection_string(secret)
    elif kind is SecretKind.ACCOUNT_KEY:
        if not account_url.strip():
            raise ConfigError("An account key needs the account name or URL.")
        try:
            if not base64.b64decode(secret, validate=True):
                raise ValueError
        except (binascii.Error, ValueError):
            raise ConfigError(
                "The account key is not valid (expected base64 text as shown under "
                "Access keys in the Azure portal)."
            ) from None
        creds = from_key(account_url_from(account_url), secret)
    elif secret.lower().startswith(("http://", "https://")):
        creds = from_sas_url(secret)
    elif account_url.strip():
        creds = from_sas_url(f"{account_url_from(account_url).rstrip('/')}/?{secret.lstrip('?')}")
    else:
        raise ConfigError(
            "A SAS token needs the account URL (--url), or give the whole SAS URL instead."
        )
    logs.register_secret(creds.secret)
    return creds


def uses_published_key(account: AccountConfig) -> bool:
    """True for a local-emulator account saved without a secret of its own."""
    return (
        account.kind is SecretKind.ACCOUNT_KEY
        and not account.has_secret
        and is_local_emulator(account.account_url, account.account_name)
    )


def account_credentials(account: AccountConfig, load: SecretLoader = load_secret) -> Credentials:
    """Credentials of a configured account (its secret from the keyring; an Entra ID
    sign-in restored silently). Raises ConfigError when the secret is missing or
    malformed, AuthError when a saved sign-in is unreadable."""
    if account.kind is SecretKind.ENTRA:
        return entra.restore(account)
    if uses_published_key(account):
        return from_key(account.account_url, AZURITE_KEY)
    try:
        secret = load(account.name)
    except ConfigError:
        if not is_local_emulator(account.account_url, account.account_name):
            raise
        secret = AZURITE_KEY  # an emulator account saved before has_secret existed
    logs.register_secret(secret)
    if account.kind is SecretKind.CONNECTION_STRING:
        return parse_connection_string(secret)
    if account.kind is SecretKind.ACCOUNT_KEY:
        return from_key(account.account_url, secret)
    creds = credentials_from_secret(SecretKind.SAS, secret, account.account_url)
    # The keyring holds the token; the container a container SAS names is in the settings.
    return dataclasses.replace(creds, sas_container=account.sas_container)


def resolve_credentials(
    config: AppConfig,
    account: str | None,
    environ: Mapping[str, str] | None = None,
    load: SecretLoader = load_secret,
) -> Credentials:
    """The credentials for a run: ``--account`` first, then the environment.

    Raises ConfigError when neither gives any (the message says what to do).
    """
    env = os.environ if environ is None else environ
    if account:
        return account_credentials(get_account(config, account), load)
    conn_str = env.get(ENV_CONNECTION_STRING, "").strip()
    if conn_str:
        logs.register_secret(conn_str)
        return parse_connection_string(conn_str)
    account_url = env.get(ENV_ACCOUNT_URL, "").strip()
    if account_url:
        return entra.default_credentials(account_url_from(account_url))
    raise ConfigError(
        f"No credentials: set {ENV_CONNECTION_STRING} (or {ENV_ACCOUNT_URL} to sign in "
        "with Microsoft Entra ID) or pass --account NAME (see 'blobsync account add')."
    )


def get_account(config: AppConfig, label: str) -> AccountConfig:
    """The saved account ``label``. Raises ConfigError."""
    if label not in config.accounts:
        raise ConfigError(f"No account named {label}; see 'blobsync account list'.")
    return config.accounts[label]


def add_account(
    settings: SettingsStore,
    label: str,
    creds: Credentials,
    *,
    allow_plaintext: bool = False,
    replace: bool = False,
) -> AccountConfig:
    """Save an account: the secret to the keyring (or the opted-in plaintext file; the
    local emulator's published key is not stored at all), the rest to settings.json.
    An Entra ID account stores no secret: its sign-in record goes to the settings, and
    ``allow_plaintext`` records that its tokens may be kept in a plain file. A SAS's
    validity window is saved with it. Raises ConfigError (bad label, name taken,
    keyring unusable, unreadable SAS time) or OSError (settings)."""
    problem = label_problem(label)
    if problem:
        raise ConfigError(problem)
    if label in settings.config.accounts and not replace:
        raise ConfigError(f"An account named '{label}' already exists; choose another name.")
    published = (
        creds.kind is SecretKind.ACCOUNT_KEY
        and creds.secret == AZURITE_KEY
        and is_local_emulator(creds.account_url, creds.account_name)
    )
    entra_id = creds.kind is SecretKind.ENTRA
    starts, expires = times_to_save(creds)
    plaintext = entra_id and allow_plaintext
    if not published and not entra_id:
        logs.register_secret(creds.secret)
        plaintext = store_secret(label, creds.secret, allow_plaintext=allow_plaintext)
    account = AccountConfig(
        name=label,
        account_url=creds.account_url,
        account_name=creds.account_name,
        kind=creds.kind,
        plaintext_secret_file=plaintext,
        has_secret=not published and not entra_id,
        sign_in_record=creds.sign_in_record,
        tenant_id=creds.tenant_id,
        client_id=creds.client_id,
        sas_starts=starts,
        sas_expires=expires,
        sas_container=creds.sas_container,
    )
    settings.config.accounts[label] = account
    settings.save()
    return account


def remove_account(settings: SettingsStore, label: str) -> list[PairConfig]:
    """Forget an account and its secret; returns the pairs that still use it.
    Raises ConfigError when there is no such account."""
    account = get_account(settings.config, label)
    if account.has_secret:
        delete_secret(label)
    del settings.config.accounts[label]
    settings.save()
    return [pair for pair in settings.config.pairs if pair.account == label]


def update_account(
    settings: SettingsStore, label: str, creds: Credentials, *, allow_plaintext: bool = False
) -> AccountConfig:
    """Give a saved account new credentials (a new key, SAS or connection string, or
    another URL): the new secret replaces the old one where it was kept. Its pairs then
    use them; they keep their state while the storage account stays the same one.
    Raises ConfigError (no such account, keyring unusable) or OSError (settings)."""
    old = get_account(settings.config, label)
    new = add_account(
        settings,
        label,
        creds,
        allow_plaintext=allow_plaintext or old.plaintext_secret_file,
        replace=True,
    )
    if old.has_secret and not new.has_secret:
        delete_secret(label)  # now the emulator's published key: nothing to keep
    elif old.plaintext_secret_file and not new.plaintext_secret_file:
        # The plaintext file is read first: drop it there, keep the keyring's copy.
        delete_secret(label)
        store_secret(label, creds.secret)
    return new


def rename_account(settings: SettingsStore, label: str, new_label: str) -> AccountConfig:
    """Call an account ``new_label``; its secret and its pairs follow (their state and
    pause too: those are keyed by the storage account, not by the label).
    Raises ConfigError (bad or taken name, no such account), OSError."""
    account = get_account(settings.config, label)
    if new_label == label:
        return account
    problem = label_problem(new_label)
    if problem:
        raise ConfigError(problem)
    if new_label in settings.config.accounts:
        raise ConfigError(f"An account named '{new_label}' already exists; choose another name.")
    plaintext = False
    if account.has_secret:
        secret = load_secret(label)
        plaintext = store_secret(new_label, secret, allow_plaintext=account.plaintext_secret_file)
    # Everything else follows the account: its Entra ID sign-in record, tenant and
    # client, its SAS's validity window and container.
    renamed = dataclasses.replace(account, name=new_label, plaintext_secret_file=plaintext)
    settings.config.accounts = {
        (new_label if name == label else name): (renamed if name == label else acc)
        for name, acc in settings.config.accounts.items()
    }
    for pair in settings.config.pairs:
        if pair.account == label:
            pair.account = new_label
    settings.save()
    if account.has_secret:
        delete_secret(label)
    return renamed


def pairs_using(config: AppConfig, label: str) -> list[PairConfig]:
    """The folder pairs set up with account ``label``."""
    return [pair for pair in config.pairs if pair.account == label]


def shareable_connection_string(account: AccountConfig) -> str | None:
    """A connection string that may be shown and copied: only for the local emulator
    with its published development key (a second machine or the CLI can then reach the
    demo container). Never for an account with a secret of its own."""
    if not uses_published_key(account):
        return None
    from .emulator import demo_connection_string

    return demo_connection_string(account.account_url)


def check_account(creds: Credentials) -> None:
    """Prove the account is reachable and accepts the credentials.
    Raises AuthError or ConnectionFailure."""
    from ..remote.azure import check_connection  # the SDK only when it is needed

    try:
        check_connection(creds)
    except BlobSyncError as exc:
        log.warning(
            "connection test of %s failed: %s: %s", creds.account_url, exc.title, exc.message
        )
        raise
    log.info("connection test of %s: it answered", creds.account_url)


def list_containers(creds: Credentials) -> list[str]:
    """Names of the account's containers. Raises AuthError, ConnectionFailure."""
    from ..remote import azure

    return azure.list_containers(creds)


def create_container(creds: Credentials, name: str) -> bool:
    """Create container ``name``; False if it already existed.
    Raises ConfigError (invalid name), AuthError, ConnectionFailure."""
    from ..remote import azure

    return azure.create_container(creds, name)


def check_permissions(creds: Credentials, container: str) -> PermissionReport:
    """Which of list, read, write and delete ``creds`` may do in ``container``, probed
    with a temporary blob in BlobSync's reserved space (container- and blob-level
    requests only, so a container SAS works). Raises ConfigError (invalid name),
    AuthError (credentials refused outright; SignInExpired), ConnectionFailure."""
    from ..remote import azure

    return azure.check_container(creds, container)
