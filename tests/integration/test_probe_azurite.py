"""The permission probe against Azurite with container SAS tokens lacking each
permission in turn (Azurite enforces SAS permissions), and the engine running a pair
whose SAS may not delete."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient, generate_container_sas

from blobsync.core.app.emulator import Azurite
from blobsync.core.credentials import AZURITE_KEY, Credentials, from_sas_url
from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.errors import SignInExpired
from blobsync.core.models import IssueKind, Permission, RemoteDeletePolicy, SyncMode
from blobsync.core.names import is_reserved
from blobsync.core.remote.azure import check_connection, check_container, open_store

pytestmark = pytest.mark.azurite


@pytest.fixture
def sdk(azurite: Azurite) -> BlobServiceClient:
    return BlobServiceClient.from_connection_string(azurite.connection_string)


def container_sas(
    azurite: Azurite, container: str, permissions: str, expiry: dt.datetime | None = None
) -> Credentials:
    """Credentials from a container SAS URL (``sr=c``), as a user pastes one."""
    expiry = expiry or dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    token = generate_container_sas(
        "devstoreaccount1",
        container,
        account_key=AZURITE_KEY,
        permission=permissions,
        expiry=expiry,
    )
    return from_sas_url(f"{azurite.blob_endpoint}/{container}?{token}")


def blob_names(sdk: BlobServiceClient, container: str) -> list[str]:
    """The synced blobs (BlobSync's own ``.blobsync/`` space, the change beacon, left out)."""
    blobs = sdk.get_container_client(container).list_blobs()
    return [b.name for b in blobs if not is_reserved(b.name)]


@pytest.mark.parametrize(
    ("permissions", "missing"),
    [
        ("rwdl", set()),
        ("wdl", {Permission.READ}),
        ("rdl", {Permission.WRITE}),
        ("rwl", {Permission.DELETE}),
        ("rwd", {Permission.LIST}),
        ("rcdl", {Permission.WRITE}),  # may create new blobs but not update them
        ("rl", {Permission.WRITE, Permission.DELETE}),
        ("l", {Permission.READ, Permission.WRITE, Permission.DELETE}),
    ],
)
def test_probe_names_exactly_the_missing_permissions(
    azurite: Azurite,
    sdk: BlobServiceClient,
    container_name: str,
    permissions: str,
    missing: set[Permission],
) -> None:
    sdk.create_container(container_name)
    sdk.get_container_client(container_name).upload_blob("user-file.txt", b"keep me")
    creds = container_sas(azurite, container_name, permissions)
    report = check_container(creds, container_name)
    assert report.container_exists
    assert report.missing == frozenset(missing), permissions
    assert report.leftover is None
    # Nothing of the probe stays, and the user's blob is untouched.
    assert blob_names(sdk, container_name) == ["user-file.txt"]
    assert (
        sdk.get_container_client(container_name).download_blob("user-file.txt").readall()
        == b"keep me"
    )
    for permission in missing:
        assert permission.value in report.describe()


def test_container_sas_is_not_judged_by_an_account_level_call(
    azurite: Azurite, sdk: BlobServiceClient, container_name: str
) -> None:
    """A container SAS cannot list containers; the probe never asks the account."""
    sdk.create_container(container_name)
    creds = container_sas(azurite, container_name, "rwl")
    report = check_container(creds, container_name)
    assert report.missing == {Permission.DELETE}
    assert report.supports(SyncMode.TWO_WAY) and report.supports(SyncMode.UPLOAD)
    assert report.delete_policy() is RemoteDeletePolicy.KEEP_AS_ISSUES
    assert "deletions kept as issues" in report.describe()


def test_probe_of_a_missing_container(azurite: Azurite, container_name: str) -> None:
    report = check_container(azurite.credentials, container_name)
    assert not report.container_exists and not report.ok
    assert "does not exist" in report.describe()


def test_expired_sas_is_raised_not_reported_as_missing_permissions(
    azurite: Azurite, sdk: BlobServiceClient, container_name: str
) -> None:
    sdk.create_container(container_name)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    creds = container_sas(azurite, container_name, "rwdl", expiry=past)
    with pytest.raises(SignInExpired) as info:
        check_container(creds, container_name)
    assert info.value.exit_code == 3 and "update the SAS" in info.value.message
    with pytest.raises(SignInExpired):
        check_connection(creds)


def test_a_pair_that_may_not_delete_keeps_deletes_as_issues(
    azurite: Azurite, sdk: BlobServiceClient, container_name: str, tmp_path: Path
) -> None:
    sdk.create_container(container_name)
    creds = container_sas(azurite, container_name, "rwl")
    report = check_container(creds, container_name)
    options = SyncOptions(remote_deletes=report.delete_policy())
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.txt").write_bytes(b"a")
    (root / "b.txt").write_bytes(b"b")
    engine = SyncEngine(root, open_store(creds, container_name), tmp_path / "s.sqlite3")
    try:
        assert engine.sync(options).uploaded == 2
        (root / "a.txt").unlink()
        result = engine.sync(options)
        assert [(i.rel_path, i.kind) for i in result.issues] == [
            ("a.txt", IssueKind.DELETE_NOT_PERMITTED)
        ]
        assert result.deleted_remote == 0
        # Without the policy the refused delete still does not stop the run.
        (root / "c.txt").write_bytes(b"c")
        result = engine.sync(SyncOptions())
        assert result.uploaded == 1
        assert [(i.rel_path, i.kind) for i in result.issues] == [
            ("a.txt", IssueKind.DELETE_NOT_PERMITTED)
        ]
    finally:
        engine.close()
    assert blob_names(sdk, container_name) == ["a.txt", "b.txt", "c.txt"]
