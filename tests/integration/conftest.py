"""Fixtures for Microsoft Entra ID tests: an Azurite that accepts bearer tokens, and a
token credential that mints the unsigned JWTs it checks.

Azurite's ``--oauth basic`` mode needs HTTPS and checks a token's issuer, audience and
lifetime, not its signature or any role (its README, "OAuth authentication"). The
server is ``core/app/emulator.Azurite(oauth=True)``, which makes its own throw-away
certificate.
"""

from __future__ import annotations

import base64
import json
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from azure.core.credentials import AccessToken

from blobsync.core.app.emulator import Azurite, find_azurite
from blobsync.core.app.emulator import self_signed_cert as _self_signed_cert

if TYPE_CHECKING:
    from .fake_entra import FakeEntra

STORAGE_AUDIENCE = "https://storage.azure.com"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"

#: Azurite over HTTPS with ``--oauth basic`` (``.blob_endpoint``, ``.cert``, ``.port``).
OAuthAzurite = Azurite


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1 (cert.pem, key.pem)."""
    return _self_signed_cert(folder)


@pytest.fixture(scope="session")
def azurite_oauth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """Azurite (blob service) on 127.0.0.1 over HTTPS, accepting bearer tokens and keys."""
    if find_azurite() is None or shutil.which("node") is None or shutil.which("openssl") is None:
        pytest.fail("Azurite, node or openssl is missing: run 'bash packaging/dev.sh setup'")
    base = tmp_path_factory.mktemp("azurite-oauth")
    server = Azurite(location=base / "data", oauth=True)
    server.start(timeout=60)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def trust_azurite_cert(azurite_oauth: OAuthAzurite, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the store (and azure-identity) trust the throw-away certificate."""
    assert azurite_oauth.cert is not None
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(azurite_oauth.cert))
    return azurite_oauth.cert


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned_jwt(
    audience: str = STORAGE_AUDIENCE,
    lifetime_s: float = 3600,
    tenant: str = TENANT,
    oid: str | None = None,
) -> tuple[str, int]:
    """An unsigned JWT as Azurite's basic OAuth accepts it, and its expiry (epoch s)."""
    now = int(time.time())
    expires = int(now + lifetime_s)
    claims = {
        "aud": audience,
        "iss": f"https://sts.windows.net/{tenant}/",
        "iat": now - 60,
        "nbf": now - 60,
        "exp": expires,
        "oid": oid or str(uuid.uuid4()),
        "tid": tenant,
    }
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.", expires


@dataclass
class MintingCredential:
    """A TokenCredential that mints a fresh unsigned JWT each time it is asked, and
    records when (epoch seconds), so a test can see it was asked again."""

    audience: str = STORAGE_AUDIENCE
    lifetime_s: float = 3600
    calls: list[float] = field(default_factory=list)
    scopes: list[tuple[str, ...]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        with self._lock:
            self.calls.append(time.time())
            self.scopes.append(scopes)
        token, expires = unsigned_jwt(self.audience, self.lifetime_s)
        return AccessToken(token, expires)


@pytest.fixture
def minting_credential() -> MintingCredential:
    return MintingCredential()


@pytest.fixture
def entra(
    azurite_oauth: OAuthAzurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeEntra]:
    """The stand-in Entra ID (:mod:`.fake_entra`) on 127.0.0.1 over HTTPS; this process
    trusts both its certificate and the OAuth Azurite's, and HOME is the test's (for
    azure-identity's ``~/.IdentityService``)."""
    from .fake_entra import FakeEntra

    assert azurite_oauth.cert is not None
    cert, key = self_signed_cert(tmp_path)
    bundle = tmp_path / "ca-bundle.pem"
    bundle.write_text(azurite_oauth.cert.read_text() + cert.read_text())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    server = FakeEntra(cert, key).start()
    yield server
    server.stop()
