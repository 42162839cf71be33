"""The app and the change beacon's hint, against Azurite: another machine's save in one
folder arrives through a targeted sync (the app's own live loop, no code of its own), and
the pair's record keeps what only a full run may say."""

from __future__ import annotations

from pathlib import Path

import pytest

from blobsync.core.app.emulator import Azurite
from blobsync.core.app.schedule import SyncReason
from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig
from blobsync.core.engine import SyncEngine
from blobsync.core.remote.azure import open_store

pytestmark = [pytest.mark.gui, pytest.mark.azurite]


def test_another_machines_save_in_one_folder_is_a_targeted_sync_in_the_app(
    qtbot,
    make_window,
    azurite: Azurite,
    azurite_account: AccountConfig,
    container_name: str,
    tmp_path: Path,
) -> None:  # type: ignore[no-untyped-def]
    there = tmp_path / "there"
    for folder in ("docs", "photos"):
        (there / folder).mkdir(parents=True)
        (there / folder / "a.txt").write_text(f"{folder} first")
    other = SyncEngine(there, open_store(azurite.credentials, container_name), tmp_path / "o.db")
    try:
        assert other.sync().uploaded == 2
        root = tmp_path / "here"
        root.mkdir()
        pair = PairConfig(
            str(root), azurite_account.name, container_name, interval_s=300, beacon_interval_s=1
        )
        config = AppConfig(accounts={azurite_account.name: azurite_account}, pairs=[pair])
        window = make_window(config, schedule=True)
        ctl = window.controller
        pair_id = ctl.pairs()[0].pair_id
        reasons: list[SyncReason] = []
        assert ctl._live is not None
        ctl._live.sync_due.connect(lambda pid, why: reasons.append(why))
        qtbot.waitUntil(lambda: (root / "photos" / "a.txt").exists(), timeout=30000)
        qtbot.waitUntil(lambda: not ctl.status(pair_id).syncing, timeout=10000)
        first = ctl.status(pair_id)
        assert first.last_result is not None and first.last_result.scope is None
        record = first.record
        assert record is not None and record.last_in_sync is not None

        (there / "docs" / "a.txt").write_text("docs second")
        assert other.sync().uploaded == 1  # its beacon names docs/
        qtbot.waitUntil(
            lambda: (root / "docs" / "a.txt").read_text() == "docs second", timeout=15000
        )
        qtbot.waitUntil(lambda: not ctl.status(pair_id).syncing, timeout=10000)
        status = ctl.status(pair_id)
        assert SyncReason.BEACON in reasons
        assert status.last_result is not None and status.last_result.scope == {"docs"}
        assert status.record == record  # "last in sync" is only a full run's to say
        assert status.failure is None and not status.issues
    finally:
        other.close()
