"""The filter rules end to end in the engine, against the in-memory store with Azure's
rules: excluding never deletes, including never overwrites (two-way) or follows the
mirror's rule (upload/download), moves out of the sync are held, the ignore file travels
between machines and applies from the next run, and dry runs count what each rule kept
out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from folders import tree

from blobsync.core.engine import Resolution, SyncEngine, SyncOptions
from blobsync.core.errors import SafetyStop
from blobsync.core.filters import IGNORE_FILE, FilterRules
from blobsync.core.models import ActionKind, IssueKind, SyncMode, SyncResult
from blobsync.core.remote.memory import MemoryStore

from .memory_world import MTIME, blobs, write
from .memory_world import make_engine as make_engine  # a fixture, used by name

NONE = FilterRules.nothing()
DOCS_OUT = FilterRules(patterns=("docs/",), use_defaults=False, use_ignore_file=False)


def sync(
    engine: SyncEngine,
    rules: FilterRules = NONE,
    mode: SyncMode = SyncMode.TWO_WAY,
    dry_run: bool = False,
) -> SyncResult:
    return engine.sync(SyncOptions(mode=mode, workers=2, filters=rules, dry_run=dry_run))


def synced_pair(tmp_path: Path, make_engine, mode: SyncMode):
    """A folder and a container that agree on docs/a.txt, docs/b.txt and keep.txt, with
    a snapshot made by a run in ``mode``."""
    store = MemoryStore("c")
    root = tmp_path / "a"
    for rel, data in {"docs/a.txt": "a1", "docs/b.txt": "b1", "keep.txt": "k1"}.items():
        write(root, rel, data)
        store.put_raw(rel, data.encode(), MTIME)
    engine = make_engine(root, store)
    first = sync(engine, mode=mode)
    assert first.recorded == 3 and first.writes == 0
    return engine, store, root


# ---- excluding never deletes ---------------------------------------------------------------

#: What happens to docs/a.txt while docs/ is excluded (on either side).
CHANGES = ("nothing", "local_deleted", "remote_deleted", "local_changed", "remote_changed")


def apply_change(change: str, root: Path, store: MemoryStore) -> None:
    if change == "local_deleted":
        (root / "docs/a.txt").unlink()
    elif change == "remote_deleted":
        store.remove_raw("docs/a.txt")
    elif change == "local_changed":
        write(root, "docs/a.txt", "a-local", MTIME + 10**9)
    elif change == "remote_changed":
        store.put_raw("docs/a.txt", b"a-remote", MTIME + 10**9)


@pytest.mark.parametrize("mode", list(SyncMode))
@pytest.mark.parametrize("change", CHANGES)
def test_excluding_never_deletes_or_writes(tmp_path, make_engine, mode, change) -> None:
    engine, store, root = synced_pair(tmp_path, make_engine, mode)
    writes = store.writes
    out = sync(engine, DOCS_OUT, mode)
    assert out.writes == 0 and store.writes == writes
    assert engine.state.get_snapshot("docs/a.txt") is None  # the snapshot forgets it
    assert engine.state.get_snapshot("keep.txt") is not None
    assert out.excluded.pattern == 1 and out.excluded.by_pattern == {"docs/": 1}  # one folder
    apply_change(change, root, store)
    local_before, remote_before = tree(root), blobs(store)
    again = sync(engine, DOCS_OUT, mode)
    assert again.writes == 0 and again.in_sync
    assert tree(root) == local_before and blobs(store) == remote_before


#: After docs/ is included again: (local docs/a.txt, remote docs/a.txt, conflict copy?)
REINCLUDED: dict[tuple[SyncMode, str], tuple[bytes | None, bytes | None, bool]] = {
    # two-way: merged like a first sync, never deleted, never overwritten
    (SyncMode.TWO_WAY, "nothing"): (b"a1", b"a1", False),
    (SyncMode.TWO_WAY, "local_deleted"): (b"a1", b"a1", False),  # brought back down
    (SyncMode.TWO_WAY, "remote_deleted"): (b"a1", b"a1", False),  # uploaded again
    (SyncMode.TWO_WAY, "local_changed"): (b"a1", b"a1", True),  # both kept
    (SyncMode.TWO_WAY, "remote_changed"): (b"a-remote", b"a-remote", True),  # both kept
    # upload mirror: the folder is the source, as on a first upload-mode sync
    (SyncMode.UPLOAD, "nothing"): (b"a1", b"a1", False),
    (SyncMode.UPLOAD, "local_deleted"): (None, None, False),
    (SyncMode.UPLOAD, "remote_deleted"): (b"a1", b"a1", False),
    (SyncMode.UPLOAD, "local_changed"): (b"a-local", b"a-local", False),
    (SyncMode.UPLOAD, "remote_changed"): (b"a1", b"a1", False),
    # download mirror: the container is the source, as on a first download-mode sync
    (SyncMode.DOWNLOAD, "nothing"): (b"a1", b"a1", False),
    (SyncMode.DOWNLOAD, "local_deleted"): (b"a1", b"a1", False),
    (SyncMode.DOWNLOAD, "remote_deleted"): (None, None, False),
    (SyncMode.DOWNLOAD, "local_changed"): (b"a1", b"a1", False),
    (SyncMode.DOWNLOAD, "remote_changed"): (b"a-remote", b"a-remote", False),
}


@pytest.mark.parametrize("mode", list(SyncMode))
@pytest.mark.parametrize("change", CHANGES)
def test_including_again_merges_like_a_first_sync(tmp_path, make_engine, mode, change) -> None:
    engine, store, root = synced_pair(tmp_path, make_engine, mode)
    sync(engine, DOCS_OUT, mode)
    apply_change(change, root, store)
    back = sync(engine, NONE, mode)
    local_a, remote_a, copy = REINCLUDED[(mode, change)]
    local, remote = tree(root), blobs(store)
    assert local.get("docs/a.txt") == local_a and remote.get("docs/a.txt") == remote_a
    copies = [n for n in local if "conflict" in n]
    assert bool(copies) == copy
    if copy:  # the other version is kept on both sides under the copy's name
        other = b"a-local" if change == "local_changed" else b"a1"
        assert local[copies[0]] == other == remote[copies[0]]
        assert [i.kind for i in back.issues] == [IssueKind.CONFLICT]
    assert local["docs/b.txt"] == remote["docs/b.txt"] == b"b1"
    if mode is SyncMode.TWO_WAY:
        assert back.deleted_local == back.deleted_remote == 0
    assert sync(engine, NONE, mode).writes == 0  # converged


def test_excluding_most_of_the_folder_trips_no_safety_valve(tmp_path, make_engine) -> None:
    store = MemoryStore("c", exists=False)
    root = tmp_path / "a"
    for i in range(40):
        write(root, f"big/f{i:02d}.bin", f"{i}")
    write(root, "small.txt", "s")
    engine = make_engine(root, store)
    assert sync(engine).uploaded == 41
    out = sync(engine, FilterRules(excluded_folders={"big"}, use_defaults=False))
    assert out.writes == 0 and out.excluded.folder == 1 and len(store.synced_names()) == 41
    # everything excluded and the folder holds nothing else: not an "emptied folder"
    (root / "small.txt").unlink()
    store.remove_raw("small.txt")
    out = sync(engine, FilterRules(excluded_folders={"big"}, use_defaults=False))
    assert out.writes == 0 and out.in_sync and len(store.synced_names()) == 40
    assert engine.state.snapshot_count() == 0


def test_the_mass_delete_valve_weighs_what_is_still_in_the_sync(tmp_path, make_engine) -> None:
    """80 of 100 files leave the sync (forgotten, not deleted); deleting 15 of the 20 left
    is a mass deletion of what is synced, and stops."""
    store = MemoryStore("c", exists=False)
    root = tmp_path / "a"
    for i in range(100):
        write(root, f"{'old' if i < 80 else 'cur'}/f{i:03d}.txt", f"{i}")
    engine = make_engine(root, store)
    sync(engine)
    rules = FilterRules(excluded_folders={"old"}, use_defaults=False)
    for i in range(80, 95):
        (root / f"cur/f{i:03d}.txt").unlink()
    with pytest.raises(SafetyStop, match="delete 15 of 20"):
        sync(engine, rules)
    assert len(store.synced_names()) == 100


def test_ignored_blobs_are_never_downloaded_and_ignored_files_never_uploaded(
    tmp_path, make_engine
) -> None:
    store = MemoryStore("c")
    for rel in ("Thumbs.db", "a/~$report.docx", "a/report.docx", "cache/x.bin", "x.log"):
        store.put_raw(rel, rel.encode())
    root = tmp_path / "a"
    write(root, "notes.txt.swp", "swap")
    write(root, "cache/local.bin", "c")
    write(root, "notes.txt", "n")
    rules = FilterRules(patterns=("cache/", "*.log"))
    engine = make_engine(root, store)
    dry = sync(engine, rules, dry_run=True)
    assert (dry.excluded.defaults, dry.excluded.pattern) == (3, 2)
    assert dry.excluded.by_pattern == {
        "Thumbs.db": 1,
        "~$*": 1,
        "*.swp": 1,
        "cache/": 1,
        "*.log": 1,
    }
    out = sync(engine, rules)
    assert tree(root) == {
        "notes.txt.swp": b"swap",
        "cache/local.bin": b"c",
        "notes.txt": b"n",
        "a/report.docx": b"a/report.docx",
    }
    assert set(store.synced_names()) == {
        "Thumbs.db", "a/~$report.docx", "a/report.docx", "cache/x.bin", "x.log", "notes.txt"
    }  # fmt: skip
    assert out.excluded.total == 5 and out.in_sync


def test_dry_run_counts_each_rule_and_changes_nothing(tmp_path, make_engine) -> None:
    engine, store, root = synced_pair(tmp_path, make_engine, SyncMode.TWO_WAY)
    write(root, IGNORE_FILE, "*.bak\n")
    write(root, "x.bak", "b")
    write(root, "y.tmp", "t")
    store.put_raw("photos/p.jpg", b"p")
    store.put_raw("photos/q.jpg", b"q")
    rules = FilterRules(patterns=("docs/a.txt",), excluded_folders={"photos"})
    writes = store.writes
    dry = sync(engine, rules, dry_run=True)
    counts = dry.excluded
    assert (counts.folder, counts.defaults, counts.ignore_file, counts.pattern) == (1, 1, 1, 1)
    assert counts.by_pattern == {"photos/": 1, "*.tmp": 1, "*.bak": 1, "docs/a.txt": 1}
    planned = {a.rel_path: a.kind for a in dry.planned}
    assert planned["docs/a.txt"] is ActionKind.FORGET  # only the snapshot row would go
    assert "photos/p.jpg" not in planned and "x.bak" not in planned
    assert store.writes == writes and engine.state.get_snapshot("docs/a.txt") is not None


def test_an_excluded_folder_is_not_entered(tmp_path, make_engine) -> None:
    store = MemoryStore("c")
    root = tmp_path / "a"
    write(root, "ok.txt", "ok")
    (root / "vendor" / "deep").mkdir(parents=True)
    (root / "vendor" / "link").symlink_to(tmp_path)
    os.mkfifo(root / "vendor" / "deep" / "fifo")
    write(root, "vendor/deep/x.js", "x")
    engine = make_engine(root, store)
    out = sync(engine, FilterRules(patterns=("vendor/",)))
    assert out.issues == [] and set(store.synced_names()) == {"ok.txt"}
    assert out.excluded.by_pattern == {"vendor/": 1}
    plain = make_engine(root, MemoryStore("d"), "b")
    assert {i.kind for i in sync(plain).issues} == {IssueKind.SYMLINK, IssueKind.NAME_NOT_ALLOWED}


# ---- moves across the boundary -----------------------------------------------------------


def test_a_file_moved_into_an_excluded_folder_keeps_its_remote_copy(tmp_path, make_engine):
    engine, store, root = synced_pair(tmp_path, make_engine, SyncMode.TWO_WAY)
    rules = FilterRules(excluded_folders={"private"})
    (root / "private").mkdir()
    os.rename(root / "docs/a.txt", root / "private/a.txt")
    out = sync(engine, rules)
    assert out.deleted_remote == 0 and store.content("docs/a.txt") == b"a1"
    [issue] = out.issues
    assert issue.kind is IssueKind.MOVED_OUT_OF_SYNC and issue.rel_path == "docs/a.txt"
    assert issue.conflict_copy == "private/a.txt" and "private/a.txt" in issue.message
    assert engine.state.get_snapshot("docs/a.txt") is not None
    # still held on the next run, even after the moved file was edited there
    write(root, "private/a.txt", "edited", MTIME + 5 * 10**9)
    assert [i.kind for i in sync(engine, rules).issues] == [IssueKind.MOVED_OUT_OF_SYNC]
    assert "docs/a.txt" in store.synced_names()
    # once the moved copy is gone too, the intent is clear: a deletion
    (root / "private/a.txt").unlink()
    gone = sync(engine, rules)
    assert gone.deleted_remote == 1 and "docs/a.txt" not in store.synced_names() and gone.in_sync


def test_a_rename_to_an_ignored_name_is_held_and_a_plain_delete_is_not(tmp_path, make_engine):
    engine, store, root = synced_pair(tmp_path, make_engine, SyncMode.TWO_WAY)
    os.rename(root / "docs/a.txt", root / "docs/a.txt.tmp")  # e.g. an editor's safe save
    (root / "docs/b.txt").unlink()  # really deleted
    out = sync(engine, FilterRules())
    assert {i.rel_path: i.kind for i in out.issues} == {"docs/a.txt": IssueKind.MOVED_OUT_OF_SYNC}
    assert out.deleted_remote == 1 and set(store.synced_names()) == {"docs/a.txt", "keep.txt"}


@pytest.mark.parametrize("choice", [Resolution.KEEP_MINE, Resolution.TAKE_THEIRS])
def test_resolving_a_move_out_of_the_sync(tmp_path, make_engine, choice) -> None:
    engine, store, root = synced_pair(tmp_path, make_engine, SyncMode.TWO_WAY)
    rules = FilterRules(excluded_folders={"private"})
    (root / "private").mkdir()
    os.rename(root / "docs/a.txt", root / "private/a.txt")
    sync(engine, rules)
    engine.resolve("docs/a.txt", choice)
    after = sync(engine, rules)
    assert after.in_sync and after.issues == []
    if choice is Resolution.KEEP_MINE:  # "yes, I took it out": the container's copy goes
        assert "docs/a.txt" not in store.synced_names() and not (root / "docs/a.txt").exists()
    else:  # bring it back where it was
        assert (root / "docs/a.txt").read_bytes() == b"a1" and "docs/a.txt" in store.synced_names()
    assert (root / "private/a.txt").read_bytes() == b"a1"


def test_upload_mode_holds_a_move_out_too(tmp_path, make_engine) -> None:
    engine, store, root = synced_pair(tmp_path, make_engine, SyncMode.UPLOAD)
    (root / "archive").mkdir()
    os.rename(root / "keep.txt", root / "archive/keep.txt")
    out = sync(engine, FilterRules(patterns=("archive/",)), SyncMode.UPLOAD)
    assert out.deleted_remote == 0 and store.content("keep.txt") == b"k1"
    assert [i.kind for i in out.issues] == [IssueKind.MOVED_OUT_OF_SYNC]


# ---- the ignore file ---------------------------------------------------------------------


def test_an_ignore_file_edited_on_b_takes_effect_on_a_from_its_next_run(tmp_path, make_engine):
    store = MemoryStore("c")
    a_root, b_root = tmp_path / "a", tmp_path / "b"
    write(a_root, "build.log", "log1")
    write(a_root, "src.txt", "s")
    a = make_engine(a_root, store, "a")
    b = make_engine(b_root, store, "b")
    rules = FilterRules()
    sync(a, rules)
    sync(b, rules)
    assert tree(b_root) == {"build.log": b"log1", "src.txt": b"s"}
    # B starts ignoring *.log; its run uploads the ignore file and forgets build.log
    write(b_root, IGNORE_FILE, "*.log\n")
    out_b = sync(b, rules)
    assert out_b.uploaded == 1 and out_b.excluded.ignore_file == 1 and out_b.deleted_remote == 0
    # A's next run downloads the new ignore file but still applies the rules it started
    # with: its new log is uploaded this once, and the result says the rules changed
    write(a_root, "new.log", "n")
    out_a = sync(a, rules)
    assert out_a.downloaded == 1 and out_a.ignore_file_changed and "new.log" in store.synced_names()
    assert out_a.excluded.ignore_file == 0
    # from the next run on, A ignores *.log too: edits stay local, nothing is deleted
    write(a_root, "build.log", "log2", MTIME + 10**9)
    out_a2 = sync(a, rules)
    assert out_a2.writes == 0 and not out_a2.ignore_file_changed
    assert out_a2.excluded.ignore_file == 2 and out_a2.excluded.by_pattern == {"*.log": 2}
    assert store.content("build.log") == b"log1" and store.content("new.log") == b"n"
    assert (b_root / "build.log").read_bytes() == b"log1"
    # B removes the pattern again: both logs come back in, merged (A's edit kept as a conflict)
    (b_root / IGNORE_FILE).write_text("# nothing ignored\n")
    sync(b, rules)
    sync(a, rules)  # downloads the file; still ignoring *.log in this run
    back = sync(a, rules)
    assert [i.kind for i in back.issues] == [IssueKind.CONFLICT] and back.deleted_remote == 0
    names = set(store.synced_names())
    assert "build.log" in names and any(n.startswith("build (conflict") for n in names)


def test_a_first_sync_uses_the_containers_ignore_file(tmp_path, make_engine) -> None:
    store = MemoryStore("c")
    store.put_raw(IGNORE_FILE, b"node_modules/\n*.log\n")
    store.put_raw("app.js", b"js")
    root = tmp_path / "new-machine"
    write(root, "node_modules/dep/index.js", "dep")
    write(root, "debug.log", "d")
    write(root, "local.txt", "l")
    out = sync(make_engine(root, store), FilterRules())
    assert set(store.synced_names()) == {IGNORE_FILE, "app.js", "local.txt"}
    assert out.excluded.ignore_file == 2 and not out.ignore_file_changed
    assert (root / IGNORE_FILE).read_bytes() == b"node_modules/\n*.log\n"


def test_a_broken_ignore_file_keeps_the_last_good_rules(tmp_path, make_engine) -> None:
    store = MemoryStore("c")
    root = tmp_path / "a"
    write(root, IGNORE_FILE, "*.log\n")
    write(root, "x.log", "x")
    engine = make_engine(root, store)
    assert sync(engine, FilterRules()).uploaded == 1 and store.synced_names() == [IGNORE_FILE]
    write(root, IGNORE_FILE, b"\xff\xfe*.log\n", MTIME + 10**9)  # not UTF-8
    out = sync(engine, FilterRules())
    issue = next(i for i in out.issues if i.kind is IssueKind.IGNORE_FILE)
    assert "not UTF-8" in issue.message and "before still apply" in issue.message
    assert "x.log" not in store.synced_names() and out.excluded.ignore_file == 1
    assert not out.ignore_file_changed  # a broken file is no reason to run again and again
    assert not sync(engine, FilterRules()).ignore_file_changed


def test_invalid_lines_are_skipped_and_reported(tmp_path, make_engine) -> None:
    store = MemoryStore("c")
    root = tmp_path / "a"
    write(root, IGNORE_FILE, "*.log\n!\n[z-a]\n")
    write(root, "x.log", "x")
    out = sync(make_engine(root, store), FilterRules())
    [issue] = out.issues
    assert issue.kind is IssueKind.IGNORE_FILE and issue.rel_path == IGNORE_FILE
    assert issue.message.startswith("Line 2: '!' is not a valid pattern")
    assert "1 more such lines" in issue.message
    assert set(store.synced_names()) == {IGNORE_FILE}


def test_the_ignore_file_can_be_switched_off(tmp_path, make_engine) -> None:
    store = MemoryStore("c")
    root = tmp_path / "a"
    write(root, IGNORE_FILE, "*.log\n")
    write(root, "x.log", "x")
    out = sync(make_engine(root, store), FilterRules(use_ignore_file=False))
    assert set(store.synced_names()) == {IGNORE_FILE, "x.log"} and out.excluded.total == 0


def test_no_rules_cost_nothing_and_change_nothing(tmp_path, make_engine) -> None:
    store = MemoryStore("c")
    root = tmp_path / "a"
    write(root, "x.tmp", "t")
    out = sync(make_engine(root, store), NONE)
    assert store.synced_names() == ["x.tmp"] and out.excluded.total == 0
