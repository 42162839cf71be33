"""Nested ignore files (``sub/.blobsyncignore``) in the engine, against the in-memory
store with Azure's rules: they apply to uploads and to blob names, in every mode; a
deeper file re-includes with ``!``, except under an excluded folder (whose own ignore
file is excluded with it); patterns with a slash are anchored to the file's folder;
excluding never deletes, including again merges; one new in the container applies in
the same run (nothing it ignores is downloaded); one edited on another machine applies
from the next run; dry runs name each nested rule."""

from __future__ import annotations

import pytest
from folders import tree

from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.errors import RemoteItemError
from blobsync.core.filters import IGNORE_FILE, FilterRules
from blobsync.core.models import ActionKind, IssueKind, SyncMode, SyncResult
from blobsync.core.remote.memory import MemoryStore

from .memory_world import MTIME, write
from .memory_world import make_engine as make_engine  # a fixture, used by name

RULES = FilterRules(use_defaults=False)  # only the ignore files
SUB_IGNORE = "sub/" + IGNORE_FILE


def sync(
    engine: SyncEngine,
    mode: SyncMode = SyncMode.TWO_WAY,
    rules: FilterRules = RULES,
    dry_run: bool = False,
) -> SyncResult:
    return engine.sync(SyncOptions(mode=mode, workers=2, filters=rules, dry_run=dry_run))


#: (the ignore files, the items on the source side, those that must not travel)
CASES: dict[str, tuple[dict[str, str], list[str], set[str]]] = {
    "patterns apply under their folder only": (
        {SUB_IGNORE: "*.log\n"},
        ["a.log", "sub/a.log", "sub/x/b.log", "sub/b.txt", "other/c.log"],
        {"sub/a.log", "sub/x/b.log"},
    ),
    "a slash anchors to the file's folder": (
        {SUB_IGNORE: "/build\ndocs/*.pdf\n"},
        ["build/x", "sub/build/x", "sub/y/build/x", "sub/docs/a.pdf", "sub/z/docs/b.pdf"],
        {"sub/build/x", "sub/docs/a.pdf"},
    ),
    "a deeper file re-includes with !": (
        {IGNORE_FILE: "*.log\n", SUB_IGNORE: "!keep.log\n", "sub/deep/" + IGNORE_FILE: "*.txt\n"},
        ["keep.log", "sub/keep.log", "sub/x/keep.log", "sub/a.log", "sub/a.txt", "sub/deep/b.txt"],
        {"keep.log", "sub/a.log", "sub/deep/b.txt"},
    ),
    "not under an excluded folder, whose own file is excluded too": (
        {IGNORE_FILE: "out/\n", "out/" + IGNORE_FILE: "!x\n", SUB_IGNORE: "cache/\n",
         "sub/cache/" + IGNORE_FILE: "!*\n"},
        ["out/x", "sub/cache/keep", "sub/keep"],
        {"out/x", "out/" + IGNORE_FILE, "sub/cache/keep", "sub/cache/" + IGNORE_FILE},
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("mode", [SyncMode.TWO_WAY, SyncMode.UPLOAD])
def test_local_nested_files_keep_files_from_being_uploaded(
    tmp_path, make_engine, case, mode
) -> None:
    ignore_files, items, kept_out = CASES[case]
    root = tmp_path / "a"
    for rel in items:
        write(root, rel, rel)
    for rel, text in ignore_files.items():
        write(root, rel, text)
    store = MemoryStore("c")
    out = sync(make_engine(root, store), mode)
    assert set(store.synced_names()) == (set(items) | set(ignore_files)) - kept_out
    assert out.deleted_local == out.deleted_remote == 0
    assert tree(root).keys() == set(items) | set(ignore_files)  # nothing removed here


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("mode", [SyncMode.TWO_WAY, SyncMode.DOWNLOAD])
@pytest.mark.parametrize("where", ["here", "container only"])
def test_nested_files_keep_blobs_from_being_downloaded(
    tmp_path, make_engine, case, mode, where
) -> None:
    """With the ignore files here, or the nested ones only in the container (a folder
    arriving from another machine with its ignore file: it applies in the same run).
    The root's is here in both cases: one new in the container applies from the next
    run, as before (tests/core/test_filter_engine.py)."""
    ignore_files, items, kept_out = CASES[case]
    store = MemoryStore("c")
    root = tmp_path / "a"
    write(root, "seen.txt", "s")
    store.put_raw("seen.txt", b"s", MTIME)
    engine = make_engine(root, store)
    sync(engine, mode)  # a snapshot: not a first sync
    for rel in items:
        store.put_raw(rel, rel.encode(), MTIME)
    for rel, text in ignore_files.items():
        store.put_raw(rel, text.encode(), MTIME)
        if where == "here" or rel == IGNORE_FILE:
            write(root, rel, text)
    writes = store.writes
    preview = sync(engine, mode, dry_run=True)
    assert preview.excluded.total >= 1
    out = sync(engine, mode)
    local = tree(root)
    expected = {"seen.txt", *items, *ignore_files} - kept_out
    if where == "here":
        expected |= set(ignore_files)  # written here by the test, left alone
    expected |= {IGNORE_FILE} & set(ignore_files)
    assert local.keys() == expected, case
    assert out.excluded.total == preview.excluded.total
    assert store.writes == writes and set(store.synced_names()) >= set(items)  # nothing deleted
    assert not out.ignore_file_changed  # what came down was applied already
    assert sync(engine, mode).writes == 0


def test_a_container_only_file_judges_again_what_sorts_before_it(tmp_path, make_engine) -> None:
    """Names before ``.blobsyncignore`` in its folder were planned before the listing
    reached it; what was planned for them is judged again then. Unchanged ones had
    nothing planned: they are forgotten from the next run on (nothing is written for
    them either way)."""
    store = MemoryStore("c")
    root = tmp_path / "a"
    for rel in ("sub/-early.log", "sub/.abc.log", "sub/+x/deep.log"):
        write(root, rel, "old")
        store.put_raw(rel, b"old", MTIME)
    engine = make_engine(root, store)
    assert sync(engine).recorded == 3
    store.put_raw("sub/-early.log", b"changed elsewhere", MTIME + 10**9)
    store.put_raw("sub/+x/new.log", b"new", MTIME)  # "+x" sorts before ".blobsyncignore"
    store.put_raw(SUB_IGNORE, b"*.log\n", MTIME)
    preview = sync(engine, dry_run=True)
    kinds = {a.rel_path: a.kind for a in preview.planned}
    assert kinds == {SUB_IGNORE: ActionKind.DOWNLOAD, "sub/-early.log": ActionKind.FORGET}
    assert preview.excluded.by_pattern == {f"{SUB_IGNORE}: *.log": 2}
    out = sync(engine)
    assert out.downloaded == 1 and out.writes == 1
    assert (root / "sub/-early.log").read_bytes() == b"old"  # left alone
    assert not (root / "sub/+x/new.log").exists()  # never downloaded
    assert engine.state.get_snapshot("sub/-early.log") is None
    assert engine.state.get_snapshot("sub/.abc.log") is not None
    again = sync(engine)
    assert again.writes == 0 and again.excluded.by_pattern == {f"{SUB_IGNORE}: *.log": 4}
    assert engine.state.get_snapshot("sub/.abc.log") is None
    assert store.content("sub/-early.log") == b"changed elsewhere"  # nothing deleted


def test_judging_again_leaves_what_was_excluded_already_as_it_was(tmp_path, make_engine) -> None:
    store = MemoryStore("c")
    root = tmp_path / "a"
    write(root, "sub/-x.bak", "x")
    store.put_raw("sub/-x.bak", b"x", MTIME)
    engine = make_engine(root, store)
    sync(engine)
    store.put_raw(SUB_IGNORE, b"*.bak\n", MTIME)  # new in the container, same verdict
    out = sync(engine, rules=FilterRules(patterns=("*.bak",), use_defaults=False), dry_run=True)
    assert [(a.kind, a.rel_path) for a in out.planned] == [
        (ActionKind.FORGET, "sub/-x.bak"),
        (ActionKind.DOWNLOAD, SUB_IGNORE),
    ]
    assert out.excluded.by_pattern == {"*.bak": 1}
    assert engine._filter.forgotten == 1  # what the mass-delete valve takes off, once


def test_a_folder_waits_while_its_new_ignore_file_cannot_be_read(tmp_path, make_engine) -> None:
    store = MemoryStore("c")
    root = tmp_path / "a"
    write(root, "sub/-a.log", "a1")
    write(root, "sub/z.log", "z1")
    for rel in ("sub/-a.log", "sub/z.log"):
        store.put_raw(rel, (root / rel).read_bytes(), MTIME)
    engine = make_engine(root, store)
    sync(engine)
    write(root, "sub/-a.log", "a2 (edited here)", MTIME + 10**9)  # before the file's name
    store.remove_raw("sub/z.log")  # after it: a deletion that would reach this folder
    store.put_raw("sub/new.log", b"n", MTIME)
    store.put_raw("other.txt", b"o", MTIME)  # outside the folder: syncs as usual
    store.put_raw(SUB_IGNORE, b"*.log\n", MTIME)
    store.fail_next("download", RemoteItemError("The service is busy.", IssueKind.IO_ERROR))
    out = sync(engine)
    issue = next(i for i in out.issues if i.kind is IssueKind.IGNORE_FILE)
    assert issue.rel_path == SUB_IGNORE and "nothing in its folder is synced" in issue.message
    assert out.downloaded == 1 and (root / "other.txt").exists()
    assert (root / "sub/z.log").exists() and not (root / "sub/new.log").exists()
    assert store.content("sub/-a.log") == b"a1" and not (root / SUB_IGNORE).exists()
    # the next run reads it: its rules apply, and nothing was deleted on either side
    again = sync(engine)
    assert again.downloaded == 1 and (root / SUB_IGNORE).exists()
    assert again.deleted_local == again.deleted_remote == 0
    assert (root / "sub/z.log").read_bytes() == b"z1" and not (root / "sub/new.log").exists()
    assert store.content("sub/-a.log") == b"a1"


def test_a_container_only_file_is_not_read_in_upload_mode_or_once_deleted_here(
    tmp_path, make_engine
) -> None:
    store = MemoryStore("c")
    root = tmp_path / "a"
    write(root, "sub/a.log", "a")
    write(root, SUB_IGNORE, "*.log\n")
    engine = make_engine(root, store)
    sync(engine)
    assert set(store.synced_names()) == {SUB_IGNORE}
    (root / SUB_IGNORE).unlink()  # deleted here: its rules go, the deletion travels
    out = sync(engine)
    assert out.deleted_remote == 1 and store.synced_names() == ["sub/a.log"]
    upload_store = MemoryStore("u")
    upload_store.put_raw(SUB_IGNORE, b"*.log\n", MTIME)
    up_root = tmp_path / "up"
    write(up_root, "sub/b.log", "b")
    sync(make_engine(up_root, upload_store, "up"), SyncMode.UPLOAD)
    assert "sub/b.log" in upload_store.synced_names()  # the folder is the only source


def test_a_nested_file_edited_on_b_takes_effect_on_a_from_its_next_run(
    tmp_path, make_engine
) -> None:
    store = MemoryStore("c")
    a_root, b_root = tmp_path / "a", tmp_path / "b"
    write(a_root, "sub/build.log", "log1")
    write(a_root, "sub/src.txt", "s")
    write(a_root, SUB_IGNORE, "# nothing yet\n")
    a = make_engine(a_root, store, "a")
    b = make_engine(b_root, store, "b")
    sync(a)
    sync(b)
    assert tree(b_root) == tree(a_root)
    # B starts ignoring *.log in sub/: the file is uploaded, build.log forgotten
    write(b_root, SUB_IGNORE, "*.log\n", MTIME + 10**9)
    out_b = sync(b)
    assert out_b.uploaded == 1 and out_b.excluded.by_pattern == {f"{SUB_IGNORE}: *.log": 1}
    # A brings the new file down but applies what it started with, and says so
    write(a_root, "sub/new.log", "n")
    out_a = sync(a)
    assert out_a.downloaded == 1 and out_a.ignore_file_changed
    assert "sub/new.log" in store.synced_names()
    # from the next run on A ignores sub/*.log: edits stay local, nothing is deleted
    write(a_root, "sub/build.log", "log2", MTIME + 2 * 10**9)
    out_a2 = sync(a)
    assert out_a2.writes == 0 and not out_a2.ignore_file_changed
    assert out_a2.excluded.by_pattern == {f"{SUB_IGNORE}: *.log": 2}
    assert store.content("sub/build.log") == b"log1" and store.content("sub/new.log") == b"n"
    # B drops the pattern: both logs come back in, merged, A's edit kept as a conflict
    write(b_root, SUB_IGNORE, "# nothing ignored\n", MTIME + 3 * 10**9)
    sync(b)
    assert sync(a).ignore_file_changed
    back = sync(a)
    assert [i.kind for i in back.issues] == [IssueKind.CONFLICT]
    assert back.deleted_remote == back.deleted_local == 0
    names = set(store.synced_names())
    assert "sub/build.log" in names and any(n.startswith("sub/build (conflict") for n in names)


@pytest.mark.parametrize("mode", list(SyncMode))
def test_excluding_by_a_new_nested_file_never_deletes(tmp_path, make_engine, mode) -> None:
    store = MemoryStore("c")
    root = tmp_path / "a"
    for rel in ("sub/a.log", "sub/b.txt"):
        write(root, rel, rel)
        store.put_raw(rel, rel.encode(), MTIME)
    engine = make_engine(root, store)
    sync(engine, mode)
    write(root, SUB_IGNORE, "*.log\n")
    store.put_raw(SUB_IGNORE, b"*.log\n", MTIME)  # the same file on both sides
    sync(engine, mode)
    assert engine.state.get_snapshot("sub/a.log") is None
    write(root, "sub/a.log", "edited", MTIME + 10**9)
    store.put_raw("sub/b.txt", b"b2", MTIME + 10**9)
    out = sync(engine, mode)
    assert out.deleted_local == out.deleted_remote == 0
    assert store.content("sub/a.log") == b"sub/a.log"
    assert (root / "sub/a.log").read_bytes() == b"edited"


def test_a_broken_nested_file_keeps_its_last_good_rules(tmp_path, make_engine) -> None:
    store = MemoryStore("c")
    root = tmp_path / "a"
    write(root, SUB_IGNORE, "*.log\n!\n")
    write(root, "sub/a.log", "a")
    engine = make_engine(root, store)
    out = sync(engine)
    issue = next(i for i in out.issues if i.kind is IssueKind.IGNORE_FILE)
    assert issue.rel_path == SUB_IGNORE and "Line 2" in issue.message
    write(root, SUB_IGNORE, b"\xff\xfe*.log\n", MTIME + 10**9)  # not UTF-8
    write(root, "sub/b.log", "b")
    out = sync(engine)
    issue = next(i for i in out.issues if i.kind is IssueKind.IGNORE_FILE)
    assert issue.rel_path == SUB_IGNORE and "still apply" in issue.message
    assert "sub/a.log" not in store.synced_names() and "sub/b.log" not in store.synced_names()


def test_switching_the_ignore_file_off_switches_nested_ones_off(tmp_path, make_engine) -> None:
    store = MemoryStore("c")
    root = tmp_path / "a"
    write(root, SUB_IGNORE, "*.log\n")
    write(root, "sub/a.log", "a")
    sync(make_engine(root, store), rules=FilterRules.nothing())
    assert set(store.synced_names()) == {SUB_IGNORE, "sub/a.log"}
