"""An expired SAS against Azurite is "Sign-in expired — update the SAS" (SignInExpired,
exit code 3), both when BlobSync sees it from ``se`` before sending anything and when
the service answers 403 for it; never a connection failure."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient, generate_container_sas

from blobsync.core.app.emulator import Azurite
from blobsync.core.credentials import AZURITE_KEY, ExpiryState, credential_expiry, from_sas_url
from blobsync.core.engine import SyncEngine
from blobsync.core.errors import AuthError, AuthReason, SignInExpired
from blobsync.core.remote.azure import open_store, policy

pytestmark = pytest.mark.azurite


def sas_url(azurite: Azurite, container: str, expiry: dt.datetime) -> str:
    token = generate_container_sas(
        "devstoreaccount1", container, account_key=AZURITE_KEY, permission="rwdl", expiry=expiry
    )
    return f"{azurite.blob_endpoint}/{container}?{token}"


def wait_until(moment: dt.datetime) -> None:
    while dt.datetime.now(dt.UTC) < moment:
        time.sleep(0.1)


def debug_log(azurite: Azurite) -> str:
    assert azurite.debug_log is not None
    return azurite.debug_log.read_text(errors="replace")


@pytest.fixture
def engine_with_short_sas(azurite: Azurite, container_name: str, tmp_path: Path):
    BlobServiceClient.from_connection_string(azurite.connection_string).create_container(
        container_name
    )
    expiry = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3)).replace(microsecond=0)
    creds = from_sas_url(sas_url(azurite, container_name, expiry))
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.txt").write_bytes(b"a")
    engine = SyncEngine(root, open_store(creds, container_name), tmp_path / "s.sqlite3")
    yield engine, creds, expiry
    engine.close()


def test_expired_sas_is_detected_before_sending(
    engine_with_short_sas, azurite: Azurite, container_name: str
) -> None:
    engine, creds, expiry = engine_with_short_sas
    assert engine.sync().uploaded == 1
    assert credential_expiry(creds).state is ExpiryState.EXPIRES_SOON
    wait_until(expiry + dt.timedelta(seconds=1))
    assert credential_expiry(creds).state is ExpiryState.EXPIRED
    (engine.local_root / "b.txt").write_bytes(b"b")
    before = len(debug_log(azurite))
    with pytest.raises(SignInExpired) as info:
        engine.sync()
    error = info.value
    assert error.exit_code == 3 and error.title == "Sign-in expired"
    assert error.reason is AuthReason.SAS_EXPIRED and error.expired_at == expiry
    assert error.message.startswith("Sign-in expired — update the SAS")
    # Nothing was sent for it: a later request (a control) reaches Azurite's request
    # log, the failed run's did not.
    control = f"control{container_name[:20]}"
    BlobServiceClient.from_connection_string(azurite.connection_string).get_container_client(
        control
    ).exists()
    deadline = time.monotonic() + 30
    while control not in debug_log(azurite)[before:] and time.monotonic() < deadline:
        time.sleep(0.1)
    since = debug_log(azurite)[before:]
    assert control in since and container_name not in since


def test_expired_sas_answered_by_the_service(
    engine_with_short_sas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the local check out of the way, Azurite's own 403 is classified the same."""
    engine, _creds, expiry = engine_with_short_sas
    monkeypatch.setattr(policy.SasExpiryCheck, "__call__", lambda self, request=None: None)
    assert engine.sync().uploaded == 1
    wait_until(expiry + dt.timedelta(seconds=1))
    with pytest.raises(SignInExpired) as info:
        engine.sync()
    assert info.value.exit_code == 3 and info.value.reason is AuthReason.SAS_EXPIRED
    assert isinstance(info.value, AuthError)  # existing handlers of AuthError still apply
