"""What the in-memory engine tests of the filters share: writing files with a fixed
mtime, reading a store back as a dict (a folder: ``folders.tree``), and engines closed
after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import folders
import pytest

from blobsync.core.engine import SyncEngine
from blobsync.core.remote.memory import MemoryStore

MTIME = 1_700_000_000_000_000_000


def write(root: Path, rel: str, data: bytes | str, mtime_ns: int | None = MTIME) -> Path:
    """:func:`folders.write`, with a fixed mtime unless told otherwise."""
    return folders.write(root, rel, data, mtime_ns)


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
