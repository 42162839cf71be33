"""The engine facade: the one object the CLI and the GUI drive.

``SyncEngine(local_root, store, state_path, events).sync(options, cancel)`` runs one
full-enumeration sync: fix the run's filter rules (:mod:`.filtering`), scan the folder,
list the container, merge both with the snapshot (:mod:`.merge`, streaming), keep out
what the rules exclude, plan each item (pure, :mod:`.planner`), pair renames
(:mod:`.moves`), hold deletions of files moved out of the sync, check the safety
valves, apply (:mod:`.executor`). ``sync(scope=SyncScope(...))`` (or what
``scope_hook`` says: the live loop, for a change beacon's hint) runs the same pipeline
on a few top-level folders only, a targeted run (:mod:`.scope`). It raises only
:class:`~blobsync.core.errors.FatalError` subclasses; per-item problems become issues
(in the result, kept in the state DB, retried next run). Events go to the ``events``
callable, possibly from worker threads.

Account capabilities the clients reach through the engine: :meth:`SyncEngine.check_permissions`
(which of list/read/write/delete the credentials have, before the first sync; a pair
that may not delete runs with ``SyncOptions.remote_deletes = KEEP_AS_ISSUES``),
:meth:`~SyncEngine.archived_blobs` and :meth:`~SyncEngine.rehydrate` (Archive-tier
blobs: a state, never downloaded or overwritten), :meth:`~SyncEngine.share_link`
(a read-only link to a synced file).
Nothing a run deletes or replaces is lost: local files go to the pair's versions folder
(``versions_dir``, outside the synced folder), blobs to the container's bin under
``.blobsync/trash/`` (or the account's own versions); each applied change is a row in
the history database (``history_path``). :meth:`SyncEngine.versions`,
:meth:`SyncEngine.restore` and :meth:`SyncEngine.undo` (in :mod:`.recovery`) work from
those; both restore through an ordinary sync, so the result reaches other machines.

Why this module is over 800 lines: :class:`SyncEngine` is one object holding one run's
state (the state DB, the run's filter and name folding, the pair lock, the beacon and
bin bookkeeping), and its planning stream reads that state item by item. Everything
with no state of its own is already elsewhere: the decisions (:mod:`.planner`,
:mod:`.moves`, :mod:`.valves`, :mod:`.filtering`), applying them (:mod:`.executor`),
resolutions (:mod:`.resolution`), restore and undo (:mod:`.recovery`), the bins
(:mod:`.keeping`), the log lines (:mod:`.runlog`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import socket
import threading
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
    LinkNotPossible,
    SafetyStop,
)
from ..filters import NESTED_IGNORE_SUFFIX, FilterRules, PathFilter
from ..local import fs
from ..local.folding import NameFolding, probe_name_folding
from ..local.scanner import ScanReport, scan, scan_folders
from ..local.versions import DEFAULT_MAX_AGE_DAYS, DEFAULT_MAX_BYTES, VersionsFolder
from ..models import (
    ONLINE_TIERS,
    AccessTier,
    Action,
    ActionKind,
    ArchivedBlob,
    BinReason,
    ConflictRule,
    Issue,
    IssueKind,
    LocalEntry,
    Permission,
    RehydratePriority,
    RemoteDeletePolicy,
    RemoteEntry,
    SnapshotEntry,
    SyncMode,
    SyncResult,
    Writer,
)
from ..names import fold_key, is_reserved
from ..remote.base import (
    BEACON_BLOB,
    CancelToken,
    LinkMaker,
    Protection,
    RemoteStore,
    ShareLink,
    TierControl,
)
from ..remote.blobmeta import clean_machine_name
from ..remote.prefetch import prefetched
from ..remote.prefixed import store_prefix
from ..remote.probe import PermissionReport, probe_permissions
from ..remote.trash import TRASH_PREFIX, ContainerBin
from . import beacon
from . import scope as scoping
from .executor import Executor, RunContext
from .filtering import RunFilter, build_run_filter, read_ignore_file
from .history import History, RunKind
from .keeping import deleted_by, prune_container_bin, system_trash
from .merge import OutOfOrder, merge3
from .moves import pair_moves
from .planner import plan_item
from .recovery import ConflictSides, FileVersion, Recovery, RecoveryResult
from .resolution import Resolution, Resolver
from .runlog import log_result, log_stop
from .scope import SyncScope, Widen
from .state import StateDB
from .throttle import TokenBucket
from .valves import check_valves, restore_instead

log = logging.getLogger(__name__)

#: State meta key: the service refused a remote delete (see ``_sync``).
DELETE_REFUSED_KEY = "remote_delete_refused"
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
#: How long the account's protection (versioning, soft delete) is trusted once asked.
PROTECTION_TTL_S = 86400.0


@dataclass
class SyncOptions:
    """How one run behaves."""

    mode: SyncMode = SyncMode.TWO_WAY
    dry_run: bool = False
    allow_mass_delete: bool = False
    workers: int = 16  # parallel transfers: 16 beat 4/8/32 on 5,000-file up/downloads (bench)
    #: The machine name other machines see ("changed on laptop-2"): written into every
    #: blob's metadata and every history row, and used in conflict copy names.
    hostname: str = field(default_factory=socket.gethostname)
    upload_limit_bps: int = 0  # bytes per second; 0 = unlimited
    download_limit_bps: int = 0
    #: After a run that changed the container, rewrite the pair's change beacon once so
    #: that machines watching it sync within seconds (:mod:`.beacon`).
    beacon: bool = True
    #: KEEP_AS_ISSUES for an account that may not delete (from check_permissions()):
    #: planned remote deletions become DELETE_NOT_PERMITTED issues, the blobs stay.
    remote_deletes: RemoteDeletePolicy = RemoteDeletePolicy.APPLY
    #: What the pair keeps out of the sync (patterns, defaults, ignore file, folders).
    filters: FilterRules = field(default_factory=FilterRules)
    #: This installation's random id (hex, 8-64 digits; the app layer keeps one in its
    #: settings). Empty: the history database's own id is used.
    installation_id: str = ""
    conflict_rule: ConflictRule = ConflictRule.KEEP_BOTH
    #: Keep what a run deletes or replaces (both bins). Off only for measuring the cost.
    keep_versions: bool = True
    #: Retention of both bins (versions older than this are pruned) and the local bin's
    #: size cap (the oldest go first).
    bin_days: float = DEFAULT_MAX_AGE_DAYS
    bin_max_bytes: int = DEFAULT_MAX_BYTES
    #: Hand expired local versions to the desktop's trash (send2trash: Windows, macOS,
    #: freedesktop) instead of deleting them; where there is none they are deleted.
    expired_to_system_trash: bool = False
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


class SyncEngine:
    """One (folder, container) pair."""

    def __init__(
        self,
        local_root: str | Path,
        store: RemoteStore,
        state_path: str | Path,
        events: ev.EventSink = ev.ignore_event,
        *,
        history_path: str | Path | None = None,
        versions_dir: str | Path | None = None,
        pair_id: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``history_path``: the history database (default ``history.sqlite3`` beside
        the state database; the app layer passes one file for all pairs).
        ``versions_dir``: the local bin, outside the folder (default
        ``<state file stem>.versions`` beside the state database). ``pair_id``: the
        pair's name in the history (default the state file's stem). ``clock``: epoch
        seconds, for retention tests."""
        self.local_root = Path(os.path.abspath(local_root))
        self.store = store
        self.state_path = Path(state_path)
        self.events = events
        self.state = StateDB(self.state_path)
        self.clock = clock
        self.pair_id = pair_id or self.state_path.stem
        self.history = History(
            history_path or self.state_path.with_name("history.sqlite3"), clock=clock
        )
        self.versions_folder = VersionsFolder(
            versions_dir or self.state_path.with_name(self.state_path.stem + ".versions"),
            clock=clock,
        )
        self._protection: Protection | None = None
        self._protection_at = 0.0
        self._protection_lock = threading.Lock()
        #: The container bin's blobs seen by the last listing.
        self._bin_listed: list[RemoteEntry] = []
        self._lock_depth = 0
        #: (machine name, installation id) of the last run, for resolutions.
        self._identity: tuple[str, str] = (socket.gethostname(), "")
        #: Told each relative path the engine is about to write locally (file watcher).
        self.on_local_write: Callable[[str], None] | None = None
        #: Told at the end of each run what it saw of and did to the change beacon.
        self.on_beacon: Callable[[beacon.BeaconReport], None] | None = None
        self._beacon_listed: str | None = None
        #: Asked at the start of each sync called without a scope: the live loop's
        #: targeted run for a change beacon's hint (:mod:`.scope`), or None (a full run).
        self.scope_hook: Callable[[], SyncScope | None] | None = None
        self._scope: SyncScope | None = None  # the running sync's, if targeted
        self._beacon_writer = beacon.new_writer_token()
        self._buckets: dict[str, tuple[int, TokenBucket]] = {}
        self._racy_after_ns = 0
        self._blob_prefix = store_prefix(store)  # counts towards Azure's name limits
        self._filter = RunFilter(_NO_RULES)
        self._remote_files = 0  # blobs the last listing found (reserved names aside)
        self._planned: list[Action] | None = None  # the running sync's plan, once made
        #: Whether the folder's file system folds twin names (case / normalization);
        #: probed at the first run (tests may set it).
        self.name_folding: NameFolding | None = None

    # ---- public API ----------------------------------------------------------------

    def sync(
        self,
        options: SyncOptions | None = None,
        cancel: CancelToken | None = None,
        scope: SyncScope | None = None,
    ) -> SyncResult:
        """Run one sync. ``scope`` (default: what ``scope_hook`` says, if set): only
        those top-level folders, a targeted run (:mod:`.scope`); where one cannot be
        targeted it is a full run, and ``SyncResult.scope`` says which it was. Raises
        FatalError subclasses only."""
        if scope is None and self.scope_hook is not None:
            scope = self.scope_hook()
        return self._sync_as(RunKind.SYNC, options, cancel, scope=scope)

    def _sync_as(
        self,
        kind: RunKind,
        options: SyncOptions | None = None,
        cancel: CancelToken | None = None,
        run_id: str = "",
        issues: list[Issue] | None = None,
        scope: SyncScope | None = None,
    ) -> SyncResult:
        """A sync recorded in the history as ``kind`` (under ``run_id`` when a restore
        or an undo started the run); ``issues`` are added to the result; ``scope``: a
        targeted run where it can be one."""
        options = options or SyncOptions()
        cancel = cancel or CancelToken()
        started = time.monotonic()
        result = SyncResult(dry_run=options.dry_run)
        self.events(
            ev.SyncStarted(
                str(self.local_root), self.store.container, options.mode.value, options.dry_run
            )
        )
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
        try:
            with self._pair_lock():
                result.run_id = run_id
                result.issues.extend(issues or [])
                result.skipped += len(issues or [])
                self._sync(options, cancel, result, kind, scope)
        except FatalError as exc:
            if isinstance(exc, Cancelled):
                result.cancelled = True
            result.duration_s = time.monotonic() - started
            log_stop(where, exc, result)
            self.events(ev.SyncFailed(exc.title, exc.message, exc.exit_code))
            raise
        finally:
            result.duration_s = time.monotonic() - started
        log_result(where, result)
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

    def last_pickup_time(self) -> float | None:
        """When a run last applied changes made elsewhere (other machines, other tools)
        to the folder (epoch seconds)."""
        value = self.state.get_meta("last_pickup")
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
        """Apply the user's choice for one pending item; the caller syncs afterwards
        (:meth:`.resolution.Resolver.resolve` says what each choice does). Raises
        ItemError, FatalError."""
        Resolver(self).resolve(rel_path, resolution)

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

    def check_permissions(self) -> PermissionReport:
        """Which of list, read, write and delete the credentials have in this container,
        probed with a temporary blob in the reserved space (removed again). Call it
        before the first sync and choose the mode / ``remote_deletes`` from it.
        Raises AuthError (credentials refused outright; SignInExpired), ConnectionFailure.
        """
        report = probe_permissions(self.store)
        if report.allows(Permission.DELETE) and self.state.get_meta(DELETE_REFUSED_KEY):
            self.state.set_meta(DELETE_REFUSED_KEY, "")
            self.state.commit()
        return report

    def archived_blobs(self) -> list[ArchivedBlob]:
        """Blobs archived in the container and not synced, as of the last run."""
        return self.state.archived()

    def rehydrate(
        self,
        rel_path: str,
        tier: AccessTier = AccessTier.HOT,
        priority: RehydratePriority = RehydratePriority.STANDARD,
    ) -> None:
        """Ask the service to bring an archived blob back to ``tier`` (Hot, Cool or Cold).
        The blob syncs in a later run once it is readable (Azure: up to 15 hours at
        Standard priority, about an hour at High). Raises ConfigError (not an online
        tier, a reserved name, a store that has no tiers), AuthError, BlobNotFound,
        RemoteItemError.
        """
        if tier not in ONLINE_TIERS:
            raise ConfigError("Rehydrate to Hot, Cool or Cold.")
        if is_reserved(rel_path):
            raise ConfigError(f"'{rel_path}' is BlobSync's own and is not synced.")
        if not isinstance(self.store, TierControl):
            raise ConfigError("This storage does not have access tiers.")
        self.store.rehydrate(rel_path, tier, priority)

    def share_link(self, rel_path: str, valid_for: dt.timedelta) -> ShareLink:
        """A read-only link to a synced file, valid for ``valid_for`` (clients offer
        :class:`~blobsync.core.remote.base.LinkDuration`; at most 7 days). Raises
        LinkNotPossible (not synced, reserved, a store or credentials that cannot sign
        links, validity out of range), AuthError, ConnectionFailure.
        """
        if is_reserved(rel_path) or self.state.get_snapshot(rel_path) is None:
            raise LinkNotPossible(f"'{rel_path}' is not a synced file; sync it first.")
        if not isinstance(self.store, LinkMaker):
            raise LinkNotPossible("This storage cannot create links.")
        return self.store.share_link(rel_path, valid_for)

    # ---- recovery (bins, restore, undo, conflicts) ---------------------------------------

    def versions(self, rel_path: str | None = None, remote: bool = True) -> list[FileVersion]:
        """Previous versions kept of ``rel_path`` (or of everything), newest first, from
        the local versions folder and (``remote``) the container's bin or the account's
        blob versions. Raises FatalError."""
        return Recovery(self).versions(rel_path, remote)

    def restore(
        self,
        rel_path: str,
        version: FileVersion | None = None,
        options: SyncOptions | None = None,
        dry_run: bool = False,
    ) -> RecoveryResult:
        """Put a previous version of one file back (default: the newest kept) and sync
        it to the other side; what it replaces goes to a bin. Raises ItemError,
        FatalError."""
        return Recovery(self).restore(rel_path, version, options, dry_run)

    def undo(
        self, run_id: str, options: SyncOptions | None = None, dry_run: bool = False
    ) -> RecoveryResult:
        """Reverse everything run ``run_id`` changed, on both sides; items changed since
        become issues. Raises ItemError (unknown run), FatalError."""
        return Recovery(self).undo(run_id, options, dry_run)

    def conflict_sides(self, rel_path: str, *, offline: bool = False) -> ConflictSides | None:
        """Both versions of a pending conflict, for a side-by-side view: size, mtime and
        writer of each (one request for theirs; ``offline``: none, theirs is the local
        file the sync downloaded, with its writer from the history). None if
        ``rel_path`` is no conflict. Raises FatalError."""
        return Recovery(self).conflict_sides(rel_path, offline)

    def close(self) -> None:
        """Release the databases and the store's connections."""
        self.state.close()
        self.history.close()
        self.store.close()

    # ---- identity, bins, protection ----------------------------------------------------

    def writer(self, options: SyncOptions | None = None) -> Writer:
        """This installation as other machines will see it."""
        options = options or self._identity_options()
        install = options.installation_id or self.history.installation_id()
        return Writer(clean_machine_name(options.hostname), install)

    def _identity_options(self) -> SyncOptions:
        return SyncOptions(workers=1, hostname=self._identity[0], installation_id=self._identity[1])

    def protection(self, refresh: bool = False) -> Protection:
        """What the account keeps by itself (for the pair's details and setup). Asking
        costs two requests on Azure, so the answer is kept in the state database for a
        day (and asked only when a run is about to replace or delete a blob). Raises
        FatalError."""
        with self._protection_lock:
            now = self.clock()
            fresh = 0 <= now - self._protection_at < PROTECTION_TTL_S
            if self._protection is None or refresh or not fresh:
                self._protection = None if refresh else self._stored_protection()
                self._protection_at = now
            if self._protection is None:
                self._protection = self.store.protection()
                self.state.set_meta(
                    "protection",
                    json.dumps(
                        {
                            "versioning": self._protection.versioning,
                            "soft_delete_days": self._protection.soft_delete_days,
                            "at": now,
                        }
                    ),
                )
                self.state.commit()
            return self._protection

    def _stored_protection(self) -> Protection | None:
        raw = self.state.get_meta("protection")
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            if not 0 <= self.clock() - float(data["at"]) < PROTECTION_TTL_S:
                return None
            return Protection(data["versioning"], data["soft_delete_days"])
        except (ValueError, KeyError, TypeError):
            return None

    def container_bin(self) -> ContainerBin:
        """The container's own recycle bin (``.blobsync/trash/``)."""
        return ContainerBin(self.store, self.clock)

    def _keeping_bin(self) -> ContainerBin | None:
        """Where a run copies blobs before replacing or deleting them: nowhere when the
        account keeps versions (Azure versioning keeps every overwritten and deleted
        version by itself)."""
        return None if self.protection().versioning else ContainerBin(self.store, self.clock)

    def _context(self, options: SyncOptions, cancel: CancelToken, run_id: str) -> RunContext:
        self._identity = (options.hostname, options.installation_id)
        keep = options.keep_versions
        return RunContext(
            self.local_root,
            self.store,
            self.state,
            self.events,
            cancel,
            options.hostname,
            options.workers,
            on_local_write=self.on_local_write,
            writer=self.writer(options),
            run_id=run_id,
            pair=self.pair_id,
            history=self.history,
            local_bin=self.versions_folder if keep else None,
            container_bin=self._keeping_bin if keep else (lambda: None),
            conflict_rule=options.conflict_rule,
        )

    def _prune_container_bin(self, options: SyncOptions) -> None:
        prune_container_bin(self.store, self._bin_listed, self.clock(), options.bin_days * 86400.0)

    def _prune_local_bin(self, options: SyncOptions) -> None:
        """Prune the versions folder at most once an hour (it reads every record)."""
        now = self.clock()
        last = self.state.get_meta("bin_pruned")
        if last is not None and 0 <= now - float(last) < 3600:
            return
        self.versions_folder.prune(
            options.bin_days,
            options.bin_max_bytes,
            to_system_trash=system_trash() if options.expired_to_system_trash else None,
        )
        self.state.set_meta("bin_pruned", repr(now))
        self.state.commit()

    # ---- one run -------------------------------------------------------------------

    def _sync(
        self,
        options: SyncOptions,
        cancel: CancelToken,
        result: SyncResult,
        kind: RunKind,
        scope: SyncScope | None = None,
    ) -> None:
        if options.remote_deletes is RemoteDeletePolicy.APPLY and self.state.get_meta(
            DELETE_REFUSED_KEY
        ):
            # The service refused a delete before: every retry would copy the blob into
            # the bin again (a copy these credentials could never prune). Keep deletes
            # as issues until a permission check says delete works again.
            options = replace(options, remote_deletes=RemoteDeletePolicy.KEEP_AS_ISSUES)
        self._planned = None
        self._scope = None
        try:
            self._scope = self._targetable(scope, options, kind)
            try:
                self._run(options, cancel, result, kind)
            except Widen as widen:
                log.info("not a targeted run after all (%s): syncing everything", widen.why)
                self._scope = None
                self._planned = None
                self._filter = self._filter.fresh()
                self._run(options, cancel, result, kind)
        except FatalError:
            if not options.dry_run:
                # a targeted run knows nothing of the rest: how much waits is unknown
                self._record_stopped(None if self._scope else self._planned, result)
            raise
        finally:
            targeted, self._scope = self._scope, None
        if targeted is not None:
            result.scope = targeted.folders  # the record is only a full run's to write
        elif not options.dry_run:
            self._record_completed(result)

    def _targetable(
        self, scope: SyncScope | None, options: SyncOptions, kind: RunKind
    ) -> SyncScope | None:
        """``scope`` if this run can be a targeted one (see :mod:`.scope`), else None."""
        if scope is None:
            return None
        why: str | None = None
        if kind is not RunKind.SYNC or options.dry_run:
            why = "not a plain sync"
        elif options.restore_deleted or options.confirmed_deletes is not None:
            why = "a run that answers a deletion review"
        elif not self.state.get_meta("last_completed") or not self.state.has_snapshot():
            why = "no full sync has completed yet"
        else:
            self._check_root()  # a missing folder is the full run's to report
            why = scoping.why_full(scope, self.store, self.local_root, self._name_folding().folds)
        if why is not None:
            log.info("syncing everything, not just %s: %s", _folders(scope), why)
            return None
        log.info("targeted run of %s (change beacon %s)", _folders(scope), scope.beacon_etag)
        return scope

    def _run(
        self, options: SyncOptions, cancel: CancelToken, result: SyncResult, kind: RunKind
    ) -> None:
        self._check_root()
        targeted = self._scope
        # A targeted run leaves the racy-clean threshold at the last full run's start:
        # rows that run recorded outside this run's folders are still judged against it.
        self._racy_after_ns = self._racy_threshold(options.dry_run or targeted is not None)
        self.events(ev.PhaseChanged(ev.Phase.LISTING))
        try:
            exists = self.store.container_exists()
        except ItemError as exc:  # e.g. 503 after every retry: the service is not usable
            raise _unusable(exc) from None
        if targeted is not None and not exists:
            raise Widen("the container is missing")
        if not exists and options.mode is SyncMode.DOWNLOAD:
            raise ContainerNotFound(
                f"The container '{self.store.container}' does not exist (download mode does not create it)."
            )
        self._filter, filter_issues = build_run_filter(
            options.filters,
            self.local_root,
            self.state,
            self.store,
            options.mode,
            exists,
            options.dry_run,
        )
        actions, report = self._plan(options, exists, cancel)
        result.excluded = self._filter.counts
        crash_point("after_listing")
        if options.restore_deleted:
            actions = [restore_instead(a) for a in actions]
        self._planned = actions
        if not options.dry_run and targeted is None:
            self.state.set_meta("waiting", str(_changes(actions)))
            self.state.commit()
        tracked = (
            sum(self.state.snapshot_count(p) for p in targeted.prefixes())
            if targeted is not None
            else self.state.snapshot_count()
        )
        try:
            check_valves(
                actions,
                # Rows of items the rules now keep out are only forgotten, never deleted.
                tracked=tracked - self._filter.forgotten,
                local_files=report.files,
                # excluded folders were not even entered: an empty scan proves nothing then
                local_blind=bool(report.blind) or bool(self._filter.pruned),
                remote_files=self._remote_files,
                container_exists=exists,
                allow_mass_delete=options.allow_mass_delete,
                confirmed_deletes=options.confirmed_deletes,
                local_root=str(self.local_root),
                container=self.store.container,
            )
        except SafetyStop as stop:
            if targeted is None:
                raise
            # the subtree's numbers are stricter than the pair's: the full run judges
            raise Widen(f"a safety valve stopped it ({stop.reason.value})") from None
        if targeted is not None and any(a.kind is ActionKind.DELETE_LOCAL for a in actions):
            # who deleted each file, for the history (the bin is not under its folders);
            # only that: a bin that cannot be listed now leaves "deleted by" unknown
            try:
                self._bin_listed = list(scoping.bin_listing(self.store))
            except FatalError as exc:
                log.info("could not list the container bin: %s", exc.message)
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
        filter_issues += self._filter.issues  # nested ignore files, met while planning
        scan_issues = filter_issues + [i for i in report.issues if not ignored.covers(i.rel_path)]
        if options.dry_run:
            result.planned = actions
            result.issues.extend(scan_issues)
            result.issues.extend(a.issue for a in actions if a.issue is not None)
            result.skipped = len(result.issues)
            result.archived = [_archived(a) for a in actions if a.kind is ActionKind.ARCHIVED]
            return
        self.events(ev.PhaseChanged(ev.Phase.TRANSFERRING))
        for issue in scan_issues:
            result.issues.append(issue)
            result.skipped += 1
        writer = self.writer(options)
        if not result.run_id:
            result.run_id = self.history.start_run(self.pair_id, kind, writer)
        ctx = self._context(options, cancel, result.run_id)
        ctx.upload_limit = self._bucket("up", options.upload_limit_bps)
        ctx.download_limit = self._bucket("down", options.download_limit_bps)
        ctx.deleted_by = deleted_by(self._bin_listed)
        finished = False
        try:
            Executor(ctx, result).run(actions)
            if (
                options.keep_versions
                and options.mode is not SyncMode.DOWNLOAD
                and targeted is None  # it did not list the bin
            ):
                # a download-only pair never writes to the container, not even to prune
                self._prune_container_bin(options)
            finished = True
        finally:
            self._store_issues(result)
            self.history.finish_run(result.run_id)
            if any(i.kind is IssueKind.DELETE_NOT_PERMITTED for i in result.issues):
                self.state.set_meta(DELETE_REFUSED_KEY, repr(time.time()))
                self.state.commit()
            if finished or cancel.cancelled:  # not after a fatal error: it would fail too
                self._after_run(actions, result, options, kind)
        # Only after a complete run: a partial list would announce the rest again.
        result.archived = [_archived(a) for a in actions if a.kind is ActionKind.ARCHIVED]
        self._store_archived(result)
        if options.filters.use_ignore_file:
            result.ignore_file_changed = self._filter.ignore_file_changed(
                self._ignore_text_now()
            ) or self._filter.nested_changed(self.local_root, actions)
        if options.keep_versions:
            self._prune_local_bin(options)

    def _after_run(
        self, actions: list[Action], result: SyncResult, options: SyncOptions, kind: RunKind
    ) -> None:
        """Tell other machines through the change beacon if the run changed the
        container (with the hint of which folders, for a plain sync: a restore or an
        undo also writes outside its plan); note when it picked up changes made
        elsewhere. Never raises."""
        try:
            wrote, picked = beacon.run_effects(actions, result)
            if kind in (RunKind.RESTORE, RunKind.UNDO) and options.mode is not SyncMode.DOWNLOAD:
                wrote = True  # it may have copied versions into the container before its plan
            if wrote and options.beacon:
                folders = beacon.changed_folders(actions) if kind is RunKind.SYNC else None
                report = beacon.announce(
                    self.store, self._beacon_listed, self._beacon_writer, folders=folders or None
                )
            else:
                report = beacon.BeaconReport(self._beacon_listed, wrote)
            report = replace(report, picked_up=picked)
            if picked:
                self.state.set_meta("last_pickup", repr(time.time()))
                self.state.commit()
            if self.on_beacon is not None:
                self.on_beacon(report)
        except Exception:  # a bug here must not hide the run's own outcome
            log.exception("after-run bookkeeping failed")

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
        versions = Path(os.path.abspath(self.versions_folder.folder))
        if versions == root or root in versions.parents:
            raise ConfigError(
                f"The versions folder {versions} is inside the synced folder; it must be "
                "outside it (its contents would sync as files)."
            )

    def _plan(
        self, options: SyncOptions, exists: bool, cancel: CancelToken
    ) -> tuple[list[Action], ScanReport]:
        self.events(ev.PhaseChanged(ev.Phase.PLANNING))
        report = ScanReport()
        targeted = self._scope
        # A targeted run does not list the beacon: it covers the one whose hint it acts on.
        self._beacon_listed = targeted.beacon_etag if targeted is not None else None
        try:
            # the listing runs ahead on a thread while we scan, read the snapshot and plan
            if targeted is not None:
                remote = prefetched(scoping.listing(self.store, targeted))
                snapshot = _chained(self.state.iter_snapshot(p) for p in targeted.prefixes())
            else:
                remote = prefetched(self.store.list_blobs()) if exists else iter(())
                snapshot = self.state.iter_snapshot()
            actions = self._plan_stream(
                snapshot,
                self._scan(report, options),
                remote,
                report,
                options,
                cancel,
            )
        except (OutOfOrder, Widen) as exc:
            if isinstance(remote, Generator):
                remote.close()  # stops the listing thread
            if targeted is not None:
                raise exc if isinstance(exc, Widen) else Widen(str(exc)) from None
            log.warning("falling back to an in-memory merge: %s", exc)
            report = ScanReport()
            self._filter = self._filter.fresh()
            local_sorted = sorted(self._scan(report, options), key=_rel)
            remote_sorted = sorted(self.store.list_blobs() if exists else [], key=_rel)
            snap_sorted = sorted(self.state.iter_snapshot(), key=_rel)
            actions = self._plan_stream(
                iter(snap_sorted), iter(local_sorted), iter(remote_sorted), report, options, cancel
            )
        return actions, report

    def _ignore_text_now(self) -> str | None:
        try:
            return read_ignore_file(self.local_root)
        except ItemError:
            return None

    def _scan(self, report: ScanReport, options: SyncOptions) -> Iterator[LocalEntry]:
        run_filter = self._filter
        nested = run_filter.reads_nested
        skip = run_filter.skip_local if run_filter.active or nested else None
        on_ignore_file = run_filter.local_ignore_file if nested else None
        try:
            if self._scope is not None:
                yield from scan_folders(
                    self.local_root,
                    list(self._scope.folders),
                    report,
                    clean_temp=not options.dry_run,
                    skip=skip,
                    on_ignore_file=on_ignore_file,
                )
            else:
                yield from scan(
                    self.local_root,
                    report,
                    clean_temp=not options.dry_run,
                    skip=skip,
                    on_ignore_file=on_ignore_file,
                )
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
        self._bin_listed = []
        #: Fold keys seen of items this folder has (or had), and of items only in the
        #: container with their names (only those can lose to a twin found later; a
        #: name per item would be ~150 bytes each at 1,000,000 items, bench W7).
        folds_here_seen: set[int] = set()
        folds_remote_only: dict[int, str] = {}
        folds_here = self._name_folding().folds
        self._remote_files = 0
        ignored = _Ignored(self.ignored())
        run_filter = self._filter
        path_filter = run_filter.filter  # gains rules as the scan meets nested ignore files
        excluded = path_filter.excluded
        from_container = run_filter.nested.from_container
        for n, (key, snap, loc, rem) in enumerate(merge3(snapshot, local, remote)):
            if n % 1024 == 0 and cancel.cancelled:
                raise Cancelled("The sync was cancelled before anything changed.")
            if report.is_blind(key) or is_reserved(key):
                if key == BEACON_BLOB and rem is not None:
                    self._beacon_listed = rem.etag  # what the run covers (see .beacon)
                elif rem is not None and key.startswith(TRASH_PREFIX):
                    self._bin_listed.append(rem)  # for pruning and "deleted on ..."
                continue  # a symlink, special file, unreadable folder, or BlobSync's own
            if ignored.covers(key):
                continue  # an item the user chose to leave alone
            self._remote_files += rem is not None
            if (
                from_container
                and loc is None
                and snap is None
                and rem is not None
                and key.endswith(NESTED_IGNORE_SUFFIX)
            ):
                run_filter.remote_ignore_file(rem, self.store, actions)  # new in the container
            if path_filter.active and (verdict := excluded(key)) is not None:
                # Excluding never deletes: both sides stay as they are; a synced item's
                # snapshot row goes, so it is merged afresh if it is ever included again.
                run_filter.note(verdict, key, snap, loc)
                if snap is not None:
                    actions.append(Action(ActionKind.FORGET, key, snapshot=snap))
                continue
            if loc is not None or rem is not None:
                fold = hash(fold_key(key))
                here = loc is not None or snap is not None
                if fold in folds_here_seen:
                    actions.append(_collision(key))
                    continue
                earlier = folds_remote_only.pop(fold, None)
                if earlier is not None:
                    if not (folds_here and here):
                        folds_remote_only[fold] = earlier
                        actions.append(_collision(key))
                        continue
                    # This disk cannot hold both twins, and the folder has this one: it
                    # wins, so the other's download can never land on it.
                    actions = [a for a in actions if a.rel_path != earlier]
                    actions.append(_collision(earlier))
                if here:
                    folds_here_seen.add(fold)
                else:
                    folds_remote_only[fold] = key
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
            action = plan_item(
                snap, loc, rem, options.mode, options.remote_deletes, self._blob_prefix
            )
            if action is not None and not (run_filter.held and run_filter.holds(key)):
                actions.append(action)
        if self._scope is not None and (wide := scoping.widening(actions)) is not None:
            raise Widen(f"it would delete or move '{wide.rel_path}' in the container")
        if options.mode is SyncMode.TWO_WAY:
            actions = pair_moves(actions, self._md5_or_none)
        if path_filter.active:
            actions = run_filter.hold_moved_out(
                actions, self.local_root, self._md5_of_path, self._pending_moved_out
            )
        return actions

    def _md5_of_path(self, rel_path: str) -> bytes | None:
        try:
            st = os.lstat(self.local_root / rel_path)
        except OSError:
            return None
        return self._md5_or_none(LocalEntry(rel_path, st.st_size, st.st_mtime_ns, st.st_ino))

    def _pending_moved_out(self) -> dict[str, str]:
        return {
            issue.rel_path: issue.conflict_copy
            for issue in self.state.issues()
            if issue.kind is IssueKind.MOVED_OUT_OF_SYNC and issue.conflict_copy
        }

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

    def _store_archived(self, result: SyncResult) -> None:
        """Keep the run's archived blobs (a targeted run: and those outside its folders
        as they were); announce only those first seen now."""
        current = result.archived
        if self._scope is not None:
            scope = self._scope
            current = [b for b in self.state.archived() if not scope.covers(b.rel_path)]
            current += result.archived
        new = self.state.replace_archived(current)
        result.archived_new = len(new)
        for blob in result.archived:
            if blob.rel_path in new:
                self.events(ev.ArchivedFound(blob))

    def _store_issues(self, result: SyncResult) -> None:
        raised = {i.rel_path for i in result.issues}
        pending = self.state.issues()
        scope = self._scope
        keep = [
            old
            for old in pending
            if old.kind is IssueKind.CONFLICT
            and (scope is None or scope.covers(old.rel_path))
            and old.rel_path not in raised
            and old.conflict_copy
            and os.path.lexists(self.local_root / old.conflict_copy)
            and not self._settled(old)
        ]
        if scope is not None:  # what a targeted run did not look at stays as it was
            keep += scoping.kept_outside(pending, scope, raised)
        self.state.replace_issues(result.issues, keep)

    def _settled(self, issue: Issue) -> bool:
        """A pending conflict whose two versions became equal resolves itself: the copy
        goes to the versions folder (the next sync removes its blob, into the bin)."""
        assert issue.conflict_copy is not None
        try:
            copy_path = fs.confined_path(self.local_root, issue.conflict_copy, make_parents=False)
            main_path = fs.confined_path(self.local_root, issue.rel_path, make_parents=False)
            copy_state, main_state = fs.local_state(copy_path), fs.local_state(main_path)
            if copy_state is None or main_state is None or copy_state[0] != main_state[0]:
                return False
            if fs.md5_file(copy_path) != fs.md5_file(main_path):
                return False
            self.versions_folder.keep(
                copy_path, issue.conflict_copy, move=True, reason=BinReason.DELETED
            )
        except (OSError, ItemError):
            return False
        return True

    @contextlib.contextmanager
    def _pair_lock(self) -> Iterator[None]:
        """One run at a time per pair, across processes (advisory file lock). Re-entrant
        within this engine (a restore holds it across its own writes and its sync)."""
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
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
            self._lock_depth = 1
            try:
                yield
            finally:
                self._lock_depth = 0
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _archived(action: Action) -> ArchivedBlob:
    remote = action.remote
    assert remote is not None and action.held is not None
    return ArchivedBlob(action.rel_path, action.held, remote.rehydrating_to, remote.size)


_NO_RULES = PathFilter(FilterRules.nothing())


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


def _chained(parts: Iterator[Iterator[SnapshotEntry]]) -> Iterator[SnapshotEntry]:
    for part in parts:
        yield from part


def _folders(scope: SyncScope) -> str:
    return ", ".join(repr(name + "/") for name in sorted(scope.folders))


def _changes(actions: list[Action]) -> int:
    return sum(1 for a in actions if a.kind in CHANGE_KINDS)


def _unusable(exc: ItemError) -> ConnectionFailure:
    return ConnectionFailure(
        f"The storage service did not answer properly, so nothing was synced: {exc.message}"
    )
