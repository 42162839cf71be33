"""App settings: bandwidth limits reach the engine options, start at login, check interval."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer

from blobsync.core.app.settings import AppConfig, PairConfig
from blobsync.core.engine import SyncOptions
from blobsync.gui.widgets.settings_dialog import SettingsDialog


def test_settings_are_applied_and_autostart_written(qtbot, tmp_path):
    config = AppConfig(
        pairs=[
            PairConfig(str(tmp_path / "a"), "acc", "c1"),
            PairConfig(str(tmp_path / "b"), "acc", "c2"),
        ]
    )
    dialog = SettingsDialog(config)
    qtbot.addWidget(dialog)
    dialog.upload_spin.setValue(512)
    dialog.download_spin.setValue(2048)
    dialog.interval_spin.setValue(2)
    assert dialog.beacon_spin.value() == 5  # the default: other machines' changes in 5 s
    dialog.beacon_spin.setValue(3)
    dialog.autostart_check.setChecked(True)
    dialog.accept()
    assert (config.upload_limit_kbps, config.download_limit_kbps) == (512, 2048)
    assert [p.interval_s for p in config.pairs] == [120, 120]
    assert [p.beacon_interval_s for p in config.pairs] == [3, 3]
    entry = Path(tmp_path / "xdg-config" / "autostart" / "io.github.blobsync.BlobSync.desktop")
    assert config.start_at_login and "--hidden" in entry.read_text()
    dialog2 = SettingsDialog(config)
    qtbot.addWidget(dialog2)
    assert dialog2.autostart_check.isChecked() and dialog2.upload_spin.value() == 512
    dialog2.autostart_check.setChecked(False)
    dialog2.accept()
    assert not entry.exists()


def test_limits_reach_the_sync_options(qtbot, make_window, fake_engines, tmp_path):
    config = AppConfig(
        pairs=[PairConfig(str(tmp_path), "acc", "c1")],
        upload_limit_kbps=100,
        download_limit_kbps=300,
    )
    seen: list[SyncOptions] = []
    build = fake_engines()

    def factory(pair, sink):
        engine = build(pair, sink)
        real_sync = engine.sync

        def sync(options=None, cancel=None):
            seen.append(options)
            return real_sync(options, cancel)

        engine.sync = sync
        return engine

    window = make_window(config, engine_factory=factory)
    ctl = window.controller
    pair_id = config.pairs[0].pair_id
    assert ctl.sync_now(pair_id)
    qtbot.waitUntil(lambda: ctl.status(pair_id).last_result is not None, timeout=5000)
    assert (seen[-1].upload_limit_bps, seen[-1].download_limit_bps) == (100 * 1024, 300 * 1024)


def test_settings_action_opens_the_dialog(qtbot, make_window, tmp_path):
    window = make_window(AppConfig())

    def close_it():
        assert window.settings_dialog is not None
        window.settings_dialog.reject()

    QTimer.singleShot(200, close_it)
    assert window.edit_settings() is False


def test_a_new_check_interval_applies_at_once(qtbot, make_window, fake_engines, tmp_path):
    (tmp_path / "docs").mkdir()
    from blobsync.core.app.settings import AccountConfig
    from blobsync.core.credentials import SecretKind

    account = AccountConfig("acc", "http://127.0.0.1:9/x", "x", SecretKind.ACCOUNT_KEY)
    config = AppConfig(
        accounts={"acc": account},
        pairs=[PairConfig(str(tmp_path / "docs"), "acc", "c1", interval_s=3600)],
    )
    factory = fake_engines(files=0)
    window = make_window(config, engine_factory=factory, schedule=True, save=lambda _c: None)
    ctl = window.controller
    qtbot.waitUntil(lambda: factory.made and factory.made[0].syncs == 1, timeout=10000)
    qtbot.wait(1500)
    assert factory.made[0].syncs == 1  # the next check is an hour away
    config.pairs[0].interval_s = 1  # what the dialog's Save does, then:
    ctl.settings_changed()
    qtbot.waitUntil(lambda: factory.made[0].syncs >= 2, timeout=5000)  # not in an hour
