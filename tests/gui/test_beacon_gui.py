"""The app and the change beacon, against Azurite: another machine's save arrives within
seconds, the pairs list says when such changes were last picked up, and a beacon
problem is one notification."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from blobsync.core.app.emulator import Azurite
from blobsync.core.app.schedule import SyncReason
from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig
from blobsync.core.engine import SyncEngine
from blobsync.core.remote.azure import open_store
from blobsync.core.remote.base import BEACON_BLOB
from blobsync.gui.models.pairs_model import COLUMNS

pytestmark = [pytest.mark.gui, pytest.mark.azurite]


def test_another_machines_save_arrives_within_seconds_and_the_list_says_when(
    qtbot,
    make_window,
    azurite: Azurite,
    azurite_account: AccountConfig,
    sdk: BlobServiceClient,
    container_name: str,
    tmp_path: Path,
) -> None:  # type: ignore[no-untyped-def]
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
    qtbot.waitUntil(lambda: ctl.status(pair_id).last_result is not None, timeout=30000)
    model = window.pairs_view.model
    tooltip = model.index(0, COLUMNS.index("Last sync")).data(3)  # ToolTipRole
    assert "last picked up: never" in tooltip and "every 1 s (change beacon)" in tooltip

    # another machine: its own folder and state database, the same container
    there = tmp_path / "there"
    there.mkdir()
    (there / "from-there.txt").write_text("saved on the other machine")
    other = SyncEngine(there, open_store(azurite.credentials, container_name), tmp_path / "o.db")
    try:
        assert other.sync().uploaded == 1  # ...which rewrote the beacon once
    finally:
        other.close()
    qtbot.waitUntil(lambda: (root / "from-there.txt").exists(), timeout=15000)
    assert SyncReason.BEACON in reasons  # not the full check (every 300 s)
    qtbot.waitUntil(lambda: not ctl.status(pair_id).syncing, timeout=10000)
    tooltip = model.index(0, COLUMNS.index("Last sync")).data(3)
    assert "last picked up: just now" in tooltip

    notes: list[tuple[str, str]] = []
    ctl.notify.connect(lambda title, message, _err: notes.append((title, message)))
    sdk.get_blob_client(container_name, BEACON_BLOB).upload_blob(b"garbage", overwrite=True)
    qtbot.waitUntil(lambda: bool(notes), timeout=10000)
    qtbot.wait(2500)  # more reads of the same garbled beacon: no second notification
    beacon_notes = [n for n in notes if n[0].startswith("Changes from other machines")]
    assert len(beacon_notes) == 1 and "did not write" in beacon_notes[0][1]
