"""The command line's faces of issue 15 against Azurite: ``account add --entra`` (a real
device-code sign-in with the stand-in Entra ID, then a sync with the OAuth Azurite),
``--entra-default`` (DefaultAzureCredential through a stand-in ``az``), ``account test
--container`` naming the missing permission with no account-level call, ``link``
(the URL downloads with plain HTTP), archived blobs in ``issues`` and ``rehydrate``,
and the SAS expiry: a warning line a week ahead, "Sign-in expired — update the SAS"
with exit 3.

The sign-in commands run in-process (``main([...])``) so the sign-in factories can be
pointed at the stand-in Entra ID (``authority=``, no instance discovery); everything
else runs the real ``blobsync`` in a child process.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from azure.storage.blob import BlobServiceClient, generate_container_sas

from blobsync.core.app import logs
from blobsync.core.app.emulator import Azurite
from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig, save_config
from blobsync.core.cli import commands as cli
from blobsync.core.credentials import AZURITE_ACCOUNT, AZURITE_KEY, SecretKind

from .conftest import OAuthAzurite
from .fake_entra import TENANT, USERNAME, FakeEntra

pytestmark = pytest.mark.azurite

NO_KEYRING = "no keyring in this test"


def blobsync(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ)
    full.pop("AZURE_STORAGE_CONNECTION_STRING", None)
    full.pop("AZURE_STORAGE_ACCOUNT_URL", None)
    full.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "blobsync.core.cli", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture
def in_process() -> Iterator[None]:
    """cli.main() configures the root logger; leave it as other tests expect it."""
    yield
    logs.shutdown_logging()
    logs.clear_registered_secrets()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "folder"
    root.mkdir()
    (root / "hello.txt").write_bytes(b"hello from the folder")
    return root


def sas_url(azurite: Azurite, container: str, permissions: str, expiry: dt.datetime) -> str:
    token = generate_container_sas(
        AZURITE_ACCOUNT, container, account_key=AZURITE_KEY, permission=permissions, expiry=expiry
    )
    return f"{azurite.blob_endpoint}/{container}?{token}"


def conn_env(azurite: Azurite) -> dict[str, str]:
    return {"AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string}


# ---- Entra ID ---------------------------------------------------------------------------


@pytest.fixture
def fake_entra_sign_in(entra: FakeEntra, monkeypatch: pytest.MonkeyPatch) -> FakeEntra:
    """Point the real sign-in factories at the stand-in Entra ID; the user "enters the
    code" a moment after BlobSync showed it. Tokens cannot be kept encrypted here."""
    from blobsync.core.remote import azure

    real_sign_in, real_restore = azure.sign_in, azure.restore_sign_in

    def sign_in(**kwargs):  # type: ignore[no-untyped-def]
        show = kwargs.pop("on_device_code")

        def on_device_code(prompt):  # type: ignore[no-untyped-def]
            show(prompt)
            threading.Timer(0.3, entra.approved.set).start()

        return real_sign_in(
            on_device_code=on_device_code,
            authority=entra.authority,
            disable_instance_discovery=True,
            cache_check=lambda: NO_KEYRING,
            **kwargs,
        )

    def restore(record, **kwargs):  # type: ignore[no-untyped-def]
        return real_restore(
            record, disable_instance_discovery=True, cache_check=lambda: NO_KEYRING, **kwargs
        )

    monkeypatch.setattr(azure, "sign_in", sign_in)
    monkeypatch.setattr(azure, "restore_sign_in", restore)
    return entra


@pytest.mark.usefixtures("in_process")
def test_account_add_entra_prints_the_device_code_and_the_account_syncs(
    fake_entra_sign_in: FakeEntra,
    azurite_oauth: OAuthAzurite,
    capsys: pytest.CaptureFixture[str],
    folder: Path,
    container_name: str,
    tmp_path: Path,
) -> None:
    url = azurite_oauth.blob_endpoint
    code, out, err = run(
        capsys,
        "account", "add", "corp", "--entra", "--url", url, "--tenant", TENANT,
        "--plaintext-secret",
    )  # fmt: skip
    assert (code, err) == (0, "")
    device = f"{fake_entra_sign_in.authority}/device"
    assert f"To sign in, open {device} and enter the code BLOB-SYNC." in out
    assert f"Signed in as {USERNAME}. Account corp saved: {url}." in out
    assert "INSECURE: sign-in tokens are kept in a plain text file." in out
    settings = json.loads((tmp_path / "xdg-config" / "blobsync" / "settings.json").read_text())
    saved = settings["accounts"]["corp"]
    assert saved["kind"] == "entra" and saved["has_secret"] is False
    assert USERNAME in saved["sign_in_record"] and saved["tenant_id"] == TENANT
    assert "refresh" not in json.dumps(saved).lower()  # the record holds no token

    code, out, _ = run(capsys, "account", "list")
    assert f"corp\t{url}\tentra ({USERNAME})  [INSECURE" in out
    # A new process would do the same: the sign-in is restored from the token cache.
    code, out, err = run(capsys, "sync", str(folder), container_name, "--account", "corp")
    assert (code, err) == (0, ""), err
    assert "Uploaded 1" in out
    code, out, _ = run(capsys, "account", "test", "corp", "--container", container_name)
    assert code == 0 and "Everything needed is allowed" in out


@pytest.mark.usefixtures("in_process")
def test_a_sign_in_kept_in_memory_asks_to_sign_in_again_later(
    fake_entra_sign_in: FakeEntra,
    azurite_oauth: OAuthAzurite,
    capsys: pytest.CaptureFixture[str],
    folder: Path,
    container_name: str,
) -> None:
    url = azurite_oauth.blob_endpoint
    code, out, _ = run(capsys, "account", "add", "mem", "--entra", "--url", url, "--tenant", TENANT)
    assert code == 0
    assert "kept in memory only" in out and NO_KEYRING in out
    code, _, err = run(capsys, "sync", str(folder), container_name, "--account", "mem")
    assert code == 3
    assert err == "blobsync: Sign-in expired — sign in with Microsoft again.\n"


@pytest.mark.usefixtures("in_process")
def test_entra_needs_https(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "account", "add", "x", "--entra", "--url", "http://127.0.0.1:1/devstoreaccount1"
    )
    assert code == 2 and "needs an https:// account URL" in err


FAKE_AZ = """#!{python}
# A stand-in for `az account get-access-token`: an unsigned JWT for Azurite's basic OAuth.
import base64, json, sys, time
def b64(d):
    return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
now = int(time.time())
claims = {{"aud": "https://storage.azure.com", "iss": "https://sts.windows.net/{tenant}/",
          "nbf": now - 60, "iat": now - 60, "exp": now + 3600, "oid": "az-user", "tid": "{tenant}"}}
token = b64({{"alg": "none", "typ": "JWT"}}) + "." + b64(claims) + "."
with open({calls!r}, "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
print(json.dumps({{"accessToken": token, "expires_on": now + 3600, "tokenType": "Bearer",
                  "tenant": "{tenant}"}}))
"""


def test_entra_default_signs_in_through_az_login(
    azurite_oauth: OAuthAzurite, folder: Path, container_name: str, tmp_path: Path
) -> None:
    """DefaultAzureCredential, narrowed to the Azure CLI credential, with an ``az``
    that prints a token: a saved account and the environment form both sync."""
    assert azurite_oauth.cert is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "az-calls.txt"
    az = bin_dir / "az"
    az.write_text(FAKE_AZ.format(python=sys.executable, tenant=TENANT, calls=str(calls)))
    az.chmod(0o755)
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "AZURE_TOKEN_CREDENTIALS": "azureclicredential",
        "REQUESTS_CA_BUNDLE": str(azurite_oauth.cert),
    }
    url = azurite_oauth.blob_endpoint
    added = blobsync("account", "add", "server", "--entra-default", "--url", url, env=env)
    assert added.returncode == 0, added.stderr
    assert "signs in with DefaultAzureCredential" in added.stdout
    synced = blobsync("sync", str(folder), container_name, "--account", "server", env=env)
    assert synced.returncode == 0, synced.stderr
    assert "Uploaded 1" in synced.stdout
    assert "account get-access-token" in calls.read_text()
    listed = blobsync("account", "list", env=env)
    assert "entra (DefaultAzureCredential)" in listed.stdout

    (folder / "more.txt").write_bytes(b"more")
    env_only = blobsync(
        "sync", str(folder), container_name, env={**env, "AZURE_STORAGE_ACCOUNT_URL": url}
    )
    assert env_only.returncode == 0, env_only.stderr
    assert "Uploaded 1" in env_only.stdout


# ---- the permission check ---------------------------------------------------------------


def account_level_requests(azurite: Azurite, since: int) -> list[str]:
    """Requests to the account itself (List Containers, account properties) logged
    after byte ``since`` of Azurite's debug log."""
    assert azurite.debug_log is not None
    text = azurite.debug_log.read_text(errors="replace")[since:]
    pattern = re.compile(rf"RequestURL=\S*/{AZURITE_ACCOUNT}/?(\?\S*)?(\s|$)")
    return [line for line in text.splitlines() if pattern.search(line)]


def test_account_test_names_the_missing_permission_without_account_calls(
    azurite: Azurite, container_name: str
) -> None:
    sdk = BlobServiceClient.from_connection_string(azurite.connection_string)
    sdk.create_container(container_name)
    expiry = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    added = blobsync(
        "account", "add", "nodelete", "--sas", "--secret-stdin",
        stdin=sas_url(azurite, container_name, "rwl", expiry),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert azurite.debug_log is not None
    since = len(azurite.debug_log.read_text(errors="replace"))

    tested = blobsync("account", "test", "nodelete")  # the container SAS names its container
    assert tested.returncode == 1, tested.stderr
    lines = tested.stdout.splitlines()
    assert lines[0] == f"Account nodelete, container {container_name}:"
    assert lines[1:5] == ["  list    yes", "  read    yes", "  write   yes", "  delete  NO"]
    assert lines[5] == (
        f"These credentials may not delete in '{container_name}'; it can still sync as "
        "two-way or upload or download with deletions kept as issues."
    )
    as_json = json.loads(blobsync("account", "test", "nodelete", "--json").stdout)
    assert as_json["missing"] == ["delete"]
    assert as_json["allowed"] == ["list", "read", "write"]
    assert account_level_requests(azurite, since) == []
    assert [b.name for b in sdk.get_container_client(container_name).list_blobs()] == []

    full = blobsync(
        "account", "add", "full", "--sas", "--secret-stdin",
        stdin=sas_url(azurite, container_name, "rwdl", expiry),
    )  # fmt: skip
    assert full.returncode == 0
    ok = blobsync("account", "test", "full", "--container", container_name)
    assert ok.returncode == 0
    assert "Everything needed is allowed" in ok.stdout


# ---- links ------------------------------------------------------------------------------


def test_link_downloads_with_plain_http_and_refuses_writes(
    azurite: Azurite, folder: Path, container_name: str, tmp_path: Path
) -> None:
    env = conn_env(azurite)
    assert blobsync("sync", str(folder), container_name, env=env).returncode == 0
    made = blobsync("link", str(folder), container_name, "hello.txt", "--expires", "1h", env=env)
    assert made.returncode == 0, made.stderr
    url = made.stdout.strip()
    assert url.startswith(f"{azurite.blob_endpoint}/{container_name}/hello.txt?")
    assert "sig=" in url and "valid until" in made.stderr and "service SAS" in made.stderr
    got = requests.get(url, timeout=10)
    assert got.status_code == 200 and got.content == b"hello from the folder"
    put = requests.put(url, data=b"x", headers={"x-ms-blob-type": "BlockBlob"}, timeout=10)
    assert put.status_code == 403
    log_dir = tmp_path / "xdg-state"
    for path in log_dir.rglob("*"):
        if path.is_file():
            assert url.split("sig=")[1].split("&")[0] not in path.read_text(errors="replace")

    # A pair set up in the app, by name, and with an absolute PATH.
    account = AccountConfig(
        "emulator", azurite.blob_endpoint, AZURITE_ACCOUNT, SecretKind.ACCOUNT_KEY,
        has_secret=False,
    )  # fmt: skip
    pair = PairConfig(str(folder), "emulator", container_name, name="Docs")
    save_config(AppConfig(accounts={"emulator": account}, pairs=[pair]))
    by_name = blobsync("link", "--pair", "Docs", str(folder / "hello.txt"), "--json")
    assert by_name.returncode == 0, by_name.stderr
    answer = json.loads(by_name.stdout)
    assert answer["kind"] == "service_sas"
    expires = dt.datetime.fromisoformat(answer["expires"])
    assert dt.timedelta(hours=23) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=1)
    assert requests.get(answer["url"], timeout=10).content == b"hello from the folder"

    (folder / "new.txt").write_bytes(b"not synced yet")
    refused = blobsync("link", "--pair", "Docs", "new.txt")
    assert refused.returncode == 2
    assert "'new.txt' is not a synced file; sync it first." in refused.stderr


def test_a_sas_account_cannot_make_links(
    azurite: Azurite, folder: Path, container_name: str
) -> None:
    BlobServiceClient.from_connection_string(azurite.connection_string).create_container(
        container_name
    )
    expiry = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    blobsync(
        "account", "add", "sas", "--sas", "--secret-stdin",
        stdin=sas_url(azurite, container_name, "rwdlc", expiry),
    )  # fmt: skip
    assert blobsync("sync", str(folder), container_name, "--account", "sas").returncode == 0
    refused = blobsync("link", str(folder), container_name, "hello.txt", "--account", "sas")
    assert refused.returncode == 2
    assert "an account saved from a SAS cannot create them" in refused.stderr


# ---- archived blobs ---------------------------------------------------------------------


def test_archived_blobs_are_listed_by_issues_and_rehydrated(
    azurite: Azurite, folder: Path, container_name: str
) -> None:
    env = conn_env(azurite)
    assert blobsync("sync", str(folder), container_name, env=env).returncode == 0
    sdk = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = sdk.get_container_client(container_name)
    container.upload_blob("old/cold.txt", b"archived data")
    container.get_blob_client("old/cold.txt").set_standard_blob_tier("Archive")

    first = blobsync("sync", str(folder), container_name, env=env)
    assert first.returncode == 0, first.stdout  # a state, not an issue
    assert "1 more blob is archived in the container — not synced" in first.stdout
    again = blobsync("sync", str(folder), container_name, env=env)
    assert again.returncode == 0 and "archived" not in again.stdout  # said once
    assert not (folder / "old" / "cold.txt").exists()

    listed = blobsync("issues", str(folder), container_name, env=env)
    assert listed.returncode == 0
    assert listed.stdout.splitlines() == [
        "No pending issues.",
        "1 blob is archived in the container — not synced "
        "(bring one back with: blobsync rehydrate ... PATH):",
        "  old/cold.txt (13 B)",
    ]
    as_json = json.loads(blobsync("issues", str(folder), container_name, "--json", env=env).stdout)
    assert as_json["issues"] == []
    assert as_json["archived"] == [{"path": "old/cold.txt", "size": 13, "rehydrating_to": None}]

    wrong = blobsync("rehydrate", str(folder), container_name, "hello.txt", env=env)
    assert wrong.returncode == 2 and "not among the archived blobs" in wrong.stderr
    assert container.get_blob_client("hello.txt").get_blob_properties().blob_tier == "Hot"

    asked = blobsync(
        "rehydrate", str(folder), container_name, "old/cold.txt", "--tier", "cool",
        "--priority", "high", env=env,
    )  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    assert "back to the cool tier (high priority" in asked.stdout
    # Azurite rehydrates at once (Azure takes hours): the next sync downloads it.
    assert container.get_blob_client("old/cold.txt").get_blob_properties().blob_tier == "Cool"
    after = blobsync("sync", str(folder), container_name, env=env)
    assert after.returncode == 0 and "downloaded 1" in after.stdout
    assert (folder / "old" / "cold.txt").read_bytes() == b"archived data"


# ---- SAS expiry -------------------------------------------------------------------------


def test_a_sas_expiring_within_a_week_warns_and_an_expired_one_exits_3(
    azurite: Azurite, folder: Path, container_name: str
) -> None:
    BlobServiceClient.from_connection_string(azurite.connection_string).create_container(
        container_name
    )  # a container SAS cannot create its container
    now = dt.datetime.now(dt.UTC)
    soon = (now + dt.timedelta(days=3)).replace(microsecond=0)
    added = blobsync(
        "account", "add", "soon", "--sas", "--secret-stdin",
        stdin=sas_url(azurite, container_name, "rwdlc", soon),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    sentence = (
        f"The SAS of the account soon expires on {soon:%Y-%m-%d %H:%M} UTC (in 3 days); "
        "update it before then."
    )
    assert sentence in added.stdout
    synced = blobsync("sync", str(folder), container_name, "--account", "soon")
    assert synced.returncode == 0, synced.stderr
    assert synced.stderr.splitlines() == [f"blobsync: warning: {sentence}"]
    assert (
        f"  {sentence.replace(' of the account soon', '')}"
        in blobsync("account", "list").stdout.splitlines()
    )

    gone = (now - dt.timedelta(minutes=5)).replace(microsecond=0)
    blobsync(
        "account", "add", "old", "--sas", "--secret-stdin",
        stdin=sas_url(azurite, container_name, "rwdlc", gone),
    )  # fmt: skip
    expired = blobsync("sync", str(folder), container_name, "--account", "old")
    assert expired.returncode == 3
    assert expired.stderr == (
        f"blobsync: Sign-in expired — update the SAS (it expired on {gone:%Y-%m-%d %H:%M} UTC).\n"
    )
    tested = blobsync("account", "test", "old")
    assert tested.returncode == 3 and "Sign-in expired — update the SAS" in tested.stderr

    pair = PairConfig(str(folder), "old", container_name, name="Old")
    settings = Path(os.environ["XDG_CONFIG_HOME"]) / "blobsync" / "settings.json"
    raw = json.loads(settings.read_text())
    raw["pairs"] = [{**pair.__dict__, "mode": pair.mode.value, "remote_deletes": "apply"}]
    settings.write_text(json.dumps(raw))
    pairs = blobsync("pairs")
    assert "Old\t" in pairs.stdout and "Sign-in expired — update the SAS" in pairs.stdout

    renewed = blobsync(
        "account", "add", "old", "--sas", "--secret-stdin", "--replace",
        stdin=sas_url(azurite, container_name, "rwdlc", now + dt.timedelta(days=90)),
    )  # fmt: skip
    assert renewed.returncode == 0, renewed.stderr
    again = blobsync("sync", str(folder), container_name, "--account", "old")
    assert again.returncode == 0 and again.stderr == "", again.stderr
    assert "Old\t" in blobsync("pairs").stdout and "Sign-in expired" not in blobsync("pairs").stdout
