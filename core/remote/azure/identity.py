"""Microsoft Entra ID sign-in: token credentials for accounts that allow no keys.

Built on ``azure-identity``; the store accepts any ``azure.core.credentials.TokenCredential``
(:func:`blobsync.core.credentials.from_entra`), so these factories are what the clients
call:

- :func:`sign_in` (the desktop app's *Sign in with Microsoft*): an interactive browser
  sign-in, and device-code sign-in when no browser can open (no display, or the browser
  fails to start). Blocking: run it off the GUI thread; ``on_device_code`` is called
  from that thread with the code to show.
- :func:`restore_sign_in`: after a restart, the same sign-in silently from the token
  cache and the saved :attr:`SignIn.record`. It never prompts: when the cache cannot
  renew the token, requests fail with SignInExpired (SIGN_IN_REQUIRED) and the client
  offers to sign in again.
- :func:`cli_credential`: ``DefaultAzureCredential`` without interactive steps
  (environment, workload/managed identity, Azure CLI, Azure Developer CLI, PowerShell).

**Token cache.** Tokens (including refresh tokens) are kept with azure-identity's
persistent cache (``TokenCachePersistenceOptions``, name ``blobsync``): Windows DPAPI,
the macOS Keychain, libsecret on Linux. On Linux libsecret is reached through PyGObject
(``gi``) and ``gir1.2-secret-1`` with a running Secret Service; without them
azure-identity would raise at the first token request, or, with
``allow_unencrypted_storage=True``, write the tokens in plain text to
``~/.IdentityService/blobsync.nocae``. So :func:`token_cache` checks first and, unless
the caller explicitly allows plain text, falls back to an in-memory cache
(:attr:`TokenCacheMode.MEMORY`: signed in until the app exits). The choice is reported,
so the clients can say it and badge a plain-text cache.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
import sys
import tempfile
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import (
    AuthenticationRecord,
    CredentialUnavailableError,
    DefaultAzureCredential,
    DeviceCodeCredential,
    InteractiveBrowserCredential,
    TokenCachePersistenceOptions,
)

from ...errors import AuthError, AuthReason

#: The scope of Azure Storage data-plane tokens.
STORAGE_SCOPE = "https://storage.azure.com/.default"
#: Our own cache name, so BlobSync's tokens are not shared with Microsoft's dev tools.
TOKEN_CACHE_NAME = "blobsync"
SIGN_IN_TIMEOUT_S = 300


class TokenCacheMode(enum.StrEnum):
    """Where a sign-in's tokens are kept."""

    ENCRYPTED = "encrypted"  # the OS keyring / encrypted storage: survives restarts
    MEMORY = "memory"  # no encrypted storage and plain text not allowed: until exit
    PLAINTEXT = "plaintext"  # explicitly allowed: a plain file (badge it in the UI)


class SignInMethod(enum.StrEnum):
    """How a sign-in was obtained."""

    BROWSER = "browser"
    DEVICE_CODE = "device_code"
    RESTORED = "restored"  # silently, from the cache


@dataclass(frozen=True, slots=True)
class TokenCacheChoice:
    """The cache a sign-in uses, and why it is not encrypted (one sentence) if not."""

    mode: TokenCacheMode
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceCodePrompt:
    """What the user must do for a device-code sign-in (show it; the sign-in waits)."""

    verification_uri: str
    user_code: str
    expires_at: dt.datetime

    @property
    def message(self) -> str:
        return f"To sign in, open {self.verification_uri} and enter the code {self.user_code}."


@dataclass(frozen=True, slots=True)
class SignIn:
    """A finished sign-in. ``record`` (azure-identity's AuthenticationRecord as JSON:
    user name, tenant, account id, client id, authority; no token) is what to save in
    the settings to restore the sign-in later; it is not a secret."""

    credential: TokenCredential
    record: str
    username: str
    tenant_id: str
    method: SignInMethod
    cache: TokenCacheChoice


def encrypted_cache_problem() -> str | None:
    """None if this machine can keep tokens encrypted, else why not (one sentence).

    On Linux this runs msal-extensions' own check (a throw-away secret saved, read and
    removed through libsecret).
    """
    if sys.platform.startswith(("win", "darwin")):
        return None
    if not sys.platform.startswith("linux"):
        return "This system has no encrypted storage for sign-in tokens."
    try:
        import msal_extensions

        with tempfile.TemporaryDirectory(prefix="blobsync-cache-check-") as tmp:
            msal_extensions.LibsecretPersistence(
                os.path.join(tmp, "signal"),
                "blobsync.cache-check",
                {"app": "blobsync"},
                label="BlobSync token cache check",
            )
    except ImportError:
        return (
            "Sign-in tokens cannot be stored encrypted: libsecret's Python bindings are "
            "missing (Debian/Ubuntu: python3-gi and gir1.2-secret-1)."
        )
    except Exception:  # noqa: BLE001 - libsecret raises GLib and RuntimeErrors
        return (
            "Sign-in tokens cannot be stored encrypted: the keyring (Secret Service) is "
            "not available or locked."
        )
    return None


#: Answers "why can tokens not be stored encrypted here?" (None: they can).
CacheCheck = Callable[[], str | None]


def token_cache(
    allow_plaintext: bool = False, *, check: CacheCheck | None = None
) -> tuple[TokenCachePersistenceOptions | None, TokenCacheChoice]:
    """The cache options for a credential, and what was chosen.

    Encrypted when possible; otherwise a plain file only if ``allow_plaintext``, else
    memory only (None). ``check`` defaults to :func:`encrypted_cache_problem`.
    """
    reason = (check or encrypted_cache_problem)()
    if reason is None:
        options = TokenCachePersistenceOptions(name=TOKEN_CACHE_NAME)
        return options, TokenCacheChoice(TokenCacheMode.ENCRYPTED)
    if allow_plaintext:
        options = TokenCachePersistenceOptions(
            name=TOKEN_CACHE_NAME, allow_unencrypted_storage=True
        )
        return options, TokenCacheChoice(TokenCacheMode.PLAINTEXT, reason)
    return None, TokenCacheChoice(TokenCacheMode.MEMORY, reason)


def browser_possible() -> bool:
    """False when no browser can open here (no display on Linux, no browser known)."""
    if (
        sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def sign_in(
    *,
    on_device_code: Callable[[DeviceCodePrompt], None],
    tenant_id: str = "",
    client_id: str = "",
    browser: bool | None = None,
    allow_plaintext_cache: bool = False,
    timeout_s: float = SIGN_IN_TIMEOUT_S,
    authority: str | None = None,
    disable_instance_discovery: bool = False,
    cache_check: CacheCheck | None = None,
) -> SignIn:
    """Sign in interactively: in the browser, or with a device code when no browser
    can open (``browser=None`` decides, False forces the device code).

    ``tenant_id``/``client_id`` are optional hints (defaults: "organizations" and
    azure-identity's public client); ``authority``/``disable_instance_discovery`` are
    for sovereign clouds and tests, ``cache_check`` for tests (see :func:`token_cache`).
    Blocks up to ``timeout_s``. Raises AuthError
    (SIGN_IN_REQUIRED) when the sign-in fails, is cancelled or times out.
    """
    options, cache = token_cache(allow_plaintext_cache, check=cache_check)
    common = _common_kwargs(tenant_id, client_id, options, authority, disable_instance_discovery)
    if browser is None:
        browser = browser_possible()
    if browser:
        credential: InteractiveBrowserCredential | DeviceCodeCredential
        credential = InteractiveBrowserCredential(timeout=timeout_s, **common)
        try:
            record = credential.authenticate(scopes=[STORAGE_SCOPE])
            return _signed_in(credential, record, SignInMethod.BROWSER, cache)
        except CredentialUnavailableError:
            pass  # no browser could open, or no local port for the redirect
        except ClientAuthenticationError as exc:
            raise _sign_in_failed(exc) from None

    def prompt(uri: str, code: str, expires_on: dt.datetime) -> None:
        expires = expires_on if expires_on.tzinfo else expires_on.replace(tzinfo=dt.UTC)
        on_device_code(DeviceCodePrompt(uri, code, expires))

    device = DeviceCodeCredential(prompt_callback=prompt, timeout=int(timeout_s), **common)
    try:
        record = device.authenticate(scopes=[STORAGE_SCOPE])
    except ClientAuthenticationError as exc:
        raise _sign_in_failed(exc) from None
    return _signed_in(device, record, SignInMethod.DEVICE_CODE, cache)


def restore_sign_in(
    record: str,
    *,
    allow_plaintext_cache: bool = False,
    disable_instance_discovery: bool = False,
    cache_check: CacheCheck | None = None,
) -> SignIn:
    """The sign-in saved as ``record``, restored silently from the token cache.

    Never prompts (``disable_automatic_authentication``): if the cache holds no usable
    token, the first request raises SignInExpired (SIGN_IN_REQUIRED). The record keeps
    the tenant, client id and authority of the sign-in. Raises AuthError
    (SIGN_IN_REQUIRED) when ``record`` is not a saved sign-in.
    """
    try:
        saved = AuthenticationRecord.deserialize(record)
    except (ValueError, KeyError, TypeError):
        raise AuthError(
            "The saved Microsoft sign-in is unreadable; sign in again.",
            AuthReason.SIGN_IN_REQUIRED,
        ) from None
    options, cache = token_cache(allow_plaintext_cache, check=cache_check)
    # The record names its tenant, client and authority (azure-identity takes them from it).
    common = _common_kwargs("", "", options, None, disable_instance_discovery)
    credential = InteractiveBrowserCredential(
        authentication_record=saved, disable_automatic_authentication=True, **common
    )
    return SignIn(credential, record, saved.username, saved.tenant_id, SignInMethod.RESTORED, cache)


def cli_credential(*, client_id: str = "") -> TokenCredential:
    """``DefaultAzureCredential`` with no interactive step, for the command line:
    environment (AZURE_CLIENT_ID / AZURE_TENANT_ID / ...), workload identity, managed
    identity (``client_id`` selects a user-assigned one), Azure CLI (``az login``),
    Azure Developer CLI, Azure PowerShell. A failure surfaces at the first request as
    SignInExpired (SIGN_IN_REQUIRED)."""
    kwargs: dict[str, Any] = {"exclude_interactive_browser_credential": True}
    if client_id:
        kwargs["managed_identity_client_id"] = client_id
    return DefaultAzureCredential(**kwargs)


def _common_kwargs(
    tenant_id: str,
    client_id: str,
    options: TokenCachePersistenceOptions | None,
    authority: str | None,
    disable_instance_discovery: bool,
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if tenant_id:
        kwargs["tenant_id"] = tenant_id
    if client_id:
        kwargs["client_id"] = client_id
    if options is not None:
        kwargs["cache_persistence_options"] = options
    if authority:
        kwargs["authority"] = authority
    if disable_instance_discovery:
        kwargs["disable_instance_discovery"] = True
    return kwargs


def _signed_in(
    credential: InteractiveBrowserCredential | DeviceCodeCredential,
    record: AuthenticationRecord,
    method: SignInMethod,
    cache: TokenCacheChoice,
) -> SignIn:
    return SignIn(credential, record.serialize(), record.username, record.tenant_id, method, cache)


def _sign_in_failed(exc: ClientAuthenticationError) -> AuthError:
    # azure-identity's message says what Entra ID answered (an AADSTS code and its
    # text, a timeout); it holds no token. Keep its first line.
    detail = (exc.message or "").strip().splitlines()
    said = f": {detail[0].rstrip('.')}" if detail else ""
    return AuthError(f"Signing in with Microsoft failed{said}.", AuthReason.SIGN_IN_REQUIRED)
