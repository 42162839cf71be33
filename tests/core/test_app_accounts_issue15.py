"""The application layer's part of issue 15, without network: Entra ID accounts saved
without a secret, SAS validity saved with the account and its state on a fake clock, a
container SAS keeping its container, pairs keeping their delete policy, and the pair
and app states "SAS expires soon" / "Sign-in expired"."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from blobsync.core.app import entra
from blobsync.core.app.accounts import (
    ENV_ACCOUNT_URL,
    account_credentials,
    add_account,
    resolve_credentials,
)
from blobsync.core.app.expiry import account_expiry, expiry_words
from blobsync.core.app.service import AppService
from blobsync.core.app.settings import (
    AccountConfig,
    AppConfig,
    PairConfig,
    SettingsStore,
    load_config,
    save_config,
)
from blobsync.core.app.status import Failure, Overview, PairState, PairStatus
from blobsync.core.cli.output import failure_line
from blobsync.core.credentials import (
    CredentialExpiry,
    ExpiryState,
    SecretKind,
    from_entra,
    from_sas_url,
)
from blobsync.core.errors import AuthError, ConfigError, SignInExpired
from blobsync.core.models import Issue, IssueKind, RemoteDeletePolicy

RECORD = json.dumps({"username": "ada@contoso.example", "tenantId": "t-1"})
EXPIRES = dt.datetime(2031, 5, 1, 12, 0, tzinfo=dt.UTC)
SAS = (
    "sv=2024-08-04&sr=c&sp=rwl&st=2031-04-01T00%3A00%3A00Z&se=2031-05-01T12%3A00%3A00Z"
    "&sig=abc%2Bdef%3D"
)


def no_keyring(*_args: object, **_kwargs: object) -> str:
    raise AssertionError("the keyring must not be used")


def settings() -> SettingsStore:
    return SettingsStore(AppConfig(), save=lambda _c: None)


def test_an_entra_account_keeps_its_sign_in_record_and_no_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from blobsync.core.app import accounts

    monkeypatch.setattr(accounts, "store_secret", no_keyring)
    store = settings()
    token = object()
    creds = from_entra(
        "https://corp.blob.core.windows.net", token, tenant_id="t-1", sign_in_record=RECORD
    )
    account = add_account(store, "corp", creds)
    assert (account.kind, account.has_secret, account.plaintext_secret_file) == (
        SecretKind.ENTRA,
        False,
        False,
    )
    assert (account.sign_in_record, account.tenant_id) == (RECORD, "t-1")
    assert entra.signed_in_user(account.sign_in_record) == "ada@contoso.example"
    assert entra.signed_in_user("not json") == ""
    assert "token" not in json.dumps(account.__dict__, default=str).lower()

    service = AppService(store, secret_loader=no_keyring)
    service.add_account("corp2", creds)
    # The live credential is reused; nothing is restored or read from a keyring.
    assert service.credentials("corp2").token_credential is token
    assert service.resolve_credentials("corp2").sign_in_record == RECORD


def test_settings_keep_the_new_fields(tmp_path: Path) -> None:
    config = AppConfig(
        accounts={
            "corp": AccountConfig(
                "corp",
                "https://corp.blob.core.windows.net",
                "corp",
                SecretKind.ENTRA,
                has_secret=False,
                sign_in_record=RECORD,
                tenant_id="t-1",
                client_id="c-1",
            ),
            "shared": AccountConfig(
                "shared",
                "https://acct.blob.core.windows.net",
                "acct",
                SecretKind.SAS,
                sas_starts="2031-04-01T00:00:00+00:00",
                sas_expires=EXPIRES.isoformat(),
                sas_container="box",
            ),
        },
        pairs=[
            PairConfig(
                str(tmp_path / "a"),
                "shared",
                "box",
                name="A",
                remote_deletes=RemoteDeletePolicy.KEEP_AS_ISSUES,
            )
        ],
    )
    save_config(config)
    loaded = load_config()
    assert loaded.accounts == config.accounts
    assert loaded.pairs[0].remote_deletes is RemoteDeletePolicy.KEEP_AS_ISSUES
    raw = json.loads((Path(tmp_path / "xdg-config") / "blobsync" / "settings.json").read_text())
    del raw["pairs"][0]["remote_deletes"]  # a file written before the field existed
    (tmp_path / "xdg-config" / "blobsync" / "settings.json").write_text(json.dumps(raw))
    assert load_config().pairs[0].remote_deletes is RemoteDeletePolicy.APPLY
    service = AppService(SettingsStore(loaded, save=lambda _c: None))
    assert service.options(loaded.pairs[0]).remote_deletes is RemoteDeletePolicy.KEEP_AS_ISSUES


def test_a_sas_account_saves_its_validity_and_its_container(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from blobsync.core.app import accounts

    kept: dict[str, str] = {}
    monkeypatch.setattr(
        accounts,
        "store_secret",
        lambda label, secret, allow_plaintext: kept.update({label: secret}),
    )
    store = settings()
    account = add_account(
        store, "shared", from_sas_url(f"https://acct.blob.core.windows.net/box?{SAS}")
    )
    assert account.sas_starts == "2031-04-01T00:00:00+00:00"
    assert account.sas_expires == "2031-05-01T12:00:00+00:00"
    assert account.sas_container == "box"
    # The keyring holds the token only; the container comes back from the settings.
    assert "box" not in kept["shared"]
    restored = account_credentials(account, kept.__getitem__)
    assert restored.sas_container == "box" and restored.secret == SAS


@pytest.mark.parametrize(
    ("now", "state", "words"),
    [
        (EXPIRES - dt.timedelta(days=40), ExpiryState.NOT_YET_VALID, "The SAS is not valid yet."),
        (EXPIRES - dt.timedelta(days=8), ExpiryState.VALID, ""),
        (
            EXPIRES - dt.timedelta(days=6, hours=23),
            ExpiryState.EXPIRES_SOON,
            "The SAS expires on 2031-05-01 12:00 UTC (in 7 days); update it before then.",
        ),
        (
            EXPIRES - dt.timedelta(hours=30),
            ExpiryState.EXPIRES_SOON,
            "The SAS expires on 2031-05-01 12:00 UTC (in 30 hours); update it before then.",
        ),
        (
            EXPIRES - dt.timedelta(minutes=20),
            ExpiryState.EXPIRES_SOON,
            "The SAS expires on 2031-05-01 12:00 UTC (in less than an hour); update it before "
            "then.",
        ),
        (
            EXPIRES,
            ExpiryState.EXPIRED,
            "Sign-in expired — update the SAS (it expired on 2031-05-01 12:00 UTC).",
        ),
    ],
)
def test_account_expiry_on_a_fake_clock(now: dt.datetime, state: ExpiryState, words: str) -> None:
    account = AccountConfig(
        "shared", "https://acct.blob.core.windows.net", "acct", SecretKind.SAS,
        sas_starts="2031-04-01T00:00:00+00:00", sas_expires=EXPIRES.isoformat(),
    )  # fmt: skip
    expiry = account_expiry(account, now)
    assert expiry.state is state
    assert expiry_words(expiry) == words
    service = AppService(
        SettingsStore(AppConfig(accounts={"shared": account}), save=lambda _c: None)
    )
    assert service.account_expiry("shared", now) == expiry


def test_no_sas_no_expiry_and_a_hand_edited_time_says_nothing() -> None:
    key = AccountConfig("k", "https://a.blob.core.windows.net", "a", SecretKind.ACCOUNT_KEY)
    assert account_expiry(key).state is ExpiryState.UNKNOWN
    broken = AccountConfig(
        "s", "https://a.blob.core.windows.net", "a", SecretKind.SAS, sas_expires="next tuesday"
    )
    assert account_expiry(broken).state is ExpiryState.UNKNOWN


def test_an_account_saved_before_sas_times_were_kept_gets_them_when_read() -> None:
    saves: list[AppConfig] = []
    old = AccountConfig("shared", "https://acct.blob.core.windows.net", "acct", SecretKind.SAS)
    service = AppService(
        SettingsStore(AppConfig(accounts={"shared": old}), save=saves.append),
        secret_loader=lambda _label: SAS,
    )
    assert service.account_expiry("shared").state is ExpiryState.UNKNOWN
    service.credentials("shared")
    assert old.sas_expires == EXPIRES.isoformat() and len(saves) == 1
    service.credentials("shared")
    assert len(saves) == 1  # once


def test_the_environment_can_name_an_account_to_sign_in_to() -> None:
    creds = resolve_credentials(AppConfig(), None, {ENV_ACCOUNT_URL: "corp"}, load=no_keyring)
    assert creds.kind is SecretKind.ENTRA
    assert creds.account_url == "https://corp.blob.core.windows.net"
    assert creds.token_credential is not None  # DefaultAzureCredential, asked at first use
    with pytest.raises(ConfigError, match="https://"):
        resolve_credentials(AppConfig(), None, {ENV_ACCOUNT_URL: "http://127.0.0.1:1/x"})


def test_a_bad_saved_sign_in_is_one_sentence() -> None:
    account = AccountConfig(
        "corp", "https://corp.blob.core.windows.net", "corp", SecretKind.ENTRA,
        has_secret=False, sign_in_record="{broken",
    )  # fmt: skip
    with pytest.raises(AuthError, match="sign in again"):
        account_credentials(account, no_keyring)


def soon() -> CredentialExpiry:
    return CredentialExpiry(ExpiryState.EXPIRES_SOON, EXPIRES, dt.timedelta(days=3))


def gone() -> CredentialExpiry:
    return CredentialExpiry(ExpiryState.EXPIRED, EXPIRES, dt.timedelta(minutes=-1))


def test_pair_states_for_expiry() -> None:
    assert PairStatus(expiry=soon()).state(paused=False) is PairState.EXPIRES_SOON
    assert PairStatus(expiry=soon()).state(paused=True) is PairState.EXPIRES_SOON
    assert PairStatus(expiry=gone()).state(paused=False) is PairState.SIGN_IN_EXPIRED
    issue = Issue("a", IssueKind.CONFLICT, "both changed")
    assert PairStatus(expiry=soon(), issues=[issue]).state(False) is PairState.ATTENTION
    assert PairStatus(expiry=gone(), syncing=True).state(False) is PairState.SYNCING
    failure = Failure.from_exception(SignInExpired("Sign-in expired — update the SAS."))
    assert failure.sign_in_expired and not failure.offline
    assert PairStatus(failure=failure).state(False) is PairState.SIGN_IN_EXPIRED
    other = Failure.from_exception(AuthError("The account key is wrong."))
    assert not other.sign_in_expired
    assert PairStatus(failure=other).state(False) is PairState.ERROR

    overview = Overview.of(False, [PairStatus(failure=failure), PairStatus(expiry=soon())])
    assert (overview.expired, overview.expiring, overview.errors) == (1, 1, 0)
    assert overview.state() is PairState.SIGN_IN_EXPIRED
    assert "Sign-in expired" in overview.error_message
    assert Overview.of(False, [PairStatus(expiry=soon())]).state() is PairState.EXPIRES_SOON
    assert Overview.of(False, [PairStatus(issues=[issue]), PairStatus(expiry=soon())]).state() is (
        PairState.ATTENTION
    )


def test_the_cli_does_not_repeat_a_title_the_sentence_starts_with() -> None:
    expired = SignInExpired("Sign-in expired — update the SAS.")
    assert failure_line(expired, expired.message) == "blobsync: Sign-in expired — update the SAS."
    wrong = AuthError("The account key is wrong.")
    assert failure_line(wrong, wrong.message) == (
        "blobsync: Authentication failed: The account key is wrong."
    )


def test_rehydrate_refuses_what_the_last_sync_did_not_see_archived(tmp_path: Path) -> None:
    account = AccountConfig(
        "k", "http://127.0.0.1:9/devstoreaccount1", "devstoreaccount1", SecretKind.ACCOUNT_KEY,
        has_secret=False,
    )  # fmt: skip
    pair = PairConfig(str(tmp_path / "f"), "k", "box")
    service = AppService(SettingsStore(AppConfig(accounts={"k": account}, pairs=[pair])))
    assert service.archived(pair) == []  # never synced: nothing known, no database made
    with pytest.raises(ConfigError, match="not among the archived blobs"):
        service.rehydrate(pair, "photo.jpg")


def test_replacing_an_account_keeps_its_name_and_refuses_another_storage_account() -> None:
    store = settings()
    kept: dict[str, str] = {}

    def loader(label: str) -> str:
        return kept[label]

    from blobsync.core.app import accounts

    original = accounts.store_secret
    try:
        accounts.store_secret = lambda label, secret, allow_plaintext: kept.update(  # type: ignore[assignment]
            {label: secret}
        )
        service = AppService(store, secret_loader=loader)
        service.add_account("shared", from_sas_url(f"https://acct.blob.core.windows.net/box?{SAS}"))
        newer = SAS.replace("2031-05-01", "2032-05-01")
        service.update_account(
            "shared",
            from_sas_url(f"https://acct.blob.core.windows.net/box?{newer}"),
            same_storage_account=True,
        )
        assert store.config.accounts["shared"].sas_expires.startswith("2032-05-01")
        assert kept["shared"] == newer
        with pytest.raises(ConfigError, match="not acct"):
            service.update_account(
                "shared",
                from_sas_url(f"https://other.blob.core.windows.net/box?{SAS}"),
                same_storage_account=True,
            )
        # A rename keeps what the settings know about the SAS (its expiry warning).
        original_load = accounts.load_secret
        original_delete = accounts.delete_secret
        accounts.load_secret = loader  # type: ignore[assignment]
        accounts.delete_secret = kept.pop  # type: ignore[assignment]
        try:
            renamed = service.rename_account("shared", "team")
        finally:
            accounts.load_secret = original_load  # type: ignore[assignment]
            accounts.delete_secret = original_delete  # type: ignore[assignment]
        assert renamed.sas_expires.startswith("2032-05-01") and renamed.sas_container == "box"
        assert kept == {"team": newer}
    finally:
        accounts.store_secret = original  # type: ignore[assignment]
