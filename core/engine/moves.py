"""Rename detection within a full enumeration: pair a vanished item with a new item of
the same size and content hash, so a rename costs a server-side copy (or a local
rename) instead of a transfer.

Local rename: the planner said DELETE_REMOTE for the old path (gone locally, unchanged
remotely) and create-only UPLOAD for the new path; if the new file's MD5 equals the
old snapshot's, both become one MOVE_REMOTE (copy pinned to the old ETag, create-only
target, then If-Match delete of the old blob). A folder rename is the same thing for
each of its files. Remote rename (another machine renamed): DELETE_LOCAL of the old
path + DOWNLOAD of a new blob whose Content-MD5 equals the old snapshot's become one
MOVE_LOCAL (also when the new blob is archived: a local rename reads nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ..models import Action, ActionKind, LocalEntry


def pair_moves(actions: list[Action], md5_of: Callable[[LocalEntry], bytes | None]) -> list[Action]:
    """Return ``actions`` with matching delete/create pairs replaced by moves.

    ``md5_of`` hashes a new local file (cached); it may return None if unreadable.
    Only unambiguous content matches are paired; everything else is left as planned.
    """
    remote_gone: dict[tuple[int, bytes], list[Action]] = {}
    local_gone: dict[tuple[int, bytes], list[Action]] = {}
    sizes_remote_gone: set[int] = set()
    for a in actions:
        snap = a.snapshot
        if snap is None:
            continue
        if a.kind is ActionKind.DELETE_REMOTE and a.remote is not None:
            remote_gone.setdefault((snap.size, snap.md5), []).append(a)
            sizes_remote_gone.add(snap.size)
        elif a.kind is ActionKind.DELETE_LOCAL and a.local is not None:
            local_gone.setdefault((snap.size, snap.md5), []).append(a)
    if not remote_gone and not local_gone:
        return actions

    replaced: dict[int, Action | None] = {}  # id(action) -> replacement (None = drop)
    for a in actions:
        if (
            a.kind is ActionKind.UPLOAD
            and a.if_match is None
            and a.snapshot is None
            and a.local is not None
        ):
            local = a.local
            if local.size not in sizes_remote_gone:
                continue
            md5 = local.md5 or md5_of(local)
            if md5 is None:
                continue
            candidates = remote_gone.get((local.size, md5))
            if not candidates:
                continue
            old = candidates.pop(0)
            replaced[id(old)] = None
            replaced[id(a)] = Action(
                ActionKind.MOVE_REMOTE,
                a.rel_path,
                local=replace(local, md5=md5),
                remote=old.remote,
                snapshot=old.snapshot,
                if_match=old.if_match,
            )
        elif (
            # an archived new blob cannot be downloaded, but a local rename needs no read
            (a.kind is ActionKind.DOWNLOAD or a.held is ActionKind.DOWNLOAD)
            and a.local is None
            and a.snapshot is None
            and a.remote is not None
        ):
            remote = a.remote
            if remote.md5 is None:
                continue
            candidates = local_gone.get((remote.size, remote.md5))
            if not candidates:
                continue
            old = candidates.pop(0)
            replaced[id(old)] = None
            replaced[id(a)] = Action(
                ActionKind.MOVE_LOCAL,
                a.rel_path,
                local=old.local,
                remote=remote,
                snapshot=old.snapshot,
                if_match=remote.etag,
            )
    if not replaced:
        return actions
    out: list[Action] = []
    for a in actions:
        if id(a) in replaced:
            new = replaced[id(a)]
            if new is not None:
                out.append(new)
        else:
            out.append(a)
    return out
