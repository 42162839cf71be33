"""A folder synced with a path inside a container (core/remote/prefixed.py), against the
in-memory store: only the prefix is listed, names map under it, sibling paths never touch
each other, overlapping paths are refused, Azure's name limits count the path, the
reserved space is the pair's own, and hostile names write nothing outside the folder.
Also the Content-Type every upload carries (the in-memory store records it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from folders import tree, write

from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.errors import ConfigError
from blobsync.core.models import IssueKind
from blobsync.core.names import (
    MAX_BLOB_NAME,
    blob_name_problem,
    normalize_prefix,
    prefix_overlap_problem,
    prefix_problem,
)
from blobsync.core.remote.blobmeta import content_type_for
from blobsync.core.remote.memory import MemoryStore
from blobsync.core.remote.prefixed import PrefixedStore, at_prefix, store_prefix


@pytest.fixture
def engines(tmp_path: Path):
    made: list[SyncEngine] = []

    def make(root: Path, store, name: str) -> SyncEngine:
        root.mkdir(parents=True, exist_ok=True)
        engine = SyncEngine(root, store, tmp_path / f"{name}.sqlite3")
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.state.close()


# ---- the pure rules the clients call ----------------------------------------------------


def test_prefix_is_normalised_with_one_trailing_slash() -> None:
    assert normalize_prefix("projects/x") == "projects/x/"
    assert normalize_prefix("/projects/x/") == "projects/x/"
    assert normalize_prefix("") == normalize_prefix("/") == ""


def test_prefix_problems() -> None:
    for fine in ("", "projects/x", "été/2024", "a b/c"):
        assert prefix_problem(fine) is None, fine
    for bad, words in [
        ("a//b", "empty"),
        ("a/../b", "'..'"),
        ("./a", "'.'"),
        ("a\\b", "'\\'"),
        ("a/\x01", "control"),
        ("p/.blobsync/x", "BlobSync's own"),
        ("x" * MAX_BLOB_NAME, "shorter than"),
        ("/".join(["s"] * 254), "fewer than"),
    ]:
        problem = prefix_problem(bad)
        assert problem is not None and words in problem, (bad, problem)


def test_overlapping_prefixes_are_refused_with_a_sentence() -> None:
    existing = [("docs", "projects/x"), ("media", ""), ("docs", "team/a/")]
    assert prefix_overlap_problem("docs", "projects/xy", existing) is None  # a sibling
    assert prefix_overlap_problem("docs", "projects", [("docs", "projectsx")]) is None
    assert prefix_overlap_problem("other", "projects/x", existing) is None
    same = prefix_overlap_problem("docs", "/projects/x/", existing)
    inside = prefix_overlap_problem("docs", "projects/x/sub", existing)
    around = prefix_overlap_problem("docs", "team", existing)
    whole = prefix_overlap_problem("media", "photos", existing)
    everything = prefix_overlap_problem("docs", "", existing)
    assert same == (
        "Another folder already syncs with 'docs/projects/x'; two folders on the same path "
        "would overwrite each other's files."
    )
    assert inside is not None and inside.startswith("'docs/projects/x/sub' lies inside")
    assert around is not None and around.startswith("'docs/team' contains 'docs/team/a'")
    assert whole is not None and "the whole container 'media'" in whole
    assert everything is not None and everything.startswith("the whole container 'docs' contains")
    for sentence in (same, inside, around, whole, everything):
        assert sentence is not None and sentence.endswith(".")


def test_name_limits_count_the_prefix() -> None:
    prefix = "p" * 30 + "/"
    name = "n" * 1000
    assert blob_name_problem(name) is None
    problem = blob_name_problem(name, prefix)
    assert problem is not None and "1031 characters" in problem and prefix in problem
    deep = "/".join(["d"] * 250)
    assert blob_name_problem(deep) is None
    assert "path segments" in (blob_name_problem(deep, "a/b/c/d/e/") or "")


def test_at_prefix() -> None:
    store = MemoryStore("c")
    assert at_prefix(store, "") is store and at_prefix(store, "/") is store
    wrapped = at_prefix(store, "a/b")
    assert isinstance(wrapped, PrefixedStore) and store_prefix(wrapped) == "a/b/"
    assert store_prefix(store) == "" and wrapped.container == "c"
    with pytest.raises(ConfigError, match=r"'\.\.'"):
        at_prefix(store, "a/../b")


# ---- the store -------------------------------------------------------------------------


def test_only_the_prefix_is_listed_and_names_are_relative() -> None:
    store = MemoryStore("c", page_size=3)
    for name in ("a.txt", "proj/x/1", "proj/x/2", "proj/x/sub/3", "proj/xy/4", "proj/x/", "z"):
        store.put_raw(name, name.encode())
    pair = PrefixedStore(store, "proj/x")
    listed = [e.rel_path for e in pair.list_blobs()]
    assert listed == ["1", "2", "sub/3"]  # "proj/x/" itself is a folder marker, no file
    assert store.listed == 4  # the store returned the prefix's four names, nothing else
    assert pair.get_entry("2").rel_path == "2"  # type: ignore[union-attr]
    assert pair.get_entry("4") is None  # proj/xy/4 is not under proj/x/


def test_a_prefix_pair_syncs_both_ways_under_its_path(tmp_path, engines) -> None:
    store = MemoryStore("c")
    store.put_raw("elsewhere.txt", b"other")
    store.put_raw("proj/x/remote.txt", b"r")
    root = tmp_path / "folder"
    write(root, "local.txt", "l")
    engine = engines(root, PrefixedStore(store, "proj/x/"), "x")
    out = engine.sync(SyncOptions(workers=2))
    assert out.uploaded == 1 and out.downloaded == 1 and out.in_sync
    assert tree(root) == {"local.txt": b"l", "remote.txt": b"r"}
    assert user_names(store) == ["elsewhere.txt", "proj/x/local.txt", "proj/x/remote.txt"]
    (root / "local.txt").unlink()
    assert engine.sync(SyncOptions(workers=2)).deleted_remote == 1
    assert user_names(store) == ["elsewhere.txt", "proj/x/remote.txt"]


def test_sibling_prefixes_never_touch_each_other(tmp_path, engines) -> None:
    store = MemoryStore("shared")
    one = engines(tmp_path / "one", PrefixedStore(store, "proj/x"), "one")
    two = engines(tmp_path / "two", PrefixedStore(store, "proj/xy"), "two")
    write(tmp_path / "one", "same.txt", "from one")
    write(tmp_path / "two", "same.txt", "from two")
    write(tmp_path / "two", "only-two.txt", "2")
    for _ in range(2):
        assert one.sync(SyncOptions(workers=2)).in_sync
        assert two.sync(SyncOptions(workers=2)).in_sync
    assert tree(tmp_path / "one") == {"same.txt": b"from one"}
    assert tree(tmp_path / "two") == {"same.txt": b"from two", "only-two.txt": b"2"}
    # deleting everything on one side deletes only that pair's blobs
    (tmp_path / "one" / "same.txt").unlink()
    write(tmp_path / "one", "keep.txt", "k")
    out = one.sync(SyncOptions(workers=2))
    assert out.deleted_remote == 1
    assert user_names(store) == [
        "proj/x/keep.txt",
        "proj/xy/only-two.txt",
        "proj/xy/same.txt",
    ]
    assert two.sync(SyncOptions(workers=2)).writes == 0


def test_the_reserved_space_is_under_the_prefix(tmp_path, engines) -> None:
    store = MemoryStore("c")
    store.put_raw("proj/.blobsync/beacon", b"b")  # the pair's own space
    store.put_raw(".blobsync/whole-container", b"w")  # outside the pair: invisible anyway
    store.put_raw("proj/sub/.blobsync/not-reserved", b"n")  # reserved only at the pair root
    root = tmp_path / "folder"
    engine = engines(root, PrefixedStore(store, "proj"), "p")
    out = engine.sync(SyncOptions(workers=2))
    assert tree(root) == {"sub/.blobsync/not-reserved": b"n"} and out.in_sync


def test_a_long_name_is_refused_with_the_path_counted(tmp_path, engines) -> None:
    store = MemoryStore("c")
    root = tmp_path / "folder"
    long_name = "/".join(["d" * 200] * 5)  # 1,004 characters: fine alone
    write(root, long_name, "x")
    write(root, "short.txt", "s")
    engine = engines(root, PrefixedStore(store, "some/deep/container/path"), "p")
    out = engine.sync(SyncOptions(workers=2))
    [issue] = out.issues
    assert issue.kind is IssueKind.NAME_NOT_ALLOWED and issue.rel_path == long_name
    assert "container path 'some/deep/container/path/'" in issue.message
    assert user_names(store) == ["some/deep/container/path/short.txt"]


HOSTILE = [
    "../escape.txt",
    "a/../../escape2.txt",
    "/abs.txt",
    "a//empty.txt",
    "a\\..\\..\\bs.txt",
    "C:/drive.txt",
    "ctrl\x01.txt",
    "\uff0e\uff0e/fullwidth.txt",
    "a/./dot.txt",
    "../outside-prefix.txt",  # "proj/../outside-prefix.txt": under proj/ as a name
]


def test_hostile_names_under_a_prefix_write_nothing_outside_the_folder(tmp_path, engines):
    store = MemoryStore("c")
    for name in HOSTILE:
        store.put_raw("proj/" + name, b"evil")
    store.put_raw("proj/fine.txt", b"fine")
    store.put_raw("projection/../x.txt", b"?")  # not under "proj/": never seen
    sandbox = tmp_path / "sandbox"
    root = sandbox / "folder"
    engine = engines(root, PrefixedStore(store, "proj"), "p")
    out = engine.sync(SyncOptions(workers=2))
    assert tree(sandbox) == {"folder/fine.txt": b"fine"}
    issues = {i.rel_path: i.kind for i in out.issues}
    assert issues == dict.fromkeys(HOSTILE, IssueKind.NAME_NOT_ALLOWED)
    for base in (tmp_path, sandbox, Path("/")):
        assert not (base / "escape.txt").exists() and not (base / "escape2.txt").exists()
    assert engine.sync(SyncOptions(workers=2)).writes == 0


# ---- Content-Type ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("photo.jpg", "image/jpeg"),
        ("a/b/PHOTO.JPEG", "image/jpeg"),
        ("page.html", "text/html"),
        ("doc.pdf", "application/pdf"),
        ("data.json", "application/json"),
        ("notes.txt", "text/plain"),
        ("report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("readme.md", "text/markdown"),
        ("backup.tar.gz", "application/gzip"),
        ("Makefile", "application/octet-stream"),
        ("weird.unknownext", "application/octet-stream"),
        ("data:looks-like-a-url.png", "image/png"),
    ],
)
def test_content_type_from_the_name(name: str, kind: str) -> None:
    assert content_type_for(name) == kind


def test_uploads_and_renames_carry_the_content_type(tmp_path, engines) -> None:
    store = MemoryStore("c")
    root = tmp_path / "folder"
    write(root, "photo.jpg", "jpg")
    write(root, "page.html", "<p>")
    write(root, "blob", "?")
    engine = engines(root, PrefixedStore(store, "site"), "p")
    engine.sync(SyncOptions(workers=2))
    types = {n: store.content_type(n) for n in store.names()}
    assert types == {
        "site/photo.jpg": "image/jpeg",
        "site/page.html": "text/html",
        "site/blob": "application/octet-stream",
        "site/.blobsync/beacon": "application/json",  # BlobSync's own, for other machines
    }
    os.rename(root / "page.html", root / "page.txt")  # a rename is a server-side copy
    assert engine.sync(SyncOptions(workers=2)).moved == 1
    assert store.content_type("site/page.txt") == "text/plain"
    writes = store.writes
    assert engine.sync(SyncOptions(workers=2)).writes == 0 and store.writes == writes


def test_folders_under_a_path_for_the_picker() -> None:
    store = MemoryStore("c")
    for name in ("top.txt", "a/1", "a/b/2", "a/c/3", "a/c/d/4", "ab/5", "z/6"):
        store.put_raw(name, b"x")
    assert store.list_folders() == ["a/", "ab/", "z/"]
    assert store.list_folders("a/") == ["a/b/", "a/c/"]
    assert store.list_folders("a/c/") == ["a/c/d/"]
    assert store.list_folders("nothing/") == []
    assert PrefixedStore(store, "a").list_folders() == ["b/", "c/"]
    assert PrefixedStore(store, "a").list_folders("c/") == ["c/d/"]


def user_names(store: MemoryStore) -> list[str]:
    """The container's names without BlobSync's own space (its bin keeps deleted blobs)."""
    return [n for n in store.names() if ".blobsync/" not in n]
