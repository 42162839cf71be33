"""Paths inside a container, Content-Type and the filter rules against a real Azure
Storage server (Azurite): the service applies the listing prefix, sibling paths stay
independent, hostile names under a path write nothing outside the folder, every upload
path sets the Content-Type (checked through the SDK), and no-change runs write nothing."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient, ContainerClient
from folders import tree, write

from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.filters import FilterRules
from blobsync.core.models import IssueKind
from blobsync.core.names import local_path_problem
from blobsync.core.remote.azure import open_store
from blobsync.core.remote.prefixed import PrefixedStore, at_prefix

pytestmark = pytest.mark.azurite


@pytest.fixture
def container(azurite, container_name) -> Iterator[ContainerClient]:
    sdk = BlobServiceClient.from_connection_string(azurite.connection_string)
    cc = sdk.get_container_client(container_name)
    cc.create_container()
    yield cc
    sdk.close()


@pytest.fixture
def engine_at(tmp_path: Path):
    made: list[SyncEngine] = []

    def make(root: Path, store, name: str) -> SyncEngine:
        root.mkdir(parents=True, exist_ok=True)
        engine = SyncEngine(root, store, tmp_path / f"{name}.sqlite3")
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.close()


def requests_logged(azurite, method: str) -> int:
    text = azurite.debug_log.read_text(errors="replace")
    return len(re.findall(rf"RequestMethod={method}\b", text))


@pytest.mark.parametrize("lean", [True, False])
def test_the_service_applies_the_listing_prefix(azurite, container, lean) -> None:
    names = [
        "a.txt", "proj/x/1", "proj/x/2", "proj/x/sub/3", "proj/xy/4", "proj/x", "z",
        "projets/été 2024/photo.jpg", "projets/été 2024/b+c&d.txt", "projets/été 20245/no",
    ]  # fmt: skip
    for name in names:
        container.upload_blob(name, name.encode())
    store = open_store(azurite.credentials, container.container_name)
    store.lean_listing = lean
    store.page_size = 2  # several pages, each one asked with the prefix
    try:
        # AzureBlobStore filters nothing itself: what comes back is what the server sent
        assert [e.rel_path for e in store.list_blobs("proj/x/")] == [
            "proj/x/1",
            "proj/x/2",
            "proj/x/sub/3",
        ]
        assert [e.rel_path for e in store.list_blobs("projets/été 2024/")] == [
            "projets/été 2024/b+c&d.txt",
            "projets/été 2024/photo.jpg",
        ]
        assert len(list(store.list_blobs())) == len(names)
        pair = at_prefix(store, "projets/été 2024")
        assert [e.rel_path for e in pair.list_blobs()] == ["b+c&d.txt", "photo.jpg"]
    finally:
        store.close()


def test_folders_under_a_path_come_from_the_service(azurite, container) -> None:
    for name in ("top.txt", "a/1", "a/b/2", "a/c/3", "a/c/d/4", "ab/5", "été/6"):
        container.upload_blob(name, b"x")
    store = open_store(azurite.credentials, container.container_name)
    try:
        assert store.list_folders() == ["a/", "ab/", "été/"]
        assert store.list_folders("a/") == ["a/b/", "a/c/"]
        assert store.list_folders("nothing/") == []
        assert PrefixedStore(store, "a").list_folders("c/") == ["c/d/"]
    finally:
        store.close()


def test_sibling_prefix_pairs_on_one_container_stay_independent(
    azurite, container, engine_at, tmp_path
) -> None:
    container.upload_blob("outside.txt", b"not ours")
    creds, name = azurite.credentials, container.container_name
    one = engine_at(tmp_path / "one", PrefixedStore(open_store(creds, name), "team/a"), "one")
    two = engine_at(tmp_path / "two", PrefixedStore(open_store(creds, name), "team/ab"), "two")
    write(tmp_path / "one", "same.txt", "from one")
    write(tmp_path / "one", "sub/deep.txt", "deep")
    write(tmp_path / "two", "same.txt", "from two")
    for _ in range(2):
        assert one.sync(SyncOptions(workers=4)).in_sync
        assert two.sync(SyncOptions(workers=4)).in_sync
    assert sorted(b.name for b in container.list_blobs()) == [
        "outside.txt",
        "team/a/.blobsync/beacon",  # one change beacon per pair, under its own path
        "team/a/same.txt",
        "team/a/sub/deep.txt",
        "team/ab/.blobsync/beacon",
        "team/ab/same.txt",
    ]
    assert tree(tmp_path / "one") == {"same.txt": b"from one", "sub/deep.txt": b"deep"}
    assert tree(tmp_path / "two") == {"same.txt": b"from two"}
    # a change in one pair is none of the other's business
    (tmp_path / "one" / "same.txt").unlink()
    assert one.sync(SyncOptions(workers=4)).deleted_remote == 1
    again = two.sync(SyncOptions(workers=4))
    assert again.writes == 0 and tree(tmp_path / "two") == {"same.txt": b"from two"}
    assert container.download_blob("team/ab/same.txt").readall() == b"from two"
    assert container.download_blob("outside.txt").readall() == b"not ours"


def test_hostile_names_under_a_prefix_write_nothing_outside(
    azurite, container, engine_at, tmp_path
) -> None:
    planted = {}
    for name in (
        "p/../escape.txt", "p/a/../../escape2.txt", "p//abs.txt", "p/a\\..\\..\\bs.txt",
        "p/C:/drive.txt", "p/\uff0e\uff0e/fullwidth.txt", "p/a//empty.txt", "p/fine.txt",
    ):  # fmt: skip
        try:
            container.upload_blob(name, b"x", overwrite=True)
        except Exception:
            continue  # the SDK or Azurite refused or normalised it away
    for blob in container.list_blobs():
        planted[blob.name] = blob.name
    assert "p/fine.txt" in planted and len(planted) >= 5
    sandbox = tmp_path / "sandbox"
    store = PrefixedStore(open_store(azurite.credentials, container.container_name), "p")
    engine = engine_at(sandbox / "folder", store, "p")
    out = engine.sync(SyncOptions(workers=4))
    local = tree(sandbox)
    issues = {i.rel_path: i.kind for i in out.issues}
    for name in planted:
        if not name.startswith("p/"):
            assert f"folder/{name}" not in local  # outside the prefix: invisible
            continue
        rel = name[2:]
        if local_path_problem(rel) is not None:
            assert issues.get(rel) is IssueKind.NAME_NOT_ALLOWED, rel
        else:
            assert local[f"folder/{rel}"] == b"x", rel
    assert set(local) <= {f"folder/{name[2:]}" for name in planted if name.startswith("p/")}
    for base in (tmp_path, sandbox, Path("/")):
        assert not (base / "escape.txt").exists() and not (base / "escape2.txt").exists()
    assert engine.sync(SyncOptions(workers=4)).writes == 0
    assert sorted(b.name for b in container.list_blobs()) == sorted(planted)


EXPECTED_TYPES = {
    "photo.jpg": "image/jpeg",
    "Photo.PNG": "image/png",
    "page.html": "text/html",
    "doc.pdf": "application/pdf",
    "data.json": "application/json",
    "notes.txt": "text/plain",
    "report.docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "archive.tar.gz": "application/gzip",
    "Makefile": "application/octet-stream",
}


def test_every_upload_path_sets_the_content_type(azurite, container, engine_at, tmp_path) -> None:
    root = tmp_path / "site"
    for name in EXPECTED_TYPES:
        write(root, name, f"content of {name}")
    write(root, "big/movie.mp4", os.urandom(3 * 1024 * 1024 + 7))  # a block upload
    # leftover uncommitted blocks make the store commit a block list instead of Put Blob
    write(root, "leftover.svg", "<svg/>")
    container.get_blob_client("www/leftover.svg").stage_block("YmxvY2sx", b"stale")
    store = open_store(azurite.credentials, container.container_name)
    store.single_shot_max = 1024 * 1024  # so the 3 MiB file goes in blocks
    store.min_block_size = 1024 * 1024
    engine = engine_at(root, at_prefix(store, "www"), "site")
    assert engine.sync(SyncOptions(workers=4)).uploaded == len(EXPECTED_TYPES) + 2
    listed = {
        b.name: (b.content_settings.content_type, b.etag)
        for b in container.list_blobs(name_starts_with="www/")
    }
    want = {f"www/{n}": t for n, t in EXPECTED_TYPES.items()} | {
        "www/big/movie.mp4": "video/mp4",
        "www/leftover.svg": "image/svg+xml",
        "www/.blobsync/beacon": "application/json",  # BlobSync's own, for other machines
    }
    assert {n: t for n, (t, _e) in listed.items()} == want
    props = container.get_blob_client("www/photo.jpg").get_blob_properties()
    assert props.content_settings.content_type == "image/jpeg"  # as a GET would serve it
    assert props.content_settings.content_md5 is not None
    # a no-change run sends no write and leaves every blob (type, ETag) as it was
    puts = requests_logged(azurite, "PUT")
    again = engine.sync(SyncOptions(workers=4))
    assert again.writes == 0 and requests_logged(azurite, "PUT") == puts
    assert {
        b.name: (b.content_settings.content_type, b.etag)
        for b in container.list_blobs(name_starts_with="www/")
    } == listed
    # a rename to another extension is a server-side copy that takes the new name's type
    os.rename(root / "notes.txt", root / "notes.md")
    assert engine.sync(SyncOptions(workers=4)).moved == 1
    renamed = container.get_blob_client("www/notes.md").get_blob_properties()
    assert renamed.content_settings.content_type == "text/markdown"
    assert renamed.content_settings.content_md5 is not None  # kept by Set Blob Properties
    assert engine.sync(SyncOptions(workers=4)).writes == 0


def test_filters_on_azurite_exclude_without_deleting_and_merge_back(
    azurite, container, engine_at, tmp_path
) -> None:
    container.upload_blob("p/remote-only.log", b"r")
    root = tmp_path / "a"
    write(root, "keep.txt", "k")
    write(root, "logs/a.log", "a1")
    write(root, "x.tmp", "t")
    store = PrefixedStore(open_store(azurite.credentials, container.container_name), "p")
    engine = engine_at(root, store, "a")
    first = engine.sync(SyncOptions(workers=4))  # defaults on: x.tmp stays local
    assert first.excluded.defaults == 1
    rules = FilterRules(patterns=("*.log",))
    out = engine.sync(SyncOptions(workers=4, filters=rules))
    assert out.writes == 0 and out.excluded.pattern == 2  # logs/a.log and remote-only.log
    names = sorted(b.name for b in container.list_blobs())
    assert names == ["p/.blobsync/beacon", "p/keep.txt", "p/logs/a.log", "p/remote-only.log"]
    write(root, "logs/a.log", "a2 (local, while excluded)")
    back = engine.sync(SyncOptions(workers=4))
    assert [i.kind for i in back.issues] == [IssueKind.CONFLICT] and back.deleted_remote == 0
    assert (root / "remote-only.log").read_bytes() == b"r"
    assert container.download_blob("p/logs/a.log").readall() == b"a1"
    copies = [b.name for b in container.list_blobs() if "conflict" in b.name]
    assert len(copies) == 1
    assert container.download_blob(copies[0]).readall() == b"a2 (local, while excluded)"


def test_a_nested_ignore_file_edited_on_b_takes_effect_on_a_and_deletes_nothing(
    azurite, container, engine_at, tmp_path
) -> None:
    """Two machines on one container: B's edit to ``web/.blobsyncignore`` reaches A like
    any file and applies there from A's next run; a folder that arrives from B with its
    own ignore file applies it in A's same run (nothing it ignores comes down); nothing
    is deleted on either side."""
    store_a = open_store(azurite.credentials, container.container_name)
    store_b = open_store(azurite.credentials, container.container_name)
    a_root, b_root = tmp_path / "a", tmp_path / "b"
    write(a_root, "web/.blobsyncignore", "# nothing yet\n")
    write(a_root, "web/app.log", "log1")
    write(a_root, "web/index.html", "<p>")
    a = engine_at(a_root, store_a, "a")
    b = engine_at(b_root, store_b, "b")
    rules = FilterRules(use_defaults=False)
    options = SyncOptions(workers=4, filters=rules)
    a.sync(options)
    b.sync(options)
    assert tree(b_root) == tree(a_root)
    write(b_root, "web/.blobsyncignore", "*.log\n")  # B starts ignoring web's logs
    out_b = b.sync(options)
    assert out_b.uploaded == 1 and out_b.excluded.by_pattern == {"web/.blobsyncignore: *.log": 1}
    # A brings the edit down; its rules apply from A's next run (the result says so)
    write(a_root, "web/debug.log", "d")
    out_a = a.sync(options)
    assert out_a.downloaded == 1 and out_a.ignore_file_changed
    assert (a_root / "web/.blobsyncignore").read_text() == "*.log\n"
    write(a_root, "web/app.log", "log2 (A's edit, now ignored)")
    write(a_root, "web/later.log", "l")
    out_a2 = a.sync(options)
    assert out_a2.writes == 0 and out_a2.deleted_remote == out_a2.deleted_local == 0
    assert out_a2.excluded.by_pattern == {"web/.blobsyncignore: *.log": 3}
    names = {blob.name for blob in container.list_blobs()}
    assert {"web/app.log", "web/debug.log"} <= names and "web/later.log" not in names
    assert container.download_blob("web/app.log").readall() == b"log1"  # nothing replaced
    # a new folder from B with its own ignore file: A applies it in the same run
    write(b_root, "tools/.blobsyncignore", "cache/\n")
    write(b_root, "tools/run.sh", "#!/bin/sh")
    b.sync(options)
    container.upload_blob("tools/cache/big.bin", b"x" * 1024)  # uploaded by some other tool
    out_a3 = a.sync(options)
    assert out_a3.downloaded == 2 and not out_a3.ignore_file_changed
    assert out_a3.excluded.by_pattern == {
        "web/.blobsyncignore: *.log": 3,
        "tools/.blobsyncignore: cache/": 1,
    }
    assert not (a_root / "tools/cache").exists()
    assert (a_root / "tools/run.sh").read_text() == "#!/bin/sh"
    assert (b_root / "web/app.log").read_text() == "log1"
