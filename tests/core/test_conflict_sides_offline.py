"""Both versions of a conflict without a connection (AppService.conflict_sides): the
state database, the history and the folder tell size, time and which machine wrote
each side; the conflict's line in the history names the right machine for theirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from blobsync.core.app import engines
from blobsync.core.app.recovery import change_words
from blobsync.core.app.service import AppService
from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig, SettingsStore
from blobsync.core.credentials import SecretKind
from blobsync.core.engine.history import ChangeKind
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


def machine(root: Path, name: str) -> tuple[AppService, PairConfig]:
    root.mkdir()
    pair = PairConfig(str(root), "acct", "box", name=root.name)
    account = AccountConfig(
        "acct", "https://acct.blob.core.windows.net", "acct", SecretKind.CONNECTION_STRING
    )
    config = AppConfig(accounts={"acct": account}, pairs=[pair], machine_name=name)
    service = AppService(SettingsStore(config, save=lambda _c: None), secret_loader=lambda _a: CONN)
    return service, pair


def sync(service: AppService, pair: PairConfig) -> None:
    engine = service.open_engine(pair)
    try:
        engine.sync(service.options(pair))
    finally:
        engine.close()


def test_conflict_sides_offline_name_both_machines(store: MemoryStore, tmp_path: Path) -> None:
    a, pair_a = machine(tmp_path / "a", "laptop-a")
    b, pair_b = machine(tmp_path / "b", "desk-b")
    root_a, root_b = Path(pair_a.local_root), Path(pair_b.local_root)
    (root_a / "k.txt").write_bytes(b"base\n")
    sync(a, pair_a)
    sync(b, pair_b)
    (root_a / "k.txt").write_bytes(b"mine!\n")
    (root_b / "k.txt").write_bytes(b"theirs, longer\n")
    sync(b, pair_b)
    sync(a, pair_a)

    sides = a.conflict_sides(pair_a, "k.txt")  # an OfflineStore: any request would raise
    assert sides is not None and sides.mine is not None
    assert sides.mine.writer is not None and sides.mine.writer.machine == "laptop-a"
    assert sides.mine.size == 6 and (root_a / sides.mine.rel_path).read_bytes() == b"mine!\n"
    assert sides.theirs.writer is not None and sides.theirs.writer.machine == "desk-b"
    assert sides.theirs.size == 15 and sides.theirs.present and sides.theirs.mtime_ns
    assert sides.synced and sides.mine_synced and sides.found_at is not None
    assert a.conflict_sides(pair_a, "nothing.txt") is None

    # The history says the same: theirs came from desk-b, yours is the conflict copy.
    (row,) = [c for c in a.history().changes(pair_a) if c.change.kind is ChangeKind.CONFLICT]
    words = change_words(row.change)
    assert "theirs changed on desk-b" in words and sides.mine.rel_path in words
