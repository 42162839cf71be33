"""Share links against Azurite: a read-only URL to one synced file that downloads with
plain HTTP and no credentials, refuses writes, and stops working after its expiry.
Signed with the account key (service SAS) or, signed in with Entra ID, with a user
delegation key (Azurite in ``--oauth basic`` mode issues one and checks the signature).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
import requests

from blobsync.core.app.emulator import Azurite
from blobsync.core.credentials import Credentials, from_entra, from_sas_url
from blobsync.core.engine import SyncEngine
from blobsync.core.errors import LinkNotPossible
from blobsync.core.remote.azure import open_store
from blobsync.core.remote.base import LinkDuration, LinkKind, ShareLink

from .conftest import MintingCredential, OAuthAzurite

pytestmark = pytest.mark.azurite


def synced_engine(creds: Credentials, container: str, tmp_path: Path) -> SyncEngine:
    root = tmp_path / "root"
    (root / "photos").mkdir(parents=True)
    (root / "photos" / "holiday 1.jpg").write_bytes(b"JPEG bytes")
    (root / "photos" / "local only.txt").write_bytes(b"x")
    engine = SyncEngine(root, open_store(creds, container), tmp_path / "s.sqlite3")
    assert engine.sync().uploaded == 2
    (root / "photos" / "later.txt").write_bytes(b"not synced yet")
    return engine


def assert_link_behaves(link: ShareLink, verify: str | bool = True) -> None:
    got = requests.get(link.url, timeout=10, verify=verify)
    assert got.status_code == 200 and got.content == b"JPEG bytes"
    put = requests.put(
        link.url,
        data=b"overwritten",
        headers={"x-ms-blob-type": "BlockBlob"},
        timeout=10,
        verify=verify,
    )
    assert put.status_code == 403
    deleted = requests.delete(link.url, timeout=10, verify=verify)
    assert deleted.status_code == 403
    assert requests.get(link.url, timeout=10, verify=verify).content == b"JPEG bytes"
    # After its expiry the same URL is refused (Azure checks ``se`` with second precision).
    deadline = time.monotonic() + 30
    while dt.datetime.now(dt.UTC) <= link.expires + dt.timedelta(seconds=1):
        time.sleep(0.2)
    status = 200
    while time.monotonic() < deadline:
        status = requests.get(link.url, timeout=10, verify=verify).status_code
        if status == 403:
            break
        time.sleep(0.5)
    assert status == 403


def test_service_sas_link_with_the_account_key(
    azurite: Azurite, container_name: str, tmp_path: Path
) -> None:
    engine = synced_engine(azurite.credentials, container_name, tmp_path)
    try:
        link = engine.share_link("photos/holiday 1.jpg", dt.timedelta(seconds=3))
        assert link.kind is LinkKind.SERVICE_SAS
        assert "sp=r" in link.url and "sr=b" in link.url and "holiday%201.jpg" in link.url
        assert "sig=" not in repr(link)
        assert_link_behaves(link)
        with pytest.raises(LinkNotPossible, match="not a synced file"):
            engine.share_link("photos/later.txt", LinkDuration.HOUR.value)
        with pytest.raises(LinkNotPossible, match="not a synced file"):
            engine.share_link(".blobsync/anything", LinkDuration.HOUR.value)
        with pytest.raises(LinkNotPossible, match="7 days"):
            engine.share_link("photos/holiday 1.jpg", dt.timedelta(days=8))
        week = engine.share_link("photos/holiday 1.jpg", LinkDuration.WEEK.value)
        left = week.expires - dt.datetime.now(dt.UTC)
        assert dt.timedelta(days=6, hours=23) < left <= dt.timedelta(days=7)
    finally:
        engine.close()


def test_user_delegation_link_when_signed_in(
    azurite_oauth: OAuthAzurite,
    minting_credential: MintingCredential,
    trust_azurite_cert: Path,
    container_name: str,
    tmp_path: Path,
) -> None:
    creds = from_entra(azurite_oauth.blob_endpoint, minting_credential)
    engine = synced_engine(creds, container_name, tmp_path)
    try:
        link = engine.share_link("photos/holiday 1.jpg", dt.timedelta(seconds=3))
        assert link.kind is LinkKind.USER_DELEGATION_SAS
        assert "skoid=" in link.url and "spr=https" in link.url
        assert_link_behaves(link, verify=str(trust_azurite_cert))
    finally:
        engine.close()


def test_an_account_saved_from_a_sas_cannot_make_links(
    azurite: Azurite, container_name: str, tmp_path: Path
) -> None:
    from azure.storage.blob import generate_container_sas

    from blobsync.core.credentials import AZURITE_KEY

    engine = synced_engine(azurite.credentials, container_name, tmp_path)
    engine.close()
    token = generate_container_sas(
        "devstoreaccount1",
        container_name,
        account_key=AZURITE_KEY,
        permission="rwdl",
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    creds = from_sas_url(f"{azurite.blob_endpoint}/{container_name}?{token}")
    again = SyncEngine(tmp_path / "root", open_store(creds, container_name), tmp_path / "s.sqlite3")
    try:
        with pytest.raises(LinkNotPossible, match="cannot create them"):
            again.share_link("photos/holiday 1.jpg", LinkDuration.DAY.value)
    finally:
        again.close()
