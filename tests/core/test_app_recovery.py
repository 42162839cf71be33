"""The app layer's history, restore and undo (core/app/recovery.py, AppService): one
set of words and calls for both clients, on the in-memory store."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from blobsync.core.app import engines
from blobsync.core.app.recovery import (
    KIND_GROUPS,
    change_words,
    recovery_words,
    version_words,
)
from blobsync.core.app.service import AppService
from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig, SettingsStore
from blobsync.core.credentials import SecretKind
from blobsync.core.engine.history import ChangeKind
from blobsync.core.errors import ConfigError, ItemError
from blobsync.core.models import ConflictRule
from blobsync.core.remote.memory import MemoryStore

CONN = (
    "DefaultEndpointsProtocol=https;AccountName=acct;"
    "AccountKey=a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5;EndpointSuffix=core.windows.net"
)


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> MemoryStore:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    shared = MemoryStore()
    monkeypatch.setattr(engines, "open_store", lambda creds, container: shared)
    return shared


def service_for(root: Path, machine: str) -> tuple[AppService, PairConfig]:
    pair = PairConfig(str(root), "acct", "box", name=root.name)
    config = AppConfig(
        accounts={
            "acct": AccountConfig(
                "acct", "https://acct.blob.core.windows.net", "acct", SecretKind.CONNECTION_STRING
            )
        },
        pairs=[pair],
        machine_name=machine,
    )
    service = AppService(SettingsStore(config, save=lambda _c: None), secret_loader=lambda _a: CONN)
    return service, pair


def sync(service: AppService, pair: PairConfig) -> None:
    engine = service.open_engine(pair)
    try:
        engine.sync(service.options(pair))
    finally:
        engine.close()


def test_a_remote_delete_is_told_with_its_machine_and_one_undo_brings_it_back(
    store: MemoryStore, tmp_path: Path
) -> None:
    a_root, b_root = tmp_path / "a", tmp_path / "b"
    a_root.mkdir()
    b_root.mkdir()
    (a_root / "report.txt").write_text("draft 1")
    (a_root / "keep.txt").write_text("stays")  # an emptied folder is a safety stop
    a, pair_a = service_for(a_root, "laptop-a")
    b, pair_b = service_for(b_root, "desk-b")
    sync(a, pair_a)
    sync(b, pair_b)
    (b_root / "report.txt").unlink()
    sync(b, pair_b)
    sync(a, pair_a)
    assert not (a_root / "report.txt").exists()

    deleted = a.history().changes(pair=pair_a, kinds=KIND_GROUPS["deletions"])
    assert [c.change.rel_path for c in deleted] == ["report.txt"]
    assert change_words(deleted[0].change) == "Deleted here: deleted on desk-b"
    assert deleted[0].pair_name == "a" and deleted[0].local_path() == a_root / "report.txt"

    dry = a.undo(pair_a, deleted[0].change.run_id, dry_run=True)
    assert dry.dry_run and not (a_root / "report.txt").exists()
    assert recovery_words(dry, "undo") == ["1 file would be put back"]
    done = a.undo(pair_a, deleted[0].change.run_id)
    assert (a_root / "report.txt").read_text() == "draft 1"
    assert "report.txt" in store.synced_names()
    assert recovery_words(done, "undo") == ["1 file put back"]
    sync(b, pair_b)
    assert (b_root / "report.txt").read_text() == "draft 1"


def test_restore_by_number_and_the_machine_name_rule(store: MemoryStore, tmp_path: Path) -> None:
    root = tmp_path / "a"
    root.mkdir()
    (root / "n.txt").write_text("one")
    service, pair = service_for(root, "")
    sync(service, pair)
    (root / "n.txt").write_text("two, longer")
    sync(service, pair)
    versions = service.versions(pair, "n.txt")
    assert versions and versions[0].size == 3
    assert version_words(1, versions[0]).startswith("1. 3 bytes, kept ")
    with pytest.raises(ItemError, match=r"no version 9 of n\.txt"):
        service.restore(pair, "n.txt", 9)
    service.restore(pair, "n.txt", 1)
    assert (root / "n.txt").read_text() == "one"
    uploads = service.history().changes(pair=pair, kinds=[ChangeKind.UPLOADED], limit=1)
    assert uploads[0].change.writer is not None
    assert uploads[0].change.writer.machine == socket.gethostname()  # "" = the host name
    service.set_machine_name("studio mac")
    assert service.options(pair).hostname == "studio mac"
    with pytest.raises(ConfigError):
        service.set_machine_name("bad\nname")
    assert service.options(pair).conflict_rule is ConflictRule.KEEP_BOTH


def test_history_of_an_unknown_pair_is_empty(store: MemoryStore, tmp_path: Path) -> None:
    service, _pair = service_for(tmp_path, "m")
    other = PairConfig(str(tmp_path / "elsewhere"), "acct", "box")
    assert service.history().changes(pair=other) == []
