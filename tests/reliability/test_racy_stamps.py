"""Racily clean files: a change that keeps the file's size and mtime because it landed in
the same clock tick as the sync that recorded it (2 s on FAT/exFAT, 1 s on HFS+ and
many network shares, a few ms on ext4). The scanner cannot see it by stamp; unless the
engine hashes such files, the change is never uploaded and a later remote edit is
downloaded over it — a version lost. Coarse timestamps are simulated by putting the
recorded mtime back on the edited file.
"""

from __future__ import annotations

import os
from pathlib import Path

from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.remote.memory import MemoryStore

from .harness import count


def test_same_size_edit_in_the_same_tick_is_not_lost(tmp_path: Path) -> None:
    store = MemoryStore("racy")
    root = tmp_path / "folder"
    root.mkdir()
    path = root / "a.txt"
    path.write_bytes(b"version 1")
    engine = SyncEngine(root, store, tmp_path / "state.sqlite3")
    try:
        assert engine.sync(SyncOptions(workers=1)).uploaded == 1
        recorded = engine.state.get_snapshot("a.txt")
        assert recorded is not None
        # The user saves again within the same tick: same size, same mtime, new content.
        path.write_bytes(b"version 2")
        os.utime(path, ns=(recorded.mtime_ns, recorded.mtime_ns))
        count("hostile_inputs")
        result = engine.sync(SyncOptions(workers=1))
        assert store.content("a.txt") == b"version 2", result
        # And it is not hashed forever: once the tick is long past, the stamp is trusted.
        assert engine.sync(SyncOptions(workers=1)).writes == 0
    finally:
        engine.close()


def test_old_unchanged_files_are_not_rehashed(tmp_path: Path, monkeypatch) -> None:
    store = MemoryStore("racy2")
    root = tmp_path / "folder"
    root.mkdir()
    path = root / "old.txt"
    path.write_bytes(b"old")
    os.utime(path, ns=(10**18, 10**18))  # 2001: long before any run
    engine = SyncEngine(root, store, tmp_path / "state.sqlite3")
    try:
        engine.sync(SyncOptions(workers=1))
        from blobsync.core.local import fs

        hashed: list[str] = []
        real = fs.md5_file
        monkeypatch.setattr(fs, "md5_file", lambda p: hashed.append(str(p)) or real(p))
        assert engine.sync(SyncOptions(workers=1)).writes == 0
        assert hashed == []
    finally:
        engine.close()


def test_same_tick_edit_during_a_download_is_not_overwritten(tmp_path: Path) -> None:
    """The user saves (same size, same tick) between the scan and the local replace:
    the stamp re-check cannot see it, so a recent stamp is confirmed by hash."""
    from .faults import HookedStore

    memory = MemoryStore("racy3")
    store = HookedStore(memory)
    root = tmp_path / "folder"
    root.mkdir()
    path = root / "a.txt"
    path.write_bytes(b"version 1")
    engine = SyncEngine(root, store, tmp_path / "state.sqlite3")
    try:
        engine.sync(SyncOptions(workers=1))
        stamp = path.stat().st_mtime_ns
        memory.put_raw("a.txt", b"remote v2")  # another machine changed it

        def before(op: str, name: str) -> None:
            if op == "download" and name == "a.txt":
                path.write_bytes(b"mine, v2!")  # same size as "version 1"
                os.utime(path, ns=(stamp, stamp))  # ... in the same clock tick

        store.before = before
        count("hostile_inputs")
        engine.sync(SyncOptions(workers=1))
        store.before = None
        assert path.read_bytes() == b"mine, v2!"  # not overwritten
        engine.sync(SyncOptions(workers=1))
        contents = {memory.content(n) for n in memory.names()}
        assert {b"mine, v2!", b"remote v2"} <= contents  # a conflict: both kept
    finally:
        engine.close()
