"""The sign-in factories end to end, against a stand-in Entra ID on 127.0.0.1
(:mod:`.fake_entra`) and Azurite in OAuth mode: device-code sign-in, browser sign-in
(a scripted browser completing the auth-code + PKCE redirect), the fallback from the
browser to the device code, the token cache choice, and restoring a saved sign-in.

What cannot run here: Microsoft's real sign-in pages and a real browser, MFA and
conditional access, and the encrypted cache on Linux when libsecret's Python bindings
(PyGObject) are absent, as in this venv (then the cache is memory-only unless plain
text is explicitly allowed; both are tested).
"""

from __future__ import annotations

import threading
import webbrowser
from collections.abc import Iterator
from pathlib import Path

import pytest

from blobsync.core.credentials import from_entra
from blobsync.core.engine import SyncEngine
from blobsync.core.errors import AuthError, AuthReason, SignInExpired
from blobsync.core.remote.azure import (
    DeviceCodePrompt,
    SignIn,
    SignInMethod,
    TokenCacheMode,
    encrypted_cache_problem,
    open_store,
    restore_sign_in,
    sign_in,
)
from blobsync.core.remote.azure.identity import STORAGE_SCOPE, token_cache

from .conftest import OAuthAzurite, self_signed_cert
from .fake_entra import TENANT, USERNAME, FakeEntra

pytestmark = pytest.mark.azurite

NO_KEYRING = "no keyring in this test"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def entra(
    azurite_oauth: OAuthAzurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeEntra]:
    cert, key = self_signed_cert(tmp_path)
    bundle = tmp_path / "ca-bundle.pem"
    bundle.write_text(azurite_oauth.cert.read_text() + cert.read_text())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # azure-identity's ~/.IdentityService
    server = FakeEntra(cert, key).start()
    yield server
    server.stop()


def entra_kwargs(entra: FakeEntra) -> dict[str, object]:
    return {"authority": entra.authority, "disable_instance_discovery": True}


def approve_later(entra: FakeEntra, prompts: list[DeviceCodePrompt]):
    """The device-code prompt callback: remember the prompt; the user enters the code
    a moment later (the first poll is still pending)."""

    def on_device_code(prompt: DeviceCodePrompt) -> None:
        prompts.append(prompt)
        threading.Timer(0.3, entra.approved.set).start()

    return on_device_code


def sync_once(signin: SignIn, azurite_oauth: OAuthAzurite, container: str, tmp_path: Path) -> int:
    root = tmp_path / f"root-{signin.method.value}"
    root.mkdir()
    (root / "hello.txt").write_bytes(b"signed in")
    creds = from_entra(azurite_oauth.blob_endpoint, signin.credential, tenant_id=signin.tenant_id)
    engine = SyncEngine(root, open_store(creds, container), tmp_path / f"{root.name}.sqlite3")
    try:
        return engine.sync().uploaded
    finally:
        engine.close()


def test_device_code_sign_in_then_sync(
    entra: FakeEntra, azurite_oauth: OAuthAzurite, container_name: str, tmp_path: Path
) -> None:
    prompts: list[DeviceCodePrompt] = []
    signin = sign_in(
        on_device_code=approve_later(entra, prompts),
        browser=False,
        tenant_id=TENANT,
        **entra_kwargs(entra),  # type: ignore[arg-type]
    )
    assert [(p.user_code, p.verification_uri) for p in prompts] == [
        ("BLOB-SYNC", f"{entra.authority}/device")
    ]
    assert "enter the code BLOB-SYNC" in prompts[0].message
    assert entra.pending_polls >= 1  # it waited for the user
    assert signin.method is SignInMethod.DEVICE_CODE
    assert (signin.username, signin.tenant_id) == (USERNAME, TENANT)
    assert "refresh" not in signin.record and "access_token" not in signin.record
    # The machine's real cache check: encrypted if libsecret works here, else memory.
    expected = (
        TokenCacheMode.ENCRYPTED if encrypted_cache_problem() is None else TokenCacheMode.MEMORY
    )
    assert signin.cache.mode is expected
    assert not (tmp_path / "home" / ".IdentityService" / "blobsync.nocae").exists()
    assert sync_once(signin, azurite_oauth, container_name, tmp_path) == 1


def test_browser_sign_in(
    entra: FakeEntra,
    azurite_oauth: OAuthAzurite,
    container_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(webbrowser, "open", entra.browser)
    prompts: list[DeviceCodePrompt] = []
    signin = sign_in(
        on_device_code=prompts.append,
        browser=True,
        tenant_id=TENANT,
        timeout_s=60,
        cache_check=lambda: NO_KEYRING,
        **entra_kwargs(entra),  # type: ignore[arg-type]
    )
    assert signin.method is SignInMethod.BROWSER and prompts == []
    assert entra.grants["authorization_code"] == 1  # PKCE verified by the stand-in
    token = signin.credential.get_token(STORAGE_SCOPE)
    assert token.token and entra.grants["refresh_token"] == 0  # from the cache
    assert sync_once(signin, azurite_oauth, container_name, tmp_path) == 1


def test_no_browser_falls_back_to_the_device_code(
    entra: FakeEntra, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webbrowser, "open", lambda *args, **kwargs: False)
    prompts: list[DeviceCodePrompt] = []
    signin = sign_in(
        on_device_code=approve_later(entra, prompts),
        browser=True,
        tenant_id=TENANT,
        cache_check=lambda: NO_KEYRING,
        **entra_kwargs(entra),  # type: ignore[arg-type]
    )
    assert signin.method is SignInMethod.DEVICE_CODE and len(prompts) == 1


def test_restore_from_a_plaintext_cache_only_when_allowed(
    entra: FakeEntra, azurite_oauth: OAuthAzurite, container_name: str, tmp_path: Path
) -> None:
    signin = sign_in(
        on_device_code=approve_later(entra, []),
        browser=False,
        tenant_id=TENANT,
        allow_plaintext_cache=True,
        cache_check=lambda: NO_KEYRING,
        **entra_kwargs(entra),  # type: ignore[arg-type]
    )
    assert signin.cache.mode is TokenCacheMode.PLAINTEXT and signin.cache.problem == NO_KEYRING
    cache_file = tmp_path / "home" / ".IdentityService" / "blobsync.nocae"
    assert "refreshtoken" in cache_file.read_text()  # plain text: why it is opt-in only
    grants = sum(entra.grants.values())
    device_polls = entra.grants[DEVICE_GRANT]
    restored = restore_sign_in(
        signin.record,
        allow_plaintext_cache=True,
        cache_check=lambda: NO_KEYRING,
        disable_instance_discovery=True,
    )
    assert restored.method is SignInMethod.RESTORED and restored.username == USERNAME
    assert sync_once(restored, azurite_oauth, container_name, tmp_path) == 1
    assert entra.grants[DEVICE_GRANT] == device_polls  # no new prompt
    assert sum(entra.grants.values()) - grants <= 1  # at most one silent refresh


def test_restore_without_a_cache_asks_to_sign_in_again(
    entra: FakeEntra, azurite_oauth: OAuthAzurite, container_name: str, tmp_path: Path
) -> None:
    signin = sign_in(
        on_device_code=approve_later(entra, []),
        browser=False,
        tenant_id=TENANT,
        cache_check=lambda: NO_KEYRING,
        **entra_kwargs(entra),  # type: ignore[arg-type]
    )
    assert signin.cache.mode is TokenCacheMode.MEMORY
    device_polls = entra.grants[DEVICE_GRANT]
    restored = restore_sign_in(
        signin.record, cache_check=lambda: NO_KEYRING, disable_instance_discovery=True
    )
    with pytest.raises(SignInExpired) as info:
        sync_once(restored, azurite_oauth, container_name, tmp_path)
    assert info.value.reason is AuthReason.SIGN_IN_REQUIRED and info.value.exit_code == 3
    assert entra.grants[DEVICE_GRANT] == device_polls  # never prompted


def test_cache_choice_and_unreadable_record() -> None:
    options, choice = token_cache(check=lambda: None)
    assert choice.mode is TokenCacheMode.ENCRYPTED and options is not None
    assert options.name == "blobsync" and not options.allow_unencrypted_storage
    options, choice = token_cache(check=lambda: NO_KEYRING)
    assert options is None and choice.mode is TokenCacheMode.MEMORY
    options, choice = token_cache(True, check=lambda: NO_KEYRING)
    assert choice.mode is TokenCacheMode.PLAINTEXT and options is not None
    assert options.allow_unencrypted_storage
    with pytest.raises(AuthError) as info:
        restore_sign_in("not a record", cache_check=lambda: NO_KEYRING)
    assert info.value.reason is AuthReason.SIGN_IN_REQUIRED
