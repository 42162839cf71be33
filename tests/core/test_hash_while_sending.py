"""Large uploads hashed while they are sent (``HashWhileSending``), on the in-memory
store: which files qualify (large, and mtime and ctime both older than
``executor.SETTLED_NS``), that the MD5 the store found is what the snapshot and the blob
hold, and that a file that moved on during its upload commits nothing and goes up next
time. (Against Azurite: tests/reliability/test_hostile.py and test_azure_store.py.)"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from blobsync.core.engine import SyncEngine
from blobsync.core.engine import executor as executor_module
from blobsync.core.models import IssueKind
from blobsync.core.remote.base import HashWhileSending, WriteResult
from blobsync.core.remote.memory import MemoryStore

from .memory_world import MTIME, blobs, write
from .memory_world import make_engine as make_engine  # a fixture, used by name

BIG = 64 * 1024


class Recording(MemoryStore):
    """A MemoryStore that notes how each upload's MD5 came, and can change the file
    after the content was read (``change``: name -> what to do)."""

    def __init__(self) -> None:
        super().__init__("c")
        self.hash_while_sending_min = BIG
        self.kinds: dict[str, str] = {}
        self.change: dict[str, Callable[[], None]] = {}

    def upload(
        self, blob_name: str, source: Any, size: int, md5: Any, *args: Any, **kw: Any
    ) -> WriteResult:  # type: ignore[override]
        self.kinds[blob_name] = type(md5).__name__
        if blob_name in self.change and isinstance(md5, HashWhileSending):
            change = self.change.pop(blob_name)
            check = md5.unchanged

            def changed_then_check() -> None:
                change()
                check()

            md5 = HashWhileSending(changed_then_check)
        return super().upload(blob_name, source, size, md5, *args, **kw)


def settle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files older than 1 s count as settled; wait that long."""
    monkeypatch.setattr(executor_module, "SETTLED_NS", 10**9)
    time.sleep(1.1)


def test_only_large_settled_files_are_hashed_while_sent(
    tmp_path: Path, make_engine: Callable[..., SyncEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "folder"
    store = Recording()
    big, small = os.urandom(BIG + 1), os.urandom(BIG - 1)
    write(root, "settled.bin", big)
    write(root, "small.bin", small)
    settle(monkeypatch)
    write(root, "fresh.bin", big)  # mtime set old, ctime now: changed a moment ago
    write(root, "now.bin", big, mtime_ns=None)
    engine = make_engine(root, store)
    result = engine.sync()
    assert result.in_sync, result.issues
    assert store.kinds == {
        "settled.bin": "HashWhileSending",
        "small.bin": "bytes",
        "fresh.bin": "bytes",
        "now.bin": "bytes",
    }
    assert blobs(store) == {
        "settled.bin": big,
        "small.bin": small,
        "fresh.bin": big,
        "now.bin": big,
    }
    assert store.get_entry("settled.bin").md5 == hashlib.md5(big).digest()  # type: ignore[union-attr]
    assert engine.state.get_snapshot("settled.bin").md5 == hashlib.md5(big).digest()  # type: ignore[union-attr]
    assert engine.sync().writes == 0  # the snapshot holds what the store found


def test_a_settled_file_that_moves_on_during_its_upload_commits_nothing(
    tmp_path: Path, make_engine: Callable[..., SyncEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "folder"
    store = Recording()
    path = write(root, "video.bin", os.urandom(BIG * 2))
    settle(monkeypatch)
    new = os.urandom(BIG * 2)
    store.change["video.bin"] = lambda: write(root, "video.bin", new, mtime_ns=MTIME)
    engine = make_engine(root, store)
    first = engine.sync()
    assert [(i.rel_path, i.kind) for i in first.issues] == [("video.bin", IssueKind.FILE_CHANGED)]
    assert blobs(store) == {}  # nothing committed, not even the old content
    assert path.read_bytes() == new  # and the file is left alone
    second = engine.sync()
    assert second.in_sync, second.issues
    assert blobs(store) == {"video.bin": new}
