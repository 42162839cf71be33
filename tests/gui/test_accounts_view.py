"""The Accounts view against Azurite: list, test, edit (rename: pairs follow), change
the secret, remove (refused for an account pairs use unless they go too), and the
emulator's connection string to copy."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from blobsync.core.app.emulator import DEMO_ACCOUNT_NAME, demo_account, demo_connection_string
from blobsync.core.app.settings import AppConfig, PairConfig
from blobsync.gui.widgets.account_dialog import AccountKind
from blobsync.gui.widgets.accounts_dialog import AccountsDialog

pytestmark = [pytest.mark.gui, pytest.mark.azurite]

WRONG_KEY = base64.b64encode(b"not the right key at all, but valid base64 " * 2).decode()


def _view(make_window, config: AppConfig) -> AccountsDialog:  # type: ignore[no-untyped-def]
    window = make_window(config, save=lambda _c: None)
    view = window.show_accounts()
    assert isinstance(view, AccountsDialog)
    return view


def _texts(view: AccountsDialog, col: int) -> list[str]:
    return [view.table.item(r, col).text() for r in range(view.table.rowCount())]


def _test(qtbot, view: AccountsDialog) -> str:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(view.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not view.is_testing(), timeout=30000)
    return view.status.text()


def test_list_test_rename_rekey_and_remove_with_pairs(
    qtbot, make_window, azurite, azurite_account, tmp_path
):  # type: ignore[no-untyped-def]
    pair = PairConfig(str(tmp_path / "docs"), azurite_account.name, "docs", name="docs")
    config = AppConfig(accounts={azurite_account.name: azurite_account}, pairs=[pair])
    view = _view(make_window, config)
    ctl = view.controller
    assert _texts(view, 0) == [azurite_account.name]
    assert _texts(view, 3) == ["OS keyring"] and _texts(view, 4) == ["docs"]
    assert "Connection works" in _test(qtbot, view)
    assert not view.copy_button.isVisible()  # a real secret is never offered

    # Edit…: rename; the pair follows (same folder, same container).
    dialog = view.edit()
    assert dialog is not None and dialog.secret_edit.text() == ""
    dialog.name_edit.setText("work")
    qtbot.mouseClick(
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton
    )
    assert not dialog.isVisible()
    assert list(ctl.config.accounts) == ["work"]
    assert [p.account for p in ctl.pairs()] == ["work"]
    assert ctl.bridge(ctl.pairs()[0].pair_id) is not None  # reattached under its new id
    assert "Connection works" in _test(qtbot, view)  # the secret moved with it

    # Change secret…: a wrong key is refused by the test, then saved only on purpose.
    dialog = view.change_secret()
    assert dialog.windowTitle() == "Change the secret — work"
    dialog.set_kind(AccountKind.KEY)  # was a connection string: now a name and key
    dialog.url_edit.setText(azurite.blob_endpoint)
    dialog.secret_edit.setText(WRONG_KEY)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.status_label.property("state") == "error", timeout=30000)
    save = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and save.text() == "Save anyway"
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert "Authentication failed" in _test(qtbot, view)

    # Remove: the pair is named first; the second click removes both.
    qtbot.mouseClick(view.remove_button, Qt.MouseButton.LeftButton)
    assert "used by 1 folder pair (docs)" in view.status.text()
    assert view.remove_button.text() == "Remove with 1 pair"
    assert ctl.config.accounts
    qtbot.mouseClick(view.remove_button, Qt.MouseButton.LeftButton)
    assert ctl.config.accounts == {} and ctl.pairs() == []
    assert "Removed work and 1 folder pair" in view.status.text()


def test_the_emulator_shows_its_connection_string_to_copy(qtbot, make_window, tmp_path):  # type: ignore[no-untyped-def]
    account = demo_account(10321)
    view = _view(make_window, AppConfig(accounts={DEMO_ACCOUNT_NAME: account}))
    assert _texts(view, 2) == ["Local emulator"]
    assert view.copy_button.isVisible()
    assert not view.rekey_button.isEnabled()  # the published key is not a secret to change
    assert "AccountKey" not in view.details.text()
    qtbot.mouseClick(view.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == demo_connection_string(account.account_url)
    assert "copied" in view.status.text()


def test_an_unused_account_is_removed_after_one_confirmation(
    qtbot, make_window, azurite_account: Any, gui_keyring: Any
):  # type: ignore[no-untyped-def]
    view = _view(make_window, AppConfig(accounts={azurite_account.name: azurite_account}))
    qtbot.mouseClick(view.remove_button, Qt.MouseButton.LeftButton)
    assert view.controller.config.accounts and "and its secret" in view.status.text()
    qtbot.mouseClick(view.remove_button, Qt.MouseButton.LeftButton)
    assert view.controller.config.accounts == {}
    assert gui_keyring.items == {}
    assert view.details.text() == "No accounts yet: add one to start."
