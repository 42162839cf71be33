"""The app's faces of issue 15: *Sign in with Microsoft* in the account dialog (a fake
sign-in here; the real one against a stand-in Entra ID is in
tests/integration/test_entra_app.py), the permission check after *Test connection* and
in the pair dialog (Azurite SAS tokens), the SAS expiry warning with a fake clock, the
archived-blob state with *Rehydrate*, and *Copy link* (the clipboard gets a URL that
downloads with plain HTTP)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.storage.blob import BlobServiceClient, generate_container_sas
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDialogButtonBox, QMenu

from blobsync.core.app.accounts import add_account
from blobsync.core.app.emulator import Azurite
from blobsync.core.app.service import AppService
from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig, SettingsStore
from blobsync.core.app.status import PairState
from blobsync.core.credentials import AZURITE_ACCOUNT, AZURITE_KEY, SecretKind, from_entra
from blobsync.core.errors import AuthReason, SignInExpired
from blobsync.core.models import IssueKind, RemoteDeletePolicy, SyncMode
from blobsync.core.remote.azure import DeviceCodePrompt, TokenCacheChoice, TokenCacheMode
from blobsync.core.remote.base import LinkDuration
from blobsync.gui.controller import Controller
from blobsync.gui.tray import tray_look
from blobsync.gui.widgets.account_dialog import AccountDialog, AccountKind
from blobsync.gui.widgets.pair_dialog import PairDialog

pytestmark = pytest.mark.gui

USER = "ada@contoso.example"
RECORD = '{"username": "ada@contoso.example", "tenantId": "t-1", "homeAccountId": "x"}'


def press_save(qtbot, dialog) -> None:  # type: ignore[no-untyped-def]
    save = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)


# ---- Sign in with Microsoft --------------------------------------------------------------


class FakeSignIn:
    """Stands in for ``blobsync.core.app.entra.sign_in``: shows a device code (as when
    no browser can open), waits until the test lets the "user" finish, remembers the
    thread it ran on."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.threads: list[int] = []
        self.credential = object()
        self.calls: list[dict[str, Any]] = []

    def __call__(self, account_url: str, **kwargs: Any) -> tuple[Any, Any]:
        self.threads.append(threading.get_ident())
        self.calls.append({"url": account_url, **kwargs})
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=15)
        kwargs["on_device_code"](
            DeviceCodePrompt("https://microsoft.com/devicelogin", "ABCD-EFGH", expires)
        )
        assert self.release.wait(30)
        creds = from_entra(
            account_url,
            self.credential,
            tenant_id=kwargs.get("tenant_id", ""),
            sign_in_record=RECORD,
        )

        class Done:
            username = USER
            cache = TokenCacheChoice(TokenCacheMode.MEMORY, "no keyring in this test")

        return creds, Done()


def test_sign_in_with_microsoft_shows_the_device_code_and_saves_no_secret(
    qtbot, gui_keyring
) -> None:  # type: ignore[no-untyped-def]
    config = AppConfig()
    service = AppService(SettingsStore(config, save=lambda _c: None))
    signer = FakeSignIn()
    dialog = AccountDialog(
        config,
        lambda label, creds, plain: service.add_account(label, creds, allow_plaintext=plain),
        signer=signer,
    )
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.entra_panel.isVisible() and not dialog.entra_panel.tenant_edit.isVisible()
    dialog.set_kind(AccountKind.ENTRA)
    assert dialog.kind_combo.currentText() == "Sign in with Microsoft (Entra ID)"
    assert dialog.entra_panel.tenant_edit.isVisible() and dialog.entra_panel.client_edit.isVisible()
    assert dialog.entra_panel.isVisible() and not dialog.secret_edit.isVisible()
    assert not dialog.keyring_label.isVisible()

    press_save(qtbot, dialog)  # not signed in yet
    assert dialog.isVisible() and "Sign in with Microsoft first." in dialog.status_label.text()

    dialog.url_edit.setText("corpfiles")
    dialog.entra_panel.tenant_edit.setText("contoso.example")
    qtbot.mouseClick(dialog.entra_panel.sign_in_button, Qt.MouseButton.LeftButton)
    panel = dialog.entra_panel
    qtbot.waitUntil(panel.code_label.isVisible, timeout=10000)
    assert "open" in panel.code_label.text() and "<b>ABCD-EFGH</b>" in panel.code_label.text()
    assert "https://microsoft.com/devicelogin" in panel.code_label.text()
    assert not panel.sign_in_button.isEnabled()  # one sign-in at a time
    qtbot.mouseClick(panel.copy_code_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == "ABCD-EFGH"

    signer.release.set()
    qtbot.waitUntil(lambda: panel.credentials is not None, timeout=10000)
    assert signer.threads and threading.get_ident() not in signer.threads  # off the GUI thread
    assert signer.calls[0]["url"] == "https://corpfiles.blob.core.windows.net"
    assert signer.calls[0]["tenant_id"] == "contoso.example"
    assert not panel.code_label.isVisible()
    assert panel.status.text().startswith(f"Signed in as {USER}.")
    assert "kept in memory only" in panel.status.text()

    dialog.name_edit.setText("corp")
    press_save(qtbot, dialog)
    assert not dialog.isVisible()
    saved = config.accounts["corp"]
    assert (saved.kind, saved.has_secret, saved.sign_in_record) == (SecretKind.ENTRA, False, RECORD)
    assert saved.tenant_id == "contoso.example" and not saved.plaintext_secret_file
    assert gui_keyring.items == {}  # nothing in the keyring
    # The live sign-in is kept for this process: no second sign-in for its engines.
    assert service.credentials("corp").token_credential is signer.credential


def test_a_failed_sign_in_is_one_sentence(qtbot) -> None:  # type: ignore[no-untyped-def]
    from blobsync.core.errors import AuthError

    def refuse(account_url: str, **kwargs: Any) -> Any:
        raise AuthError(
            "Signing in with Microsoft failed: AADSTS50076 MFA required.",
            AuthReason.SIGN_IN_REQUIRED,
        )

    dialog = AccountDialog(AppConfig(), lambda *_a: None, signer=refuse)  # type: ignore[arg-type,return-value]
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.set_kind(AccountKind.ENTRA)
    dialog.url_edit.setText("https://corpfiles.blob.core.windows.net")
    qtbot.mouseClick(dialog.entra_panel.sign_in_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.entra_panel.is_busy(), timeout=10000)
    assert dialog.entra_panel.status.text() == (
        "Authentication failed: Signing in with Microsoft failed: AADSTS50076 MFA required."
    )
    assert dialog.entra_panel.credentials is None


# ---- the permission check ----------------------------------------------------------------


def container_sas_url(azurite: Azurite, container: str, permissions: str) -> str:
    token = generate_container_sas(
        AZURITE_ACCOUNT,
        container,
        account_key=AZURITE_KEY,
        permission=permissions,
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(days=30),
    )
    return f"{azurite.blob_endpoint}/{container}?{token}"


@pytest.mark.azurite
def test_test_connection_shows_which_permission_is_missing(
    qtbot, azurite: Azurite, container_name: str
) -> None:  # type: ignore[no-untyped-def]
    BlobServiceClient.from_connection_string(azurite.connection_string).create_container(
        container_name
    )
    config = AppConfig()
    settings = SettingsStore(config, save=lambda _c: None)
    dialog = AccountDialog(config, lambda label, creds, plain: add_account(settings, label, creds))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.set_kind(AccountKind.SAS)
    dialog.secret_edit.setText(container_sas_url(azurite, container_name, "rwl"))
    dialog.test_connection()
    qtbot.waitUntil(lambda: dialog.status_label.property("state") == "ok", timeout=20000)
    label = dialog.permission_check.label
    assert dialog.permission_check.isVisible()
    assert "list ✓   read ✓   write ✓   delete ✗" in label.text()
    assert f"These credentials may not delete in '{container_name}'" in label.text()
    assert "listed as issues instead" in label.text()
    assert label.property("state") == "warning"
    report = dialog.permission_check.report
    assert report is not None and {p.value for p in report.missing} == {"delete"}

    # A key account with a container named: the same check, everything allowed.
    dialog.set_kind(AccountKind.KEY)
    dialog.url_edit.setText(azurite.blob_endpoint)
    dialog.secret_edit.setText(AZURITE_KEY)
    dialog.container_edit.setText(container_name)
    dialog.test_connection()
    qtbot.waitUntil(lambda: dialog.permission_check.report is not None, timeout=20000)
    assert dialog.permission_check.report.ok
    assert "Everything needed is allowed in" in label.text()


@pytest.mark.azurite
def test_a_pair_whose_account_may_not_delete_keeps_deletions_as_issues(
    qtbot, azurite: Azurite, gui_keyring, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    container = "p" + uuid.uuid4().hex[:12]
    BlobServiceClient.from_connection_string(azurite.connection_string).create_container(container)
    config = AppConfig()
    service = AppService(SettingsStore(config, save=lambda _c: None))
    from blobsync.core.credentials import from_sas_url

    service.add_account("nodelete", from_sas_url(container_sas_url(azurite, container, "rwl")))
    service.add_account("readonly", from_sas_url(container_sas_url(azurite, container, "rl")))

    dialog = PairDialog(service)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.account_combo.setCurrentIndex(dialog.account_combo.findData("nodelete"))
    qtbot.waitUntil(lambda: dialog.picker.selected_container() == container, timeout=20000)
    qtbot.waitUntil(lambda: dialog.permission_report() is not None, timeout=20000)
    shown = dialog.permission_check.label.text()
    assert "delete ✗" in shown and "may not delete" in shown  # told before the first sync
    dialog.folder_edit.setText(str(tmp_path / "docs"))
    press_save(qtbot, dialog)
    assert dialog.result_pair is not None
    assert dialog.result_pair.remote_deletes is RemoteDeletePolicy.KEEP_AS_ISSUES
    assert service.options(dialog.result_pair).remote_deletes is RemoteDeletePolicy.KEEP_AS_ISSUES

    other = PairDialog(service)
    qtbot.addWidget(other)
    other.show()
    other.account_combo.setCurrentIndex(other.account_combo.findData("readonly"))
    qtbot.waitUntil(lambda: other.permission_report() is not None, timeout=20000)
    other.folder_edit.setText(str(tmp_path / "mirror"))
    press_save(qtbot, other)  # two-way needs write
    assert other.result_pair is None
    assert "may not write and delete" in other.error_label.text()
    assert other.error_label.text().endswith("Choose download only.")
    other.mode_combo.setCurrentIndex(other.mode_combo.findData(SyncMode.DOWNLOAD.value))
    press_save(qtbot, other)
    assert other.result_pair is not None and other.result_pair.mode is SyncMode.DOWNLOAD


# ---- SAS expiry ----------------------------------------------------------------------------


EXPIRES = dt.datetime(2031, 5, 1, 12, 0, tzinfo=dt.UTC)


def sas_account() -> AccountConfig:
    return AccountConfig(
        "shared", "https://acct.blob.core.windows.net", "acct", SecretKind.SAS,
        sas_expires=EXPIRES.isoformat(),
    )  # fmt: skip


def test_sas_expiry_is_warned_once_and_shown_as_the_pairs_state(
    qtbot, make_window, fake_engines, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    config = AppConfig(
        accounts={"shared": sas_account()},
        pairs=[PairConfig(str(tmp_path / "f"), "shared", "box")],
    )
    window = make_window(config, engine_factory=fake_engines(files=0), save=lambda _c: None)
    ctl: Controller = window.controller
    pair_id = ctl.pairs()[0].pair_id
    notes: list[tuple[str, str, bool]] = []
    ctl.notify.connect(lambda title, message, error: notes.append((title, message, error)))
    now = [EXPIRES - dt.timedelta(days=30)]
    ctl.notices.clock = lambda: now[0]

    qtbot.waitUntil(lambda: ctl.pair_state(pair_id) is not PairState.UNKNOWN, timeout=10000)
    ctl.notices.check_expiry()
    assert ctl.pair_state(pair_id) in (PairState.IDLE, PairState.NEW) and notes == []

    now[0] = EXPIRES - dt.timedelta(days=3)
    ctl.notices.check_expiry()
    ctl.notices.check_expiry()  # a minute later: no second notification
    assert ctl.pair_state(pair_id) is PairState.EXPIRES_SOON
    assert notes == [
        (
            "A SAS expires soon",
            "The SAS of the account shared expires on 2031-05-01 12:00 UTC (in 3 days); "
            "update it before then.",
            False,
        )
    ]
    model = window.pairs_view.model
    assert model.data(model.index(0, 3)) == "SAS expires on 2031-05-01 12:00 UTC"
    assert tray_look(ctl.overview()).state is PairState.EXPIRES_SOON

    now[0] = EXPIRES + dt.timedelta(minutes=1)
    ctl.notices.check_expiry()
    assert ctl.pair_state(pair_id) is PairState.SIGN_IN_EXPIRED
    assert model.data(model.index(0, 3)) == "Sign-in expired — update the SAS"
    assert notes[-1] == (
        "Sign-in expired",
        "Sign-in expired — update the SAS of the account shared (it expired on "
        "2031-05-01 12:00 UTC).",
        True,
    )
    look = tray_look(ctl.overview())
    assert look.state is PairState.SIGN_IN_EXPIRED and look.icon_name == "tray-error.svg"
    assert len(notes) == 2


def test_a_sync_refused_as_expired_is_its_own_state(
    qtbot, make_window, fake_engines, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    config = AppConfig(
        accounts={"shared": sas_account()},
        pairs=[PairConfig(str(tmp_path / "f"), "shared", "box")],
    )
    factory = fake_engines(files=0)
    window = make_window(config, engine_factory=factory, save=lambda _c: None)
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    ctl.sync_now(pair_id)
    qtbot.waitUntil(lambda: bool(factory.made) and factory.made[0].syncs == 1, timeout=10000)
    qtbot.waitUntil(lambda: not ctl.status(pair_id).syncing, timeout=10000)

    def expired(*_a: Any, **_k: Any) -> Any:
        raise SignInExpired(
            "Sign-in expired — update the SAS (it expired on 2026-01-01 00:00 UTC)."
        )

    factory.made[0].sync = expired
    ctl.sync_now(pair_id)
    qtbot.waitUntil(lambda: ctl.status(pair_id).failure is not None, timeout=10000)
    assert ctl.pair_state(pair_id) is PairState.SIGN_IN_EXPIRED
    assert ctl.overview().state() is PairState.SIGN_IN_EXPIRED
    model = window.pairs_view.model
    assert model.data(model.index(0, 3)) == "Sign-in expired — update the SAS"


# ---- archived blobs and Copy link (real Azurite) ------------------------------------------


@pytest.fixture
def synced_pair(qtbot, make_window, azurite_account, sdk, tmp_path):  # type: ignore[no-untyped-def]
    container = "p" + uuid.uuid4().hex[:12]
    sdk.create_container(container)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "hello.txt").write_bytes(b"hello from the app")
    pair = PairConfig(str(folder), azurite_account.name, container)
    window = make_window(AppConfig(accounts={azurite_account.name: azurite_account}, pairs=[pair]))
    return window, window.controller.pairs()[0], sdk.get_container_client(container)


def run_sync(qtbot, ctl: Controller, pair_id: str) -> None:  # type: ignore[no-untyped-def]
    before = ctl.status(pair_id).last_result
    assert ctl.sync_now(pair_id)
    qtbot.waitUntil(
        lambda: not ctl.status(pair_id).syncing and ctl.status(pair_id).last_result is not before,
        timeout=30000,
    )


@pytest.mark.azurite
def test_archived_blobs_are_shown_once_and_rehydrated(qtbot, synced_pair) -> None:  # type: ignore[no-untyped-def]
    window, pair, container = synced_pair
    ctl = window.controller
    window.tabs.setCurrentWidget(window.issues_view)
    notes: list[str] = []
    ctl.notify.connect(lambda title, message, error: notes.append(title))
    run_sync(qtbot, ctl, pair.pair_id)
    container.upload_blob("old/cold.txt", b"archived data")
    container.get_blob_client("old/cold.txt").set_standard_blob_tier("Archive")

    run_sync(qtbot, ctl, pair.pair_id)
    panel = window.item_actions.archived
    qtbot.waitUntil(lambda: len(panel.rows()) == 1, timeout=10000)
    assert panel.isVisible()
    assert panel.table.item(0, 0).text() == "old/cold.txt"
    assert panel.table.item(0, 2).text() == "Archived in the container — not synced"
    assert "Archived in the container — not synced" in panel.title.text()
    assert ctl.pair_state(pair.pair_id) is PairState.IDLE  # a state, not an issue
    assert window.issues_view.model.rowCount() == 0
    assert notes == [f"Archived in the container — not synced ({pair.container})"]
    run_sync(qtbot, ctl, pair.pair_id)
    assert len(notes) == 1 and len(panel.rows()) == 1  # shown once, still listed

    panel.select_rel_paths(["old/cold.txt"])
    assert window.item_actions.archived.rehydrate_button.isEnabled()
    actions = {a.text(): a for a in panel.rehydrate_button.menu().actions()}
    actions["To Cool, high priority (about an hour)"].trigger()
    # Azurite rehydrates at once; the pair syncs after the request and downloads it.
    folder = Path(pair.local_root)
    qtbot.waitUntil(lambda: (folder / "old" / "cold.txt").exists(), timeout=30000)
    assert (folder / "old" / "cold.txt").read_bytes() == b"archived data"
    assert container.get_blob_client("old/cold.txt").get_blob_properties().blob_tier == "Cool"
    qtbot.waitUntil(lambda: not panel.rows(), timeout=10000)
    assert not panel.isVisible()


@pytest.mark.azurite
def test_copy_link_puts_a_url_that_downloads_on_the_clipboard(qtbot, synced_pair) -> None:  # type: ignore[no-untyped-def]
    window, pair, container = synced_pair
    ctl = window.controller
    window.tabs.setCurrentWidget(window.issues_view)
    run_sync(qtbot, ctl, pair.pair_id)
    folder = Path(pair.local_root)
    # A conflict, so the issues list has a synced file in it.
    container.upload_blob("hello.txt", b"edited elsewhere", overwrite=True)
    (folder / "hello.txt").write_bytes(b"edited here, differently")
    run_sync(qtbot, ctl, pair.pair_id)
    view = window.issues_view
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=10000)
    assert view.model.row_at(0).issue.kind is IssueKind.CONFLICT
    view.select_rel_paths(["hello.txt"])
    QGuiApplication.clipboard().clear()

    menu = window.item_actions.issue_menu()
    assert menu is not None
    sub = menu.findChild(QMenu, "copyLinkMenu")
    assert [a.text() for a in sub.actions()] == [
        "Valid for 1 hour",
        "Valid for 1 day",
        "Valid for 7 days",
    ]
    sub.actions()[0].trigger()
    qtbot.waitUntil(lambda: QGuiApplication.clipboard().text().startswith("http"), timeout=10000)
    url = QGuiApplication.clipboard().text()
    assert url.startswith(f"{container.url}/hello.txt?") and "sig=" in url
    assert requests.get(url, timeout=10).content == b"edited elsewhere"  # theirs kept the name
    link = window.item_actions.links.last_link
    assert link is not None
    assert (
        dt.timedelta(minutes=59) < link.expires - dt.datetime.now(dt.UTC) <= dt.timedelta(hours=1)
    )
    status = window.item_actions.status
    assert status.isVisible() and "Link to hello.txt copied" in status.text()
    assert url not in status.text()  # the URL is a secret: copied, not shown

    # The conflict copy (yours) has its own entry.
    copy_menu = [m for m in menu.findChildren(QMenu) if m.title() == "Copy link to your copy"]
    copy_menu[0].actions()[1].trigger()
    qtbot.waitUntil(lambda: QGuiApplication.clipboard().text() != url, timeout=10000)
    assert requests.get(QGuiApplication.clipboard().text(), timeout=10).content == (
        b"edited here, differently"
    )

    # Any synced file of a pair, from the pairs list.
    (folder / "sub").mkdir()
    (folder / "sub" / "report.txt").write_bytes(b"a report")
    view.model.set_issues(pair.pair_id, [])  # (the conflict is not what this part is about)
    run_sync(qtbot, ctl, pair.pair_id)
    actions = window.item_actions
    actions.file_picker = lambda _parent, start: str(Path(start) / "sub" / "report.txt")
    window.pairs_view.select_pair(pair.pair_id)
    pair_menu = actions.pair_menu()
    assert pair_menu is not None
    week = pair_menu.findChildren(QMenu)[0].actions()[2]
    assert week.text() == "Valid for 7 days"
    week.trigger()
    qtbot.waitUntil(lambda: "report.txt" in QGuiApplication.clipboard().text(), timeout=10000)
    got = requests.get(QGuiApplication.clipboard().text(), timeout=10)
    assert got.status_code == 200 and got.content == b"a report"
    put = requests.put(
        QGuiApplication.clipboard().text(), data=b"x", headers={"x-ms-blob-type": "BlockBlob"}
    )
    assert put.status_code == 403  # read-only

    actions.file_picker = lambda _parent, _start: "/etc/hostname"
    actions.link_to_chosen_file(pair.pair_id, LinkDuration.HOUR)
    assert "is not in the folder" in actions.status.text()


@pytest.mark.azurite
def test_an_expired_sas_is_updated_from_the_pairs_list_and_the_pair_syncs_again(
    qtbot, make_window, azurite: Azurite, gui_keyring, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from blobsync.core.credentials import from_sas_url

    container = "p" + uuid.uuid4().hex[:12]
    BlobServiceClient.from_connection_string(azurite.connection_string).create_container(container)

    def sas(expiry: dt.datetime) -> str:
        token = generate_container_sas(
            AZURITE_ACCOUNT, container, account_key=AZURITE_KEY, permission="rwdl", expiry=expiry
        )
        return f"{azurite.blob_endpoint}/{container}?{token}"

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_bytes(b"a")
    service = AppService(SettingsStore(AppConfig(), save=lambda _c: None))
    old = from_sas_url(sas(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)))
    service.add_account("shared", old)
    service.add_pair(PairConfig(str(folder), "shared", container))
    window = make_window(AppConfig(), service=service)
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    ctl.notices.check_expiry()
    assert ctl.pair_state(pair_id) is PairState.SIGN_IN_EXPIRED

    window.pairs_view.select_pair(pair_id)
    menu = window.item_actions.pair_menu()
    assert menu is not None
    renew = [a for a in menu.actions() if a.text() == "Update the SAS…"]
    assert renew, [a.text() for a in menu.actions()]
    renew[0].trigger()
    dialog = window.item_actions.renew_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.kind() is AccountKind.SAS and not dialog.name_edit.isEnabled()
    fresh = dt.datetime.now(dt.UTC) + dt.timedelta(days=90)
    dialog.secret_edit.setText(sas(fresh))
    press_save(qtbot, dialog)
    assert not dialog.isVisible(), dialog.status_label.text()
    account = ctl.config.accounts["shared"]
    assert dt.datetime.fromisoformat(account.sas_expires) > dt.datetime.now(dt.UTC)
    assert ctl.pair_state(pair_id) is not PairState.SIGN_IN_EXPIRED
    assert ctl.sync_now(pair_id)
    qtbot.waitUntil(lambda: ctl.status(pair_id).last_result is not None, timeout=30000)
    assert ctl.status(pair_id).failure is None
    assert ctl.status(pair_id).last_result.uploaded == 1


def test_a_lapsed_sign_in_is_renewed_from_the_pairs_list(
    qtbot, make_window, fake_engines, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    account = AccountConfig(
        "corp", "https://corpfiles.blob.core.windows.net", "corpfiles", SecretKind.ENTRA,
        has_secret=False, sign_in_record=RECORD,
    )  # fmt: skip
    config = AppConfig(accounts={"corp": account}, pairs=[PairConfig(str(tmp_path), "corp", "box")])
    factory = fake_engines(files=0)
    window = make_window(config, engine_factory=factory, save=lambda _c: None)
    ctl = window.controller
    pair_id = ctl.pairs()[0].pair_id
    from blobsync.core.app.status import Failure

    ctl.status(pair_id).failure = Failure.from_exception(
        SignInExpired(
            "Sign-in expired — sign in with Microsoft again.", AuthReason.SIGN_IN_REQUIRED
        )
    )
    assert ctl.pair_state(pair_id) is PairState.SIGN_IN_EXPIRED
    window.pairs_view.select_pair(pair_id)
    signer = FakeSignIn()
    signer.release.set()
    window.item_actions.dialog_kwargs = {"signer": signer}
    menu = window.item_actions.pair_menu()
    assert menu is not None
    [again] = [a for a in menu.actions() if a.text() == "Sign in again…"]
    again.trigger()
    dialog = window.item_actions.renew_dialog
    assert dialog is not None and dialog.kind() is AccountKind.ENTRA
    assert dialog.url_edit.text() == "https://corpfiles.blob.core.windows.net"
    qtbot.mouseClick(dialog.entra_panel.sign_in_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.entra_panel.credentials is not None, timeout=10000)
    press_save(qtbot, dialog)
    assert not dialog.isVisible(), dialog.status_label.text()
    assert ctl.service.credentials("corp").token_credential is signer.credential
    assert ctl.pair_state(pair_id) is not PairState.SIGN_IN_EXPIRED  # a fresh engine and status
