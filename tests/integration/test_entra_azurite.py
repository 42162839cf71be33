"""Microsoft Entra ID against Azurite (``--oauth basic``, HTTPS): a sync with a bearer
token and no key, token renewal, and the role sentence for a refused token.

Azurite checks a token's issuer, audience and expiry, not its signature nor any role
assignment, so "signed in but no Storage Blob Data Contributor" is played by a token
Azurite refuses (a wrong audience); Azure answers a missing role with 403
AuthorizationPermissionMismatch, which maps to the same reason (tests/core).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from azure.core.credentials import AzureNamedKeyCredential
from azure.storage.blob import BlobServiceClient

from blobsync.core.credentials import AZURITE_KEY, SecretKind, from_entra
from blobsync.core.engine import SyncEngine
from blobsync.core.errors import CONTRIBUTOR_ROLE, AuthError, AuthReason, SignInExpired
from blobsync.core.models import Permission
from blobsync.core.remote.azure import check_container, open_store

from .conftest import MintingCredential, OAuthAzurite

pytestmark = [pytest.mark.azurite, pytest.mark.usefixtures("trust_azurite_cert")]


def key_client(server: OAuthAzurite) -> BlobServiceClient:
    return BlobServiceClient(
        server.blob_endpoint,
        credential=AzureNamedKeyCredential("devstoreaccount1", AZURITE_KEY),
        connection_verify=str(server.cert),
    )


def test_sync_with_a_token_and_no_key(
    azurite_oauth: OAuthAzurite,
    minting_credential: MintingCredential,
    container_name: str,
    tmp_path: Path,
) -> None:
    creds = from_entra(azurite_oauth.blob_endpoint, minting_credential)
    assert creds.kind is SecretKind.ENTRA and creds.secret == "" and not creds.has_account_key
    root = tmp_path / "root"
    root.mkdir()
    (root / "up.txt").write_bytes(b"from here")
    other = key_client(azurite_oauth)
    engine = SyncEngine(root, open_store(creds, container_name), tmp_path / "s.sqlite3")
    try:
        first = engine.sync()  # creates the container, uploads
        assert first.container_created and first.uploaded == 1 and first.in_sync
        other.get_container_client(container_name).upload_blob("down.txt", b"from there")
        second = engine.sync()
        assert second.downloaded == 1
    finally:
        engine.close()
    assert (root / "down.txt").read_bytes() == b"from there"
    blob = other.get_container_client(container_name).download_blob("up.txt").readall()
    assert blob == b"from here"
    assert minting_credential.calls, "the token credential was never asked"
    assert all(s == ("https://storage.azure.com/.default",) for s in minting_credential.scopes)


def test_an_expired_token_is_renewed(
    azurite_oauth: OAuthAzurite, container_name: str, tmp_path: Path
) -> None:
    """Tokens that live 4 s: after the first one expired, the next run asks the
    credential again and goes on (azure-core renews a token close to its expiry)."""
    credential = MintingCredential(lifetime_s=4)
    creds = from_entra(azurite_oauth.blob_endpoint, credential)
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.txt").write_bytes(b"a")
    engine = SyncEngine(root, open_store(creds, container_name), tmp_path / "s.sqlite3")
    try:
        assert engine.sync().uploaded == 1
        first_expiry = credential.calls[0] + 4
        while time.time() < first_expiry + 1:  # the first token is now refused by Azurite
            time.sleep(0.2)
        asked_before = len(credential.calls)
        (root / "b.txt").write_bytes(b"b")
        result = engine.sync()
    finally:
        engine.close()
    assert result.uploaded == 1 and result.in_sync
    assert len(credential.calls) > asked_before
    assert credential.calls[-1] > first_expiry


def test_a_refused_token_names_the_missing_role(
    azurite_oauth: OAuthAzurite, container_name: str, tmp_path: Path
) -> None:
    key_client(azurite_oauth).create_container(container_name)
    wrong = MintingCredential(audience="https://management.azure.com")
    creds = from_entra(azurite_oauth.blob_endpoint, wrong)
    store = open_store(creds, container_name)
    root = tmp_path / "root"
    root.mkdir()
    engine = SyncEngine(root, store, tmp_path / "s.sqlite3")
    try:
        with pytest.raises(AuthError) as info:
            engine.sync()
    finally:
        engine.close()
    error = info.value
    assert error.reason is AuthReason.ROLE_MISSING and error.role == CONTRIBUTOR_ROLE
    assert CONTRIBUTOR_ROLE in error.message and container_name in error.message
    assert error.exit_code == 3
    # The permission probe reports the same as missing permissions, naming the role.
    report = check_container(creds, container_name)
    assert report.missing == frozenset(Permission)
    assert report.role == CONTRIBUTOR_ROLE and CONTRIBUTOR_ROLE in report.describe()


def test_probe_with_a_token(
    azurite_oauth: OAuthAzurite, minting_credential: MintingCredential, container_name: str
) -> None:
    key_client(azurite_oauth).create_container(container_name)
    report = check_container(
        from_entra(azurite_oauth.blob_endpoint, minting_credential), container_name
    )
    assert report.ok and report.leftover is None
    names = [
        b.name for b in key_client(azurite_oauth).get_container_client(container_name).list_blobs()
    ]
    assert names == []  # the probe blob was removed


def test_no_sign_in_yet_is_sign_in_required(
    azurite_oauth: OAuthAzurite, container_name: str
) -> None:
    creds = from_entra(azurite_oauth.blob_endpoint)  # a saved account before signing in
    with pytest.raises(SignInExpired) as info:
        open_store(creds, container_name)
    assert info.value.reason is AuthReason.SIGN_IN_REQUIRED and info.value.exit_code == 3
    assert "sign in with Microsoft" in info.value.message


def test_entra_needs_https() -> None:
    from blobsync.core.errors import ConfigError

    with pytest.raises(ConfigError, match="https"):
        from_entra("http://127.0.0.1:10000/devstoreaccount1", MintingCredential())
