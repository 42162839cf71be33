"""Apply planned actions: transfers on a worker pool, every remote write conditional,
every local write atomic and re-checked, every outcome recorded in the snapshot.

Per-item failures become issues; only fatal errors (auth, connection, cancel) stop the
run. Order: local deletions first (so folders they empty cannot race with downloads),
then everything else in parallel, then empty folders are tidied.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .. import events as ev
from ..crashpoints import crash_point
from ..errors import (
    AuthError,
    AuthReason,
    BlobNotFound,
    Cancelled,
    FatalError,
    ItemError,
    PreconditionFailed,
)
from ..local import fs
from ..models import (
    Action,
    ActionKind,
    Issue,
    IssueKind,
    LocalEntry,
    RemoteEntry,
    SnapshotEntry,
    SyncResult,
)
from ..remote.base import CancelToken, RemoteStore
from .state import StateDB
from .throttle import ThrottledReader, ThrottledWriter, TokenBucket

log = logging.getLogger(__name__)


@dataclass
class RunContext:
    """Everything the executor needs for one run."""

    root: Path
    store: RemoteStore
    state: StateDB
    emit: ev.EventSink
    cancel: CancelToken
    hostname: str
    workers: int
    upload_limit: TokenBucket | None = None
    download_limit: TokenBucket | None = None
    #: Told the relative path of every local write just before it happens (the file
    #: watcher uses it to ignore the engine's own changes).
    on_local_write: Callable[[str], None] | None = None


class _Progress:
    """Thread-safe overall counters, emitted at most ~10 times a second."""

    def __init__(self, emit: ev.EventSink, files_total: int, bytes_total: int) -> None:
        self._emit = emit
        self._lock = threading.Lock()
        self.files_total = files_total
        self.bytes_total = bytes_total
        self.files_done = 0
        self.bytes_done = 0
        self._last = 0.0

    def add(self, files: int = 0, nbytes: int = 0, force: bool = False) -> None:
        with self._lock:
            self.files_done += files
            self.bytes_done += nbytes
            now = time.monotonic()
            if not force and now - self._last < 0.1:
                return
            self._last = now
            snapshot = ev.OverallProgress(
                self.files_done, self.files_total, self.bytes_done, self.bytes_total
            )
        self._emit(snapshot)


class Executor:
    """Runs a plan; fills a :class:`SyncResult`."""

    def __init__(self, ctx: RunContext, result: SyncResult) -> None:
        self.ctx = ctx
        self.result = result
        self._lock = threading.Lock()
        self._progress: _Progress | None = None
        self._emptied: list[str] = []
        self._taken: set[str] = set()
        self._handlers: dict[ActionKind, Callable[[Action], None]] = {
            ActionKind.UPLOAD: self._upload,
            ActionKind.DOWNLOAD: self._download,
            ActionKind.DELETE_REMOTE: self._delete_remote,
            ActionKind.DELETE_LOCAL: self._delete_local,
            ActionKind.CONFLICT: self._conflict,
            ActionKind.MOVE_REMOTE: self._move_remote,
            ActionKind.MOVE_LOCAL: self._move_local,
            ActionKind.RECORD: self._record,
            ActionKind.FORGET: self._forget,
            ActionKind.ISSUE: self._report,
            ActionKind.ARCHIVED: self._archived,
        }
        #: The first fatal error a worker hit: the others stop taking items, and this is
        #: the error the run reports (not a "cancelled" from a sibling).
        self._fatal: FatalError | None = None

    # ---- driving -----------------------------------------------------------------

    def run(self, actions: list[Action]) -> None:
        """Apply ``actions``. Raises FatalError (auth, connection, cancel)."""
        transfer = [
            a
            for a in actions
            if a.kind in (ActionKind.UPLOAD, ActionKind.DOWNLOAD, ActionKind.CONFLICT)
        ]
        bytes_total = sum(_size(a) for a in transfer)
        self._progress = _Progress(self.ctx.emit, len(actions), bytes_total)
        # Every path this run may write: a conflict copy must not take one of them (a
        # download of that very name could otherwise replace the copy moments later).
        self._taken = {a.rel_path for a in actions}
        self._taken.update(a.snapshot.rel_path for a in actions if a.snapshot is not None)
        local_deletes = [a for a in actions if a.kind is ActionKind.DELETE_LOCAL]
        others = [a for a in actions if a.kind is not ActionKind.DELETE_LOCAL]
        for action in local_deletes:
            self._check_cancel()
            self._do(action)
        self._run_parallel(others)
        for rel_path in sorted(self._emptied, key=lambda p: -p.count("/")):
            self._notify_local_write(rel_path)
            fs.remove_empty_parents(self.ctx.root, rel_path)
        self.ctx.state.commit()
        self._progress.add(force=True)

    def _run_parallel(self, actions: Iterable[Action]) -> None:
        limit = max(1, self.ctx.workers) * 4
        with ThreadPoolExecutor(
            max_workers=max(1, self.ctx.workers), thread_name_prefix="blobsync-xfer"
        ) as pool:
            pending: set[Future[None]] = set()
            try:
                for action in actions:
                    if action.kind in _NO_TRANSFER:
                        self._do(action)  # cheap: no I/O beyond SQLite
                        continue
                    self._check_cancel()
                    pending.add(pool.submit(self._do, action))
                    if len(pending) >= limit:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        self._reap(done)
                done, _ = wait(pending)
                self._reap(done)
            except BaseException:
                self.ctx.cancel.cancel()
                for fut in pending:
                    fut.cancel()
                raise

    def _reap(self, done: Iterable[Future[None]]) -> None:
        for fut in done:
            if fut.exception() is not None and self._fatal is not None:
                raise self._fatal
            fut.result()

    def _check_cancel(self) -> None:
        if self.ctx.cancel.cancelled:
            raise Cancelled(
                "The sync was cancelled; finished items are kept, the rest will sync next time."
            )

    # ---- one action ----------------------------------------------------------------

    def _do(self, action: Action) -> None:
        if self._fatal is not None:
            return  # the run is stopping (network down, auth refused): no more requests
        kind = action.kind
        emit = self.ctx.emit
        if kind in (ActionKind.UPLOAD, ActionKind.DOWNLOAD, ActionKind.CONFLICT):
            emit(ev.ItemStarted(action.rel_path, kind, _size(action)))
        ok = True
        try:
            self._handlers[kind](action)
        except FatalError as exc:
            with self._lock:
                if self._fatal is None:
                    self._fatal = exc
            raise
        except ItemError as exc:
            ok = False
            self._add_issue(Issue(action.rel_path, exc.kind, exc.message, exc.retryable))
        except OSError as exc:
            ok = False
            err = fs.item_error(exc, action.rel_path, _doing(kind))
            self._add_issue(Issue(action.rel_path, err.kind, err.message, err.retryable))
        if kind in (ActionKind.UPLOAD, ActionKind.DOWNLOAD, ActionKind.CONFLICT):
            emit(ev.ItemFinished(action.rel_path, kind, ok))
        if self._progress is not None:
            self._progress.add(files=1)

    def _add_issue(self, issue: Issue, count_skip: bool = True) -> None:
        with self._lock:
            self.result.issues.append(issue)
            if issue.kind is IssueKind.CONFLICT:
                self.result.conflicts += 1
            elif count_skip:
                self.result.skipped += 1
        self.ctx.emit(ev.IssueRaised(issue))

    def _count(self, field: str, nbytes_field: str | None = None, nbytes: int = 0) -> None:
        with self._lock:
            setattr(self.result, field, getattr(self.result, field) + 1)
            if nbytes_field:
                setattr(self.result, nbytes_field, getattr(self.result, nbytes_field) + nbytes)

    def _item_progress(self, rel_path: str, size: int) -> Callable[[int], None]:
        done = 0
        last = 0.0

        def report(n: int) -> None:
            nonlocal done, last
            done += n
            if self._progress is not None:
                self._progress.add(nbytes=n)
            now = time.monotonic()
            if now - last >= 0.1 or done >= size:
                last = now
                self.ctx.emit(ev.ItemProgress(rel_path, done, size))

        return report

    # ---- uploads -------------------------------------------------------------------

    def _upload(self, action: Action) -> None:
        local = action.local
        assert local is not None
        self._upload_file(action.rel_path, action.if_match, expect=local)

    def _upload_file(
        self, rel: str, if_match: str | None, expect: LocalEntry | None
    ) -> RemoteEntry:
        """Upload the file at ``rel`` (conditionally) and record it.

        ``expect``: the scanned state; if the file no longer matches it, nothing is sent
        (FILE_CHANGED). Its MD5, when known, spares a read.
        """
        path = fs.confined_path(self.ctx.root, rel, make_parents=False)
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            if expect is not None and (st.st_size, st.st_mtime_ns) != (
                expect.size,
                expect.mtime_ns,
            ):
                raise ItemError(
                    "The file changed since it was scanned; it will sync next time.",
                    IssueKind.FILE_CHANGED,
                )
            md5 = expect.md5 if expect is not None else None
            if md5 is None:
                md5 = _md5_of_open(fh)
                fh.seek(0)
                after = os.fstat(fh.fileno())
                if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
                    raise ItemError(
                        "The file changed while it was read; it will sync next time.",
                        IssueKind.FILE_CHANGED,
                    )
            crash_point("before_upload")
            result = self.ctx.store.upload(
                rel,
                self._throttled_reader(fh),
                st.st_size,
                md5,
                st.st_mtime_ns,
                if_match,
                progress=self._item_progress(rel, st.st_size),
                cancel=self.ctx.cancel,
            )
            crash_point("after_upload_before_record")
            after = os.fstat(fh.fileno())
        if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
            # What was sent matched ``md5`` (the store checks); the file moved on since,
            # so the next run sees it changed and uploads it again.
            log.info("%s changed during upload; it will be uploaded again", rel)
        self.ctx.state.put_snapshot(
            SnapshotEntry(rel, st.st_size, st.st_mtime_ns, md5, result.etag)
        )
        self._count("uploaded", "bytes_uploaded", st.st_size)
        return RemoteEntry(rel, st.st_size, result.etag, md5, st.st_mtime_ns)

    def _notify_local_write(self, rel_path: str) -> None:
        """Announce a local write to ``rel_path`` (and the folders it may create)."""
        notify = self.ctx.on_local_write
        if notify is not None:
            parts = rel_path.split("/")
            for depth in range(len(parts), 0, -1):
                notify("/".join(parts[:depth]))

    def _throttled_reader(self, fh: BinaryIO) -> BinaryIO:
        bucket = self.ctx.upload_limit
        return fh if bucket is None else ThrottledReader(fh, bucket)  # type: ignore[return-value]

    # ---- renames -------------------------------------------------------------------

    def _move_remote(self, action: Action) -> None:
        """A local rename: copy the old blob server-side (pinned to the ETag we last saw,
        create-only target), then delete the old blob If-Match."""
        local, old = action.local, action.snapshot
        assert local is not None and old is not None and action.if_match is not None
        path = fs.confined_path(self.ctx.root, action.rel_path, make_parents=False)
        if fs.local_state(path) != (local.size, local.mtime_ns):
            raise ItemError(
                "The file changed since it was scanned; it will sync next time.",
                IssueKind.FILE_CHANGED,
            )
        copied = self.ctx.store.copy(old.rel_path, action.rel_path, action.if_match)
        crash_point("move_remote_after_copy")
        self.ctx.state.put_snapshot(
            SnapshotEntry(action.rel_path, local.size, local.mtime_ns, old.md5, copied.etag)
        )
        try:
            self.ctx.store.delete(old.rel_path, action.if_match)
        except BlobNotFound:
            pass
        except AuthError as exc:
            if exc.reason is not AuthReason.PERMISSION_MISSING:
                raise
            # Copied but not allowed to delete the old name: keep its snapshot (the
            # next run plans that delete again, as an issue under KEEP_AS_ISSUES).
            err = _delete_refused()
            self._add_issue(Issue(old.rel_path, err.kind, err.message, err.retryable))
            self._count("moved")
            return
        except PreconditionFailed:
            # The old blob changed meanwhile: keep its snapshot so the next run brings
            # that change back down instead of losing it.
            self._add_issue(
                Issue(
                    old.rel_path,
                    IssueKind.CONCURRENT_CHANGE,
                    "Renamed here but changed on another machine; its new version will be downloaded.",
                )
            )
            self._count("moved")
            return
        self.ctx.state.delete_snapshot(old.rel_path)
        self._count("moved")

    def _move_local(self, action: Action) -> None:
        """A remote rename: rename the unchanged local file instead of downloading."""
        local, remote, old = action.local, action.remote, action.snapshot
        assert local is not None and remote is not None and old is not None
        self._notify_local_write(action.rel_path)
        self._notify_local_write(old.rel_path)
        source = fs.confined_path(self.ctx.root, old.rel_path, make_parents=False)
        target = fs.confined_path(self.ctx.root, action.rel_path, make_parents=True)
        if fs.local_state(source) != (local.size, local.mtime_ns):
            raise ItemError(
                "The file changed locally after the scan; it was not moved.", IssueKind.FILE_CHANGED
            )
        os.link(source, target)  # fails rather than overwrite
        crash_point("move_local_after_link")
        os.unlink(source)
        st = os.lstat(target)
        self.ctx.state.put_snapshot(
            SnapshotEntry(action.rel_path, st.st_size, st.st_mtime_ns, old.md5, remote.etag)
        )
        self.ctx.state.delete_snapshot(old.rel_path)
        with self._lock:
            self._emptied.append(old.rel_path)
        self._count("moved")

    # ---- downloads ---------------------------------------------------------------

    def _fetch_to_temp(self, remote: RemoteEntry, target: Path) -> tuple[Path, bytes]:
        """Download ``remote`` (pinned to its ETag) into a temp file beside ``target``;
        verify its MD5; fsync. Returns (temp path, md5)."""
        tmp, fh = fs.open_temp_beside(target)
        try:
            with fh:
                writer = fs.HashingWriter(fh, self._item_progress(remote.rel_path, remote.size))
                sink: object = writer
                if self.ctx.download_limit is not None:
                    sink = ThrottledWriter(writer, self.ctx.download_limit)  # type: ignore[arg-type]
                self.ctx.store.download(remote.rel_path, remote.etag, sink, cancel=self.ctx.cancel)  # type: ignore[arg-type]
                crash_point("mid_download")
                fh.flush()
                os.fsync(fh.fileno())
            md5 = writer.digest()
            if remote.md5 is not None and md5 != remote.md5:
                raise ItemError(
                    "The downloaded content did not match its checksum; it will be retried.",
                    IssueKind.REMOTE_ERROR,
                )
            if remote.mtime_ns is not None:
                fs.set_mtime(tmp, remote.mtime_ns)
            return tmp, md5
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _download(self, action: Action) -> None:
        remote = action.remote
        assert remote is not None
        self._notify_local_write(action.rel_path)
        target = fs.confined_path(self.ctx.root, action.rel_path, make_parents=True)
        tmp, md5 = self._fetch_to_temp(remote, target)
        try:
            crash_point("before_replace")
            if not self._as_scanned(target, action):
                raise ItemError(
                    "The local file changed while the new version was downloading; both are kept next time.",
                    IssueKind.FILE_CHANGED,
                )
            self._notify_local_write(action.rel_path)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        crash_point("after_replace_before_record")
        st = os.lstat(target)
        self.ctx.state.put_snapshot(
            SnapshotEntry(action.rel_path, st.st_size, st.st_mtime_ns, md5, remote.etag)
        )
        self._count("downloaded", "bytes_downloaded", st.st_size)

    def _as_scanned(self, path: Path, action: Action) -> bool:
        """True if the file at ``path`` is still what the scan saw (absent if it saw
        nothing). A stamp younger than a clock tick cannot prove it: a same-size save in
        the same tick keeps size and mtime, so the content is hashed and compared."""
        local = action.local
        state = fs.local_state(path)
        if state != ((local.size, local.mtime_ns) if local is not None else None):
            return False
        if local is None or time.time_ns() - local.mtime_ns > fs.RACY_TICK_NS:
            return True
        want = local.md5 or (action.snapshot.md5 if action.snapshot is not None else None)
        return want is None or fs.md5_file(path) == want

    # ---- deletes -------------------------------------------------------------------

    def _delete_remote(self, action: Action) -> None:
        assert action.if_match is not None
        try:
            self.ctx.store.delete(action.rel_path, action.if_match)
        except BlobNotFound:
            pass  # already gone: the goal is reached
        except AuthError as exc:
            # Allowed to do everything else but not to delete (a SAS without 'd', a
            # role without delete): the blob stays; the run goes on. Clients avoid this
            # by probing first and choosing RemoteDeletePolicy.KEEP_AS_ISSUES.
            if exc.reason is not AuthReason.PERMISSION_MISSING:
                raise
            raise _delete_refused() from None
        crash_point("after_remote_delete_before_record")
        self.ctx.state.delete_snapshot(action.rel_path)
        self._count("deleted_remote")

    def _delete_local(self, action: Action) -> None:
        local = action.local
        assert local is not None
        path = fs.confined_path(self.ctx.root, action.rel_path, make_parents=False)
        if not self._as_scanned(path, action):
            raise ItemError(
                "The file changed locally after the scan; it was not deleted.",
                IssueKind.FILE_CHANGED,
            )
        self._notify_local_write(action.rel_path)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        crash_point("after_local_delete_before_record")
        self.ctx.state.delete_snapshot(action.rel_path)
        with self._lock:
            self._emptied.append(action.rel_path)
        self._count("deleted_local")

    # ---- both changed ------------------------------------------------------------

    def _conflict(self, action: Action) -> None:
        """Keep both: theirs keeps the name, ours moves to a conflict copy and is uploaded."""
        local, remote = action.local, action.remote
        assert local is not None and remote is not None
        self._notify_local_write(action.rel_path)
        target = fs.confined_path(self.ctx.root, action.rel_path, make_parents=True)
        tmp, their_md5 = self._fetch_to_temp(remote, target)
        try:
            if fs.local_state(target) != (local.size, local.mtime_ns):
                raise ItemError(
                    "The local file changed again during the sync; it will be compared next time.",
                    IssueKind.FILE_CHANGED,
                )
            our_md5 = local.md5 or fs.md5_file(target)
            if our_md5 == their_md5:  # same content after all (e.g. blob without Content-MD5)
                tmp.unlink()
                self.ctx.state.put_snapshot(
                    SnapshotEntry(action.rel_path, local.size, local.mtime_ns, our_md5, remote.etag)
                )
                with self._lock:
                    self.result.recorded += 1
                return
            when = time.strftime("%Y-%m-%d %H%M%S")
            with self._lock:  # two conflicts in one run never pick the same name
                copy_rel = fs.conflict_name(
                    action.rel_path, self.ctx.hostname, when, self._name_taken
                )
                self._taken.add(copy_rel)
            copy_path = self.ctx.root / copy_rel
            self._notify_local_write(copy_rel)
            self._notify_local_write(action.rel_path)
            os.link(target, copy_path)  # fails rather than overwrite
            crash_point("conflict_after_link")
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        st = os.lstat(target)
        self.ctx.state.put_snapshot(
            SnapshotEntry(action.rel_path, st.st_size, st.st_mtime_ns, their_md5, remote.etag)
        )
        self._count("downloaded", "bytes_downloaded", st.st_size)
        crash_point("conflict_before_copy_upload")
        copy_st = os.lstat(copy_path)
        copy_local = LocalEntry(
            copy_rel, copy_st.st_size, copy_st.st_mtime_ns, copy_st.st_ino, our_md5
        )
        try:
            self._upload_file(copy_rel, None, expect=copy_local)
        except ItemError as exc:
            log.info("conflict copy %s not uploaded yet: %s", copy_rel, exc.message)
        self._add_issue(
            Issue(
                action.rel_path,
                IssueKind.CONFLICT,
                f"Both sides changed. The other version kept the name; yours is saved as '{copy_rel.rsplit('/', 1)[-1]}'.",
                retryable=False,
                conflict_copy=copy_rel,
            )
        )

    def _forget(self, action: Action) -> None:
        self.ctx.state.delete_snapshot(action.rel_path)

    def _archived(self, action: Action) -> None:
        """Nothing to do: the engine keeps archived blobs as a state (not issues)."""

    def _report(self, action: Action) -> None:
        assert action.issue is not None
        self._add_issue(action.issue, count_skip=action.issue.retryable)

    def _name_taken(self, rel_path: str) -> bool:
        """True if a conflict copy may not use ``rel_path``: it exists locally, this run
        plans to write it, or the container has it (another machine's copy)."""
        if rel_path in self._taken or os.path.lexists(self.ctx.root / rel_path):
            return True
        return self.ctx.store.get_entry(rel_path) is not None

    def _record(self, action: Action) -> None:
        local, remote = action.local, action.remote
        assert local is not None and remote is not None
        md5 = local.md5 or remote.md5 or (action.snapshot.md5 if action.snapshot else None)
        if md5 is None:
            md5 = fs.md5_file(fs.confined_path(self.ctx.root, action.rel_path, make_parents=False))
        self.ctx.state.put_snapshot(
            SnapshotEntry(action.rel_path, local.size, local.mtime_ns, md5, remote.etag)
        )
        with self._lock:
            self.result.recorded += 1


#: Actions done inline by the driver: no transfer, no I/O beyond SQLite.
_NO_TRANSFER = frozenset(
    {ActionKind.RECORD, ActionKind.FORGET, ActionKind.ISSUE, ActionKind.ARCHIVED}
)


def _delete_refused() -> ItemError:
    error = ItemError(
        "The account may not delete in this container, so the blob was kept there.",
        IssueKind.DELETE_NOT_PERMITTED,
    )
    error.retryable = False
    return error


def _md5_of_open(fh: object) -> bytes:
    import hashlib

    h = hashlib.md5()
    read = fh.read  # type: ignore[attr-defined]
    while chunk := read(fs.CHUNK):
        h.update(chunk)
    return h.digest()


def _size(action: Action) -> int:
    if action.kind is ActionKind.UPLOAD and action.local is not None:
        return action.local.size
    if action.remote is not None and action.kind in (ActionKind.DOWNLOAD, ActionKind.CONFLICT):
        return action.remote.size
    return 0


def _doing(kind: ActionKind) -> str:
    return {
        ActionKind.UPLOAD: "uploading it",
        ActionKind.DOWNLOAD: "downloading it",
        ActionKind.DELETE_LOCAL: "deleting it",
        ActionKind.DELETE_REMOTE: "deleting it",
        ActionKind.CONFLICT: "keeping both versions",
        ActionKind.RECORD: "recording it",
    }.get(kind, "syncing it")
