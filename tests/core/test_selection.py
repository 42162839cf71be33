"""The logic under the pair dialog's "what syncs" parts (core/app/selection.py): the
selective-sync check boxes, the live count of what the rules leave out, and the folders
on each side (the in-memory store here; tests/gui/test_filter_widgets.py has Azurite)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from blobsync.core.app import selection
from blobsync.core.app.selection import (
    Check,
    FolderSelection,
    local_folders,
    pair_folders,
    preview_exclusions,
)
from blobsync.core.credentials import Credentials, SecretKind
from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.filters import IGNORE_FILE, FilterRules
from blobsync.core.remote.memory import MemoryStore


def tree_selection(excluded: list[str] = []) -> FolderSelection:  # noqa: B006
    sel = FolderSelection(excluded)
    sel.add_folders("", ["docs", "photos", "music"])
    sel.add_folders("photos", ["photos/2019", "photos/2024"])
    sel.add_folders("photos/2019", ["photos/2019/summer", "photos/2019/winter"])
    return sel


def test_unchecking_a_folder_leaves_it_out_and_its_parents_partly_checked() -> None:
    sel = tree_selection()
    assert sel.state("photos") is Check.CHECKED and sel.excluded_folders() == []
    sel.set_checked("photos/2019/summer", False)
    assert sel.state("photos/2019/summer") is Check.UNCHECKED
    assert sel.state("photos/2019") is Check.PARTIAL and sel.state("photos") is Check.PARTIAL
    assert sel.state("photos/2019/winter") is Check.CHECKED and sel.state("docs") is Check.CHECKED
    # unchecking the parent takes everything below along, and saves one folder
    sel.set_checked("photos", False)
    assert sel.excluded_folders() == ["photos"]
    for folder in ("photos", "photos/2019", "photos/2019/winter"):
        assert sel.state(folder) is Check.UNCHECKED, folder
    # checking it again brings back all of it (nothing below stays out)
    sel.set_checked("photos", True)
    assert sel.excluded_folders() == [] and sel.state("photos/2019") is Check.CHECKED


def test_checking_a_folder_inside_a_left_out_one_keeps_its_siblings_out() -> None:
    sel = tree_selection(["photos"])
    sel.set_checked("photos/2019/winter", True)
    assert sel.excluded_folders() == ["photos/2019/summer", "photos/2024"]
    assert sel.state("photos") is Check.PARTIAL and sel.state("photos/2019") is Check.PARTIAL
    assert sel.state("photos/2019/winter") is Check.CHECKED
    # folders nobody has looked inside cannot be kept out unseen: refused, not guessed
    blind = FolderSelection(["photos"])
    with pytest.raises(ValueError, match="not known"):
        blind.include("photos/2019")
    assert blind.excluded_folders() == ["photos"]


def test_saved_folders_are_normalised_to_the_smallest_list() -> None:
    sel = FolderSelection(["/photos/", "photos/2019", "docs/a", ""])
    assert sel.excluded_folders() == ["docs/a", "photos"]
    assert sel.state("docs") is Check.PARTIAL and sel.left_out("photos/2019/x")
    with pytest.raises(ValueError):
        sel.add_folders("docs", ["elsewhere/b"])


def write(root: Path, rel: str, data: str = "x") -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data)


def test_the_preview_counts_what_each_rule_leaves_out(tmp_path: Path) -> None:
    root = tmp_path / "f"
    for rel in ("a.txt", "Thumbs.db", "x.log", "keep.log", "b/c.log", "b/d.txt"):
        write(root, rel)
    for rel in ("node_modules/p/index.js", "node_modules/p/pkg.json", "photos/2019/a.jpg"):
        write(root, rel)
    write(root, "photos/2024/b.jpg")
    write(root, ".blobsync/trash/old.txt")  # BlobSync's own: never counted
    write(root, ".blobsync-123.tmp")  # an in-progress download: never synced anyway
    os.symlink(root / "a.txt", root / "link.log")  # a link is an item (never followed)
    write(root, IGNORE_FILE, "node_modules/\n")
    rules = FilterRules(patterns=("*.log", "!keep.log"), excluded_folders={"photos/2019"})
    preview = preview_exclusions(root, rules)
    assert (preview.files, preview.folders, preview.files_in_folders) == (7, 2, 3)
    counts = preview.counts
    assert (counts.defaults, counts.ignore_file, counts.pattern, counts.folder) == (1, 1, 3, 1)
    assert counts.by_pattern == {"Thumbs.db": 1, "node_modules/": 1, "*.log": 3, "photos/2019/": 1}
    assert not preview.truncated

    # the same rules in a dry run: a sync counts the same items
    store = MemoryStore("c")
    engine = SyncEngine(root, store, tmp_path / "s.sqlite3")
    try:
        result = engine.sync(SyncOptions(dry_run=True, filters=rules))
    finally:
        engine.state.close()
    assert result.excluded.by_pattern == counts.by_pattern

    assert preview_exclusions(root, FilterRules.nothing()).files == 0
    assert preview_exclusions(tmp_path / "missing", rules).files == 0
    short = preview_exclusions(root, rules, limit=5)
    assert short.truncated and short.scanned == 5
    stopped = preview_exclusions(root, rules, cancelled=lambda: True, limit=10**6)
    assert stopped.files <= preview.files


def test_the_preview_names_the_rules_of_nested_ignore_files(tmp_path: Path) -> None:
    root = tmp_path / "f"
    for rel in ("a.log", "web/x.log", "web/keep.log", "web/dist/app.js", "web/src/y.log"):
        write(root, rel)
    write(root, "out/" + IGNORE_FILE, "!*\n")  # in an excluded folder: not read
    write(root, "out/z.txt")
    write(root, IGNORE_FILE, "out/\n")
    write(root, "web/" + IGNORE_FILE, "*.log\n!keep.log\n/dist\n")
    preview = preview_exclusions(root, FilterRules(use_defaults=False))
    assert preview.counts.by_pattern == {
        "out/": 1,
        "web/.blobsyncignore: *.log": 2,
        "web/.blobsyncignore: /dist": 1,
    }
    assert (preview.files, preview.folders) == (5, 2)
    store = MemoryStore("c")
    engine = SyncEngine(root, store, tmp_path / "s.sqlite3")
    try:
        result = engine.sync(SyncOptions(dry_run=True, filters=FilterRules(use_defaults=False)))
    finally:
        engine.state.close()
    assert result.excluded.by_pattern == preview.counts.by_pattern


def test_local_and_container_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "f"
    write(root, "docs/a.txt")
    write(root, "photos/2019/a.jpg")
    write(root, ".blobsync/beacon")
    write(root, "file.txt")
    os.symlink(root / "docs", root / "docs-link")
    assert local_folders(root) == ["docs", "photos"]
    assert local_folders(root, "photos") == ["photos/2019"]
    assert local_folders(root, "missing") == []

    store = MemoryStore("box")
    for name in ("projects/x/music/a.mp3", "projects/x/.blobsync/beacon", "projects/xy/b/c"):
        store.put_raw(name, b"x")
    store.put_raw("projects/x/photos/2019/a.jpg", b"x")
    store.close = lambda: None  # type: ignore[method-assign]
    monkeypatch.setattr(selection, "open_store", lambda creds, container: store)
    creds = Credentials(
        "http://127.0.0.1:10000/devstoreaccount1", "devstoreaccount1", SecretKind.ACCOUNT_KEY, "k"
    )
    assert selection.container_folders(creds, "box") == ["projects/"]
    assert selection.container_folders(creds, "box", "projects") == [
        "projects/x/",
        "projects/xy/",
    ]
    assert pair_folders(creds, "box", "projects/x/") == ["music", "photos"]
    assert pair_folders(creds, "box", "projects/x/", "photos") == ["photos/2019"]
    missing = MemoryStore("new", exists=False)
    monkeypatch.setattr(selection, "open_store", lambda creds, container: missing)
    assert selection.container_folders(creds, "new") == []  # created with the first sync
