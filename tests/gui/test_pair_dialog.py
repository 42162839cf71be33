"""The pair dialog and the container picker, against a real Azurite."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QLabel, QLineEdit

from blobsync.core.app.emulator import Azurite
from blobsync.core.app.service import AppService
from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig, SettingsStore
from blobsync.core.credentials import AZURITE_KEY, SecretKind
from blobsync.core.models import SyncMode
from blobsync.core.remote.azure import create_container, list_containers
from blobsync.gui.widgets.container_picker import ContainerPicker, NewContainerDialog
from blobsync.gui.widgets.pair_dialog import PairDialog

pytestmark = [pytest.mark.gui, pytest.mark.azurite]

BAD_NAMES = {
    "UPPER": "lowercase",
    "ab": "3 to 63",
    "a--b": "two hyphens",
    "-ab": "start and end",
    "x" * 64: "3 to 63",
    "under_score": "letters, digits and hyphens",
}


def emulator_config(azurite: Azurite) -> AppConfig:
    config = AppConfig()
    config.accounts["emu"] = AccountConfig(
        name="emu",
        account_url=azurite.blob_endpoint,
        account_name="devstoreaccount1",
        kind=SecretKind.ACCOUNT_KEY,
    )
    return config


def key_loader(label: str) -> str:
    assert label == "emu"
    return AZURITE_KEY


def host(config: AppConfig, loader=key_loader) -> AppService:  # type: ignore[no-untyped-def]
    """The application layer the dialog talks to (settings kept in memory)."""
    return AppService(SettingsStore(config, save=lambda _c: None), secret_loader=loader)


def make_dialog(qtbot, config: AppConfig, pair: PairConfig | None = None) -> PairDialog:  # type: ignore[no-untyped-def]
    dialog = PairDialog(host(config), pair)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def wait_listed(qtbot, picker: ContainerPicker) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(
        lambda: picker.refresh_button.isEnabled() and "Loading" not in picker.status.text(),
        timeout=20000,
    )


def press(qtbot, box: QDialogButtonBox, which: QDialogButtonBox.StandardButton) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(box.button(which), Qt.MouseButton.LeftButton)


def test_new_container_validated_as_you_type_and_created(
    qtbot, azurite: Azurite, container_name: str
) -> None:  # type: ignore[no-untyped-def]
    picker = ContainerPicker()
    qtbot.addWidget(picker)
    picker.show()
    with qtbot.waitSignal(picker.loaded, timeout=20000) as blocker:
        picker.set_credentials(azurite.credentials)
    assert blocker.args == [True]
    existing = picker.container_names()

    qtbot.mouseClick(
        picker.findChild(type(picker.new_button), "newContainerButton"), Qt.MouseButton.LeftButton
    )
    dialog = picker.new_dialog
    assert isinstance(dialog, NewContainerDialog) and dialog.isVisible()
    edit = dialog.findChild(QLineEdit, "newContainerEdit")
    error = dialog.findChild(QLabel, "newContainerError")
    assert not dialog.ok_button.isEnabled()
    for name, words in BAD_NAMES.items():
        edit.clear()
        qtbot.keyClicks(edit, name)
        assert words in error.text(), (name, error.text())
        assert not dialog.ok_button.isEnabled(), name
    if existing:
        edit.setText(existing[0])
        assert "already exists" in error.text() and not dialog.ok_button.isEnabled()

    edit.clear()
    qtbot.keyClicks(edit, container_name)
    assert error.text() == "" and dialog.ok_button.isEnabled()
    with qtbot.waitSignal(picker.loaded, timeout=20000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible() and dialog.created_name == container_name
    assert container_name in list_containers(azurite.credentials)
    assert picker.selected_container() == container_name
    assert picker.findChild(QComboBox, "containerCombo").currentText() == container_name


def test_pair_dialog_produces_pair(
    qtbot, azurite: Azurite, container_name: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    create_container(azurite.credentials, container_name)
    config = emulator_config(azurite)
    dialog = make_dialog(qtbot, config)
    assert dialog.findChild(QComboBox, "accountCombo").currentData() == "emu"
    wait_listed(qtbot, dialog.picker)
    assert container_name in dialog.picker.container_names()

    # Save refuses until the fields make a pair
    press(qtbot, dialog.buttons, QDialogButtonBox.StandardButton.Save)
    assert dialog.isVisible() and "Choose the local folder" in dialog.error_label.text()

    folder = tmp_path / "Sync" / "Photos"  # does not exist yet: created on save
    qtbot.keyClicks(dialog.findChild(QLineEdit, "folderEdit"), str(folder))
    dialog.picker.set_selected(container_name)
    mode = dialog.findChild(QComboBox, "modeCombo")
    mode.setCurrentIndex(mode.findData(SyncMode.UPLOAD.value))
    press(qtbot, dialog.buttons, QDialogButtonBox.StandardButton.Save)
    assert dialog.result() == QDialog.DialogCode.Accepted
    pair = dialog.result_pair
    assert pair is not None
    assert (pair.local_root, pair.account, pair.container, pair.mode) == (
        str(folder),
        "emu",
        container_name,
        SyncMode.UPLOAD,
    )
    assert pair.beacon and dialog.beacon_check.isChecked()  # on by default
    assert folder.is_dir()


def test_edit_prefills_and_overlap_is_refused(
    qtbot, azurite: Azurite, container_name: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    create_container(azurite.credentials, container_name)
    config = emulator_config(azurite)
    existing = PairConfig(
        str(tmp_path / "A"),
        "emu",
        container_name,
        SyncMode.DOWNLOAD,
        60,
        name="A",
        beacon=False,
        beacon_interval_s=9,
    )
    config.pairs.append(existing)

    dialog = make_dialog(qtbot, config, existing)
    wait_listed(qtbot, dialog.picker)
    assert dialog.folder_edit.text() == existing.local_root
    assert dialog.selected_mode() is SyncMode.DOWNLOAD
    assert dialog.picker.selected_container() == container_name
    press(qtbot, dialog.buttons, QDialogButtonBox.StandardButton.Save)  # editing itself: fine
    assert dialog.result_pair is not None
    assert (dialog.result_pair.interval_s, dialog.result_pair.name) == (60, "A")
    assert not dialog.beacon_check.isChecked()  # off for this pair: kept off
    assert (dialog.result_pair.beacon, dialog.result_pair.beacon_interval_s) == (False, 9)

    second = container_name + "-2"
    create_container(azurite.credentials, second)
    other = make_dialog(qtbot, config)
    wait_listed(qtbot, other.picker)
    other.picker.set_selected(second)
    for overlapping in (tmp_path / "A" / "inner", tmp_path / "A", tmp_path):
        other.folder_edit.setText(str(overlapping))
        press(qtbot, other.buttons, QDialogButtonBox.StandardButton.Save)
        assert other.result_pair is None and "overlaps" in other.error_label.text()
    other.folder_edit.setText(str(tmp_path / "B"))
    other.picker.set_selected(container_name)  # one container, two folders: refused
    press(qtbot, other.buttons, QDialogButtonBox.StandardButton.Save)
    error = other.error_label
    assert other.result_pair is None and "already syncs with the whole container" in error.text()
    other.path_picker.edit.setText("projects/b")  # a path inside A's whole container
    press(qtbot, other.buttons, QDialogButtonBox.StandardButton.Save)
    assert other.result_pair is None and "lies inside the whole container" in error.text()
    other.path_picker.edit.setText("")
    other.picker.set_selected(second)
    press(qtbot, other.buttons, QDialogButtonBox.StandardButton.Save)
    assert other.result_pair is not None and other.result_pair.container == second


def test_missing_secret_is_said_in_words(qtbot, azurite: Azurite) -> None:  # type: ignore[no-untyped-def]
    from blobsync.core.errors import ConfigError

    def no_secret(label: str) -> str:
        raise ConfigError(f"No secret stored for account {label}.")

    config = AppConfig()
    config.accounts["work"] = AccountConfig(
        "work", "https://acct.blob.core.windows.net", "acct", SecretKind.ACCOUNT_KEY
    )
    dialog = PairDialog(host(config, no_secret))
    qtbot.addWidget(dialog)
    assert "No secret stored for account work" in dialog.error_label.text()
    assert not dialog.picker.new_button.isEnabled()


def test_listing_error_shown(qtbot) -> None:  # type: ignore[no-untyped-def]
    from blobsync.core.app.emulator import free_port
    from blobsync.core.credentials import azurite as azurite_creds

    picker = ContainerPicker()
    qtbot.addWidget(picker)
    with qtbot.waitSignal(picker.loaded, timeout=20000) as blocker:
        picker.set_credentials(azurite_creds(free_port()))
    assert blocker.args == [False]
    assert "unreachable" in picker.status.text()
    assert AZURITE_KEY not in picker.status.text()


@pytest.mark.parametrize("name", ["ok-name", "abc", "a1-b2-c3"])
def test_valid_names_enable_create(qtbot, name: str) -> None:  # type: ignore[no-untyped-def]
    from blobsync.core.credentials import azurite as azurite_creds

    dialog = NewContainerDialog(azurite_creds(1), ["abc"] if name != "abc" else [])
    qtbot.addWidget(dialog)
    dialog.edit.setText(name)
    assert dialog.ok_button.isEnabled() and dialog.error.text() == ""


def test_browse_uses_the_native_folder_picker(
    qtbot, azurite: Azurite, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QFileDialog

    asked: list[str] = []

    def fake_picker(parent, caption, start):  # type: ignore[no-untyped-def]
        asked.append(start)
        return str(tmp_path / "Picked")

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", fake_picker)
    dialog = make_dialog(qtbot, emulator_config(azurite))
    dialog.folder_edit.setText(str(tmp_path))
    qtbot.mouseClick(dialog.browse_button, Qt.MouseButton.LeftButton)
    assert asked == [str(tmp_path)]
    assert dialog.folder_edit.text() == str(tmp_path / "Picked")


def test_an_error_goes_once_it_is_fixed_and_is_never_clipped(
    qtbot, azurite: Azurite, container_name: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    create_container(azurite.credentials, container_name)
    config = emulator_config(azurite)
    config.pairs.append(PairConfig(str(tmp_path / "A"), "emu", "other", name="A"))
    dialog = make_dialog(qtbot, config)
    wait_listed(qtbot, dialog.picker)
    dialog.picker.set_selected(container_name)
    deep = tmp_path / "A" / ("a-rather-long-folder-name-" * 4) / "inner"
    dialog.folder_edit.setText(str(deep))
    press(qtbot, dialog.buttons, QDialogButtonBox.StandardButton.Save)
    error = dialog.error_label
    assert "overlaps" in error.text()
    qtbot.wait(50)
    # The whole message fits: the label is as tall as its wrapped text needs.
    assert error.height() >= error.heightForWidth(error.width())
    dialog.folder_edit.setText(str(tmp_path / "B"))  # fixed: the message goes at once
    assert error.text() == ""
    dialog.folder_edit.setText(str(tmp_path / "A"))  # wrong again: said at the next Save
    press(qtbot, dialog.buttons, QDialogButtonBox.StandardButton.Save)
    assert "overlaps" in error.text() and dialog.result_pair is None
