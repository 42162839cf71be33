"""The safety valves: a plan that looks like a lost side, not like the user's deletions,
stops the run before anything is deleted (and the restore that answers it).

A valve looks at the whole plan of one run (pure: no I/O) and raises
:class:`~blobsync.core.errors.SafetyStop` with the facts a deletion review needs (how
many files, how many bytes, the first paths, on which side). In order:

- **container gone**: the container no longer exists, files were synced to it, and the
  plan would delete local files;
- **folder emptied**: the folder has no files any more, files were synced from it, and
  the plan would delete blobs (an unmounted drive, a folder replaced by an empty one);
- **container emptied**: the container exists but is empty, files were synced to it,
  and the plan would delete local files. This is the folder's twin: whatever the
  count, an emptied side is a lost side (rclone bisync aborts on an empty listing too);
- **mass delete**: more than :data:`MASS_DELETE_RATIO` of the synced files, and more
  than :data:`MASS_DELETE_MIN`, would be deleted.

The floor of the ratio rule stays at 10 on purpose: the case it used to let through
(a small pair whose whole side vanished) is caught by the two "emptied" valves at any
count; what remains below the floor is deleting some files of a small folder, which
is ordinary use, and a typed confirmation for three files would teach people to
confirm without reading.

A run goes through when the user allowed it (``allow_mass_delete``) or reviewed at
least as many deletions as it would make (``confirmed_deletes``). The review's other
way out, :func:`restore_instead`, turns each deletion into a copy back from the side
that still has the file.
"""

from __future__ import annotations

from ..errors import SAFETY_SAMPLE, SafetyReason, SafetyStop
from ..models import Action, ActionKind

MASS_DELETE_MIN = 10  # below this many deletions the ratio rule does not apply
MASS_DELETE_RATIO = 0.5
_DELETES = (ActionKind.DELETE_LOCAL, ActionKind.DELETE_REMOTE)


def check_valves(
    actions: list[Action],
    *,
    tracked: int,
    local_files: int,
    local_blind: bool,
    remote_files: int,
    container_exists: bool,
    allow_mass_delete: bool = False,
    confirmed_deletes: int | None = None,
    local_root: str = "",
    container: str = "",
) -> None:
    """Raise SafetyStop when the plan looks like a lost side (see the module docstring).

    ``tracked`` is the snapshot's row count, ``local_files`` / ``remote_files`` what the
    scan and the listing found, ``local_blind`` whether part of the folder could not be
    read."""
    deleting = [a for a in actions if a.kind in _DELETES]
    if not deleting or allow_mass_delete:
        return
    if confirmed_deletes is not None and len(deleting) <= confirmed_deletes:
        return
    local = sum(1 for a in deleting if a.kind is ActionKind.DELETE_LOCAL)
    remote = len(deleting) - local
    reason: SafetyReason | None = None
    if tracked and not container_exists and local:
        reason = SafetyReason.CONTAINER_GONE
    elif tracked and local_files == 0 and not local_blind and remote:
        reason = SafetyReason.FOLDER_EMPTIED
    elif tracked and container_exists and remote_files == 0 and local:
        reason = SafetyReason.CONTAINER_EMPTIED
    elif len(deleting) > MASS_DELETE_MIN and len(deleting) > tracked * MASS_DELETE_RATIO:
        reason = SafetyReason.MASS_DELETE
    if reason is None:
        return
    raise SafetyStop(
        reason,
        tracked=tracked,
        deletes=len(deleting),
        deletes_local=local,
        deletes_remote=remote,
        nbytes=sum(_size(a) for a in deleting),
        paths=tuple(sorted(a.rel_path for a in deleting)[:SAFETY_SAMPLE]),
        local_root=local_root,
        container=container,
    )


def restore_instead(action: Action) -> Action:
    """The deletion review's "restore": a deletion becomes a copy back from the side
    that still has the file. Deleting a blob becomes downloading it again (pinned to
    its ETag); deleting a local file becomes uploading it again, create-only (a blob
    of that name written meanwhile is never replaced). Other actions are unchanged."""
    if action.kind is ActionKind.DELETE_REMOTE and action.remote is not None:
        return Action(
            ActionKind.DOWNLOAD,
            action.rel_path,
            None,
            action.remote,
            action.snapshot,
            if_match=action.remote.etag,
        )
    if action.kind is ActionKind.DELETE_LOCAL and action.local is not None:
        return Action(
            ActionKind.UPLOAD, action.rel_path, action.local, None, action.snapshot, if_match=None
        )
    return action


def _size(action: Action) -> int:
    entry = action.local if action.kind is ActionKind.DELETE_LOCAL else action.remote
    return entry.size if entry is not None else 0
