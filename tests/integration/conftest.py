"""Fixtures for Microsoft Entra ID tests: an Azurite that accepts bearer tokens, and a
token credential that mints the unsigned JWTs it checks.

Azurite's ``--oauth basic`` mode needs HTTPS and checks a token's issuer, audience and
lifetime, not its signature or any role (its README, "OAuth authentication"). The
server is started here rather than through ``core/app/emulator.Azurite``, which has no
way to pass ``--oauth``/``--cert``/``--key`` yet.
"""

from __future__ import annotations

import base64
import json
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from azure.core.credentials import AccessToken

from blobsync.core.app.emulator import find_azurite, free_port

STORAGE_AUDIENCE = "https://storage.azure.com"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1 (cert.pem, key.pem)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class OAuthAzurite:
    """A running Azurite over HTTPS with ``--oauth basic``."""

    port: int
    cert: Path
    proc: subprocess.Popen[bytes]

    @property
    def blob_endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}/devstoreaccount1"


def _wait_for_port(proc: subprocess.Popen[bytes], port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Azurite exited at start (code {proc.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"Azurite did not open port {port} in {timeout:.0f} s")


@pytest.fixture(scope="session")
def azurite_oauth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthAzurite]:
    """Azurite (blob service) on 127.0.0.1 over HTTPS, accepting bearer tokens and keys."""
    entry, node = find_azurite(), shutil.which("node")
    if entry is None or node is None or shutil.which("openssl") is None:
        pytest.fail("Azurite, node or openssl is missing: run 'bash packaging/dev.sh setup'")
    base = tmp_path_factory.mktemp("azurite-oauth")
    cert, key = self_signed_cert(base)
    port = free_port()
    args = [
        node, str(entry), "--blobHost", "127.0.0.1", "--blobPort", str(port),
        "--location", str(base / "data"), "--silent", "--disableTelemetry",
        "--skipApiVersionCheck", "--oauth", "basic", "--cert", str(cert), "--key", str(key),
    ]  # fmt: skip
    proc = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_for_port(proc, port, 60)
        yield OAuthAzurite(port, cert, proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@pytest.fixture
def trust_azurite_cert(azurite_oauth: OAuthAzurite, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the store (and azure-identity) trust the throw-away certificate."""
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
