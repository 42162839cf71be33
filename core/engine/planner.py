"""The pure planner: (snapshot, local, remote) of one item -> the action to take.

No I/O, no clocks. All conflict rules live here; :func:`plan_item` covers every
two-sided combination (see ``tests/core/test_planner.py`` for the table):

==========================  ===================  =====================================
local vs snapshot           remote vs snapshot   two-way outcome
==========================  ===================  =====================================
unchanged                   unchanged            nothing (or record a touched mtime)
unchanged                   changed              download (pinned to remote ETag)
unchanged                   deleted              delete local (after a re-check)
changed                     unchanged            upload (If-Match remote ETag)
changed                     changed              same content: record; else conflict
changed                     deleted              upload, create-only (keep the change)
deleted                     unchanged            delete remote (If-Match)
deleted                     changed              download (keep the change)
deleted                     deleted              forget
new (no snapshot)           absent               upload, create-only
absent                      new                  download
new                         new                  same content: record; else conflict
==========================  ===================  =====================================

"Changed" means *content* changed: a new mtime with the same MD5 locally, or a new
ETag with the same Content-MD5 remotely, is only recorded. The mirror modes replace
the other side's state by the source's, still with every write conditional.

Two guards run after the table:

- **Archived blobs** (Archive tier, rehydrating or not) can be neither read nor
  replaced: any outcome that would download, overwrite, delete or keep-both such a
  blob becomes ARCHIVED (``held`` = the outcome), a state, not an issue. Outcomes that
  need no content (nothing, record, forget, a local delete after a remote delete) stay.
  Once the blob is rehydrated, the same table applies as for any blob.
- **Remote deletes kept** (:attr:`RemoteDeletePolicy.KEEP_AS_ISSUES`, for accounts that
  may not delete): DELETE_REMOTE becomes a DELETE_NOT_PERMITTED issue; the blob stays.
"""

from __future__ import annotations

import enum

from ..models import (
    Action,
    ActionKind,
    Issue,
    IssueKind,
    LocalEntry,
    RemoteDeletePolicy,
    RemoteEntry,
    SnapshotEntry,
    SyncMode,
)
from ..names import blob_name_problem, local_path_problem


class Change(enum.Enum):
    """How one side differs from the snapshot."""

    ABSENT = "absent"  # not there, and not in the snapshot either
    NEW = "new"  # there, no snapshot
    SAME = "same"  # same content as the snapshot, same version stamp
    TOUCHED = "touched"  # same content, new version stamp (mtime / ETag)
    CHANGED = "changed"  # different content
    DELETED = "deleted"  # in the snapshot, gone now


def local_change(snap: SnapshotEntry | None, local: LocalEntry | None) -> Change:
    """Classify the local side. A size/mtime difference needs ``local.md5`` to tell
    TOUCHED from CHANGED; without it we assume CHANGED."""
    if local is None:
        return Change.ABSENT if snap is None else Change.DELETED
    if snap is None:
        return Change.NEW
    if local.size == snap.size and local.mtime_ns == snap.mtime_ns:
        # Same stamp. The engine hashes "racily clean" files (written in the same clock
        # tick as the snapshot was taken, like git's racy-git check): a new content
        # there is a change the stamp cannot show.
        if local.md5 is not None and local.md5 != snap.md5:
            return Change.CHANGED
        return Change.SAME
    if local.md5 is not None and local.md5 == snap.md5:
        return Change.TOUCHED
    return Change.CHANGED


def remote_change(snap: SnapshotEntry | None, remote: RemoteEntry | None) -> Change:
    """Classify the remote side by ETag, then Content-MD5."""
    if remote is None:
        return Change.ABSENT if snap is None else Change.DELETED
    if snap is None:
        return Change.NEW
    if remote.etag == snap.etag:
        return Change.SAME
    if remote.md5 is not None and remote.md5 == snap.md5 and remote.size == snap.size:
        return Change.TOUCHED
    return Change.CHANGED


def same_content(local: LocalEntry, remote: RemoteEntry) -> bool:
    """True only if both MD5s are known and equal."""
    return (
        local.md5 is not None
        and remote.md5 is not None
        and local.md5 == remote.md5
        and local.size == remote.size
    )


def _record_needed(snap: SnapshotEntry | None, local: LocalEntry, remote: RemoteEntry) -> bool:
    return snap is None or (snap.size, snap.mtime_ns, snap.etag) != (
        local.size,
        local.mtime_ns,
        remote.etag,
    )


def _issue(rel_path: str, kind: IssueKind, message: str, retryable: bool = False) -> Action:
    return Action(ActionKind.ISSUE, rel_path, issue=Issue(rel_path, kind, message, retryable))


#: Outcomes that read or replace the blob's content, or remove it: held for an archived blob.
_NEEDS_ONLINE_BLOB = frozenset(
    {ActionKind.DOWNLOAD, ActionKind.UPLOAD, ActionKind.DELETE_REMOTE, ActionKind.CONFLICT}
)


def plan_item(
    snap: SnapshotEntry | None,
    local: LocalEntry | None,
    remote: RemoteEntry | None,
    mode: SyncMode = SyncMode.TWO_WAY,
    remote_deletes: RemoteDeletePolicy = RemoteDeletePolicy.APPLY,
    blob_prefix: str = "",
) -> Action | None:
    """The action for one item, or None when there is nothing to do. ``blob_prefix``:
    the pair's path inside the container, which counts towards Azure's name limits."""
    action = _plan_table(snap, local, remote, mode, blob_prefix)
    if action is None:
        return None
    if remote is not None and remote.archived and action.kind in _NEEDS_ONLINE_BLOB:
        return Action(ActionKind.ARCHIVED, action.rel_path, local, remote, snap, held=action.kind)
    if (
        action.kind is ActionKind.DELETE_REMOTE
        and remote_deletes is RemoteDeletePolicy.KEEP_AS_ISSUES
    ):
        return _issue(
            action.rel_path,
            IssueKind.DELETE_NOT_PERMITTED,
            "Deleted here, but this account may not delete in the container, so the blob "
            "was kept there.",
        )
    return action


def _plan_table(
    snap: SnapshotEntry | None,
    local: LocalEntry | None,
    remote: RemoteEntry | None,
    mode: SyncMode,
    blob_prefix: str,
) -> Action | None:
    present = local or remote or snap
    if present is None:
        return None
    rel_path = present.rel_path
    # Names first: never upload what Azure cannot store, never write what could escape.
    if local is not None and remote is None and mode is not SyncMode.DOWNLOAD:
        problem = blob_name_problem(rel_path, blob_prefix)
        if problem:
            return _issue(rel_path, IssueKind.NAME_NOT_ALLOWED, problem)
    if remote is not None and mode is not SyncMode.UPLOAD:
        problem = local_path_problem(rel_path)
        if problem:
            return _issue(rel_path, IssueKind.NAME_NOT_ALLOWED, problem)

    lc = local_change(snap, local)
    rc = remote_change(snap, remote)
    if mode is SyncMode.UPLOAD:
        return _plan_upload_mirror(snap, local, remote, lc, rc)
    if mode is SyncMode.DOWNLOAD:
        return _plan_download_mirror(snap, local, remote, lc, rc)
    return _plan_two_way(snap, local, remote, lc, rc)


def _plan_two_way(
    snap: SnapshotEntry | None,
    local: LocalEntry | None,
    remote: RemoteEntry | None,
    lc: Change,
    rc: Change,
) -> Action | None:
    unchanged = (Change.SAME, Change.TOUCHED)
    if local is not None and remote is not None:
        rel = local.rel_path
        if lc in unchanged and rc in unchanged:
            if lc is Change.SAME and rc is Change.SAME:
                return None
            return Action(ActionKind.RECORD, rel, local, remote, snap)
        if lc in unchanged and rc is Change.CHANGED:
            return Action(ActionKind.DOWNLOAD, rel, local, remote, snap, if_match=remote.etag)
        if lc is Change.CHANGED and rc in unchanged:
            return Action(ActionKind.UPLOAD, rel, local, remote, snap, if_match=remote.etag)
        # both changed, or both new
        if same_content(local, remote):
            return (
                Action(ActionKind.RECORD, rel, local, remote, snap)
                if _record_needed(snap, local, remote)
                else None
            )
        return Action(ActionKind.CONFLICT, rel, local, remote, snap, if_match=remote.etag)
    if local is not None:  # remote absent
        if lc is Change.NEW or lc is Change.CHANGED:
            return Action(ActionKind.UPLOAD, local.rel_path, local, None, snap, if_match=None)
        return Action(ActionKind.DELETE_LOCAL, local.rel_path, local, None, snap)
    if remote is not None:  # local absent
        if rc is Change.NEW or rc is Change.CHANGED:
            return Action(
                ActionKind.DOWNLOAD, remote.rel_path, None, remote, snap, if_match=remote.etag
            )
        return Action(
            ActionKind.DELETE_REMOTE, remote.rel_path, None, remote, snap, if_match=remote.etag
        )
    if snap is not None:
        return Action(ActionKind.FORGET, snap.rel_path, snapshot=snap)
    return None


def _plan_upload_mirror(
    snap: SnapshotEntry | None,
    local: LocalEntry | None,
    remote: RemoteEntry | None,
    lc: Change,
    rc: Change,
) -> Action | None:
    if local is not None:
        if remote is None:
            return Action(ActionKind.UPLOAD, local.rel_path, local, None, snap, if_match=None)
        agreed = lc in (Change.SAME, Change.TOUCHED) and rc in (Change.SAME, Change.TOUCHED)
        if agreed or same_content(local, remote):
            if lc is Change.SAME and rc is Change.SAME:
                return None
            return (
                Action(ActionKind.RECORD, local.rel_path, local, remote, snap)
                if _record_needed(snap, local, remote)
                else None
            )
        return Action(ActionKind.UPLOAD, local.rel_path, local, remote, snap, if_match=remote.etag)
    if remote is not None:
        return Action(
            ActionKind.DELETE_REMOTE, remote.rel_path, None, remote, snap, if_match=remote.etag
        )
    return Action(ActionKind.FORGET, snap.rel_path, snapshot=snap) if snap is not None else None


def _plan_download_mirror(
    snap: SnapshotEntry | None,
    local: LocalEntry | None,
    remote: RemoteEntry | None,
    lc: Change,
    rc: Change,
) -> Action | None:
    if remote is not None:
        if local is None:
            return Action(
                ActionKind.DOWNLOAD, remote.rel_path, None, remote, snap, if_match=remote.etag
            )
        agreed = lc in (Change.SAME, Change.TOUCHED) and rc in (Change.SAME, Change.TOUCHED)
        if agreed or same_content(local, remote):
            if lc is Change.SAME and rc is Change.SAME:
                return None
            return (
                Action(ActionKind.RECORD, remote.rel_path, local, remote, snap)
                if _record_needed(snap, local, remote)
                else None
            )
        return Action(
            ActionKind.DOWNLOAD, remote.rel_path, local, remote, snap, if_match=remote.etag
        )
    if local is not None:
        return Action(ActionKind.DELETE_LOCAL, local.rel_path, local, None, snap)
    return Action(ActionKind.FORGET, snap.rel_path, snapshot=snap) if snap is not None else None


def is_delete(action: Action) -> bool:
    """True for actions that remove a file on either side."""
    return action.kind in (ActionKind.DELETE_LOCAL, ActionKind.DELETE_REMOTE)
