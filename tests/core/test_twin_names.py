"""Twin names (case-only or normalization-only differences): the folder's file system
is probed once; where it folds names (Windows, macOS), the twin this folder has always
wins and the other is reported, so a download can never land on the existing file.
Tested with the probe's answer forced (this machine's disks tell twins apart)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from blobsync.core.engine import SyncEngine
from blobsync.core.local.folding import NameFolding, probe_name_folding
from blobsync.core.models import IssueKind
from blobsync.core.remote.memory import MemoryStore

NFC = unicodedata.normalize("NFC", "caf\u00e9.txt")
NFD = unicodedata.normalize("NFD", NFC)


def test_the_probe_answers_for_this_folder_and_leaves_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    answer = probe_name_folding(folder)
    assert answer == NameFolding(case=False, normalization=False)  # ext4/tmpfs here
    assert list(folder.iterdir()) == []


def _synced(tmp_path: Path, name: str, folding: NameFolding) -> tuple[SyncEngine, MemoryStore]:
    root = tmp_path / "root"
    root.mkdir()
    (root / name).write_text("mine, synced before")
    store = MemoryStore("c")
    engine = SyncEngine(root, store, tmp_path / "state.sqlite3")
    engine.name_folding = folding
    engine.sync()
    return engine, store


@pytest.mark.parametrize(
    ("ours", "theirs", "folding"),
    [
        ("report.txt", "Report.txt", NameFolding(case=True)),
        (NFC, NFD, NameFolding(case=True, normalization=True)),
    ],
)
def test_where_the_disk_folds_names_the_twin_here_wins(
    tmp_path: Path, ours: str, theirs: str, folding: NameFolding
) -> None:
    engine, store = _synced(tmp_path, ours, folding)
    assert sorted([ours, theirs])[0] == theirs  # theirs comes first in the listing
    store.put_raw(theirs, b"another machine's twin")
    (engine.local_root / ours).write_text("mine, edited since")
    result = engine.sync()
    assert [(i.rel_path, i.kind) for i in result.issues] == [(theirs, IssueKind.NAME_COLLISION)]
    assert not (engine.local_root / theirs).exists()  # never downloaded over ours
    assert (engine.local_root / ours).read_text() == "mine, edited since"
    assert store.content(ours) == b"mine, edited since"  # ours still syncs
    assert store.content(theirs) == b"another machine's twin"  # theirs is kept
    engine.close()


def test_where_the_disk_tells_twins_apart_the_first_one_syncs(tmp_path: Path) -> None:
    engine, store = _synced(tmp_path, "report.txt", NameFolding())
    store.put_raw("Report.txt", b"another machine's twin")
    result = engine.sync()
    # Both could live here, but only one may: the other machine may be Windows.
    assert [(i.rel_path, i.kind) for i in result.issues] == [
        ("report.txt", IssueKind.NAME_COLLISION)
    ]
    engine.close()
