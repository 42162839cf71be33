"""Microsoft Entra ID accounts, once for both clients: sign in, save the sign-in, restore it.

An Entra ID account keeps no secret. ``settings.json`` holds its *sign-in record*
(azure-identity's AuthenticationRecord: user name, tenant, client id, authority; no
token) and the tenant/client hints; the tokens live in azure-identity's own cache,
encrypted where the system allows it (``remote/azure/identity.py`` decides and reports
the choice, :func:`cache_words` says it). Three ways in:

- :func:`sign_in`: interactive, in the browser, or with a device code when no browser
  can open (the CLI in a terminal always uses the code: it prints it). Blocking: the
  app runs it off the GUI thread.
- :func:`restore`: a saved account after a restart, silently from the token cache.
  It never prompts; when the cache cannot renew the token, the first request raises
  SignInExpired (SIGN_IN_REQUIRED) and the clients ask to sign in again.
- :func:`default_credentials`: ``DefaultAzureCredential`` (environment variables,
  managed identity, Azure CLI login) for servers and scripts; an account saved without
  a record uses it.

The Azure SDK is imported only when one of these runs (start-up stays fast).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..credentials import Credentials, from_entra
from .settings import AccountConfig

if TYPE_CHECKING:
    from ..remote.azure import DeviceCodePrompt, SignIn, TokenCacheChoice


def sign_in(
    account_url: str,
    *,
    on_device_code: Callable[[DeviceCodePrompt], None],
    tenant_id: str = "",
    client_id: str = "",
    allow_plaintext_cache: bool = False,
    browser: bool | None = None,
) -> tuple[Credentials, SignIn]:
    """Sign in with Microsoft for the account at ``account_url`` (https): in the browser,
    or with a device code shown through ``on_device_code`` (``browser`` None decides,
    False forces the code). Blocks until the user finished (at most 5 minutes).

    Returns the credentials (with the live token credential and the record to save)
    and the sign-in itself (user name, how, where the tokens are kept). Raises
    ConfigError (not an https account URL), AuthError (SIGN_IN_REQUIRED: the sign-in
    failed, was cancelled or timed out).
    """
    # Validate the URL before anything opens a browser or asks for a code.
    from_entra(account_url, tenant_id=tenant_id, client_id=client_id)
    from ..remote import azure

    done = azure.sign_in(
        on_device_code=on_device_code,
        tenant_id=tenant_id,
        client_id=client_id,
        allow_plaintext_cache=allow_plaintext_cache,
        browser=browser,
    )
    creds = from_entra(
        account_url,
        done.credential,
        tenant_id=done.tenant_id or tenant_id,
        client_id=client_id,
        sign_in_record=done.record,
    )
    return creds, done


def default_credentials(account_url: str, *, client_id: str = "") -> Credentials:
    """Credentials from ``DefaultAzureCredential`` (no prompt; a failure shows at the
    first request as SignInExpired). ``client_id`` picks a user-assigned managed
    identity. Raises ConfigError (not an https account URL)."""
    from_entra(account_url)  # refuse a non-https URL before importing the SDK
    from ..remote import azure

    credential = azure.cli_credential(client_id=client_id)
    return from_entra(account_url, credential, client_id=client_id)


def restore(account: AccountConfig) -> Credentials:
    """The credentials of a saved Entra ID account: its sign-in restored silently from
    the token cache, or DefaultAzureCredential when it was saved without one. Never
    prompts. Raises ConfigError (a bad URL), AuthError (an unreadable record)."""
    if not account.sign_in_record:
        return default_credentials(account.account_url, client_id=account.client_id)
    from_entra(account.account_url)
    from ..remote import azure

    restored = azure.restore_sign_in(
        account.sign_in_record, allow_plaintext_cache=account.plaintext_secret_file
    )
    return from_entra(
        account.account_url,
        restored.credential,
        tenant_id=account.tenant_id or restored.tenant_id,
        client_id=account.client_id,
        sign_in_record=account.sign_in_record,
    )


def saved(account: AccountConfig) -> Credentials:
    """A saved Entra ID account's credentials without a token credential yet (the
    caller adds the live one). Raises ConfigError (not an https account URL)."""
    return from_entra(
        account.account_url,
        tenant_id=account.tenant_id,
        client_id=account.client_id,
        sign_in_record=account.sign_in_record,
    )


def signed_in_user(record: str) -> str:
    """The user name a saved sign-in record names ("" when it names none or is unreadable)."""
    try:
        value = json.loads(record).get("username", "") if record else ""
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def cache_words(choice: TokenCacheChoice) -> str:
    """Where a sign-in's tokens are kept, in one sentence for either client."""
    from ..remote.azure import TokenCacheMode

    if choice.mode is TokenCacheMode.ENCRYPTED:
        return "Sign-in tokens are kept encrypted by the operating system."
    reason = f" {choice.problem}" if choice.problem else ""
    if choice.mode is TokenCacheMode.PLAINTEXT:
        return f"INSECURE: sign-in tokens are kept in a plain text file.{reason}"
    return (
        "Sign-in tokens are kept in memory only: you will sign in again after BlobSync "
        f"exits.{reason}"
    )
