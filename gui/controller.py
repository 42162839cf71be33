"""The app's brain on the GUI thread: the shared application layer plus engine threads.

Every capability (accounts, pairs, pause, sync options, credentials) is the shared
:class:`~blobsync.core.app.service.AppService`, the same object the CLI uses; this
controller adds what only a GUI needs: one :class:`~.bridge.EngineBridge` (engine on a
QThread) per pair, the live loop driven by :class:`~.live.LiveScheduler`, the per-pair
:class:`~blobsync.core.app.status.PairStatus` and the app-wide
:class:`~blobsync.core.app.status.Overview`, all announced through Qt signals. The
windows and the tray never touch an engine: they call this controller and listen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from blobsync.core.app.accounts import SecretLoader
from blobsync.core.app.beacon import BeaconView
from blobsync.core.app.pause import PauseStore
from blobsync.core.app.progress import ProgressSnapshot
from blobsync.core.app.recovery import HistoryReader, history_path, recovery_words
from blobsync.core.app.schedule import SyncReason
from blobsync.core.app.secrets import load_secret
from blobsync.core.app.service import AppService
from blobsync.core.app.settings import (
    AccountConfig,
    AppConfig,
    PairConfig,
    SettingsStore,
    save_config,
)
from blobsync.core.app.status import CONFLICT_KINDS, Failure, Overview, PairState, PairStatus
from blobsync.core.credentials import Credentials
from blobsync.core.engine import Resolution
from blobsync.core.engine.recovery import ConflictSides
from blobsync.core.errors import ConfigError
from blobsync.core.events import BeaconStatus, EventSink
from blobsync.core.models import Issue

from .bridge import EngineBridge, EngineLike, JobKind, RecoveryOutcome, SyncOutcome
from .live import LiveScheduler
from .notices import Notices

log = logging.getLogger(__name__)

#: Transfer threads per sync in the app. Every Python thread competes with the GUI
#: thread for the GIL. bench/gui_stall.py (5,000 files to a local Azurite, 2 cores):
#: 4 threads sync as fast as 8 (Azurite shares the CPU) and stall the window less
#: (25–90 ms vs 75–320 ms at the longest, depending on the machine's other load).
GUI_WORKERS = 4

PairEngineFactory = Callable[[PairConfig, EventSink], EngineLike]


class Controller(QObject):
    """Owns the application service and the bridges. All methods run on the GUI thread."""

    pairs_changed = Signal()  # pairs added / removed / edited
    accounts_changed = Signal()  # accounts added / removed
    pair_updated = Signal(str)  # pair_id: status changed
    progress = Signal(str, object)  # pair_id, ProgressSnapshot
    issues_changed = Signal(str, object)  # pair_id, list[Issue]
    preview_ready = Signal(str, object)  # pair_id, SyncResult (dry run)
    notify = Signal(str, str, bool)  # title, message, is_error
    overview_changed = Signal(object)  # Overview
    history_changed = Signal()  # a run, restore or undo may have recorded changes (or F5)
    recovery = Signal(str, object)  # pair_id, RecoveryOutcome (versions, restore, undo)

    def __init__(
        self,
        config: AppConfig | None = None,
        *,
        service: AppService | None = None,
        engine_factory: PairEngineFactory | None = None,
        secret_loader: SecretLoader = load_secret,
        save: Callable[[AppConfig], None] = save_config,
        pauses: PauseStore | None = None,
        schedule: bool = True,
        workers: int = GUI_WORKERS,
        hold: tuple[str, ...] = (),
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        if service is None:
            service = AppService(SettingsStore(config, save), pauses, secret_loader)
        self.service = service
        self._engine_factory = engine_factory or self._open_engine
        self._workers = workers
        self._bridges: dict[str, EngineBridge] = {}
        self._retired: set[EngineBridge] = set()  # removed, thread still stopping
        self._status: dict[str, PairStatus] = {}
        self._everything_paused = service.everything_paused()
        self._held_accounts: set[str] = set(hold)  # see hold_account
        # Live sync: file watching + polling per pair (off in tests that drive syncs by hand).
        self._live: LiveScheduler | None = None
        if schedule:
            self._live = LiveScheduler(parent=self)
            self._live.sync_due.connect(self._on_sync_due)
            self._live.pause_changed.connect(self._on_pause_changed)
            self._live.watch_problem.connect(self._on_watch_problem)
            self._live.beacon_notice.connect(self._on_beacon_notice)
            self._live.folder_missing.connect(self._on_folder_missing)
        for pair in service.pairs():
            self._attach(pair)
        # "Last sync: 5 min ago" ages, and a pause set by another client shows up: look
        # again every few seconds.
        self._history_seen = self._history_stamp()
        self._clock = QTimer(self)
        self._clock.setInterval(5_000)
        self._clock.timeout.connect(self._refresh)
        self._clock.start()
        # SAS expiry and archived blobs: warned once, then shown as each pair's state.
        self.notices = Notices(self)

    # ---- reading ---------------------------------------------------------------------

    @property
    def config(self) -> AppConfig:
        return self.service.config

    def pairs(self) -> list[PairConfig]:
        return self.service.pairs()

    def pair(self, pair_id: str) -> PairConfig | None:
        return self.service.pair(pair_id)

    def status(self, pair_id: str) -> PairStatus:
        return self._status.setdefault(pair_id, PairStatus())

    def everything_paused(self) -> bool:
        return self._everything_paused

    def is_paused(self, pair_id: str) -> bool:
        """Paused by itself (not counting the global pause)."""
        pair = self.pair(pair_id)
        try:
            return pair is not None and self.service.pair_paused(pair)
        except ConfigError:
            return False

    def pair_state(self, pair_id: str) -> PairState:
        paused = self._everything_paused or self.is_paused(pair_id)
        return self.status(pair_id).state(paused)

    def bridge(self, pair_id: str) -> EngineBridge | None:
        return self._bridges.get(pair_id)

    def beacon_view(self, pair_id: str) -> BeaconView | None:
        """The pair's change beacon as shown (on, interval, problems) and when it last
        picked up changes made elsewhere; None when the pair is not live."""
        live = self._live.live(pair_id) if self._live is not None else None
        return live.beacon_view() if live is not None else None

    def credentials(self, account_name: str) -> Credentials:
        """A saved account's credentials. Raises ConfigError."""
        return self.service.credentials(account_name)

    def overview(self) -> Overview:
        pairs = self.pairs()
        statuses = [self.status(p.pair_id) for p in pairs]
        paused = [self.is_paused(p.pair_id) for p in pairs]
        return Overview.of(self._everything_paused, statuses, paused)

    # ---- editing ---------------------------------------------------------------------

    def save(self) -> None:
        try:
            self.service.save()
        except OSError as exc:
            self.notify.emit("Cannot save settings", str(exc), True)

    def add_account(
        self, label: str, creds: Credentials, *, allow_plaintext: bool = False
    ) -> AccountConfig:
        """Save a new account (secret to the keyring) and announce it at once.
        Raises ConfigError (the dialog shows it) or OSError."""
        account = self.service.add_account(label, creds, allow_plaintext=allow_plaintext)
        self.accounts_changed.emit()
        return account

    def update_account(
        self,
        label: str,
        creds: Credentials,
        *,
        allow_plaintext: bool = False,
        same_storage_account: bool = False,
    ) -> AccountConfig:
        """New credentials for an account (see AppService.update_account); its pairs
        get new engines with them. Raises ConfigError or OSError."""
        account = self.service.update_account(
            label,
            creds,
            allow_plaintext=allow_plaintext,
            same_storage_account=same_storage_account,
        )
        self._reopen_pairs(label)
        self.accounts_changed.emit()
        return account

    def rename_account(self, label: str, new_label: str) -> AccountConfig:
        """Rename an account; its pairs follow (with new ids: their engines are reopened).
        Raises ConfigError or OSError."""
        before = [p.pair_id for p in self.service.pairs_using(label)]
        account = self.service.rename_account(label, new_label)
        for pair_id in before:
            self._detach(pair_id)
        self._reopen_pairs(new_label, detach=False)
        self.accounts_changed.emit()
        self.pairs_changed.emit()
        self._emit_overview()
        return account

    def remove_account(self, label: str, *, with_pairs: bool = False) -> list[PairConfig]:
        """Forget an account (and, if asked, the pairs that use it).
        Raises ConfigError (pairs use it) or OSError."""
        removed = self.service.remove_account(label, with_pairs=with_pairs)
        for pair in removed:
            self._detach(pair.pair_id)
        self.accounts_changed.emit()
        if removed:
            self.pairs_changed.emit()
            self._emit_overview()
        return removed

    def _reopen_pairs(self, label: str, *, detach: bool = True) -> None:
        """New engines for the account's pairs (new credentials or ids)."""
        for pair in self.service.pairs_using(label):
            if detach:
                self._detach(pair.pair_id)
            self._attach(pair)
        self.pairs_changed.emit()
        self._emit_overview()

    def add_pair(self, pair: PairConfig) -> PairConfig:
        """Raises ConfigError (overlap, name taken) or OSError."""
        pair = self.service.add_pair(pair)
        self._attach(pair)
        self.pairs_changed.emit()
        self._emit_overview()
        return pair

    def update_pair(self, pair_id: str, new: PairConfig) -> PairConfig:
        """Replace a pair's settings (a new folder/account/container is a new engine).
        Raises ConfigError or OSError."""
        new = self.service.update_pair(pair_id, new)
        if new.pair_id != pair_id:
            self._detach(pair_id)
            self._attach(new)
        else:
            self._update_live(new)
        self.pairs_changed.emit()
        self._emit_overview()
        return new

    def relocate_pair(self, pair_id: str, new_root: str) -> PairConfig:
        """The pair's folder was moved to ``new_root``: follow it, keeping the pair's
        state. Raises ConfigError (not the same folder, overlaps) or OSError."""
        pair = self.pair(pair_id)
        if pair is None:
            raise ConfigError("This folder pair is not configured any more.")
        problem = self.service.relocation_problem(pair, new_root)
        if problem:
            raise ConfigError(problem)
        self._detach(pair_id, timeout_ms=15000)  # its engine holds the state database
        try:
            new = self.service.relocate_pair(pair_id, new_root)
        except (ConfigError, OSError):
            self._attach(pair)
            raise
        self._attach(new)
        self.pairs_changed.emit()
        self._emit_overview()
        return new

    def remove_pair(self, pair_id: str) -> None:
        self.service.remove_pair(pair_id)
        self._detach(pair_id)
        self.pairs_changed.emit()
        self._emit_overview()

    # ---- running ---------------------------------------------------------------------

    def sync_now(
        self,
        pair_id: str,
        dry_run: bool = False,
        *,
        restore_deleted: bool = False,
        confirmed_deletes: int | None = None,
    ) -> bool:
        """Start one pair's sync (False if paused, held, already running or unknown).

        The deletion review's answers hold for this one run: ``restore_deleted`` puts
        back what one side lost, ``confirmed_deletes`` lets the safety valves pass a
        run that deletes at most that many files (the number the user typed).
        """
        pair = self.pair(pair_id)
        bridge = self._bridges.get(pair_id)
        if pair is None or bridge is None or bridge.syncing:
            return False
        if pair.account in self._held_accounts or self.status(pair_id).folder_missing:
            return False
        if not dry_run and (self._everything_paused or self.is_paused(pair_id)):
            return False
        options = self.service.options(
            pair,
            dry_run=dry_run,
            restore_deleted=restore_deleted,
            confirmed_deletes=confirmed_deletes,
            workers=self._workers,
        )
        return bridge.sync(options)

    def hold_account(self, account: str, held: bool) -> None:
        """Hold (or release) every sync of an account's pairs, e.g. while the bundled
        emulator starts: a first sync racing its start-up would only say "Offline"."""
        if held:
            self._held_accounts.add(account)
        else:
            self._held_accounts.discard(account)

    def sync_all(self) -> int:
        """Start every pair that is not paused or running; returns how many started."""
        return sum(self.sync_now(p.pair_id) for p in self.pairs())

    def preview(self, pair_id: str) -> bool:
        """A dry run; the plan arrives through ``preview_ready``."""
        return self.sync_now(pair_id, dry_run=True)

    def cancel(self, pair_id: str) -> None:
        bridge = self._bridges.get(pair_id)
        if bridge is not None:
            bridge.cancel()

    def cancel_all(self) -> None:
        for bridge in self._bridges.values():
            bridge.cancel()

    def settings_changed(self) -> None:
        """App-wide settings were edited (limits apply from the next sync on, a new
        check interval at once)."""
        self.save()
        for pair in self.pairs():
            self._update_live(pair)

    def set_paused(self, paused: bool) -> None:
        """Global pause (for every client on this machine): running syncs stop cleanly
        and nothing new is scheduled."""
        try:
            self.service.set_everything_paused(paused)
        except ConfigError as exc:
            self.notify.emit("Cannot pause", exc.message, True)
            return
        self._apply_everything_paused(paused)

    def set_pair_paused(self, pair_id: str, paused: bool) -> None:
        pair = self.pair(pair_id)
        if pair is None:
            return
        try:
            self.service.set_paused(pair, paused)
        except ConfigError as exc:
            self.notify.emit("Cannot pause", exc.message, True)
            return
        if paused:
            self.cancel(pair_id)
        if self._live is not None:
            self._live.check_now(pair_id)
        self.pair_updated.emit(pair_id)
        self._emit_overview()

    def resolve(self, pair_id: str, rel_paths: list[str], resolution: Resolution) -> None:
        """Apply the user's choice off the GUI thread, then re-sync and refresh issues."""
        bridge = self._bridges.get(pair_id)
        if bridge is None or not rel_paths:
            return
        bridge.resolve(list(rel_paths), Resolution(resolution))

    def conflict_sides(self, pair_id: str, rel_path: str) -> ConflictSides | None:
        """Both versions of one of a pair's kept-both conflicts, for the conflict center
        (no network: the pair's state, history and folder). None for an unknown pair or
        no such conflict. Raises ConfigError (the pair's account is gone)."""
        pair = self.pair(pair_id)
        return self.service.conflict_sides(pair, rel_path) if pair is not None else None

    def refresh_all(self) -> None:
        """Re-read every pair's record and issues, and the pause flags (F5)."""
        for pair in self.pairs():
            self.refresh_issues(pair.pair_id)
        self._refresh()
        self.history_changed.emit()

    def refresh_issues(self, pair_id: str) -> None:
        bridge = self._bridges.get(pair_id)
        if bridge is not None:
            bridge.load_issues()

    # ---- history, previous versions, restore, undo (the Activity view) ----------------

    def history(self) -> HistoryReader:
        """Every pair's applied changes (reading it is quick, but callers on the GUI
        thread should read it off that thread: gui/models/activity_model.py)."""
        return self.service.history()

    def versions(self, pair_id: str, rel_path: str) -> bool:
        """List a file's previous versions on the pair's engine thread; answered by
        ``recovery`` (False: no such pair)."""
        bridge = self._bridges.get(pair_id)
        if bridge is None:
            return False
        bridge.versions(rel_path)
        return True

    def restore(self, pair_id: str, rel_path: str, number: int | None = None) -> bool:
        """Put the ``number``-th previous version (1 = newest) of a file back and sync it
        to the other side, on the pair's engine thread (after a running sync). The
        outcome comes as a notification and through ``recovery``."""
        pair = self.pair(pair_id)
        bridge = self._bridges.get(pair_id)
        if pair is None or bridge is None or self.recovery_problem(pair_id):
            return False
        self._recovering(pair_id, True)
        bridge.restore(self.service.options(pair, workers=self._workers), rel_path, number)
        return True

    def recovery_problem(self, pair_id: str) -> str | None:
        """Why a restore or an undo cannot run now, in a sentence (None: it can). The
        CLI refuses a paused pair the same way."""
        pair = self.pair(pair_id)
        if pair is None or pair_id not in self._bridges:
            return "This folder pair is not running."
        name = pair.name or pair.local_root
        if self._everything_paused or self.is_paused(pair_id):
            return f"{name} is paused: resume it, then restore or undo."
        if self.status(pair_id).folder_missing:
            return f"The folder of {name} is missing: locate it first."
        return None

    def _recovering(self, pair_id: str, running: bool) -> None:
        self.status(pair_id).recovering = running
        self.pair_updated.emit(pair_id)
        self._emit_overview()

    def undo(self, pair_id: str, run_id: str, *, dry_run: bool = False) -> bool:
        """Reverse one run on both sides (``dry_run``: only find out what it would put
        back and take away); answered through ``recovery``."""
        pair = self.pair(pair_id)
        bridge = self._bridges.get(pair_id)
        if pair is None or bridge is None or (not dry_run and self.recovery_problem(pair_id)):
            return False
        if not dry_run:
            self._recovering(pair_id, True)
        options = self.service.options(pair, dry_run=dry_run, workers=self._workers)
        bridge.undo(options, run_id, dry_run)
        return True

    def _on_recovered(self, pair_id: str, outcome: RecoveryOutcome) -> None:
        if pair_id not in self._bridges:
            return  # removed meanwhile
        acting = outcome.kind in (JobKind.RESTORE, JobKind.UNDO) and not outcome.dry_run
        if acting:
            self._recovering(pair_id, False)
            what = "restore" if outcome.kind is JobKind.RESTORE else "undo"
            title = "Restore" if outcome.kind is JobKind.RESTORE else "Undo this sync"
            if outcome.failure is not None:
                self.notify.emit(f"{title}: failed", outcome.failure.message, True)
            elif outcome.result is not None:
                lines = recovery_words(outcome.result, what)
                problem = bool(outcome.result.issues)
                self.notify.emit(f"{title}: done", "\n".join(lines), problem)
            self.refresh_issues(pair_id)
            self.history_changed.emit()
        self.recovery.emit(pair_id, outcome)

    def shutdown(self, timeout_ms: int = 15000) -> None:
        """Stop the live loop and every engine thread (cancels running syncs); blocks at
        most ``timeout_ms`` per engine (a transfer stops at its next chunk)."""
        self._clock.stop()
        self.notices.stop()
        if self._live is not None:
            self._live.shutdown()
        for pair_id in list(self._bridges):
            self._detach(pair_id, timeout_ms)

    # ---- internals -------------------------------------------------------------------

    def _open_engine(self, pair: PairConfig, sink: EventSink) -> EngineLike:
        """The real engine for a pair (runs on the pair's worker thread)."""
        engine = self.service.open_engine(pair, events=sink)
        live = self._live.live(pair.pair_id) if self._live is not None else None
        if live is not None:
            # The engine's own downloads/renames/conflict copies are not local changes;
            # its store reads the change beacon, its runs report what they did to it.
            live.attach(engine)
        return engine

    def _attach(self, pair: PairConfig) -> None:
        pair_id = pair.pair_id
        pair_copy = replace(pair)
        bridge = EngineBridge(
            lambda sink: self._engine_factory(pair_copy, sink), name=pair_id, parent=self
        )
        # These signals are emitted on the GUI thread, so plain lambdas are safe here.
        bridge.started.connect(lambda dry, pid=pair_id: self._on_started(pid, dry))
        bridge.progress.connect(lambda snap, pid=pair_id: self._on_progress(pid, snap))
        bridge.finished.connect(lambda out, pid=pair_id: self._on_finished(pid, out))
        bridge.issues_loaded.connect(lambda val, pid=pair_id: self._on_issues_loaded(pid, val))
        bridge.resolved.connect(lambda errs, pid=pair_id: self._on_resolved(pid, errs))
        bridge.recovered.connect(lambda out, pid=pair_id: self._on_recovered(pid, out))
        self._bridges[pair_id] = bridge
        self._status[pair_id] = PairStatus()
        self._update_live(pair)
        bridge.load_issues()

    def _detach(self, pair_id: str, timeout_ms: int = 0) -> None:
        """Stop a pair's engine; without a timeout the GUI does not wait for it."""
        bridge = self._bridges.pop(pair_id, None)
        self._status.pop(pair_id, None)
        if self._live is not None:
            self._live.remove_pair(pair_id)
        if bridge is None:
            return
        if bridge.shutdown(timeout_ms):
            bridge.deleteLater()
            return
        # Still finishing (cancelling a transfer): keep it alive until its thread ends.
        self._retired.add(bridge)
        bridge.stopped.connect(lambda b=bridge: self._forget(b))

    def _forget(self, bridge: EngineBridge) -> None:
        self._retired.discard(bridge)
        bridge.deleteLater()

    def _update_live(self, pair: PairConfig) -> None:
        """Hand the pair to the live loop (it watches and polls unless paused)."""
        if self._live is None:
            return
        try:
            flag = self.service.pause_flag(pair)
        except ConfigError:
            return  # its account is gone: nothing to run
        beacon_s = float(pair.beacon_interval_s) if pair.beacon else None
        self._live.set_pair(
            pair.pair_id,
            pair.local_root,
            pair.interval_s,
            flag,
            rules=pair.filter_rules(),
            beacon_s=beacon_s,
        )

    def _apply_everything_paused(self, paused: bool) -> None:
        self._everything_paused = paused
        if paused:
            self.cancel_all()
        for pair in self.pairs():
            if self._live is not None:
                self._live.check_now(pair.pair_id)
            self.pair_updated.emit(pair.pair_id)
        self._emit_overview()

    @Slot(str, object)
    def _on_sync_due(self, pair_id: str, why: SyncReason) -> None:
        self.sync_now(pair_id)

    @Slot(str, bool)
    def _on_pause_changed(self, pair_id: str, paused: bool) -> None:
        """Paused or resumed by any client (this window, the tray, ``blobsync pause``)."""
        if paused:
            self.cancel(pair_id)
        self.pair_updated.emit(pair_id)
        self._emit_overview()

    @Slot(str, bool)
    def _on_folder_missing(self, pair_id: str, missing: bool) -> None:
        """The live loop saw the folder go (or come back): no sync runs meanwhile."""
        pair = self.pair(pair_id)
        status = self.status(pair_id)
        status.folder_missing = missing
        if missing:
            self.cancel(pair_id)
            if pair is not None:
                self.notify.emit(
                    "Folder missing",
                    f"{pair.local_root} is not there any more (moved, deleted, or a drive "
                    "not mounted). Nothing syncs until it is back: locate it or remove "
                    "the pair.",
                    True,
                )
        elif status.failure is not None and status.failure.folder_missing:
            status.failure = None  # it is back; the live loop syncs at once
        self.pair_updated.emit(pair_id)
        self._emit_overview()

    @Slot(str, str)
    def _on_watch_problem(self, pair_id: str, message: str) -> None:
        pair = self.pair(pair_id)
        self.notify.emit(f"Not watching {pair.local_root if pair else 'a folder'}", message, False)

    @Slot(str, object)
    def _on_beacon_notice(self, pair_id: str, status: BeaconStatus) -> None:
        pair = self.pair(pair_id)
        self.notify.emit(
            f"Changes from other machines ({pair.name if pair else ''})", status.message, False
        )
        self.pair_updated.emit(pair_id)

    def _history_stamp(self) -> tuple[int, ...]:
        """Size and mtime of the history database and its WAL (another process, e.g.
        ``blobsync sync`` or ``undo``, recorded changes when they move)."""
        stamp: list[int] = []
        path = history_path()
        for part in (path, path.with_name(path.name + "-wal")):
            try:
                st = part.stat()
            except OSError:
                stamp += [0, 0]
            else:
                stamp += [st.st_size, st.st_mtime_ns]
        return tuple(stamp)

    @Slot()
    def _refresh(self) -> None:
        stamp = self._history_stamp()
        if stamp != self._history_seen:
            self._history_seen = stamp
            self.history_changed.emit()  # the Activity view and the tray read it again
        everything = self.service.everything_paused()
        if everything != self._everything_paused:
            self._apply_everything_paused(everything)
            return
        for pair in self.pairs():
            self.pair_updated.emit(pair.pair_id)
        self._emit_overview()

    def _on_started(self, pair_id: str, dry_run: bool) -> None:
        if pair_id not in self._bridges:
            return  # removed meanwhile
        status = self.status(pair_id)
        status.syncing, status.dry_run = True, dry_run
        if self._live is not None and not dry_run:
            self._live.started(pair_id)
        self.pair_updated.emit(pair_id)
        self._emit_overview()

    def _on_progress(self, pair_id: str, snapshot: ProgressSnapshot) -> None:
        if pair_id not in self._bridges:
            return  # removed meanwhile
        self.status(pair_id).progress = snapshot
        self.progress.emit(pair_id, snapshot)

    def _on_finished(self, pair_id: str, outcome: SyncOutcome) -> None:
        if pair_id not in self._status:
            return
        status = self.status(pair_id)
        was_dry_run = status.dry_run
        status.syncing = False
        old_failure = status.failure
        result = outcome.result
        if result is not None and result.dry_run:
            self.preview_ready.emit(pair_id, result)
        elif result is not None:
            status.last_result = result
            status.failure = Failure("Cancelled", "", cancelled=True) if result.cancelled else None
        if outcome.failure is not None:
            status.failure = outcome.failure
            if not outcome.failure.cancelled and outcome.failure != old_failure:
                self._notify_failure(pair_id, outcome.failure)
        if outcome.record is not None:
            status.record = outcome.record
        if outcome.issues is not None:
            self._set_issues(pair_id, outcome.issues)
        if self._live is not None and not was_dry_run:
            ok = outcome.failure is None or outcome.failure.cancelled
            changed = result is not None and result.ignore_file_changed  # re-sync at once
            self._live.finished(pair_id, ok, changed)
        status.dry_run = False
        self.pair_updated.emit(pair_id)
        self._emit_overview()
        if not was_dry_run:
            self.history_changed.emit()

    def _notify_failure(self, pair_id: str, failure: Failure) -> None:
        pair = self.pair(pair_id)
        where = f" ({pair.container})" if pair else ""
        self.notify.emit(failure.title + where, failure.message, True)

    def _on_issues_loaded(self, pair_id: str, value: object) -> None:
        if pair_id not in self._bridges:
            return
        status = self.status(pair_id)
        if isinstance(value, Failure):  # the engine could not even be opened
            if status.failure != value:
                status.failure = value
                self._notify_failure(pair_id, value)
            self.pair_updated.emit(pair_id)
            self._emit_overview()
            return
        if not isinstance(value, tuple):
            return
        issues, record = value
        status.record = record
        # Read from the state DB (start-up, refresh): known items, not news to announce.
        self._set_issues(pair_id, issues, announce=False)
        self.pair_updated.emit(pair_id)
        self._emit_overview()

    def _on_resolved(self, pair_id: str, errors: list[tuple[str, str]]) -> None:
        if pair_id not in self._bridges:
            return  # removed meanwhile
        for rel_path, message in errors:
            self.notify.emit(
                f"Could not resolve {rel_path}" if rel_path else "Error", message, True
            )
        if not self.sync_now(pair_id):
            self.refresh_issues(pair_id)

    def _set_issues(self, pair_id: str, issues: list[Issue], announce: bool = True) -> None:
        """Store a pair's pending issues; notify about those a sync has just added."""
        status = self.status(pair_id)
        known = {(i.rel_path, i.kind) for i in status.issues}
        new = [i for i in issues if (i.rel_path, i.kind) not in known] if announce else []
        status.issues = list(issues)
        conflicts = [i for i in new if i.kind in CONFLICT_KINDS]
        errors = [i for i in new if i.kind not in CONFLICT_KINDS]
        if conflicts:
            first = conflicts[0].rel_path
            more = f" and {len(conflicts) - 1} more" if len(conflicts) > 1 else ""
            self.notify.emit("New conflict", f"{first}{more} needs your decision.", False)
        if errors:
            first_issue = errors[0]
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            self.notify.emit(
                "Items skipped", f"{first_issue.rel_path}: {first_issue.describe()}{more}", True
            )
        self.issues_changed.emit(pair_id, list(issues))

    def _emit_overview(self) -> None:
        self.overview_changed.emit(self.overview())
