"""What the user chose for a pending item, applied: the issues list's and the conflict
center's Keep mine / Take theirs / Keep both / Retry / Ignore (:class:`Resolution`).

A conflict's loser goes to its side's recycle bin (the local versions folder, or the
container's bin through an ordinary executor delete); a forced upload or download is a
one-action run through the :class:`~.executor.Executor` with the same conditional writes
as a sync, recorded in the history as a ``resolve`` run. :class:`Resolver` works for one
:class:`~.facade.SyncEngine` (as :class:`~.recovery.Recovery` does).
"""

from __future__ import annotations

import contextlib
import enum
import os
from typing import TYPE_CHECKING

from ..errors import ItemError
from ..local import fs
from ..models import Action, ActionKind, BinReason, Issue, IssueKind, LocalEntry, SyncResult
from ..remote.base import CancelToken
from .executor import Executor
from .history import RunKind

if TYPE_CHECKING:
    from .facade import SyncEngine


class Resolution(enum.StrEnum):
    """What the user chose for a pending issue."""

    RETRY = "retry"
    KEEP_MINE = "keep_mine"
    TAKE_THEIRS = "take_theirs"
    KEEP_BOTH = "keep_both"
    IGNORE = "ignore"  # leave this item alone from now on (remembered, see SyncEngine.ignore)


class Resolver:
    """Resolutions for one engine."""

    def __init__(self, engine: SyncEngine) -> None:
        self.engine = engine

    def resolve(self, rel_path: str, resolution: Resolution) -> None:
        """Apply the user's choice for one pending item; the caller syncs afterwards.

        Conflicts (both copies already kept): KEEP_MINE puts our copy back under the
        name, TAKE_THEIRS drops our copy, KEEP_BOTH keeps both; RETRY leaves the
        conflict pending (there is nothing to retry until the user chooses). IGNORE
        leaves the item alone from now on. Race skips:
        KEEP_MINE uploads ours over the blob's *current* version (If-Match its current
        ETag), TAKE_THEIRS downloads theirs over ours (after a re-check), KEEP_BOTH and
        RETRY leave it to the next sync. Raises ItemError, FatalError.
        """
        if resolution is Resolution.IGNORE:
            self.engine.ignore(rel_path)
            return
        issue = next((i for i in self.engine.state.issues() if i.rel_path == rel_path), None)
        with self.engine._pair_lock():
            if issue is not None and issue.kind is IssueKind.CONFLICT and issue.conflict_copy:
                if resolution is Resolution.RETRY:
                    return  # nothing to retry: the conflict waits for the user's choice
                self._resolve_conflict(issue, resolution)
            elif issue is not None and issue.kind is IssueKind.MOVED_OUT_OF_SYNC:
                # Moved to an excluded place: KEEP_MINE makes the move a deletion in the
                # container; TAKE_THEIRS and KEEP_BOTH bring the container's copy back.
                if resolution is Resolution.KEEP_MINE:
                    self._delete_moved_out(rel_path)
                elif resolution is not Resolution.RETRY:
                    self._force_download(rel_path)
            elif resolution is Resolution.KEEP_MINE:
                self._force_upload(rel_path)
            elif resolution is Resolution.TAKE_THEIRS:
                self._force_download(rel_path)
            if issue is not None:
                self.engine.state.remove_issue(rel_path)

    def _resolve_conflict(self, issue: Issue, resolution: Resolution) -> None:
        assert issue.conflict_copy is not None
        copy_path = fs.confined_path(
            self.engine.local_root, issue.conflict_copy, make_parents=False
        )
        target = fs.confined_path(self.engine.local_root, issue.rel_path, make_parents=True)
        if self.engine.on_local_write is not None:
            self.engine.on_local_write(issue.rel_path)
            self.engine.on_local_write(issue.conflict_copy)
        if resolution is Resolution.KEEP_MINE:
            if not copy_path.exists():
                raise ItemError(
                    "Your copy is no longer there; nothing was changed.", IssueKind.VANISHED
                )
            os.replace(copy_path, target)  # the next sync uploads it and removes the copy's blob
        elif resolution is Resolution.TAKE_THEIRS:
            # the next sync deletes the copy's blob (into the container bin); the copy
            # itself goes to the versions folder, in case it never reached the container
            with contextlib.suppress(FileNotFoundError):
                self.engine.versions_folder.keep(
                    copy_path, issue.conflict_copy, move=True, reason=BinReason.DELETED
                )

    def _delete_moved_out(self, rel_path: str) -> None:
        """The user confirms a move out of the sync: delete the container's copy, if it
        is still the version last synced. It goes through the executor like any remote
        delete, so the blob lands in the container's bin first and the history has it."""
        snap = self.engine.state.get_snapshot(rel_path)
        current = self.engine.store.get_entry(rel_path)
        if current is not None:
            if snap is not None and current.etag != snap.etag:
                raise ItemError(
                    "It changed in the container since it was synced; nothing was deleted.",
                    IssueKind.CONCURRENT_CHANGE,
                )
            self._run_one(
                Action(
                    ActionKind.DELETE_REMOTE,
                    rel_path,
                    remote=current,
                    snapshot=snap,
                    if_match=current.etag,
                )
            )
        self.engine.state.delete_snapshot(rel_path)
        self.engine.state.commit()

    def _force_upload(self, rel_path: str) -> None:
        path = fs.confined_path(self.engine.local_root, rel_path, make_parents=False)
        st = os.lstat(path)
        current = self.engine.store.get_entry(rel_path)
        local = LocalEntry(rel_path, st.st_size, st.st_mtime_ns, st.st_ino)
        action = Action(
            ActionKind.UPLOAD, rel_path, local, current, if_match=current.etag if current else None
        )
        self._run_one(action)

    def _force_download(self, rel_path: str) -> None:
        current = self.engine.store.get_entry(rel_path)
        if current is None:
            raise ItemError("Their version no longer exists in the container.", IssueKind.VANISHED)
        path = fs.confined_path(self.engine.local_root, rel_path, make_parents=False)
        state = fs.local_state(path)
        local = LocalEntry(rel_path, state[0], state[1]) if state else None
        self._run_one(Action(ActionKind.DOWNLOAD, rel_path, local, current, if_match=current.etag))

    def _run_one(self, action: Action) -> None:
        result = SyncResult()
        options = self.engine._identity_options()
        run_id = self.engine.history.start_run(
            self.engine.pair_id, RunKind.RESOLVE, self.engine.writer(options)
        )
        ctx = self.engine._context(options, CancelToken(), run_id)
        try:
            Executor(ctx, result).run([action])
        finally:
            self.engine.history.finish_run(run_id)
        if result.issues:
            issue = result.issues[0]
            raise ItemError(issue.message, issue.kind)
