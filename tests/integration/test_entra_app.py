"""The app's *Sign in with Microsoft* end to end: the account dialog runs the real
sign-in (azure-identity's device-code flow against the stand-in Entra ID of
:mod:`.fake_entra`, no browser), saves the account without any secret, and the
controller syncs a pair with the OAuth Azurite on the live token credential. After a
restart with tokens kept in memory only, the pair's state says to sign in again.

Not tested here (it cannot run without Microsoft): the real sign-in pages, a real
browser, MFA and conditional access.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AzureNamedKeyCredential
from azure.storage.blob import BlobServiceClient
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import QDialogButtonBox

from blobsync.core.app import entra as app_entra
from blobsync.core.app.service import AppService
from blobsync.core.app.settings import AppConfig, PairConfig, SettingsStore
from blobsync.core.app.status import PairState
from blobsync.core.credentials import AZURITE_KEY, SecretKind
from blobsync.gui.controller import Controller
from blobsync.gui.main_window import MainWindow
from blobsync.gui.widgets.account_dialog import AccountDialog, AccountKind

from .conftest import OAuthAzurite
from .fake_entra import TENANT, USERNAME, FakeEntra

pytestmark = [pytest.mark.azurite, pytest.mark.gui]

NO_KEYRING = "no keyring in this test"


@pytest.fixture
def signer(entra: FakeEntra, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The app layer's real ``sign_in``, its factories pointed at the stand-in Entra ID;
    the "user" enters the code a moment after the dialog showed it."""
    from blobsync.core.remote import azure

    real_sign_in, real_restore = azure.sign_in, azure.restore_sign_in

    def sign_in(**kwargs: Any) -> Any:
        show = kwargs.pop("on_device_code")

        def on_device_code(prompt: Any) -> None:
            show(prompt)
            threading.Timer(0.5, entra.approved.set).start()

        kwargs["browser"] = False  # no display in this test: the device code, as here
        return real_sign_in(
            on_device_code=on_device_code,
            authority=entra.authority,
            disable_instance_discovery=True,
            cache_check=lambda: NO_KEYRING,
            **kwargs,
        )

    def restore(record: str, **kwargs: Any) -> Any:
        return real_restore(
            record, disable_instance_discovery=True, cache_check=lambda: NO_KEYRING, **kwargs
        )

    monkeypatch.setattr(azure, "sign_in", sign_in)
    monkeypatch.setattr(azure, "restore_sign_in", restore)
    return app_entra.sign_in


def test_sign_in_in_the_dialog_then_the_pair_syncs_with_the_token(
    qtbot: Any,
    signer: Any,
    entra: FakeEntra,
    azurite_oauth: OAuthAzurite,
    container_name: str,
    tmp_path: Path,
) -> None:
    config = AppConfig()
    saved: list[AppConfig] = []
    controller = Controller(config, schedule=False, save=saved.append)
    window = MainWindow(controller)
    qtbot.addWidget(window)
    try:
        dialog = AccountDialog(config, window._save_account, window, signer=signer)
        qtbot.addWidget(dialog)
        dialog.show()
        dialog.set_kind(AccountKind.ENTRA)
        dialog.name_edit.setText("corp")
        dialog.url_edit.setText(azurite_oauth.blob_endpoint)
        dialog.entra_panel.tenant_edit.setText(TENANT)
        qtbot.mouseClick(dialog.entra_panel.sign_in_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(dialog.entra_panel.code_label.isVisible, timeout=20000)
        assert "enter the code <b>BLOB-SYNC</b>" in dialog.entra_panel.code_label.text()
        qtbot.waitUntil(lambda: dialog.entra_panel.credentials is not None, timeout=30000)
        assert dialog.entra_panel.status.text().startswith(f"Signed in as {USERNAME}.")

        dialog.container_edit.setText(container_name)
        BlobServiceClient(
            azurite_oauth.blob_endpoint,
            credential=AzureNamedKeyCredential("devstoreaccount1", AZURITE_KEY),
            connection_verify=str(azurite_oauth.cert),
        ).create_container(container_name)
        dialog.test_connection()
        qtbot.waitUntil(lambda: dialog.permission_check.report is not None, timeout=20000)
        assert dialog.permission_check.report.ok  # Azurite grants every role

        qtbot.mouseClick(
            dialog.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton
        )
        assert not dialog.isVisible()
        account = config.accounts["corp"]
        assert account.kind is SecretKind.ENTRA and USERNAME in account.sign_in_record
        assert saved, "the account was not saved at once"

        folder = tmp_path / "docs"
        folder.mkdir()
        (folder / "hello.txt").write_bytes(b"signed in from the app")
        pair = controller.add_pair(PairConfig(str(folder), "corp", container_name))
        polls = sum(entra.grants.values())
        assert controller.sync_now(pair.pair_id)
        qtbot.waitUntil(
            lambda: (
                controller.status(pair.pair_id).last_result is not None
                or controller.status(pair.pair_id).failure is not None
            ),
            timeout=30000,
        )
        status = controller.status(pair.pair_id)
        assert status.failure is None, status.failure
        assert status.last_result is not None and status.last_result.uploaded == 1
        assert sum(entra.grants.values()) - polls <= 1  # the live sign-in, not a new one
        assert controller.pair_state(pair.pair_id) is PairState.IDLE
    finally:
        controller.shutdown()
        controller.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

    # A restart: tokens were kept in memory only, so the pair asks to sign in again.
    restarted = Controller(
        service=AppService(SettingsStore(config, save=lambda _c: None)), schedule=False
    )
    again = MainWindow(restarted)
    qtbot.addWidget(again)
    try:
        pair_id = restarted.pairs()[0].pair_id
        assert restarted.sync_now(pair_id)
        qtbot.waitUntil(lambda: restarted.status(pair_id).failure is not None, timeout=30000)
        assert restarted.pair_state(pair_id) is PairState.SIGN_IN_EXPIRED
        model = again.pairs_view.model
        assert model.data(model.index(0, 3)) == "Sign-in expired — sign in with Microsoft again"
    finally:
        restarted.shutdown()
        restarted.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
