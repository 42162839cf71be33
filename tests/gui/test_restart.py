"""Restarts with the bundled emulator: the first sync waits for the emulator instead of
racing its start-up ("Offline", "Connection failed"), and a restart on a new emulator
port keeps the pair's state: last sync, pending conflict, nothing transferred again."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import ClassVar

import pytest
from PySide6.QtCore import QObject, Signal

from blobsync.core.app.emulator import DEMO_ACCOUNT_NAME, Azurite, free_port
from blobsync.core.app.service import AppService
from blobsync.core.app.settings import AppConfig, PairConfig, SettingsStore, save_config
from blobsync.core.app.status import PairState
from blobsync.core.models import IssueKind
from blobsync.gui import app as gui_app
from blobsync.gui.controller import Controller

pytestmark = [pytest.mark.gui, pytest.mark.azurite]


class HeldStarter(QObject):
    """Stands in for the app's EmulatorStarter: the emulator starts when the test says."""

    ready = Signal(str)
    made: ClassVar[list[HeldStarter]] = []

    def __init__(self, port: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.server = Azurite(port=port, in_memory=True)
        HeldStarter.made.append(self)

    def start(self) -> None:
        pass  # not yet: the test starts it

    def stop(self) -> None:
        self.server.stop()


def test_the_first_sync_waits_for_the_emulator(qtbot, qapp, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(gui_app, "EmulatorStarter", HeldStarter)
    monkeypatch.setattr(gui_app, "find_azurite", lambda: Path("azurite"))
    root = tmp_path / "BlobSync"
    root.mkdir()
    (root / "hello.txt").write_text("hello")
    config = AppConfig(pairs=[PairConfig(str(root), DEMO_ACCOUNT_NAME, "blobsync-demo")])
    gui_app.point_demo_account(config, 1)  # start_app re-points it at its own port
    save_config(config)
    instance = gui_app.SingleInstance(f"blobsync-test-{uuid.uuid4().hex[:8]}")
    session = gui_app.start_app(qapp, instance)
    ctl = session.controller
    notes: list[tuple[str, str, bool]] = []
    ctl.notify.connect(lambda *args: notes.append(args))
    pair_id = ctl.pairs()[0].pair_id
    starter = HeldStarter.made[-1]
    try:
        qtbot.wait(2000)  # the live loop has asked to sync several times by now
        assert not ctl.status(pair_id).syncing and ctl.status(pair_id).failure is None
        assert ctl.pair_state(pair_id) is not PairState.OFFLINE
        assert "Starting the local storage emulator" in session.window.banner_label.text()
        starter.server.start()
        starter.ready.emit("")
        qtbot.waitUntil(lambda: ctl.pair_state(pair_id) is PairState.IDLE, timeout=30000)
        assert not [n for n in notes if n[2]], notes  # no "Connection failed"
    finally:
        session.close()


def test_a_restart_on_a_new_emulator_port_keeps_state_last_sync_and_conflicts(qtbot, tmp_path):  # type: ignore[no-untyped-def]
    from azure.storage.blob import BlobServiceClient

    data = tmp_path / "azurite-data"
    root = tmp_path / "docs"
    root.mkdir()
    (root / "notes.txt").write_text("first")
    (root / "other.txt").write_text("other")
    config = AppConfig(pairs=[PairConfig(str(root), DEMO_ACCOUNT_NAME, "docs", name="docs")])

    def run_app(port: int) -> Controller:
        gui_app.point_demo_account(config, port)
        return Controller(
            service=AppService(SettingsStore(config, lambda _c: None)), schedule=False
        )

    first = Azurite(port=free_port(), location=data).start()
    try:
        ctl = run_app(first.port)
        pair_id = ctl.pairs()[0].pair_id
        assert ctl.sync_now(pair_id)
        qtbot.waitUntil(lambda: ctl.pair_state(pair_id) is PairState.IDLE, timeout=30000)
        sdk = BlobServiceClient.from_connection_string(first.connection_string)
        sdk.get_blob_client("docs", "notes.txt").upload_blob(b"theirs", overwrite=True)
        sdk.close()
        (root / "notes.txt").write_text("mine, longer")
        assert ctl.sync_now(pair_id)
        qtbot.waitUntil(
            lambda: any(i.kind is IssueKind.CONFLICT for i in ctl.status(pair_id).issues),
            timeout=30000,
        )
        before = ctl.status(pair_id).last_completed
        assert before is not None
        ctl.shutdown()
    finally:
        first.stop()

    # Restarted seconds later, the old port still taken: the emulator comes back elsewhere.
    second = Azurite(port=free_port(), location=data).start()
    try:
        assert second.port != first.port
        ctl = run_app(second.port)
        qtbot.waitUntil(lambda: ctl.status(pair_id).record is not None, timeout=20000)
        status = ctl.status(pair_id)
        assert status.last_completed == before  # not "Last sync: never"
        assert [i.rel_path for i in status.issues if i.kind is IssueKind.CONFLICT] == ["notes.txt"]
        assert ctl.pair_state(pair_id) is PairState.ATTENTION
        assert ctl.sync_now(pair_id)
        qtbot.waitUntil(lambda: ctl.status(pair_id).last_result is not None, timeout=30000)
        result = ctl.status(pair_id).last_result
        assert result.uploaded == result.downloaded == 0  # nothing looked new
        assert any(i.kind is IssueKind.CONFLICT for i in ctl.status(pair_id).issues)
        ctl.shutdown()
    finally:
        second.stop()
