"""The engine facade: the one object the CLI and the GUI drive.

``SyncEngine(local_root, store, state_path, events).sync(options, cancel)`` runs one
full-enumeration sync: scan the folder, list the container, merge both with the
snapshot (:mod:`.merge`, streaming), plan each item (pure, :mod:`.planner`), check the
safety valves, apply (:mod:`.executor`). It raises only
:class:`~blobsync.core.errors.FatalError` subclasses; per-item problems become issues
(in the result, kept in the state DB, retried next run). Events go to the ``events``
callable, possibly from worker threads.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import os
import socket
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from .. import events as ev
from ..crashpoints import crash_point
from ..errors import (
    Cancelled,
    ConfigError,
    ConnectionFailure,
    ContainerNotFound,
    FatalError,
    FolderMissing,
    ItemError,
    SafetyStop,
)
from ..local import fs
from ..local.folding import NameFolding, probe_name_folding
from ..local.scanner import ScanReport, scan
from ..models import (
    Action,
    ActionKind,
    Issue,
    IssueKind,
    LocalEntry,
    RemoteEntry,
    SnapshotEntry,
    SyncMode,
    SyncResult,
)
from ..names import fold_key, is_reserved
from ..remote.base import CancelToken, RemoteStore
from ..remote.prefetch import prefetched
from .executor import Executor, RunContext
from .merge import OutOfOrder, merge3
from .moves import pair_moves
from .planner import plan_item
from .state import StateDB
from .throttle import TokenBucket
from .valves import check_valves, restore_instead

log = logging.getLogger(__name__)

#: Actions that change a file on one side (what "N changes waiting" counts).
CHANGE_KINDS = frozenset(
    {
        ActionKind.UPLOAD,
        ActionKind.DOWNLOAD,
        ActionKind.DELETE_LOCAL,
        ActionKind.DELETE_REMOTE,
        ActionKind.CONFLICT,
        ActionKind.MOVE_LOCAL,
        ActionKind.MOVE_REMOTE,
    }
)


@dataclass
class SyncOptions:
    """How one run behaves."""

    mode: SyncMode = SyncMode.TWO_WAY
    dry_run: bool = False
    allow_mass_delete: bool = False
    workers: int = 16  # parallel transfers: 16 beat 4/8/32 on 5,000-file up/downloads (bench)
    hostname: str = field(default_factory=socket.gethostname)
    upload_limit_bps: int = 0  # bytes per second; 0 = unlimited
    download_limit_bps: int = 0
    #: Put back what one side lost instead of deleting it on the other: every deletion
    #: the plan would make becomes a copy from the side that still has the file (the
    #: deletion review's "Restore"; ``blobsync sync --restore-deleted``).
    restore_deleted: bool = False
    #: The user reviewed this many deletions (the deletion review's typed confirmation):
    #: the safety valves let a run through that deletes at most this many.
    confirmed_deletes: int | None = None


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What a pair's state database says about its runs (both clients show it).

    ``last_completed``: the last run that went through to the end, issues or not.
    ``last_in_sync``: the last run that ended with nothing pending. ``stopped``: the
    last run ended early (cancelled, paused, a safety stop, a failure). ``waiting``:
    the changes it left undone (None when it stopped before its plan was made).
    """

    last_in_sync: float | None = None
    last_completed: float | None = None
    stopped: bool = False
    waiting: int | None = 0

    @property
    def synced_before(self) -> bool:
        return self.last_completed is not None


class Resolution(enum.StrEnum):
    """What the user chose for a pending issue."""

    RETRY = "retry"
    KEEP_MINE = "keep_mine"
    TAKE_THEIRS = "take_theirs"
    KEEP_BOTH = "keep_both"
    IGNORE = "ignore"  # leave this item alone from now on (remembered, see SyncEngine.ignore)


class SyncEngine:
    """One (folder, container) pair."""

    def __init__(
        self,
        local_root: str | Path,
        store: RemoteStore,
        state_path: str | Path,
        events: ev.EventSink = ev.ignore_event,
    ) -> None:
        self.local_root = Path(os.path.abspath(local_root))
        self.store = store
        self.state_path = Path(state_path)
        self.events = events
        self.state = StateDB(self.state_path)
        #: Told each relative path the engine is about to write locally (file watcher).
        self.on_local_write: Callable[[str], None] | None = None
        self._buckets: dict[str, tuple[int, TokenBucket]] = {}
        self._racy_after_ns = 0
        self._remote_files = 0  # blobs the last listing found (reserved names aside)
        self._planned: list[Action] | None = None  # the running sync's plan, once made
        #: Whether the folder's file system folds twin names (case / normalization);
        #: probed at the first run (tests may set it).
        self.name_folding: NameFolding | None = None

    # ---- public API ----------------------------------------------------------------

    def sync(
        self, options: SyncOptions | None = None, cancel: CancelToken | None = None
    ) -> SyncResult:
        """Run one sync. Raises FatalError subclasses only."""
        options = options or SyncOptions()
        cancel = cancel or CancelToken()
        started = time.monotonic()
        result = SyncResult(dry_run=options.dry_run)
        where = f"{self.local_root} <-> {self.store.container}"
        log.info(
            "%s %s started (%s%s%s)",
            "preview of" if options.dry_run else "sync",
            where,
            options.mode.value,
            ", restoring deletions" if options.restore_deleted else "",
            f", {options.confirmed_deletes} deletions confirmed"
            if options.confirmed_deletes is not None
            else "",
        )
        self.events(
            ev.SyncStarted(
                str(self.local_root), self.store.container, options.mode.value, options.dry_run
            )
        )
        try:
            with self._pair_lock():
                self._sync(options, cancel, result)
        except FatalError as exc:
            if isinstance(exc, Cancelled):
                result.cancelled = True
            result.duration_s = time.monotonic() - started
            _log_stop(where, exc, result)
            self.events(ev.SyncFailed(exc.title, exc.message, exc.exit_code))
            raise
        finally:
            result.duration_s = time.monotonic() - started
        _log_result(where, result)
        self.events(ev.PhaseChanged(ev.Phase.FINISHED))
        self.events(ev.SyncFinished(result))
        return result

    def pending_issues(self) -> list[Issue]:
        """Items skipped or in conflict, as last recorded."""
        return self.state.issues()

    def last_sync_time(self) -> float | None:
        """When the last run finished with everything in sync (epoch seconds)."""
        value = self.state.get_meta("last_in_sync")
        return float(value) if value else None

    def run_record(self) -> RunRecord:
        """What the state database says about the runs so far (see :class:`RunRecord`)."""
        in_sync = self.last_sync_time()
        completed = self.state.get_meta("last_completed")
        waiting = self.state.get_meta("waiting")
        return RunRecord(
            last_in_sync=in_sync,
            # Databases from before "completed" was recorded: their last clean run.
            last_completed=float(completed) if completed else in_sync,
            stopped=bool(self.state.get_meta("stopped")),
            waiting=int(waiting) if waiting else (0 if waiting is None else None),
        )

    def resolve(self, rel_path: str, resolution: Resolution) -> None:
        """Apply the user's choice for one pending item; the caller syncs afterwards.

        Conflicts (both copies already kept): KEEP_MINE puts our copy back under the
        name, TAKE_THEIRS drops our copy, KEEP_BOTH keeps both; RETRY leaves the
        conflict pending (there is nothing to retry until the user chooses). Race skips:
        KEEP_MINE uploads ours over the blob's *current* version (If-Match its current
        ETag), TAKE_THEIRS downloads theirs over ours (after a re-check), KEEP_BOTH and
        RETRY leave it to the next sync. Raises ItemError, FatalError.
        """
        issue = next((i for i in self.state.issues() if i.rel_path == rel_path), None)
        if resolution is Resolution.IGNORE:
            self.ignore(rel_path)
            return
        with self._pair_lock():
            if issue is not None and issue.kind is IssueKind.CONFLICT and issue.conflict_copy:
                if resolution is Resolution.RETRY:
                    return  # nothing to retry: the conflict waits for the user's choice
                self._resolve_conflict(issue, resolution)
            elif resolution is Resolution.KEEP_MINE:
                self._force_upload(rel_path)
            elif resolution is Resolution.TAKE_THEIRS:
                self._force_download(rel_path)
            if issue is not None:
                self.state.remove_issue(rel_path)

    def ignored(self) -> list[str]:
        """The items the user chose to leave alone (relative paths; a folder covers
        everything under it)."""
        raw = self.state.get_meta("ignored")
        try:
            value = json.loads(raw) if raw else []
        except ValueError:
            return []
        return sorted(str(p) for p in value) if isinstance(value, list) else []

    def ignore(self, rel_path: str, ignored: bool = True) -> None:
        """Leave an item alone from now on (or again sync it): it is neither synced nor
        reported on either side, and nothing is deleted because of it. Its pending
        issue goes away."""
        paths = set(self.ignored())
        if ignored:
            paths.add(rel_path)
            self.state.remove_issue(rel_path)
        else:
            paths.discard(rel_path)
        self.state.set_meta("ignored", json.dumps(sorted(paths)))
        self.state.commit()

    def close(self) -> None:
        """Release the database and the store's connections."""
        self.state.close()
        self.store.close()

    # ---- one run -------------------------------------------------------------------

    def _sync(self, options: SyncOptions, cancel: CancelToken, result: SyncResult) -> None:
        self._check_root()
        self._planned = None
        try:
            self._run(options, cancel, result)
        except FatalError:
            if not options.dry_run:
                self._record_stopped(self._planned, result)
            raise
        if not options.dry_run:
            self._record_completed(result)

    def _run(self, options: SyncOptions, cancel: CancelToken, result: SyncResult) -> None:
        self._racy_after_ns = self._racy_threshold(options.dry_run)
        self.events(ev.PhaseChanged(ev.Phase.LISTING))
        try:
            exists = self.store.container_exists()
        except ItemError as exc:  # e.g. 503 after every retry: the service is not usable
            raise _unusable(exc) from None
        if not exists and options.mode is SyncMode.DOWNLOAD:
            raise ContainerNotFound(
                f"The container '{self.store.container}' does not exist (download mode does not create it)."
            )
        actions, report = self._plan(options, exists, cancel)
        crash_point("after_listing")
        if options.restore_deleted:
            actions = [restore_instead(a) for a in actions]
        self._planned = actions
        if not options.dry_run:
            self.state.set_meta("waiting", str(_changes(actions)))
            self.state.commit()
        check_valves(
            actions,
            tracked=self.state.snapshot_count(),
            local_files=report.files,
            local_blind=bool(report.blind),
            remote_files=self._remote_files,
            container_exists=exists,
            allow_mass_delete=options.allow_mass_delete,
            confirmed_deletes=options.confirmed_deletes,
            local_root=str(self.local_root),
            container=self.store.container,
        )
        if not exists and not options.dry_run:
            # Created only after the valves: a container that vanished after a sync is
            # a lost side to review, not an empty one to fill with deletions.
            try:
                self.store.create_container()
            except ItemError as exc:
                raise _unusable(exc) from None
            result.container_created = True
            self.events(ev.ContainerCreated(self.store.container))
        self._announce(actions)
        ignored = _Ignored(self.ignored())
        scan_issues = [i for i in report.issues if not ignored.covers(i.rel_path)]
        if options.dry_run:
            result.planned = actions
            result.issues.extend(scan_issues)
            result.issues.extend(a.issue for a in actions if a.issue is not None)
            result.skipped = len(result.issues)
            return
        self.events(ev.PhaseChanged(ev.Phase.TRANSFERRING))
        for issue in scan_issues:
            result.issues.append(issue)
            result.skipped += 1
        ctx = RunContext(
            self.local_root,
            self.store,
            self.state,
            self.events,
            cancel,
            options.hostname,
            options.workers,
            upload_limit=self._bucket("up", options.upload_limit_bps),
            download_limit=self._bucket("down", options.download_limit_bps),
            on_local_write=self.on_local_write,
        )
        try:
            Executor(ctx, result).run(actions)
        finally:
            self._store_issues(result)

    # ---- what the state DB remembers about runs --------------------------------------

    def _record_completed(self, result: SyncResult) -> None:
        now = repr(time.time())
        self.state.set_meta("last_completed", now)
        self.state.set_meta("stopped", "")
        self.state.set_meta("waiting", "0")
        if result.in_sync and not self.state.issues():
            self.state.set_meta("last_in_sync", now)
        self.state.commit()

    def _record_stopped(self, planned: list[Action] | None, result: SyncResult) -> None:
        """The run ended early: remember how many changes it left (unknown when it
        stopped before its plan was made)."""
        waiting = ""
        if planned is not None:
            paths = {a.rel_path for a in planned if a.kind in CHANGE_KINDS}
            failed = {i.rel_path for i in result.issues if i.kind is not IssueKind.CONFLICT} & paths
            waiting = str(max(len(paths) - result.writes - len(failed), 0))
        try:
            self.state.set_meta("stopped", "1")
            self.state.set_meta("waiting", waiting)
            self.state.commit()
        except Exception:  # the run's own error is the one to report
            log.exception("could not record the stopped run")

    def _bucket(self, direction: str, rate: int) -> TokenBucket | None:
        """One bucket per direction, kept across runs while the rate is unchanged."""
        if rate <= 0:
            return None
        known = self._buckets.get(direction)
        if known is None or known[0] != rate:
            known = (rate, TokenBucket(rate))
            self._buckets[direction] = known
        return known[1]

    def _check_root(self) -> None:
        root = self.local_root
        if not root.exists():
            raise FolderMissing(str(root))
        if not root.is_dir():
            raise FolderMissing(str(root), f"{root} is not a folder.")

    def _plan(
        self, options: SyncOptions, exists: bool, cancel: CancelToken
    ) -> tuple[list[Action], ScanReport]:
        self.events(ev.PhaseChanged(ev.Phase.PLANNING))
        report = ScanReport()
        try:
            # the listing runs ahead on a thread while we scan, read the snapshot and plan
            remote = prefetched(self.store.list_blobs()) if exists else iter(())
            actions = self._plan_stream(
                self.state.iter_snapshot(),
                self._scan(report, options),
                remote,
                report,
                options,
                cancel,
            )
        except OutOfOrder as exc:
            if isinstance(remote, Generator):
                remote.close()  # stops the listing thread
            log.warning("falling back to an in-memory merge: %s", exc)
            report = ScanReport()
            local_sorted = sorted(self._scan(report, options), key=_rel)
            remote_sorted = sorted(self.store.list_blobs() if exists else [], key=_rel)
            snap_sorted = sorted(self.state.iter_snapshot(), key=_rel)
            actions = self._plan_stream(
                iter(snap_sorted), iter(local_sorted), iter(remote_sorted), report, options, cancel
            )
        return actions, report

    def _scan(self, report: ScanReport, options: SyncOptions) -> Iterator[LocalEntry]:
        try:
            yield from scan(self.local_root, report, clean_temp=not options.dry_run)
        except OSError as exc:
            raise ConfigError(
                f"Cannot read the folder {self.local_root}: {exc.strerror}."
            ) from None

    def _plan_stream(
        self,
        snapshot: Iterator[SnapshotEntry],
        local: Iterator[LocalEntry],
        remote: Iterator[RemoteEntry],
        report: ScanReport,
        options: SyncOptions,
        cancel: CancelToken,
    ) -> list[Action]:
        actions: list[Action] = []
        #: fold key -> (the twin planned under it, whether this folder has that twin)
        seen_folds: dict[int, tuple[str, bool]] = {}
        folds_here = self._name_folding().folds
        self._remote_files = 0
        ignored = _Ignored(self.ignored())
        for n, (key, snap, loc, rem) in enumerate(merge3(snapshot, local, remote)):
            if n % 1024 == 0 and cancel.cancelled:
                raise Cancelled("The sync was cancelled before anything changed.")
            if report.is_blind(key) or is_reserved(key) or ignored.covers(key):
                continue  # a symlink, special file, unreadable folder, BlobSync's own, or
                # an item the user chose to leave alone
            self._remote_files += rem is not None
            if loc is not None or rem is not None:
                fold = hash(fold_key(key))
                here = loc is not None or snap is not None
                earlier = seen_folds.get(fold)
                if earlier is not None and not (folds_here and here and not earlier[1]):
                    actions.append(_collision(key))
                    continue
                if earlier is not None:
                    # This disk cannot hold both twins, and the folder has this one: it
                    # wins, so the other's download can never land on it.
                    actions = [a for a in actions if a.rel_path != earlier[0]]
                    actions.append(_collision(earlier[0]))
                seen_folds[fold] = (key, here)
            racy = self._racy(snap, loc)
            if loc is not None and (racy or _needs_md5(snap, loc, rem)):
                try:
                    loc = replace(loc, md5=self._md5(loc, use_cache=not racy))
                except OSError as exc:
                    err = fs.item_error(exc, key, "reading it")
                    actions.append(
                        Action(ActionKind.ISSUE, key, issue=Issue(key, err.kind, err.message))
                    )
                    continue
            action = plan_item(snap, loc, rem, options.mode)
            if action is not None:
                actions.append(action)
        if options.mode is SyncMode.TWO_WAY:
            actions = pair_moves(actions, self._md5_or_none)
        return actions

    def _name_folding(self) -> NameFolding:
        """Whether this folder's file system folds twin names (probed once)."""
        if self.name_folding is None:
            try:
                self.name_folding = probe_name_folding(self.local_root)
            except OSError as exc:  # cannot write here: assume the careful answer
                log.info("could not probe %s for name folding: %s", self.local_root, exc)
                self.name_folding = NameFolding(case=True, normalization=True)
            log.info("%s: %s", self.local_root, self.name_folding)
        return self.name_folding

    def _md5_or_none(self, local: LocalEntry) -> bytes | None:
        try:
            return self._md5(local)
        except OSError:
            return None

    def _racy_threshold(self, dry_run: bool) -> int:
        """Snapshot rows whose mtime is after the returned time are "racily clean": the
        file may have changed again within the same clock tick after it was recorded,
        keeping its size and mtime (git's racy-git problem; FAT has 2 s ticks). Those
        files are hashed. The threshold is the previous run's start minus a tick."""
        now = time.time_ns()
        previous = self.state.get_meta("run_started_ns")
        if not dry_run:
            self.state.set_meta("run_started_ns", str(now))
        return (int(previous) if previous else now) - fs.RACY_TICK_NS

    def _racy(self, snap: SnapshotEntry | None, local: LocalEntry | None) -> bool:
        return (
            snap is not None
            and local is not None
            and (local.size, local.mtime_ns) == (snap.size, snap.mtime_ns)
            and snap.mtime_ns > self._racy_after_ns
        )

    def _md5(self, local: LocalEntry, use_cache: bool = True) -> bytes:
        cached = (
            self.state.cached_md5(local.rel_path, local.inode, local.size, local.mtime_ns)
            if use_cache
            else None
        )
        if cached is not None:
            return cached
        md5 = fs.md5_file(self.local_root / local.rel_path)
        self.state.cache_md5(local.rel_path, local.inode, local.size, local.mtime_ns, md5)
        return md5

    def _announce(self, actions: list[Action]) -> None:
        counts = dict.fromkeys(ActionKind, 0)
        nbytes = 0
        for a in actions:
            counts[a.kind] += 1
            if a.kind is ActionKind.UPLOAD and a.local is not None:
                nbytes += a.local.size
            elif a.kind in (ActionKind.DOWNLOAD, ActionKind.CONFLICT) and a.remote is not None:
                nbytes += a.remote.size
        self.events(
            ev.PlanReady(
                uploads=counts[ActionKind.UPLOAD],
                downloads=counts[ActionKind.DOWNLOAD],
                deletes_local=counts[ActionKind.DELETE_LOCAL],
                deletes_remote=counts[ActionKind.DELETE_REMOTE],
                conflicts=counts[ActionKind.CONFLICT],
                files_total=len(actions),
                bytes_total=nbytes,
            )
        )

    def _store_issues(self, result: SyncResult) -> None:
        raised = {i.rel_path for i in result.issues}
        keep = [
            old
            for old in self.state.issues()
            if old.kind is IssueKind.CONFLICT
            and old.rel_path not in raised
            and old.conflict_copy
            and os.path.lexists(self.local_root / old.conflict_copy)
        ]
        self.state.replace_issues(result.issues, keep)

    @contextlib.contextmanager
    def _pair_lock(self) -> Iterator[None]:
        """One run at a time per pair, across processes (advisory file lock)."""
        lock_path = Path(str(self.state_path) + ".lock")
        try:
            import fcntl
        except ImportError:  # Windows: rely on the single-instance app
            yield
            return
        with open(lock_path, "a+b") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise ConfigError(
                    "Another BlobSync run is already syncing this folder and container."
                ) from None
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    # ---- resolutions ---------------------------------------------------------------

    def _resolve_conflict(self, issue: Issue, resolution: Resolution) -> None:
        assert issue.conflict_copy is not None
        copy_path = fs.confined_path(self.local_root, issue.conflict_copy, make_parents=False)
        target = fs.confined_path(self.local_root, issue.rel_path, make_parents=True)
        if self.on_local_write is not None:
            self.on_local_write(issue.rel_path)
            self.on_local_write(issue.conflict_copy)
        if resolution is Resolution.KEEP_MINE:
            if not copy_path.exists():
                raise ItemError(
                    "Your copy is no longer there; nothing was changed.", IssueKind.VANISHED
                )
            os.replace(copy_path, target)  # the next sync uploads it and removes the copy's blob
        elif resolution is Resolution.TAKE_THEIRS:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(copy_path)  # the next sync deletes the copy's blob

    def _force_upload(self, rel_path: str) -> None:
        path = fs.confined_path(self.local_root, rel_path, make_parents=False)
        st = os.lstat(path)
        current = self.store.get_entry(rel_path)
        local = LocalEntry(rel_path, st.st_size, st.st_mtime_ns, st.st_ino)
        action = Action(
            ActionKind.UPLOAD, rel_path, local, current, if_match=current.etag if current else None
        )
        self._run_one(action)

    def _force_download(self, rel_path: str) -> None:
        current = self.store.get_entry(rel_path)
        if current is None:
            raise ItemError("Their version no longer exists in the container.", IssueKind.VANISHED)
        path = fs.confined_path(self.local_root, rel_path, make_parents=False)
        state = fs.local_state(path)
        local = LocalEntry(rel_path, state[0], state[1]) if state else None
        self._run_one(Action(ActionKind.DOWNLOAD, rel_path, local, current, if_match=current.etag))

    def _run_one(self, action: Action) -> None:
        result = SyncResult()
        ctx = RunContext(
            self.local_root,
            self.store,
            self.state,
            self.events,
            CancelToken(),
            socket.gethostname(),
            1,
            on_local_write=self.on_local_write,
        )
        Executor(ctx, result).run([action])
        if result.issues:
            issue = result.issues[0]
            raise ItemError(issue.message, issue.kind)


#: Issues logged per run; a run with more says how many were left out.
LOGGED_ISSUES = 1000


def _counts(result: SyncResult) -> str:
    return (
        f"{result.uploaded} up, {result.downloaded} down, {result.deleted_local} deleted "
        f"locally, {result.deleted_remote} deleted remotely, {result.moved} moved, "
        f"{result.conflicts} conflicts, {result.skipped} skipped, "
        f"{result.bytes_uploaded + result.bytes_downloaded} bytes in {result.duration_s:.1f} s"
    )


def _log_issues(where: str, result: SyncResult) -> None:
    for issue in result.issues[:LOGGED_ISSUES]:
        log.info("%s: issue: %s: %s: %s", where, issue.rel_path, issue.describe(), issue.message)
    if len(result.issues) > LOGGED_ISSUES:
        log.info("%s: %d more issues not logged", where, len(result.issues) - LOGGED_ISSUES)


def _log_result(where: str, result: SyncResult) -> None:
    if result.dry_run:
        log.info("preview of %s: %d actions planned", where, len(result.planned))
        return
    _log_issues(where, result)
    log.info(
        "sync %s finished%s: %s",
        where,
        "" if result.in_sync else " with items pending",
        _counts(result),
    )


def _log_stop(where: str, exc: FatalError, result: SyncResult) -> None:
    """A run that stopped: why, and what it did before (issues included)."""
    _log_issues(where, result)
    if isinstance(exc, Cancelled):
        log.info("sync %s cancelled: %s", where, _counts(result))
    elif isinstance(exc, SafetyStop):
        log.warning(
            "sync %s stopped for safety (%s): would delete %d of %d synced files "
            "(%d locally, %d remotely, %d bytes), first: %s",
            where,
            exc.reason.value,
            exc.deletes,
            exc.tracked,
            exc.deletes_local,
            exc.deletes_remote,
            exc.nbytes,
            ", ".join(exc.paths[:5]),
        )
    else:
        log.warning("sync %s stopped: %s: %s (%s)", where, exc.title, exc.message, _counts(result))


class _Ignored:
    """The user's ignored paths: a path covers itself and everything under it."""

    def __init__(self, paths: list[str]) -> None:
        self._paths = frozenset(paths)

    def covers(self, rel_path: str) -> bool:
        if not self._paths:
            return False
        if rel_path in self._paths:
            return True
        parts = rel_path.split("/")
        return any("/".join(parts[:i]) in self._paths for i in range(1, len(parts)))


def _changes(actions: list[Action]) -> int:
    return sum(1 for a in actions if a.kind in CHANGE_KINDS)


def _unusable(exc: ItemError) -> ConnectionFailure:
    return ConnectionFailure(
        f"The storage service did not answer properly, so nothing was synced: {exc.message}"
    )


def _rel(item: LocalEntry | RemoteEntry | SnapshotEntry) -> str:
    return item.rel_path


def _needs_md5(snap: SnapshotEntry | None, local: LocalEntry, remote: RemoteEntry | None) -> bool:
    """Hash only when a comparison needs it: a new local file facing a blob, or a file
    whose size/mtime moved since the snapshot."""
    if snap is None:
        return remote is not None
    return (local.size, local.mtime_ns) != (snap.size, snap.mtime_ns)


def _collision(rel_path: str) -> Action:
    return Action(
        ActionKind.ISSUE,
        rel_path,
        issue=Issue(
            rel_path,
            IssueKind.NAME_COLLISION,
            "Another item has the same name apart from upper/lower case or accents; "
            "this one was not synced so neither overwrites the other.",
        ),
    )
