"""Archive-tier blobs and kept deletions: the planner's guards as a table, Azure's listing
XML for a rehydrating blob, and the engine on the in-memory store (which keeps a blob
"rehydrate-pending" as Azure does, where Azurite rehydrates at once)."""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from blobsync.core import events as ev
from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.engine.moves import pair_moves
from blobsync.core.engine.planner import plan_item
from blobsync.core.errors import ConfigError, LinkNotPossible
from blobsync.core.models import (
    AccessTier,
    ActionKind,
    IssueKind,
    LocalEntry,
    Permission,
    RehydratePriority,
    RemoteDeletePolicy,
    RemoteEntry,
    SnapshotEntry,
    SyncMode,
)
from blobsync.core.remote.azure.listing import entry_from_xml
from blobsync.core.remote.base import LinkDuration
from blobsync.core.remote.memory import MemoryStore

OLD, NEW = hashlib.md5(b"old").digest(), hashlib.md5(b"new!").digest()
SNAP = SnapshotEntry("f", 3, 100, OLD, '"e1"')
L_SAME = LocalEntry("f", 3, 100, md5=OLD)
L_CHANGED = LocalEntry("f", 4, 200, md5=NEW)


def remote(
    etag: str = '"e1"', md5: bytes = OLD, size: int = 3, archived: bool = True
) -> RemoteEntry:
    tier = AccessTier.ARCHIVE if archived else AccessTier.HOT
    return RemoteEntry("f", size, etag, md5, 100, tier=tier)


ARCH_SAME = remote()
ARCH_CHANGED = remote('"e2"', NEW, 4)
ARCH_TOUCHED = remote('"e2"')  # new ETag, same content (e.g. metadata)

# (snapshot, local, remote, mode, expected kind, held kind)
TABLE = [
    # two-way
    (None, None, ARCH_SAME, SyncMode.TWO_WAY, ActionKind.ARCHIVED, ActionKind.DOWNLOAD),
    (SNAP, L_SAME, ARCH_SAME, SyncMode.TWO_WAY, None, None),  # in sync: nothing to hold
    (SNAP, L_SAME, ARCH_TOUCHED, SyncMode.TWO_WAY, ActionKind.RECORD, None),  # no read needed
    (SNAP, L_SAME, ARCH_CHANGED, SyncMode.TWO_WAY, ActionKind.ARCHIVED, ActionKind.DOWNLOAD),
    (SNAP, L_CHANGED, ARCH_SAME, SyncMode.TWO_WAY, ActionKind.ARCHIVED, ActionKind.UPLOAD),
    (SNAP, L_CHANGED, remote('"e3"', hashlib.md5(b"third").digest(), 5), SyncMode.TWO_WAY, ActionKind.ARCHIVED, ActionKind.CONFLICT),
    (SNAP, None, ARCH_SAME, SyncMode.TWO_WAY, ActionKind.ARCHIVED, ActionKind.DELETE_REMOTE),
    (SNAP, None, ARCH_CHANGED, SyncMode.TWO_WAY, ActionKind.ARCHIVED, ActionKind.DOWNLOAD),
    (None, LocalEntry("f", 3, 5, md5=OLD), ARCH_SAME, SyncMode.TWO_WAY, ActionKind.RECORD, None),
    (None, L_CHANGED, ARCH_SAME, SyncMode.TWO_WAY, ActionKind.ARCHIVED, ActionKind.CONFLICT),
    # the same rows for a blob that is online behave as the plain table says
    (SNAP, L_SAME, remote('"e2"', NEW, 4, archived=False), SyncMode.TWO_WAY, ActionKind.DOWNLOAD, None),
    (SNAP, L_CHANGED, remote(archived=False), SyncMode.TWO_WAY, ActionKind.UPLOAD, None),
    # mirrors
    (SNAP, L_CHANGED, ARCH_SAME, SyncMode.UPLOAD, ActionKind.ARCHIVED, ActionKind.UPLOAD),
    (SNAP, None, ARCH_SAME, SyncMode.UPLOAD, ActionKind.ARCHIVED, ActionKind.DELETE_REMOTE),
    (None, None, ARCH_SAME, SyncMode.DOWNLOAD, ActionKind.ARCHIVED, ActionKind.DOWNLOAD),
    (SNAP, L_CHANGED, ARCH_SAME, SyncMode.DOWNLOAD, ActionKind.ARCHIVED, ActionKind.DOWNLOAD),
    (SNAP, L_SAME, ARCH_SAME, SyncMode.DOWNLOAD, None, None),
]  # fmt: skip


@pytest.mark.parametrize(("snap", "local", "rem", "mode", "kind", "held"), TABLE)
def test_archived_blobs_are_never_read_replaced_or_deleted(
    snap: SnapshotEntry | None,
    local: LocalEntry | None,
    rem: RemoteEntry,
    mode: SyncMode,
    kind: ActionKind | None,
    held: ActionKind | None,
) -> None:
    action = plan_item(snap, local, rem, mode)
    assert (action.kind if action else None) is kind
    assert (action.held if action else None) is held


def test_a_rehydrating_blob_is_still_archived() -> None:
    pending = RemoteEntry(
        "f", 3, '"e1"', OLD, tier=AccessTier.ARCHIVE, rehydrating_to=AccessTier.HOT
    )
    assert pending.archived
    action = plan_item(None, None, pending)
    assert action is not None and action.kind is ActionKind.ARCHIVED


def test_kept_deletes_become_typed_issues() -> None:
    rem = remote(archived=False)
    for mode in (SyncMode.TWO_WAY, SyncMode.UPLOAD):
        action = plan_item(SNAP, None, rem, mode, RemoteDeletePolicy.KEEP_AS_ISSUES)
        assert action is not None and action.kind is ActionKind.ISSUE
        assert action.issue is not None and action.issue.kind is IssueKind.DELETE_NOT_PERMITTED
        applied = plan_item(SNAP, None, rem, mode)
        assert applied is not None and applied.kind is ActionKind.DELETE_REMOTE
    # local deletions are not the account's business
    local_delete = plan_item(
        SNAP, L_SAME, None, SyncMode.TWO_WAY, RemoteDeletePolicy.KEEP_AS_ISSUES
    )
    assert local_delete is not None and local_delete.kind is ActionKind.DELETE_LOCAL


def test_a_remote_rename_to_an_archived_blob_is_a_local_rename() -> None:
    snap = SnapshotEntry("old.txt", 3, 100, OLD, '"e1"')
    gone = plan_item(snap, LocalEntry("old.txt", 3, 100, md5=OLD), None)
    renamed = plan_item(None, None, RemoteEntry("new.txt", 3, '"e9"', OLD, tier=AccessTier.ARCHIVE))
    assert gone is not None and renamed is not None
    moves = pair_moves([gone, renamed], lambda entry: None)
    assert [(a.kind, a.rel_path) for a in moves] == [(ActionKind.MOVE_LOCAL, "new.txt")]


def test_azure_listing_xml_with_a_rehydrating_blob() -> None:
    xml = (
        "<Blob><Name>a.txt</Name><Properties><Content-Length>5</Content-Length>"
        "<Etag>0x1</Etag><AccessTier>Archive</AccessTier>"
        "<ArchiveStatus>rehydrate-pending-to-cool</ArchiveStatus>"
        "<RehydratePriority>High</RehydratePriority></Properties></Blob>"
    )
    entry = entry_from_xml(ET.fromstring(xml))
    assert entry.tier is AccessTier.ARCHIVE and entry.rehydrating_to is AccessTier.COOL
    assert entry.archived
    hot = entry_from_xml(
        ET.fromstring(
            "<Blob><Name>b</Name><Properties><Content-Length>1</Content-Length>"
            "<Etag>0x2</Etag><AccessTier>Hot</AccessTier><AccessTierInferred>true"
            "</AccessTierInferred></Properties></Blob>"
        )
    )
    assert hot.tier is AccessTier.HOT and not hot.archived


# ---- the engine on the in-memory store ----------------------------------------------


@pytest.fixture
def setup(tmp_path: Path):
    root = tmp_path / "root"
    root.mkdir()
    store = MemoryStore()
    events: list[ev.Event] = []
    engine = SyncEngine(root, store, tmp_path / "s.sqlite3", events.append)
    yield root, store, engine, events
    engine.close()


def announced(events: list[ev.Event]) -> list[str]:
    return [e.blob.rel_path for e in events if isinstance(e, ev.ArchivedFound)]


def test_rehydration_pending_then_synced(setup) -> None:
    root, store, engine, events = setup
    store.put_raw("report.pdf", b"quarterly", mtime_ns=1_000_000_000)
    store.set_tier_raw("report.pdf", AccessTier.ARCHIVE)
    first = engine.sync()
    assert first.downloaded == 0 and first.in_sync and first.archived_new == 1
    assert announced(events) == ["report.pdf"]
    assert store.calls["download"] == 0

    engine.rehydrate("report.pdf", AccessTier.COOL, RehydratePriority.HIGH)
    assert store.rehydrations == {"report.pdf": RehydratePriority.HIGH}
    events.clear()
    pending = engine.sync()  # still archived, now pending: same blob, no new announcement
    assert pending.downloaded == 0 and not announced(events)
    assert [(b.rel_path, b.rehydrating_to) for b in pending.archived] == [
        ("report.pdf", AccessTier.COOL)
    ]
    assert engine.archived_blobs()[0].rehydrating_to is AccessTier.COOL

    store.finish_rehydration("report.pdf")
    done = engine.sync()
    assert done.downloaded == 1 and done.archived == []
    assert (root / "report.pdf").read_bytes() == b"quarterly"
    assert engine.archived_blobs() == []


def test_archived_runs_are_quiet_and_nothing_is_overwritten(setup) -> None:
    root, store, engine, events = setup
    (root / "notes.txt").write_bytes(b"v1")
    (root / "other.txt").write_bytes(b"stays")
    engine.sync()
    store.set_tier_raw("notes.txt", AccessTier.ARCHIVE)
    (root / "notes.txt").write_bytes(b"v2 local")
    writes = store.writes
    for run in range(3):
        events.clear()
        result = engine.sync()
        assert result.in_sync and not result.issues and result.uploaded == 0
        assert announced(events) == (["notes.txt"] if run == 0 else [])
    assert store.writes == writes
    assert store.content("notes.txt") == b"v1"
    (root / "notes.txt").unlink()  # deleting locally does not delete an archived blob
    assert engine.sync().deleted_remote == 0
    assert store.synced_names() == ["notes.txt", "other.txt"]


def test_dry_run_lists_archived_blobs(setup) -> None:
    _root, store, engine, _events = setup
    store.put_raw("a", b"a")
    store.set_tier_raw("a", AccessTier.ARCHIVE)
    result = engine.sync(SyncOptions(dry_run=True))
    assert [b.rel_path for b in result.archived] == ["a"]
    assert engine.archived_blobs() == []  # a dry run records nothing


def test_rehydrate_and_link_refusals(setup) -> None:
    root, _store, engine, _events = setup
    with pytest.raises(ConfigError, match="Hot, Cool or Cold"):
        engine.rehydrate("a", AccessTier.ARCHIVE)
    with pytest.raises(ConfigError, match="BlobSync's own"):
        engine.rehydrate(".blobsync/x")
    (root / "a").write_bytes(b"a")
    engine.sync()
    with pytest.raises(LinkNotPossible, match="cannot create links"):
        engine.share_link("a", LinkDuration.HOUR.value)


def test_a_refused_delete_is_an_issue_not_a_stop(setup) -> None:
    root, store, engine, _events = setup
    for name in ("a", "b", "c"):
        (root / name).write_bytes(name.encode())
    engine.sync()
    store.denied = {Permission.DELETE}
    (root / "a").unlink()
    (root / "d").write_bytes(b"d")
    result = engine.sync()  # the policy was not chosen: the refusal is met at the delete
    assert result.uploaded == 1
    assert [(i.rel_path, i.kind) for i in result.issues] == [("a", IssueKind.DELETE_NOT_PERMITTED)]
    kept = engine.sync(SyncOptions(remote_deletes=RemoteDeletePolicy.KEEP_AS_ISSUES))
    assert [(i.rel_path, i.kind) for i in kept.issues] == [("a", IssueKind.DELETE_NOT_PERMITTED)]
    assert store.calls["delete"] == 1  # the kept policy did not even try
    assert store.synced_names() == ["a", "b", "c", "d"]
