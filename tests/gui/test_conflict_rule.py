"""The per-pair conflict rule: chosen in the pair dialog (add and Edit…), saved in the
settings, and in the options every sync of the pair runs with."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from blobsync.core.app.recovery import RULE_WORDS
from blobsync.core.app.settings import AccountConfig, AppConfig, load_config
from blobsync.core.models import ConflictRule, SyncMode
from blobsync.gui.main_window import MainWindow
from blobsync.gui.widgets.pair_dialog import MODE_TEXT, PairDialog

pytestmark = [pytest.mark.gui, pytest.mark.azurite]


def open_dialog(qtbot, window: MainWindow, pair_id: str | None) -> PairDialog:  # type: ignore[no-untyped-def]
    if pair_id is None:
        window.add_pair()
    else:
        window.edit_pair(pair_id)
    dialog = window.pair_dialog
    assert isinstance(dialog, PairDialog)
    qtbot.waitUntil(lambda: "Loading" not in dialog.picker.status.text(), timeout=20000)
    return dialog


def save(qtbot, dialog: PairDialog) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton
    )
    assert dialog.result_pair is not None, dialog.error_label.text()


def choose(dialog: PairDialog, rule: ConflictRule) -> None:
    combo = dialog.conflict_combo
    combo.setCurrentIndex(combo.findText(RULE_WORDS[rule]))


def test_the_conflict_rule_from_the_pair_dialog_reaches_the_sync_options(
    qtbot, make_window, azurite_account: AccountConfig, sdk, container_name, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    sdk.create_container(container_name)
    window = make_window(AppConfig(accounts={azurite_account.name: azurite_account}))
    ctl = window.controller

    dialog = open_dialog(qtbot, window, None)
    combo = dialog.conflict_combo
    assert [combo.itemText(i) for i in range(combo.count())] == [
        "Keep both (recommended)",
        "Newer wins",
        "Mine wins",
        "Theirs wins",
    ]
    assert dialog.selected_conflict_rule() is ConflictRule.KEEP_BOTH  # the default
    dialog.folder_edit.setText(str(tmp_path / "Work"))
    dialog.picker.set_selected(container_name)
    choose(dialog, ConflictRule.MINE_WINS)
    save(qtbot, dialog)
    [pair] = ctl.pairs()
    assert pair.conflict_rule is ConflictRule.MINE_WINS
    assert ctl.service.options(pair).conflict_rule is ConflictRule.MINE_WINS
    assert load_config().pairs[0].conflict_rule is ConflictRule.MINE_WINS  # in settings.json

    # Edit… shows it, and a new choice replaces it
    dialog = open_dialog(qtbot, window, pair.pair_id)
    assert dialog.conflict_combo.currentText() == "Mine wins"
    choose(dialog, ConflictRule.NEWER_WINS)
    save(qtbot, dialog)
    [pair] = ctl.pairs()
    assert ctl.service.options(pair).conflict_rule is ConflictRule.NEWER_WINS
    saved = json.loads((tmp_path / "xdg-config" / "blobsync" / "settings.json").read_text())
    assert saved["pairs"][0]["conflict_rule"] == "newer_wins"

    # A mirror has no conflicts: the choice is off, and kept for two-way again
    dialog = open_dialog(qtbot, window, pair.pair_id)
    dialog.mode_combo.setCurrentIndex(dialog.mode_combo.findText(MODE_TEXT[SyncMode.UPLOAD]))
    assert not dialog.conflict_combo.isEnabled()
    dialog.mode_combo.setCurrentIndex(dialog.mode_combo.findText(MODE_TEXT[SyncMode.TWO_WAY]))
    assert dialog.conflict_combo.isEnabled()
    dialog.reject()
