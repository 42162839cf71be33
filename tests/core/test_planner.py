"""Table-driven tests of the pure planner: every two-sided combination, every mode."""

from __future__ import annotations

import hashlib

import pytest

from blobsync.core.engine.planner import Change, local_change, plan_item, remote_change
from blobsync.core.models import (
    ActionKind,
    IssueKind,
    LocalEntry,
    RemoteEntry,
    SnapshotEntry,
    SyncMode,
)

P = "dir/file.txt"
A, B, C = (hashlib.md5(x).digest() for x in (b"a", b"b", b"c"))

SNAP = SnapshotEntry(P, 1, 1000, A, '"e1"')
# local states
L_SAME = LocalEntry(P, 1, 1000, 7)
L_TOUCHED = LocalEntry(P, 1, 2000, 7, A)
L_CHANGED = LocalEntry(P, 1, 3000, 7, B)
L_CHANGED_C = LocalEntry(P, 1, 3000, 7, C)
L_NEW_A = LocalEntry(P, 1, 5000, 7, A)
L_NEW_B = LocalEntry(P, 1, 5000, 7, B)
# remote states
R_SAME = RemoteEntry(P, 1, '"e1"', A)
R_TOUCHED = RemoteEntry(P, 1, '"e2"', A)
R_CHANGED = RemoteEntry(P, 1, '"e3"', B)
R_CHANGED_NOMD5 = RemoteEntry(P, 1, '"e3"', None)
R_NEW_A = RemoteEntry(P, 1, '"e9"', A)

K = ActionKind
TWO_WAY = [
    # (id, snapshot, local, remote, expected kind, expected if_match)
    ("same/same", SNAP, L_SAME, R_SAME, None, None),
    ("touched/same", SNAP, L_TOUCHED, R_SAME, K.RECORD, None),
    ("same/touched", SNAP, L_SAME, R_TOUCHED, K.RECORD, None),
    ("touched/touched", SNAP, L_TOUCHED, R_TOUCHED, K.RECORD, None),
    ("same/changed", SNAP, L_SAME, R_CHANGED, K.DOWNLOAD, '"e3"'),
    ("touched/changed", SNAP, L_TOUCHED, R_CHANGED, K.DOWNLOAD, '"e3"'),
    ("same/changed-no-md5", SNAP, L_SAME, R_CHANGED_NOMD5, K.DOWNLOAD, '"e3"'),
    ("same/deleted", SNAP, L_SAME, None, K.DELETE_LOCAL, None),
    ("touched/deleted", SNAP, L_TOUCHED, None, K.DELETE_LOCAL, None),
    ("changed/same", SNAP, L_CHANGED, R_SAME, K.UPLOAD, '"e1"'),
    ("changed/touched", SNAP, L_CHANGED, R_TOUCHED, K.UPLOAD, '"e2"'),
    ("changed/changed same content", SNAP, L_CHANGED, R_CHANGED, K.RECORD, None),
    ("changed/changed differently", SNAP, L_CHANGED_C, R_CHANGED, K.CONFLICT, '"e3"'),
    ("changed/changed unknown remote md5", SNAP, L_CHANGED, R_CHANGED_NOMD5, K.CONFLICT, '"e3"'),
    ("changed/deleted", SNAP, L_CHANGED, None, K.UPLOAD, None),
    ("deleted/same", SNAP, None, R_SAME, K.DELETE_REMOTE, '"e1"'),
    ("deleted/touched", SNAP, None, R_TOUCHED, K.DELETE_REMOTE, '"e2"'),
    ("deleted/changed", SNAP, None, R_CHANGED, K.DOWNLOAD, '"e3"'),
    ("deleted/deleted", SNAP, None, None, K.FORGET, None),
    ("new/absent", None, L_NEW_A, None, K.UPLOAD, None),
    ("absent/new", None, None, R_NEW_A, K.DOWNLOAD, '"e9"'),
    ("new/new same", None, L_NEW_A, R_NEW_A, K.RECORD, None),
    ("new/new different", None, L_NEW_B, R_NEW_A, K.CONFLICT, '"e9"'),
    ("nothing anywhere", None, None, None, None, None),
]


@pytest.mark.parametrize(
    ("snap", "local", "remote", "kind", "if_match"),
    [c[1:] for c in TWO_WAY],
    ids=[c[0] for c in TWO_WAY],
)
def test_two_way(snap, local, remote, kind, if_match):
    action = plan_item(snap, local, remote, SyncMode.TWO_WAY)
    assert (action.kind if action else None) is kind
    if action is not None and kind in (K.UPLOAD, K.DOWNLOAD, K.DELETE_REMOTE, K.CONFLICT):
        assert action.if_match == if_match


UPLOAD_MODE = [
    ("same/same", SNAP, L_SAME, R_SAME, None, None),
    ("same/changed: overwrite remote, pinned", SNAP, L_SAME, R_CHANGED, K.UPLOAD, '"e3"'),
    ("changed/same", SNAP, L_CHANGED, R_SAME, K.UPLOAD, '"e1"'),
    ("deleted/same", SNAP, None, R_SAME, K.DELETE_REMOTE, '"e1"'),
    ("deleted/changed: still mirror", SNAP, None, R_CHANGED, K.DELETE_REMOTE, '"e3"'),
    ("same/deleted: re-upload", SNAP, L_SAME, None, K.UPLOAD, None),
    ("absent/new: remote-only removed", None, None, R_NEW_A, K.DELETE_REMOTE, '"e9"'),
    ("new/new same", None, L_NEW_A, R_NEW_A, K.RECORD, None),
    ("new/new different", None, L_NEW_B, R_NEW_A, K.UPLOAD, '"e9"'),
    ("deleted/deleted", SNAP, None, None, K.FORGET, None),
]

DOWNLOAD_MODE = [
    ("same/same", SNAP, L_SAME, R_SAME, None, None),
    ("changed/same: restore remote", SNAP, L_CHANGED, R_SAME, K.DOWNLOAD, '"e1"'),
    ("same/changed", SNAP, L_SAME, R_CHANGED, K.DOWNLOAD, '"e3"'),
    ("same/deleted", SNAP, L_SAME, None, K.DELETE_LOCAL, None),
    ("new/absent: local-only removed", None, L_NEW_A, None, K.DELETE_LOCAL, None),
    ("deleted/same: restored", SNAP, None, R_SAME, K.DOWNLOAD, '"e1"'),
    ("new/new same", None, L_NEW_A, R_NEW_A, K.RECORD, None),
    ("new/new different", None, L_NEW_B, R_NEW_A, K.DOWNLOAD, '"e9"'),
]


@pytest.mark.parametrize(
    ("snap", "local", "remote", "kind", "if_match"),
    [c[1:] for c in UPLOAD_MODE],
    ids=[c[0] for c in UPLOAD_MODE],
)
def test_upload_mirror(snap, local, remote, kind, if_match):
    action = plan_item(snap, local, remote, SyncMode.UPLOAD)
    assert (action.kind if action else None) is kind
    assert kind not in (K.DOWNLOAD, K.DELETE_LOCAL, K.CONFLICT)
    if action is not None and action.kind in (K.UPLOAD, K.DELETE_REMOTE):
        assert action.if_match == if_match


@pytest.mark.parametrize(
    ("snap", "local", "remote", "kind", "if_match"),
    [c[1:] for c in DOWNLOAD_MODE],
    ids=[c[0] for c in DOWNLOAD_MODE],
)
def test_download_mirror(snap, local, remote, kind, if_match):
    action = plan_item(snap, local, remote, SyncMode.DOWNLOAD)
    assert (action.kind if action else None) is kind
    if action is not None and action.kind is K.DOWNLOAD:
        assert action.if_match == if_match


HOSTILE_BLOBS = [
    "../evil.txt",
    "a/../../evil",
    "/etc/passwd",
    "a\\..\\b",
    "C:/x",
    "\uff0e\uff0e/x",
    "a//b",
    "ctl\x01x",
]


@pytest.mark.parametrize("name", HOSTILE_BLOBS)
@pytest.mark.parametrize("mode", [SyncMode.TWO_WAY, SyncMode.DOWNLOAD])
def test_hostile_blob_names_become_issues(name, mode):
    action = plan_item(None, None, RemoteEntry(name, 3, '"x"', A), mode)
    assert action is not None and action.kind is K.ISSUE
    assert action.issue is not None and action.issue.kind is IssueKind.NAME_NOT_ALLOWED


@pytest.mark.parametrize("name", ["x" * 1025, "trailing.", "ctl\x07name", "back\\slash"])
def test_local_names_azure_cannot_store_become_issues(name):
    action = plan_item(None, LocalEntry(name, 1, 1, 1), None, SyncMode.TWO_WAY)
    assert action is not None and action.kind is K.ISSUE


def test_1024_character_name_is_fine():
    action = plan_item(None, LocalEntry("x" * 1024, 1, 1, 1), None, SyncMode.TWO_WAY)
    assert action is not None and action.kind is K.UPLOAD and action.if_match is None


def test_change_classification():
    assert local_change(SNAP, L_SAME) is Change.SAME
    assert local_change(SNAP, L_TOUCHED) is Change.TOUCHED
    assert local_change(SNAP, LocalEntry(P, 1, 2000, 7)) is Change.CHANGED  # unknown md5 = changed
    assert remote_change(SNAP, R_TOUCHED) is Change.TOUCHED
    assert remote_change(SNAP, None) is Change.DELETED
    assert remote_change(None, None) is Change.ABSENT
