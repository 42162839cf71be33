"""Apply planned actions: transfers on a worker pool, every remote write conditional,
every local write atomic and re-checked, every outcome recorded in the snapshot.

Per-item failures become issues; only fatal errors (auth, connection, cancel) stop the
run. Order: local deletions first (so folders they empty cannot race with downloads),
then everything else in parallel, then empty folders are tidied. Downloads are made
durable and recorded per batch (engine/batch.py): one file-system flush for many
files instead of one fsync each.

Nothing is lost on purpose either: before a local file is deleted or replaced it goes to
the pair's versions folder (:mod:`..local.versions`), before a blob is replaced or
deleted it is copied into the container's bin (:mod:`..remote.trash`) unless the account
keeps versions itself; every applied change is one row of the history
(:mod:`.history`), naming the machine that made it.

Why this module is over 800 lines: :class:`Executor` is one object per run holding what
every handler shares (the run's context, the worker pool, the download batch, the bins,
the history buffer, the result under one lock), and each action kind's handler is a few
dozen lines of conditional writes and re-checks against that state. What needs none of
it is elsewhere: batching and durability (:mod:`.batch`, ``local.durable``), the bins
(:mod:`.keeping`), the conflict rule (:mod:`.planner`), throttling (:mod:`.throttle`).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

from .. import events as ev
from ..crashpoints import crash_point
from ..errors import (
    AuthError,
    AuthReason,
    BlobNotFound,
    Cancelled,
    ConnectionFailure,
    FatalError,
    ItemError,
    PreconditionFailed,
)
from ..local import durable, fs
from ..local.versions import VersionsFolder
from ..models import (
    Action,
    ActionKind,
    BinReason,
    ConflictRule,
    Issue,
    IssueKind,
    LocalEntry,
    RemoteEntry,
    SnapshotEntry,
    SyncResult,
    Writer,
)
from ..remote.base import CancelToken, HashWhileSending, RemoteStore
from ..remote.blobmeta import metadata_for
from ..remote.trash import ContainerBin
from .batch import DownloadBatch, Fetched
from .history import ChangeKind, History
from .keeping import Keeper, known_md5
from .planner import Winner, conflict_winner
from .state import StateDB
from .throttle import ThrottledReader, ThrottledWriter, TokenBucket

log = logging.getLogger(__name__)

#: Returned by a handler whose item finishes later (a download waiting for its batch).
_DEFERRED = object()


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
    #: This installation, written into every blob's metadata and every history row.
    writer: Writer | None = None
    run_id: str = ""
    pair: str = ""
    history: History | None = None
    #: The local versions folder (None: deletions and replacements are not kept).
    local_bin: VersionsFolder | None = None
    #: The container bin to copy blobs into before replacing or deleting them; called
    #: lazily (the first time a blob is about to go). None: the account keeps versions
    #: itself, or keeping is off.
    container_bin: Callable[[], ContainerBin | None] = lambda: None
    conflict_rule: ConflictRule = ConflictRule.KEEP_BOTH
    #: Who deleted a blob, from its copy in the container bin: path -> [(md5, who)].
    deleted_by: dict[str, list[tuple[bytes | None, Writer | None]]] = field(default_factory=dict)


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
        self._batch = DownloadBatch(self._commit_downloads)
        self._handlers: dict[ActionKind, Callable[[Action], object]] = {
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
        self._keep = Keeper(ctx, result, self._lock)

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
        try:
            self._run_parallel(others)
        except BaseException:
            self._drain_downloads()  # what was downloaded and verified is kept
            raise
        self._batch.drain()
        for rel_path in sorted(self._emptied, key=lambda p: -p.count("/")):
            self._notify_local_write(rel_path)
            fs.remove_empty_parents(self.ctx.root, rel_path)
        self.ctx.state.commit()
        self._progress.add(force=True)

    def _run_parallel(self, actions: Iterable[Action]) -> None:
        """``workers`` threads take the items from one queue; this thread feeds it and
        does the cheap ones (SQLite only) itself. No future per item: a future, its
        condition and a ``wait(FIRST_COMPLETED)`` over the in-flight set cost ~15 % of
        the client CPU of 5,000 small downloads (py-spy, bench/RESULTS.md)."""
        work: queue.SimpleQueue[Action | None] = queue.SimpleQueue()
        errors: list[BaseException] = []
        stop = threading.Event()

        def worker() -> None:
            while (action := work.get()) is not None:
                if stop.is_set():
                    continue  # the run is stopping: leave the rest for next time
                try:
                    self._do(action)
                except BaseException as exc:  # noqa: BLE001 - re-raised by the feeding thread
                    errors.append(exc)
                    stop.set()

        threads = [
            threading.Thread(target=worker, name=f"blobsync-xfer-{n}", daemon=True)
            for n in range(max(1, self.ctx.workers))
        ]
        for thread in threads:
            thread.start()
        try:
            for action in actions:
                if errors:
                    break
                if action.kind in _NO_TRANSFER:
                    self._do(action)  # cheap: no I/O beyond SQLite
                    continue
                self._check_cancel()
                work.put(action)
        except BaseException:
            stop.set()
            self.ctx.cancel.cancel()
            raise
        finally:
            for _ in threads:
                work.put(None)
            for thread in threads:
                thread.join()
        if errors:
            self.ctx.cancel.cancel()
            raise self._fatal if self._fatal is not None else errors[0]

    def _drain_downloads(self) -> None:
        """Commit the queued downloads of a run that is stopping; if that fails too,
        remove their temp files (the next run downloads them again)."""
        try:
            self._batch.drain()
        except Exception:  # the run's own error is the one to report
            log.warning("queued downloads not committed", exc_info=True)
            for item in self._batch.pending():
                item.tmp.unlink(missing_ok=True)

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
            if self._handlers[kind](action) is _DEFERRED:
                return  # the batch commit reports it
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
        replacing = action.remote
        if replacing is None or action.if_match is None:
            replacing = None
        elif replacing.etag != action.if_match:
            replacing = replace(replacing, etag=action.if_match)
        self._upload_file(action.rel_path, action.if_match, expect=local, replacing=replacing)

    def _upload_file(
        self,
        rel: str,
        if_match: str | None,
        expect: LocalEntry | None,
        replacing: RemoteEntry | None = None,
        kind: ChangeKind = ChangeKind.UPLOADED,
    ) -> RemoteEntry:
        """Upload the file at ``rel`` (conditionally) and record it.

        ``expect``: the scanned state; if the file no longer matches it, nothing is sent
        (FILE_CHANGED). Its MD5, when known, spares a read. ``replacing``: the blob the
        upload replaces (pinned to ``if_match``), copied into the container bin first.
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
            content: bytes | HashWhileSending
            if md5 is None and st.st_size >= self.ctx.store.hash_while_sending_min and _settled(st):
                # A large file, unchanged for a while: hashed while it is sent (one read,
                # not two); committed only if it did not change meanwhile.
                content = HashWhileSending(_unchanged_check(fh, st))
            else:
                if md5 is None:
                    md5 = _md5_of_open(fh)
                    fh.seek(0)
                    _unchanged_check(fh, st)()
                content = md5
            kept = self._keep.remote(replacing, BinReason.REPLACED) if replacing else None
            crash_point("before_upload")
            result = self.ctx.store.upload(
                rel,
                self._throttled_reader(fh),
                st.st_size,
                content,
                st.st_mtime_ns,
                if_match,
                progress=self._item_progress(rel, st.st_size),
                cancel=self.ctx.cancel,
                writer=self.ctx.writer,
            )
            crash_point("after_upload_before_record")
            after = os.fstat(fh.fileno())
        md5 = md5 if md5 is not None else result.md5
        assert md5 is not None  # a store that hashed while sending says what it found
        if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
            # What was sent matched ``md5`` (the store checks); the file moved on since,
            # so the next run sees it changed and uploads it again.
            log.info("%s changed during upload; it will be uploaded again", rel)
        self.ctx.state.put_snapshot(
            SnapshotEntry(rel, st.st_size, st.st_mtime_ns, md5, result.etag)
        )
        self._count("uploaded", "bytes_uploaded", st.st_size)
        self._keep.record(
            kind,
            rel,
            st.st_size,
            self.ctx.writer,
            remote_bin=kept,
            before_md5=replacing.md5 if replacing else None,
            after_md5=md5,
            after_etag=result.etag,
            after_mtime_ns=st.st_mtime_ns,
        )
        return RemoteEntry(
            rel, st.st_size, result.etag, md5, st.st_mtime_ns, writer=self.ctx.writer
        )

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
        copied = self.ctx.store.copy(
            old.rel_path,
            action.rel_path,
            action.if_match,
            metadata=metadata_for(local.mtime_ns, self.ctx.writer),
        )
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
        self._keep.record(
            ChangeKind.MOVED_REMOTE,
            action.rel_path,
            local.size,
            self.ctx.writer,
            old_path=old.rel_path,
            after_md5=old.md5,
            after_etag=copied.etag,
            after_mtime_ns=local.mtime_ns,
        )

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
        self._keep.record(
            ChangeKind.MOVED_LOCAL,
            action.rel_path,
            st.st_size,
            remote.writer,
            old_path=old.rel_path,
            after_md5=old.md5,
            after_etag=remote.etag,
            after_mtime_ns=st.st_mtime_ns,
        )

    # ---- downloads ---------------------------------------------------------------

    def _fetch_to_temp(
        self, remote: RemoteEntry, target: Path, fsync: bool = True
    ) -> tuple[Path, bytes]:
        """Download ``remote`` (pinned to its ETag) into a temp file beside ``target``;
        verify its MD5; fsync unless ``fsync`` is False (the caller then makes it durable
        before renaming it). Returns (temp path, md5)."""
        # A large blob with a known MD5 goes into a partial file that the next try
        # continues (a range request pinned to the same ETag): what it already holds is
        # hashed again, so the whole file is still checked against the blob's MD5.
        resumable = remote.size >= fs.RESUME_MIN and remote.md5 is not None
        offset = 0
        if resumable:
            tmp, fh, hasher, offset = fs.open_partial(target, remote.etag)
            if offset >= remote.size:  # not a prefix of this version: start again
                fh.seek(0)
                fh.truncate()
                hasher, offset = None, 0
        else:
            tmp, fh = fs.open_temp_beside(target)
            hasher = None
        try:
            with fh:
                progress = self._item_progress(remote.rel_path, remote.size)
                if offset:
                    progress(offset)
                    with self._lock:
                        self.result.bytes_resumed += offset
                writer = fs.HashingWriter(fh, progress, md5=hasher)
                sink: object = writer
                if self.ctx.download_limit is not None:
                    sink = ThrottledWriter(writer, self.ctx.download_limit)  # type: ignore[arg-type]
                self.ctx.store.download(
                    remote.rel_path,
                    remote.etag,
                    sink,  # type: ignore[arg-type]
                    cancel=self.ctx.cancel,
                    offset=offset,
                )
                crash_point("mid_download")
                fh.flush()
                if fsync:
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
        except (Cancelled, ConnectionFailure):
            if not resumable:  # a partial file stays for the next try
                tmp.unlink(missing_ok=True)
            raise
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def _download(self, action: Action) -> object:
        """Fetch into a verified temp file and queue it; the batch commit renames it
        into place and records it (:meth:`_commit_downloads`)."""
        remote = action.remote
        assert remote is not None
        self._notify_local_write(action.rel_path)
        target = fs.confined_path(self.ctx.root, action.rel_path, make_parents=True)
        tmp, md5 = self._fetch_to_temp(remote, target, fsync=False)
        self._batch.add(Fetched(action, target, tmp, md5, remote.size))
        return _DEFERRED

    def _commit_downloads(self, items: list[Fetched]) -> None:
        """One batch of downloads: data durable, renames, renames durable, then the
        snapshot rows in one transaction (the order is the crash guarantee, see
        engine/batch.py). Per-item problems become issues."""
        root = self.ctx.root
        try:
            durable.flush_files(root, [item.tmp for item in items])
        except OSError as exc:
            for item in items:
                item.tmp.unlink(missing_ok=True)
                self._finish_download(item, fs.item_error(exc, item.action.rel_path, "saving it"))
            return
        crash_point("batch_after_flush_before_replace")
        placed: list[Fetched] = []
        kept: dict[str, tuple[str | None, bytes | None]] = {}  # rel -> (version id, old md5)
        for item in items:
            rel = item.action.rel_path
            try:
                crash_point("before_replace")
                if not self._as_scanned(item.target, item.action):
                    raise ItemError(
                        "The local file changed while the new version was downloading; both are kept next time.",
                        IssueKind.FILE_CHANGED,
                    )
                self._notify_local_write(rel)
                if item.action.local is not None:  # the replaced file goes to the versions folder
                    replaced_md5 = known_md5(item.action)
                    entry = self._keep.local(
                        item.target, rel, move=False, reason=BinReason.REPLACED, md5=replaced_md5
                    )
                    kept[rel] = (entry, replaced_md5)
                os.replace(item.tmp, item.target)
            except ItemError as exc:
                item.tmp.unlink(missing_ok=True)
                self._finish_download(item, exc)
                continue
            except OSError as exc:
                item.tmp.unlink(missing_ok=True)
                self._finish_download(item, fs.item_error(exc, rel, "downloading it"))
                continue
            except BaseException:
                for rest in items[items.index(item) :]:
                    rest.tmp.unlink(missing_ok=True)
                raise
            placed.append(item)
            if len(placed) == 1:
                crash_point("after_replace_before_record")  # the rest not yet renamed
        crash_point("batch_after_replace_before_flush")
        try:
            durable.flush_dirs(root, [item.target for item in placed])
        except OSError as exc:
            # In place, but the renames may not survive a power cut: record nothing; the
            # next run finds both sides equal and records them then.
            for item in placed:
                self._finish_download(item, fs.item_error(exc, item.action.rel_path, "saving it"))
            return
        crash_point("batch_after_flush_before_record")
        recorded: list[Fetched] = []
        for item in placed:
            try:
                st = os.lstat(item.target)
            except OSError as exc:
                self._finish_download(item, fs.item_error(exc, item.action.rel_path, "saving it"))
                continue
            remote = item.action.remote
            assert remote is not None
            self.ctx.state.put_snapshot(
                SnapshotEntry(
                    item.action.rel_path, st.st_size, st.st_mtime_ns, item.md5, remote.etag
                )
            )
            self._count("downloaded", "bytes_downloaded", st.st_size)
            local_bin, before_md5 = kept.get(item.action.rel_path, (None, None))
            self._keep.record(
                ChangeKind.DOWNLOADED,
                item.action.rel_path,
                st.st_size,
                remote.writer,
                local_bin=local_bin,
                before_md5=before_md5,
                after_md5=item.md5,
                after_etag=remote.etag,
                after_mtime_ns=st.st_mtime_ns,
            )
            recorded.append(item)
        self.ctx.state.commit()
        for item in recorded:
            self._finish_download(item, None)

    def _finish_download(self, item: Fetched, error: ItemError | None) -> None:
        """The events :meth:`_do` would have sent for a deferred download."""
        rel = item.action.rel_path
        if error is not None:
            self._add_issue(Issue(rel, error.kind, error.message, error.retryable))
        self.ctx.emit(ev.ItemFinished(rel, ActionKind.DOWNLOAD, error is None))
        if self._progress is not None:
            self._progress.add(files=1)

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
        remote = action.remote
        kept = None
        try:
            if remote is not None:
                kept = self._keep.remote(replace(remote, etag=action.if_match), BinReason.DELETED)
            self.ctx.store.delete(action.rel_path, action.if_match)
        except BlobNotFound:
            pass  # already gone: the goal is reached
        except PreconditionFailed:
            if self.ctx.store.get_entry(action.rel_path) is not None:
                raise
            # gone meanwhile (the bin copy found nothing to copy): the goal is reached
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
        self._keep.record(
            ChangeKind.DELETED_REMOTE,
            action.rel_path,
            remote.size if remote else 0,
            self.ctx.writer,
            remote_bin=kept,
            before_md5=remote.md5 if remote and remote.md5 else known_md5(action),
        )

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
        md5 = known_md5(action)
        kept = self._keep.local(path, action.rel_path, move=True, reason=BinReason.DELETED, md5=md5)
        crash_point("after_local_delete_before_record")
        self.ctx.state.delete_snapshot(action.rel_path)
        with self._lock:
            self._emptied.append(action.rel_path)
        self._count("deleted_local")
        self._keep.record(
            ChangeKind.DELETED_LOCAL,
            action.rel_path,
            local.size,
            self._keep.deleter(action.rel_path, md5),
            local_bin=kept,
            before_md5=md5,
        )

    # ---- both changed ------------------------------------------------------------

    def _conflict(self, action: Action) -> None:
        """Both changed. Equal contents are only recorded. Otherwise the pair's rule
        decides: keep both (theirs keeps the name, ours moves to a conflict copy and is
        uploaded), or one side wins and the loser goes to its side's bin."""
        local, remote = action.local, action.remote
        assert local is not None and remote is not None
        winner = conflict_winner(self.ctx.conflict_rule, local, remote)
        if winner is Winner.MINE and local.md5 is not None and remote.md5 not in (None, local.md5):
            self._mine_wins(action, local.md5)  # contents differ: no need to fetch theirs
            return
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
            if winner is Winner.MINE:
                tmp.unlink()
                self._mine_wins(action, our_md5)
                return
            if winner is Winner.THEIRS:
                self._theirs_win(action, tmp, target, our_md5, their_md5)
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
        self._keep.record(
            ChangeKind.CONFLICT,
            action.rel_path,
            st.st_size,
            remote.writer,
            old_path=copy_rel,
            before_md5=our_md5,
            after_md5=their_md5,
            after_etag=remote.etag,
            after_mtime_ns=st.st_mtime_ns,
            other=self.ctx.writer,
        )
        self._add_issue(
            Issue(
                action.rel_path,
                IssueKind.CONFLICT,
                f"Both sides changed. The other version kept the name; yours is saved as '{copy_rel.rsplit('/', 1)[-1]}'.",
                retryable=False,
                conflict_copy=copy_rel,
            )
        )

    def _mine_wins(self, action: Action, our_md5: bytes) -> None:
        """The rule keeps ours: upload it over theirs (If-Match), theirs to the bin."""
        local, remote = action.local, action.remote
        assert local is not None and remote is not None
        self._upload_file(
            action.rel_path,
            remote.etag,
            expect=replace(local, md5=our_md5),
            replacing=remote,
            kind=ChangeKind.CONFLICT_RESOLVED,
        )

    def _theirs_win(
        self, action: Action, tmp: Path, target: Path, our_md5: bytes, their_md5: bytes
    ) -> None:
        """The rule takes theirs: ours to the versions folder, theirs replaces it."""
        remote = action.remote
        assert remote is not None
        kept = self._keep.local(
            target,
            action.rel_path,
            move=False,
            reason=BinReason.REPLACED,
            md5=our_md5,
            writer=self.ctx.writer,
        )
        os.replace(tmp, target)
        st = os.lstat(target)
        self.ctx.state.put_snapshot(
            SnapshotEntry(action.rel_path, st.st_size, st.st_mtime_ns, their_md5, remote.etag)
        )
        self._count("downloaded", "bytes_downloaded", st.st_size)
        self._keep.record(
            ChangeKind.CONFLICT_RESOLVED,
            action.rel_path,
            st.st_size,
            remote.writer,
            local_bin=kept,
            before_md5=our_md5,
            after_md5=their_md5,
            after_etag=remote.etag,
            after_mtime_ns=st.st_mtime_ns,
            other=self.ctx.writer,
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


#: A file is hashed while it is sent (HashWhileSending) only when its mtime and its
#: ctime are at least this old: a write during the upload then surely moves them (file
#: times come from a coarse clock, FAT keeps mtimes to 2 s; a tool that writes and then
#: puts an old mtime back still moves the ctime), and the upload is not committed. A
#: file changed more recently is hashed first and what is sent checked against that.
SETTLED_NS = 10 * 1_000_000_000


def _settled(st: os.stat_result) -> bool:
    oldest = time.time_ns() - SETTLED_NS
    return st.st_mtime_ns < oldest and st.st_ctime_ns < oldest


def _unchanged_check(fh: BinaryIO, st: os.stat_result) -> Callable[[], None]:
    """A check that the open file is still as ``st`` found it (size, mtime and ctime:
    a tool that writes and then puts the old mtime back still moves the ctime).
    Raises ItemError FILE_CHANGED."""

    def check() -> None:
        now = os.fstat(fh.fileno())
        if (now.st_size, now.st_mtime_ns, now.st_ctime_ns) != (
            st.st_size,
            st.st_mtime_ns,
            st.st_ctime_ns,
        ):
            raise ItemError(
                "The file changed while it was read; it will sync next time.",
                IssueKind.FILE_CHANGED,
            )

    return check


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
