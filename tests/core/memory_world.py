"""What the in-memory engine tests of the filters share: writing files with a fixed
mtime, reading a folder and a store back as dicts, and engines closed after the test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from blobsync.core.engine import SyncEngine
from blobsync.core.remote.memory import MemoryStore

MTIME = 1_700_000_000_000_000_000


def write(root: Path, rel: str, data: bytes | str, mtime_ns: int | None = MTIME) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def tree(root: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            full = Path(dirpath) / name
            out[full.relative_to(root).as_posix()] = full.read_bytes()
    return out


def blobs(store: MemoryStore) -> dict[str, bytes]:
    return {name: store.content(name) for name in store.synced_names()}


@pytest.fixture
def make_engine(tmp_path: Path) -> Iterator[Callable[..., SyncEngine]]:
    engines: list[SyncEngine] = []

    def make(root: Path, store: MemoryStore, name: str = "a") -> SyncEngine:
        root.mkdir(parents=True, exist_ok=True)
        engine = SyncEngine(root, store, tmp_path / f"state-{name}.sqlite3")
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.state.close()
