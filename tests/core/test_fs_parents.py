"""Parent folders made by concurrent downloads: a folder that another worker creates
between our check and our mkdir is used, not reported as a name collision (the
benchmark's 5,000-file download hit this with 4+ workers)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from blobsync.core.errors import ItemError
from blobsync.core.local import fs


def test_parent_created_by_another_worker_in_between(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_lstat = os.lstat
    raced = []

    def lstat(path: object) -> os.stat_result:
        if str(path) == str(tmp_path / "d") and not raced:
            raced.append(True)
            os.mkdir(tmp_path / "d")  # the other worker wins the race...
            raise FileNotFoundError(path)  # ...after our check said "missing"
        return real_lstat(path)  # type: ignore[arg-type]

    monkeypatch.setattr(fs.os, "lstat", lstat)
    assert fs.confined_path(tmp_path, "d/f.bin", make_parents=True) == tmp_path / "d" / "f.bin"
    assert raced


def test_a_file_made_in_between_is_still_a_collision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_lstat = os.lstat
    raced = []

    def lstat(path: object) -> os.stat_result:
        if str(path) == str(tmp_path / "d") and not raced:
            raced.append(True)
            (tmp_path / "d").write_bytes(b"a file")
            raise FileNotFoundError(path)
        return real_lstat(path)  # type: ignore[arg-type]

    monkeypatch.setattr(fs.os, "lstat", lstat)
    with pytest.raises(ItemError, match="is a file here"):
        fs.confined_path(tmp_path, "d/f.bin", make_parents=True)


def test_many_threads_making_the_same_parents(tmp_path: Path) -> None:
    barrier = threading.Barrier(16)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        barrier.wait()
        try:
            fs.confined_path(tmp_path, f"a/b/c/f{i}.bin", make_parents=True)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert (tmp_path / "a" / "b" / "c").is_dir()
