"""Adding accounts through the dialog, against a real Azurite and an in-memory keyring
(``gui_keyring``, an autouse fixture of tests/gui/conftest.py)."""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLineEdit

from blobsync.core.app import secrets
from blobsync.core.app.accounts import add_account
from blobsync.core.app.emulator import Azurite, free_port
from blobsync.core.app.settings import (
    AccountConfig,
    AppConfig,
    SettingsStore,
    load_config,
    save_config,
)
from blobsync.core.credentials import AZURITE_KEY, Credentials, SecretKind
from blobsync.gui.widgets.account_dialog import AccountDialog, AccountKind

pytestmark = [pytest.mark.gui, pytest.mark.azurite]

WRONG_KEY = base64.b64encode(b"not the right key at all, but valid base64 " * 2).decode()


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


def make_dialog(qtbot, config: AppConfig) -> AccountDialog:  # type: ignore[no-untyped-def]
    """The dialog saving through the application layer, settings kept in ``config``."""
    settings = SettingsStore(config, save=lambda _c: None)

    def save_account(label: str, creds: Credentials, allow_plaintext: bool) -> AccountConfig:
        return add_account(settings, label, creds, allow_plaintext=allow_plaintext)

    dialog = AccountDialog(config, save_account)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def fill(dialog: AccountDialog, kind: AccountKind, name: str, url: str, secret: str) -> None:
    dialog.set_kind(kind)
    dialog.findChild(QLineEdit, "nameEdit").setText(name)
    if url:
        dialog.findChild(QLineEdit, "urlEdit").setText(url)
    if secret:
        dialog.findChild(QLineEdit, "secretEdit").setText(secret)


def test_connection(qtbot, dialog: AccountDialog) -> str:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.status_label.property("state") in ("ok", "error"), timeout=30000)
    return str(dialog.status_label.text())


test_connection.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def save(qtbot, dialog: AccountDialog) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton
    )


def assert_saved_without_secret(config: AppConfig, secret: str) -> None:
    """The account is in settings.json, and the secret is nowhere in it."""
    save_config(config)
    from blobsync.core.app.settings import config_dir

    text = (config_dir() / "settings.json").read_text()
    assert secret not in text
    assert load_config().accounts.keys() == config.accounts.keys()


def test_add_by_connection_string(qtbot, azurite: Azurite, gui_keyring: Any) -> None:  # type: ignore[no-untyped-def]
    config = AppConfig()
    dialog = make_dialog(qtbot, config)
    assert dialog.findChild(QLineEdit, "secretEdit").echoMode() == QLineEdit.EchoMode.Password
    fill(dialog, AccountKind.CONNECTION_STRING, "emulator-cs", "", azurite.connection_string)
    assert not dialog.url_edit.isEnabled()
    assert test_connection(qtbot, dialog).startswith("Connection works")
    save(qtbot, dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted
    account = config.accounts["emulator-cs"]
    assert dialog.saved_account is account
    assert account.kind is SecretKind.CONNECTION_STRING
    assert account.account_url == azurite.blob_endpoint
    assert gui_keyring.items[("blobsync", "emulator-cs")] == azurite.connection_string
    assert secrets.load_secret("emulator-cs") == azurite.connection_string
    assert_saved_without_secret(config, AZURITE_KEY)


def test_add_by_name_and_key(qtbot, azurite: Azurite, gui_keyring: Any) -> None:  # type: ignore[no-untyped-def]
    config = AppConfig()
    dialog = make_dialog(qtbot, config)
    fill(dialog, AccountKind.KEY, "emulator-key", azurite.blob_endpoint, AZURITE_KEY)
    assert test_connection(qtbot, dialog) == "Connection works: devstoreaccount1 answered."
    save(qtbot, dialog)
    account = config.accounts["emulator-key"]
    assert (account.kind, account.account_name) == (SecretKind.ACCOUNT_KEY, "devstoreaccount1")
    assert account.account_url == azurite.blob_endpoint
    assert not account.plaintext_secret_file
    # The emulator's published key is stored nowhere (the one emulator rule).
    assert ("blobsync", "emulator-key") not in gui_keyring.items and not account.has_secret
    assert_saved_without_secret(config, AZURITE_KEY)


def test_bare_account_name_becomes_azure_url(qtbot, gui_keyring: Any) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog(qtbot, AppConfig())
    fill(dialog, AccountKind.KEY, "prod", "mystorage", WRONG_KEY)
    creds = dialog.credentials()
    assert creds.account_url == "https://mystorage.blob.core.windows.net"
    assert creds.account_name == "mystorage"


def test_add_with_azurite_preset(qtbot, azurite: Azurite, gui_keyring: Any) -> None:  # type: ignore[no-untyped-def]
    config = AppConfig()
    dialog = make_dialog(qtbot, config)
    dialog.set_kind(AccountKind.AZURITE)
    secret_edit = dialog.findChild(QLineEdit, "secretEdit")
    assert secret_edit.text() == AZURITE_KEY and not secret_edit.isEnabled()
    assert secret_edit.echoMode() == QLineEdit.EchoMode.Password
    assert dialog.url_edit.text() == "http://127.0.0.1:10000/devstoreaccount1"
    assert dialog.name_edit.text() == "azurite"
    dialog.url_edit.setText(azurite.blob_endpoint)  # the fixture's port, not 10000
    assert test_connection(qtbot, dialog).startswith("Connection works")
    save(qtbot, dialog)
    account = config.accounts["azurite"]
    assert account.account_url == azurite.blob_endpoint
    assert account.kind is SecretKind.ACCOUNT_KEY

    # a second preset gets a free name
    second = make_dialog(qtbot, config)
    second.set_kind(AccountKind.AZURITE)
    assert second.name_edit.text() == "azurite-2"


def test_wrong_key_says_so_without_the_key(qtbot, azurite: Azurite, gui_keyring: Any) -> None:  # type: ignore[no-untyped-def]
    config = AppConfig()
    dialog = make_dialog(qtbot, config)
    fill(dialog, AccountKind.KEY, "bad", azurite.blob_endpoint, WRONG_KEY)
    text = test_connection(qtbot, dialog)
    assert dialog.status_label.property("state") == "error"
    assert "Authentication failed" in text and "key is wrong" in text
    for shown in (text, dialog.windowTitle(), dialog.keyring_label.text()):
        assert WRONG_KEY not in shown and WRONG_KEY[:12] not in shown


def test_closed_port_says_unreachable(qtbot, gui_keyring: Any) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog(qtbot, AppConfig())
    url = f"http://127.0.0.1:{free_port()}/devstoreaccount1"
    fill(dialog, AccountKind.KEY, "offline", url, AZURITE_KEY)
    text = test_connection(qtbot, dialog)
    assert dialog.status_label.property("state") == "error"
    assert "Connection failed" in text and "unreachable" in text
    assert AZURITE_KEY not in text
    assert dialog.test_button.isEnabled()


def test_expired_sas_is_explained(qtbot, azurite: Azurite, gui_keyring: Any) -> None:  # type: ignore[no-untyped-def]
    from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

    def sas_url(expiry: datetime) -> str:
        token = generate_account_sas(
            "devstoreaccount1",
            AZURITE_KEY,
            resource_types=ResourceTypes(service=True, container=True, object=True),
            permission=AccountSasPermissions(read=True, write=True, list=True, create=True),
            expiry=expiry,
        )
        return f"{azurite.blob_endpoint}?{token}"

    config = AppConfig()
    dialog = make_dialog(qtbot, config)
    expired = sas_url(datetime.now(UTC) - timedelta(hours=1))
    fill(dialog, AccountKind.SAS, "sas", "", expired)
    text = test_connection(qtbot, dialog)
    assert "expired" in text and "sig=" not in text

    valid = sas_url(datetime.now(UTC) + timedelta(hours=1))
    dialog.secret_edit.setText(valid)
    assert test_connection(qtbot, dialog).startswith("Connection works")
    save(qtbot, dialog)
    account = config.accounts["sas"]
    assert account.kind is SecretKind.SAS and account.account_url == azurite.blob_endpoint
    stored = gui_keyring.items[("blobsync", "sas")]
    assert "sig=" in stored and not stored.startswith("http")
    assert_saved_without_secret(config, stored.split("sig=")[1].split("&")[0])


def test_bad_input_is_refused_in_words(qtbot, gui_keyring: Any) -> None:  # type: ignore[no-untyped-def]
    config = AppConfig()
    dialog = make_dialog(qtbot, config)
    fill(dialog, AccountKind.KEY, "x", "mystorage", "")
    save(qtbot, dialog)
    assert dialog.isVisible() and "Enter the account key" in dialog.status_label.text()
    dialog.secret_edit.setText("not base64!")
    save(qtbot, dialog)
    assert "account key is not valid" in dialog.status_label.text()
    dialog.secret_edit.setText(WRONG_KEY)
    dialog.name_edit.setText("-starts/badly")
    save(qtbot, dialog)
    assert "letters, digits" in dialog.status_label.text()
    assert not config.accounts and not gui_keyring.items


def test_no_keyring_needs_visible_plaintext_opt_in(
    qtbot, azurite: Azurite, no_keyring: None
) -> None:  # type: ignore[no-untyped-def]
    config = AppConfig()
    dialog = make_dialog(qtbot, config)
    assert "No usable OS keyring" in dialog.keyring_label.text()
    check = dialog.plaintext_check
    assert check.objectName() == "plaintextCheck" and check.isVisible() and not check.isChecked()
    assert not dialog.plaintext_warning.isVisible()

    fill(dialog, AccountKind.CONNECTION_STRING, "nokeyring", "", azurite.connection_string)
    save(qtbot, dialog)
    assert dialog.isVisible() and dialog.saved_account is None
    assert "cannot be saved safely" in dialog.status_label.text()
    assert not config.accounts and not secrets.plaintext_file().exists()

    qtbot.mouseClick(check, Qt.MouseButton.LeftButton, pos=QPoint(8, check.height() // 2))
    assert check.isChecked()
    assert dialog.plaintext_warning.isVisible()
    assert "INSECURE" in dialog.plaintext_warning.text()
    save(qtbot, dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted
    account = config.accounts["nokeyring"]
    assert account.plaintext_secret_file
    path = secrets.plaintext_file()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert secrets.load_secret("nokeyring") == azurite.connection_string


def test_azurite_preset_needs_no_keyring_and_follows_the_one_emulator_rule(
    qtbot, azurite: Azurite, no_keyring: None
) -> None:  # type: ignore[no-untyped-def]
    """The emulator's published key is no secret: nothing is stored, anywhere, and the
    account resolves to it by the same rule in the CLI and the app."""
    from blobsync.core.app.accounts import account_credentials

    config = AppConfig()
    dialog = make_dialog(qtbot, config)
    dialog.set_kind(AccountKind.AZURITE)
    dialog.url_edit.setText(azurite.blob_endpoint)
    save(qtbot, dialog)
    assert dialog.result() == QDialog.DialogCode.Accepted
    account = config.accounts["azurite"]
    assert not account.has_secret and not account.plaintext_secret_file
    assert not secrets.plaintext_file().exists()
    assert account_credentials(account).secret == AZURITE_KEY


def test_an_account_whose_test_just_failed_is_not_saved_without_a_word(
    qtbot, azurite: Azurite, gui_keyring: Any
) -> None:  # type: ignore[no-untyped-def]
    config = AppConfig()
    dialog = make_dialog(qtbot, config)
    fill(dialog, AccountKind.KEY, "typo", azurite.blob_endpoint, WRONG_KEY)
    assert "Authentication failed" in test_connection(qtbot, dialog)
    save(qtbot, dialog)
    assert dialog.isVisible() and config.accounts == {}
    assert "The connection test failed" in dialog.status_label.text()
    save_button = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
    assert save_button.text() == "Save anyway"
    # Correcting a field takes the question back; the corrected fields test fine.
    dialog.secret_edit.setText(AZURITE_KEY)
    assert save_button.text() == "Save"
    assert "Connection works" in test_connection(qtbot, dialog)
    save(qtbot, dialog)
    assert not dialog.isVisible() and "typo" in config.accounts


def test_saving_anyway_after_a_failed_test_takes_a_second_click(qtbot, gui_keyring: Any) -> None:  # type: ignore[no-untyped-def]
    config = AppConfig()
    dialog = make_dialog(qtbot, config)
    url = f"http://127.0.0.1:{free_port()}/devstoreaccount1"
    fill(dialog, AccountKind.KEY, "later", url, WRONG_KEY)  # not reachable yet
    assert "Connection failed" in test_connection(qtbot, dialog)
    save(qtbot, dialog)
    assert config.accounts == {}
    save(qtbot, dialog)  # "Save anyway"
    assert not dialog.isVisible() and "later" in config.accounts


def test_a_long_message_never_squeezes_the_fields(qtbot, gui_keyring: Any) -> None:  # type: ignore[no-untyped-def]
    dialog = make_dialog(qtbot, AppConfig())
    before = dialog.secret_edit.height()
    url = f"http://127.0.0.1:{free_port()}/devstoreaccount1"
    fill(dialog, AccountKind.KEY, "offline", url, WRONG_KEY)
    test_connection(qtbot, dialog)
    save(qtbot, dialog)  # the long "Save anyway?" message
    qtbot.wait(50)
    assert dialog.secret_edit.height() >= before
    label = dialog.status_label
    assert label.height() >= label.heightForWidth(label.width())
