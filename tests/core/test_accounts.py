"""The application layer's accounts: one parser for secrets, one emulator rule, one
resolution for both clients, and pair identity that survives a new emulator port."""

from __future__ import annotations

from pathlib import Path

import pytest

from blobsync.core.app.accounts import (
    account_credentials,
    credentials_from_secret,
    label_problem,
    resolve_credentials,
)
from blobsync.core.app.emulator import DEMO_ACCOUNT_NAME, demo_account
from blobsync.core.app.pairs import account_identity, pair_key, state_path
from blobsync.core.app.settings import AccountConfig, AppConfig
from blobsync.core.credentials import AZURITE_KEY, SecretKind
from blobsync.core.errors import ConfigError

KEY = "ZmFrZS1rZXktdGhhdC1tdXN0LW5ldmVyLWJlLXByaW50ZWQ="
SAS = "sv=2024-08-04&ss=b&srt=co&sp=rwdl&se=2030-01-01T00%3A00%3A00Z&sig=abc%2Bdef%3D"


def no_keyring(label: str) -> str:
    raise ConfigError(f"No OS keyring (asked for {label}).")


@pytest.mark.parametrize(
    ("kind", "secret", "url", "expected_url", "expected_name"),
    [
        (
            SecretKind.CONNECTION_STRING,
            f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={KEY};EndpointSuffix=core.windows.net",
            "",
            "https://acct.blob.core.windows.net",
            "acct",
        ),
        (SecretKind.ACCOUNT_KEY, KEY, "acct", "https://acct.blob.core.windows.net", "acct"),
        (
            SecretKind.ACCOUNT_KEY,
            KEY,
            "http://127.0.0.1:10000/devstoreaccount1",
            "http://127.0.0.1:10000/devstoreaccount1",
            "devstoreaccount1",
        ),
        (
            SecretKind.SAS,
            f"https://acct.blob.core.windows.net/?{SAS}",
            "",
            "https://acct.blob.core.windows.net",
            "acct",
        ),
        (
            SecretKind.SAS,
            SAS,
            "https://acct.blob.core.windows.net",
            "https://acct.blob.core.windows.net",
            "acct",
        ),
        (SecretKind.SAS, "?" + SAS, "acct", "https://acct.blob.core.windows.net", "acct"),
    ],
)
def test_one_parser_for_every_kind_of_secret(
    kind: SecretKind, secret: str, url: str, expected_url: str, expected_name: str
) -> None:
    creds = credentials_from_secret(kind, secret, url)
    assert (creds.account_url, creds.account_name, creds.kind) == (
        expected_url,
        expected_name,
        kind,
    )
    assert secret.lstrip("?") in creds.secret or creds.secret in secret


def test_a_sas_url_and_a_token_with_its_url_are_the_same_credentials() -> None:
    whole = credentials_from_secret(SecretKind.SAS, f"https://acct.blob.core.windows.net/?{SAS}")
    parts = credentials_from_secret(SecretKind.SAS, SAS, "https://acct.blob.core.windows.net")
    assert whole == parts


@pytest.mark.parametrize(
    ("kind", "secret", "url", "words"),
    [
        (SecretKind.ACCOUNT_KEY, "not base64!", "acct", "not valid"),
        (SecretKind.ACCOUNT_KEY, KEY, "", "account name or URL"),
        (SecretKind.SAS, SAS, "", "needs the account URL"),
        (SecretKind.SAS, "https://acct.blob.core.windows.net/?sv=1", "", "no signature"),
        (SecretKind.CONNECTION_STRING, "AccountName=acct", "", "neither an AccountKey"),
        (SecretKind.CONNECTION_STRING, "   ", "", "No secret"),
    ],
)
def test_bad_secrets_get_a_sentence_without_the_secret(
    kind: SecretKind, secret: str, url: str, words: str
) -> None:
    with pytest.raises(ConfigError, match=words) as info:
        credentials_from_secret(kind, secret, url)
    if len(secret.strip()) > 4:
        assert secret not in info.value.message


def test_the_demo_account_and_a_sas_url_account_resolve_alike_everywhere() -> None:
    """The CLI (resolve_credentials with --account) and the app (account_credentials, via
    AppService.credentials) run the same code: same answer for the demo account (no
    keyring at all) and for a SAS URL saved as the secret."""
    demo = demo_account(12345)
    sas_account = AccountConfig(
        "work", "https://acct.blob.core.windows.net", "acct", SecretKind.SAS
    )
    config = AppConfig(accounts={demo.name: demo, sas_account.name: sas_account})

    def loader(label: str) -> str:
        assert label == "work", "the demo account must not touch the keyring"
        return f"https://acct.blob.core.windows.net/?{SAS}"

    for label in (DEMO_ACCOUNT_NAME, "work"):
        cli = resolve_credentials(config, label, {}, load=loader)
        app = account_credentials(config.accounts[label], loader)
        assert cli == app
    assert account_credentials(demo, no_keyring).secret == AZURITE_KEY
    assert account_credentials(sas_account, loader).secret == SAS


def test_only_the_loopback_emulator_gets_the_published_key() -> None:
    remote = AccountConfig(
        "remote", "https://devstoreaccount1.example.com", "devstoreaccount1", SecretKind.ACCOUNT_KEY
    )
    with pytest.raises(ConfigError, match="No OS keyring"):
        account_credentials(remote, no_keyring)
    legacy_demo = AccountConfig(  # saved before has_secret existed: nothing in the keyring
        "Local emulator (Azurite)",
        "http://localhost:10000/devstoreaccount1",
        "devstoreaccount1",
        SecretKind.ACCOUNT_KEY,
    )
    assert account_credentials(legacy_demo, no_keyring).secret == AZURITE_KEY


def test_labels() -> None:
    assert label_problem("work") is None
    assert label_problem(DEMO_ACCOUNT_NAME) is None
    for bad in ("", "../evil", "-x", "a/b", " lead", "x" * 65):
        assert label_problem(bad), bad


def test_pair_identity_survives_a_new_emulator_port_but_not_another_account(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "f"
    a = pair_key(folder, "http://127.0.0.1:10000/devstoreaccount1", "devstoreaccount1", "c")
    b = pair_key(folder, "http://localhost:10001/devstoreaccount1", "devstoreaccount1", "c")
    assert a == b
    assert account_identity("https://ACCT.blob.core.windows.net:443", "acct") == (
        "acct.blob.core.windows.net/acct"
    )
    other = pair_key(folder, "https://acct.blob.core.windows.net", "acct", "c")
    assert other != a
    assert pair_key(folder, "https://acct.blob.core.windows.net", "acct", "d") != other


def test_an_old_url_keyed_state_database_is_moved_to_the_identity_name(tmp_path: Path) -> None:
    import hashlib
    import os

    folder, url, container = tmp_path / "f", "http://127.0.0.1:10000/devstoreaccount1", "c"
    old_key = hashlib.sha256(f"{os.path.abspath(folder)}\0{url}\0{container}".encode()).hexdigest()[
        :16
    ]
    old = state_path(folder, url, "devstoreaccount1", container).with_name(f"{old_key}.sqlite3")
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_bytes(b"state")
    Path(str(old) + "-wal").write_bytes(b"wal")
    new = state_path(folder, url, "devstoreaccount1", container)
    assert new.read_bytes() == b"state" and Path(str(new) + "-wal").read_bytes() == b"wal"
    assert not old.exists()
    # and the next port finds the same database
    assert (
        state_path(folder, "http://127.0.0.1:10007/devstoreaccount1", "devstoreaccount1", container)
        == new
    )
