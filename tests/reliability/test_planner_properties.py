"""Planner property tests (hypothesis): generate *related* (snapshot, local, remote)
states of one item — each side absent, unchanged, touched (new mtime/ETag, same
content) or changed, with contents drawn from a tiny alphabet so sides often agree —
plan it, apply the plan to an abstract model of both sides, and check the invariants:

* no version lost: every content that is new on a side (differs from the snapshot) is
  still somewhere after the plan (at the path or in a conflict copy);
* no silent overwrite: every remote write or delete is pinned to the ETag the planner
  saw (create-only when there was no blob), downloads too; a side is only deleted or
  overwritten when it is unchanged since the snapshot;
* convergence: after the plan both sides hold the same content (unless it is an issue),
  and planning again from the resulting state does nothing (idempotence);
* mirror modes never write to their source side;
* names that could escape the folder are never planned as local writes.

Failures shrink to a minimal example; the planner is pure, so it is deterministic.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from blobsync.core.engine.facade import _needs_md5
from blobsync.core.engine.planner import plan_item
from blobsync.core.models import ActionKind, LocalEntry, RemoteEntry, SnapshotEntry, SyncMode
from blobsync.core.names import local_path_problem

from .harness import count

CONTENTS = ["a", "b", "c", "dd"]
SIDE_STATES = ["absent", "same", "touched", "changed"]


def md5(text: str) -> bytes:
    return hashlib.md5(text.encode()).digest()


@dataclass(frozen=True)
class World:
    """Abstract state of one item: contents and version stamps on each side."""

    snap: str | None  # content at the last sync
    local: str | None
    remote: str | None
    local_mtime: int
    remote_etag: str
    snap_mtime: int
    snap_etag: str
    remote_has_md5: bool


@st.composite
def worlds(draw: st.DrawFn) -> World:
    has_snap = draw(st.booleans())
    snap = draw(st.sampled_from(CONTENTS)) if has_snap else None
    snap_mtime, snap_etag = 1000, '"0xS"'

    def side(prefix: str) -> tuple[str | None, int, str]:
        state = draw(st.sampled_from(SIDE_STATES if has_snap else ["absent", "changed"]))
        if state == "absent":
            return None, 0, ""
        if state == "same":
            return snap, snap_mtime, snap_etag
        if state == "touched":
            return snap, snap_mtime + 1, f'"0x{prefix}T"'
        content = draw(st.sampled_from(CONTENTS))
        # A content change always moves the stamp (the engine's size+mtime premise).
        return content, snap_mtime + 2, f'"0x{prefix}C"'

    local, local_mtime, _ = side("L")
    remote, _, remote_etag = side("R")
    return World(
        snap,
        local,
        remote,
        local_mtime,
        remote_etag,
        snap_mtime,
        snap_etag,
        draw(st.booleans()),
    )


def entries(
    w: World, rel: str = "dir/item.txt"
) -> tuple[SnapshotEntry | None, LocalEntry | None, RemoteEntry | None]:
    snap = (
        SnapshotEntry(rel, len(w.snap), w.snap_mtime, md5(w.snap), w.snap_etag)
        if w.snap is not None
        else None
    )
    remote = (
        RemoteEntry(rel, len(w.remote), w.remote_etag, md5(w.remote) if w.remote_has_md5 else None)
        if w.remote is not None
        else None
    )
    local = LocalEntry(rel, len(w.local), w.local_mtime) if w.local is not None else None
    if local is not None and _needs_md5(snap, local, remote):  # as the engine does
        local = LocalEntry(rel, local.size, local.mtime_ns, 0, md5(w.local or ""))
    return snap, local, remote


def apply(w: World, kind: ActionKind | None) -> tuple[str | None, str | None, list[str]]:
    """(local, remote, conflict copies) after the executor did ``kind``."""
    local, remote = w.local, w.remote
    copies: list[str] = []
    if kind is ActionKind.UPLOAD:
        remote = local
    elif kind is ActionKind.DOWNLOAD:
        local = remote
    elif kind is ActionKind.DELETE_LOCAL:
        local = None
    elif kind is ActionKind.DELETE_REMOTE:
        remote = None
    elif kind is ActionKind.CONFLICT:
        assert local is not None
        copies.append(local)
        local = remote
    return local, remote, copies


def unchanged(w: World, side: str) -> bool:
    content = w.local if side == "local" else w.remote
    return w.snap is not None and content == w.snap


def new_contents(w: World) -> set[str]:
    """Contents that are news on a side: they must survive the plan."""
    out = set()
    for content in (w.local, w.remote):
        if content is not None and content != w.snap:
            out.add(content)
    return out


def planned(w: World, mode: SyncMode = SyncMode.TWO_WAY):  # type: ignore[no-untyped-def]
    snap, local, remote = entries(w)
    return plan_item(snap, local, remote, mode), snap, local, remote


@settings(max_examples=1500, deadline=None)
@given(worlds())
def test_two_way_loses_nothing_and_overwrites_nothing_silently(w: World) -> None:
    count("planner_examples")
    action, _snap, _local, remote = planned(w)
    kind = action.kind if action is not None else None
    # Conditions on every remote operation.
    if kind in (
        ActionKind.UPLOAD,
        ActionKind.CONFLICT,
        ActionKind.DOWNLOAD,
        ActionKind.DELETE_REMOTE,
    ):
        assert action is not None
        expected = remote.etag if remote is not None else None
        assert action.if_match == expected, (kind, action.if_match, expected)
    # A side is only replaced or deleted when it holds nothing new.
    if kind is ActionKind.DELETE_LOCAL:
        assert unchanged(w, "local") and w.remote is None
    if kind is ActionKind.DELETE_REMOTE:
        assert unchanged(w, "remote") and w.local is None
    if kind is ActionKind.DOWNLOAD and w.local is not None:
        assert unchanged(w, "local") or w.local == w.remote
    if kind is ActionKind.UPLOAD and w.remote is not None:
        assert unchanged(w, "remote") or w.local == w.remote
    # No version lost.
    after_local, after_remote, copies = apply(w, kind)
    if kind is not ActionKind.ISSUE:
        survivors = {c for c in (after_local, after_remote, *copies) if c is not None}
        assert new_contents(w) <= survivors, (w, kind)
        # Convergence: both sides hold the same content at the path.
        assert after_local == after_remote, (w, kind)


@settings(max_examples=600, deadline=None)
@given(worlds())
def test_planning_again_after_the_plan_does_nothing(w: World) -> None:
    count("planner_examples")
    action, *_ = planned(w)
    kind = action.kind if action is not None else None
    if kind is ActionKind.ISSUE:
        return
    after_local, after_remote, _copies = apply(w, kind)
    if after_local is None and after_remote is None:
        return  # forgotten
    assert after_local == after_remote
    # The executor records what it did: the new snapshot is both sides' current stamp.
    rel = "dir/item.txt"
    content = after_local or ""
    mtime = (
        w.local_mtime
        if (kind is None or kind in (ActionKind.UPLOAD, ActionKind.RECORD)) and w.local == content
        else 5000
    )
    etag = (
        w.remote_etag
        if kind in (None, ActionKind.DOWNLOAD, ActionKind.RECORD, ActionKind.CONFLICT)
        and w.remote == content
        else '"0xNEW"'
    )
    snap = SnapshotEntry(rel, len(content), mtime, md5(content), etag)
    local = LocalEntry(rel, len(content), mtime)
    remote = RemoteEntry(rel, len(content), etag, md5(content))
    again = plan_item(snap, local, remote)
    assert again is None, (w, kind, again)


@settings(max_examples=600, deadline=None)
@given(worlds(), st.sampled_from([SyncMode.UPLOAD, SyncMode.DOWNLOAD]))
def test_mirror_modes_never_write_their_source(w: World, mode: SyncMode) -> None:
    count("planner_examples")
    action, _snap, _local, remote = planned(w, mode)
    kind = action.kind if action is not None else None
    if mode is SyncMode.UPLOAD:
        assert kind not in (ActionKind.DOWNLOAD, ActionKind.DELETE_LOCAL, ActionKind.CONFLICT)
    else:
        assert kind not in (ActionKind.UPLOAD, ActionKind.DELETE_REMOTE, ActionKind.CONFLICT)
    if kind in (ActionKind.UPLOAD, ActionKind.DELETE_REMOTE, ActionKind.DOWNLOAD):
        assert action is not None
        assert action.if_match == (remote.etag if remote is not None else None)
    after_local, after_remote, _ = apply(w, kind)
    if kind is not ActionKind.ISSUE:
        assert after_local == after_remote


HOSTILE = st.sampled_from(
    [
        "../x",
        "a/../../x",
        "/abs",
        "//x",
        "a//b",
        "a/./b",
        "./a",
        "a\\..\\b",
        "C:/x",
        "c:x",
        "\uff0e\uff0e/x",
        "a/\u2024\u2024/x",
        "ctl\x01",
        "nul\x00x",
        "x" * 256 + "/y",
        "..",
        ".",
        "",
        "a/",
    ]
)


@settings(max_examples=300, deadline=None)
@given(HOSTILE, worlds())
def test_names_that_could_escape_are_never_written_locally(name: str, w: World) -> None:
    count("planner_examples")
    if not name:
        return
    snap, local, remote = entries(w, rel=name)
    action = plan_item(snap, local, remote)
    if remote is not None and local_path_problem(name) is not None:
        assert action is not None and action.kind is ActionKind.ISSUE, (name, action)
    if action is not None:
        assert action.kind not in (
            ActionKind.DOWNLOAD,
            ActionKind.CONFLICT,
            ActionKind.MOVE_LOCAL,
        ) or (local_path_problem(name) is None)
