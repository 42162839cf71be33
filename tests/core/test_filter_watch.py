"""Excluded items start no sync: the file watcher's ``skip`` with the pair's rules
(engine.filtering.local_path_filter), on a real inotify watch."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from blobsync.core.engine.filtering import local_path_filter
from blobsync.core.filters import IGNORE_FILE, FilterRules
from blobsync.core.local.watcher import ChangeWatcher


def wait_for(condition, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_changes_to_excluded_items_start_no_sync(tmp_path: Path) -> None:
    root = tmp_path / "folder"
    (root / "build").mkdir(parents=True)
    (root / IGNORE_FILE).write_text("build/\n")
    rules = FilterRules(patterns=("*.log",), excluded_folders={"private"})
    path_filter = local_path_filter(root, rules)
    calls = threading.Semaphore(0)
    watcher = ChangeWatcher(root, calls.release)
    watcher.skip = path_filter.skips
    watcher.start()
    try:
        (root / "build" / "out.o").write_bytes(b"o")  # the ignore file's rule
        (root / "debug.log").write_bytes(b"l")  # the pair's pattern
        (root / "private").mkdir()
        (root / "private" / "secret.txt").write_bytes(b"s")  # selective sync
        assert wait_for(lambda: watcher.events_ignored >= 4)
        assert not calls.acquire(blocking=False)  # none of them asked for a sync
        (root / "notes.txt").write_bytes(b"n")
        assert calls.acquire(timeout=20)  # an included file does
        (root / IGNORE_FILE).write_text("build/\n*.txt\n")  # the rules themselves, too
        assert wait_for(lambda: calls.acquire(blocking=False))
    finally:
        watcher.stop()


def test_local_path_filter_reads_the_ignore_file_as_it_is_now(tmp_path: Path) -> None:
    root = tmp_path / "folder"
    root.mkdir()
    assert local_path_filter(root, FilterRules()).excluded("x.bak") is None
    (root / IGNORE_FILE).write_text("*.bak\n!\n")  # an invalid line is left out
    assert local_path_filter(root, FilterRules()).excluded("x.bak") is not None
    assert local_path_filter(root, FilterRules(use_ignore_file=False)).excluded("x.bak") is None
    (root / IGNORE_FILE).write_bytes(b"\xff*.bak")  # unreadable counts as empty
    assert local_path_filter(root, FilterRules()).excluded("x.bak") is None
