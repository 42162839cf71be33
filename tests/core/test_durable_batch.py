"""Batch durability: which flush runs for how many files, and when a batch commits."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from blobsync.core.engine.batch import DownloadBatch, Fetched
from blobsync.core.local import durable
from blobsync.core.models import Action, ActionKind


def _files(root: Path, n: int) -> list[Path]:
    paths = []
    for i in range(n):
        path = root / f"f{i}"
        path.write_bytes(b"x")
        paths.append(path)
    return paths


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="syncfs is Linux's")
def test_a_large_batch_is_one_syncfs_a_small_one_fsyncs_each_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    syncfs_calls: list[Path] = []
    fsyncs: list[int] = []
    real_syncfs = durable._syncfs

    def counted_syncfs(root: Path) -> bool:
        syncfs_calls.append(root)
        return real_syncfs(root)

    real_fsync = os.fsync
    monkeypatch.setattr(durable, "_syncfs", counted_syncfs)
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd))[1])
    many = _files(tmp_path, durable.SYNCFS_MIN_FILES)
    durable.flush_files(tmp_path, many)
    durable.flush_dirs(tmp_path, many)
    assert len(syncfs_calls) == 2 and not fsyncs
    few = many[:3]
    durable.flush_files(tmp_path, few)
    assert len(fsyncs) == 3 and len(syncfs_calls) == 2
    durable.flush_dirs(tmp_path, few)
    assert len(fsyncs) == 4  # their one folder


def test_a_failed_syncfs_falls_back_to_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fsyncs: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(durable, "_syncfs", lambda root: False)
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd))[1])
    durable.flush_files(tmp_path, _files(tmp_path, durable.SYNCFS_MIN_FILES))
    assert len(fsyncs) == durable.SYNCFS_MIN_FILES


def _fetched(i: int, size: int = 10) -> Fetched:
    action = Action(ActionKind.DOWNLOAD, f"f{i}")
    return Fetched(action, Path(f"/nowhere/f{i}"), Path(f"/nowhere/.tmp{i}"), b"m" * 16, size)


def test_batches_commit_when_full_in_order_and_on_drain() -> None:
    committed: list[list[str]] = []
    batch = DownloadBatch(
        lambda items: committed.append([i.action.rel_path for i in items]),
        max_items=3,
        max_bytes=10**9,
        max_age_s=3600,
    )
    for i in range(7):
        batch.add(_fetched(i))
    assert committed == [["f0", "f1", "f2"], ["f3", "f4", "f5"]]
    batch.drain()
    assert committed[-1] == ["f6"]
    batch.drain()  # nothing queued: no empty commit
    assert len(committed) == 3


def test_a_batch_commits_on_bytes_and_age() -> None:
    committed: list[int] = []
    by_bytes = DownloadBatch(
        lambda items: committed.append(len(items)), max_bytes=25, max_age_s=3600
    )
    for i in range(3):
        by_bytes.add(_fetched(i, size=10))
    assert committed == [3]
    aged = DownloadBatch(lambda items: committed.append(len(items)), max_age_s=0.0)
    aged.add(_fetched(9))
    assert committed == [3, 1]
