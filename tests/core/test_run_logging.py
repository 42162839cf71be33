"""Every run leaves its trace in the log, written by the engine so that the CLI and the
app log the same: start and end with counts, every issue, a safety stop with what it
would have deleted, a cancel, a connection failure (secrets masked), a failed account
test."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from blobsync.core.app import logs
from blobsync.core.app.accounts import check_account
from blobsync.core.credentials import from_key
from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.errors import Cancelled, ConnectionFailure, SafetyStop
from blobsync.core.remote.base import CancelToken
from blobsync.core.remote.memory import MemoryStore

KEY = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwMTIzNDU2Nzg5MA=="


@pytest.fixture
def log_path(tmp_path: Path) -> Iterator[Path]:
    path = logs.setup_logging(path=tmp_path / "blobsync.log")
    yield path
    logs.clear_registered_secrets()
    logs.shutdown_logging()


def text(path: Path) -> str:
    for handler in logging.getLogger().handlers:
        handler.flush()
    return path.read_text(encoding="utf-8")


def test_runs_issues_stops_and_failures_are_logged(log_path: Path, tmp_path: Path) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    for i in range(3):
        (root / f"f{i}.txt").write_text(str(i))
    (root / "link").symlink_to("f0.txt")
    store = MemoryStore("box")
    engine = SyncEngine(root, store, tmp_path / "state.sqlite3")
    engine.sync()
    log = text(log_path)
    assert f"sync {root} <-> box started (two-way)" in log
    assert "issue: link: Symbolic link (not followed)" in log
    assert f"sync {root} <-> box finished with items pending: 3 up, 0 down" in log

    for name in store.names():
        store.remove_raw(name)
    with pytest.raises(SafetyStop):
        engine.sync()
    assert (
        f"sync {root} <-> box stopped for safety (container_emptied): would delete 3 of 3 "
        "synced files (3 locally, 0 remotely, 3 bytes), first: f0.txt, f1.txt, f2.txt"
    ) in text(log_path)

    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        engine.sync(SyncOptions(restore_deleted=True), cancel)
    assert f"sync {root} <-> box cancelled: 0 up" in text(log_path)
    assert "restoring deletions" in text(log_path)

    logs.register_secret(KEY)
    store.fail_next(
        "list_page", ConnectionFailure(f"Could not reach the service with AccountKey={KEY}.")
    )
    with pytest.raises(ConnectionFailure):
        engine.sync()
    log = text(log_path)
    assert f"sync {root} <-> box stopped: Connection failed: Could not reach" in log
    assert KEY not in log
    engine.close()


def test_a_failed_account_test_is_logged_without_the_key(log_path: Path) -> None:
    from blobsync.core.app.emulator import free_port

    creds = from_key(f"http://127.0.0.1:{free_port()}/devstoreaccount1", KEY)
    logs.register_secret(KEY)
    with pytest.raises(ConnectionFailure):
        check_account(creds)
    log = text(log_path)
    assert "connection test of http://127.0.0.1:" in log and "failed: Connection failed" in log
    assert KEY not in log
