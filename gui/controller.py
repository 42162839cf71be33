"""The app's brain on the GUI thread: settings, one engine bridge per pair, scheduling.

The windows and the tray never touch an engine: they call this controller
(``sync_now``, ``sync_all``, ``preview``, ``cancel``, ``set_paused``, ``resolve``, pair
and account edits) and listen to its signals. It saves the settings after every change,
runs each pair every ``interval_s`` unless paused, and turns engine outcomes into a
per-pair :class:`PairStatus` and an app-wide :class:`Overview` (what the tray shows).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from PySide6.QtCore import QObject, QTimer, Signal

from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig, save_config
from blobsync.core.credentials import (
    AZURITE_KEY,
    Credentials,
    SecretKind,
    account_name_from_url,
    from_key,
    from_sas_url,
    parse_connection_string,
)
from blobsync.core.engine import Resolution, SyncOptions
from blobsync.core.errors import ConfigError
from blobsync.core.events import EventSink
from blobsync.core.models import Issue, IssueKind, SyncResult

from .bridge import EngineBridge, EngineLike, Failure, ProgressSnapshot, SyncOutcome
from .watching import PairWatchers

log = logging.getLogger(__name__)

#: The account the app creates itself for its bundled Azurite (public well-known key,
#: no keyring). Its URL is re-pointed at the emulator's current port on every start.
DEMO_ACCOUNT_NAME = "Local emulator (Azurite)"
#: Transfer threads per sync in the app. Every Python thread competes with the GUI
#: thread for the GIL. bench/gui_stall.py (5,000 files to a local Azurite, 2 cores):
#: 4 threads sync as fast as 8 (Azurite shares the CPU) and stall the window less
#: (25–90 ms vs 75–320 ms at the longest, depending on the machine's other load).
GUI_WORKERS = 4
OFFLINE_RETRY_S = 60  # an offline pair is retried this often, whatever its interval
CONFLICT_KINDS = frozenset({IssueKind.CONFLICT, IssueKind.CONCURRENT_CHANGE})

SecretLoader = Callable[[str], str]
PairEngineFactory = Callable[[PairConfig, EventSink], EngineLike]


def is_demo_account(account: AccountConfig) -> bool:
    """True for the app-managed Azurite account."""
    return account.name == DEMO_ACCOUNT_NAME


def default_secret_loader(label: str) -> str:
    """The secret of account ``label`` from the OS keyring. Raises ConfigError."""
    from blobsync.core.app.secrets import load_secret  # lands with the CLI work

    return load_secret(label)


def credentials_for_account(account: AccountConfig, secret_loader: SecretLoader) -> Credentials:
    """Credentials for a configured account (the demo account needs no keyring).

    Raises ConfigError when the secret is missing or malformed.
    """
    if is_demo_account(account):
        return from_key(account.account_url, AZURITE_KEY)
    secret = secret_loader(account.name)
    if account.kind is SecretKind.CONNECTION_STRING:
        return parse_connection_string(secret)
    if account.kind is SecretKind.ACCOUNT_KEY:
        return from_key(account.account_url, secret)
    if secret.startswith(("http://", "https://")):
        return from_sas_url(secret)
    name = account.account_name or account_name_from_url(account.account_url)
    return Credentials(account.account_url.rstrip("/"), name, SecretKind.SAS, secret.lstrip("?"))


class PairState(enum.StrEnum):
    """What one pair (or the whole app) is doing, as the user sees it."""

    IDLE = "idle"
    SYNCING = "syncing"
    PAUSED = "paused"
    OFFLINE = "offline"
    ERROR = "error"
    ATTENTION = "attention"


STATE_WORDS = {
    PairState.IDLE: "Up to date",
    PairState.SYNCING: "Syncing",
    PairState.PAUSED: "Paused",
    PairState.OFFLINE: "Offline",
    PairState.ERROR: "Error",
    PairState.ATTENTION: "Needs attention",
}


@dataclass
class PairStatus:
    """Live status of one pair (not persisted; the engine's DB is the record)."""

    syncing: bool = False
    dry_run: bool = False
    last_sync: float | None = None  # epoch seconds of the last fully successful run
    last_result: SyncResult | None = None
    failure: Failure | None = None
    issues: list[Issue] = field(default_factory=list)
    progress: ProgressSnapshot | None = None
    last_attempt: float = float("-inf")  # monotonic

    def state(self, paused: bool) -> PairState:
        if self.syncing and not self.dry_run:
            return PairState.SYNCING
        if self.failure is not None and not self.failure.cancelled:
            return PairState.OFFLINE if self.failure.offline else PairState.ERROR
        if self.issues:
            return PairState.ATTENTION
        if paused:
            return PairState.PAUSED
        return PairState.IDLE


@dataclass(frozen=True)
class Overview:
    """The whole app in one glance (the tray's input)."""

    paused: bool = False
    syncing: int = 0
    offline: int = 0
    errors: int = 0
    pending: int = 0  # items needing attention, all pairs
    last_sync: float | None = None
    error_message: str = ""


class Controller(QObject):
    """Owns the config and the bridges. All methods run on the GUI thread."""

    pairs_changed = Signal()  # pairs added / removed / edited
    pair_updated = Signal(str)  # pair_id: status changed
    progress = Signal(str, object)  # pair_id, ProgressSnapshot
    issues_changed = Signal(str, object)  # pair_id, list[Issue]
    preview_ready = Signal(str, object)  # pair_id, SyncResult (dry run)
    notify = Signal(str, str, bool)  # title, message, is_error
    overview_changed = Signal(object)  # Overview

    def __init__(
        self,
        config: AppConfig,
        *,
        engine_factory: PairEngineFactory | None = None,
        secret_loader: SecretLoader = default_secret_loader,
        save: Callable[[AppConfig], None] = save_config,
        tick_ms: int = 5000,
        schedule: bool = True,
        workers: int = GUI_WORKERS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.config = config
        self._secret_loader = secret_loader
        self._engine_factory = engine_factory or self._open_engine
        self._save = save
        self._workers = workers
        self._bridges: dict[str, EngineBridge] = {}
        self._retired: set[EngineBridge] = set()  # removed, thread still stopping
        self._status: dict[str, PairStatus] = {}
        # Live sync: file watching + polling per pair (off in tests that drive syncs by hand).
        self._watchers: PairWatchers | None = None
        if schedule:
            self._watchers = PairWatchers(parent=self)
            self._watchers.sync_due.connect(self._on_sync_due)
            self._watchers.watch_problem.connect(self._on_watch_problem)
        for pair in config.pairs:
            self._attach(pair)
        # Fallback scheduler (interval only); PairWatchers does this when scheduling is on.
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self._on_tick)
        # "Last sync: 5 min ago" ages: refresh what shows times twice a minute.
        self._clock = QTimer(self)
        self._clock.setInterval(30_000)
        self._clock.timeout.connect(self._refresh_times)
        self._clock.start()

    # ---- reading ---------------------------------------------------------------------

    def pairs(self) -> list[PairConfig]:
        return list(self.config.pairs)

    def pair(self, pair_id: str) -> PairConfig | None:
        return next((p for p in self.config.pairs if p.pair_id == pair_id), None)

    def status(self, pair_id: str) -> PairStatus:
        return self._status.setdefault(pair_id, PairStatus())

    def pair_state(self, pair_id: str) -> PairState:
        pair = self.pair(pair_id)
        paused = self.config.paused or (pair is not None and pair.paused)
        return self.status(pair_id).state(paused)

    def bridge(self, pair_id: str) -> EngineBridge | None:
        return self._bridges.get(pair_id)

    def load_secret(self, label: str) -> str:
        """The secret of an account (the demo account's is the public dev key)."""
        account = self.config.accounts.get(label)
        if account is not None and is_demo_account(account):
            return AZURITE_KEY
        return self._secret_loader(label)

    def credentials(self, account_name: str) -> Credentials:
        account = self.config.accounts.get(account_name)
        if account is None:
            raise ConfigError(f"The account '{account_name}' is not configured any more.")
        return credentials_for_account(account, self._secret_loader)

    def overview(self) -> Overview:
        syncing = offline = errors = pending = 0
        last: float | None = None
        message = ""
        for pair in self.config.pairs:
            st = self.status(pair.pair_id)
            syncing += st.syncing and not st.dry_run
            pending += len(st.issues)
            if st.failure is not None and not st.failure.cancelled:
                if st.failure.offline:
                    offline += 1
                else:
                    errors += 1
                message = message or f"{st.failure.title}: {st.failure.message}"
            if st.last_sync is not None:
                last = max(last or 0.0, st.last_sync)
        return Overview(self.config.paused, syncing, offline, errors, pending, last, message)

    # ---- editing ---------------------------------------------------------------------

    def save(self) -> None:
        try:
            self._save(self.config)
        except OSError as exc:
            self.notify.emit("Cannot save settings", str(exc), True)

    def add_account(self, account: AccountConfig) -> None:
        self.config.accounts[account.name] = account
        self.save()

    def add_pair(self, pair: PairConfig) -> None:
        if self.pair(pair.pair_id) is not None:
            raise ConfigError("This folder is already paired with this container.")
        self.config.pairs.append(pair)
        self._attach(pair)
        self.save()
        self.pairs_changed.emit()
        self._emit_overview()

    def update_pair(self, pair_id: str, new: PairConfig) -> None:
        """Replace a pair's settings (a new folder/account/container is a new engine)."""
        index = next(i for i, p in enumerate(self.config.pairs) if p.pair_id == pair_id)
        self.config.pairs[index] = new
        if new.pair_id != pair_id:
            self._detach(pair_id)
            self._attach(new)
        else:
            self._update_watch(new)
        self.save()
        self.pairs_changed.emit()
        self._emit_overview()

    def remove_pair(self, pair_id: str) -> None:
        self.config.pairs = [p for p in self.config.pairs if p.pair_id != pair_id]
        self._detach(pair_id)
        self.save()
        self.pairs_changed.emit()
        self._emit_overview()

    # ---- running ---------------------------------------------------------------------

    def sync_now(
        self, pair_id: str, dry_run: bool = False, allow_mass_delete: bool = False
    ) -> bool:
        """Start one pair's sync (False if paused, already running or unknown).

        ``allow_mass_delete`` overrides the engine's safety valve for this one run (the
        user confirmed it after a "Sync stopped for safety").
        """
        pair = self.pair(pair_id)
        bridge = self._bridges.get(pair_id)
        if pair is None or bridge is None or bridge.syncing:
            return False
        if not dry_run and (self.config.paused or pair.paused):
            return False
        status = self.status(pair_id)
        status.last_attempt = time.monotonic()
        options = SyncOptions(
            mode=pair.mode,
            dry_run=dry_run,
            allow_mass_delete=allow_mass_delete,
            workers=self._workers,
            upload_limit_bps=self.config.upload_limit_kbps * 1024,
            download_limit_bps=self.config.download_limit_kbps * 1024,
        )
        return bridge.sync(options)

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
        """App-wide settings were edited (limits apply from the next sync on)."""
        self.save()
        for pair in self.config.pairs:
            self._update_watch(pair)

    def set_paused(self, paused: bool) -> None:
        """Global pause: running syncs stop cleanly and nothing new is scheduled."""
        self.config.paused = paused
        if paused:
            self.cancel_all()
        self.save()
        for pair in self.config.pairs:
            self._update_watch(pair)
            self.pair_updated.emit(pair.pair_id)
        self._emit_overview()

    def set_pair_paused(self, pair_id: str, paused: bool) -> None:
        pair = self.pair(pair_id)
        if pair is None:
            return
        pair.paused = paused
        if paused:
            self.cancel(pair_id)
        self._update_watch(pair)
        self.save()
        self.pair_updated.emit(pair_id)
        self._emit_overview()

    def resolve(self, pair_id: str, rel_paths: list[str], resolution: str) -> None:
        """Apply the user's choice off the GUI thread, then re-sync and refresh issues."""
        bridge = self._bridges.get(pair_id)
        if bridge is None or not rel_paths:
            return
        bridge.resolve(list(rel_paths), Resolution(resolution))

    def refresh_issues(self, pair_id: str) -> None:
        bridge = self._bridges.get(pair_id)
        if bridge is not None:
            bridge.load_issues()

    def shutdown(self, timeout_ms: int = 15000) -> None:
        """Stop the scheduler and every engine thread (cancels running syncs); blocks at
        most ``timeout_ms`` per engine (a transfer stops at its next chunk)."""
        self._timer.stop()
        self._clock.stop()
        if self._watchers is not None:
            self._watchers.shutdown()
        for pair_id in list(self._bridges):
            self._detach(pair_id, timeout_ms)

    # ---- internals -------------------------------------------------------------------

    def _open_engine(self, pair: PairConfig, sink: EventSink) -> EngineLike:
        """The real engine for a pair (runs on the pair's worker thread)."""
        from blobsync.core.app.accounts import open_engine

        creds = self.credentials(pair.account)
        engine = open_engine(pair.local_root, creds, pair.container, events=sink)
        if self._watchers is not None:
            # The engine's own downloads/renames/conflict copies are not local changes.
            engine.on_local_write = self._watchers.ignore_callback(pair.pair_id)
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
        self._bridges[pair_id] = bridge
        self._status[pair_id] = PairStatus()
        self._update_watch(pair)
        bridge.load_issues()

    def _detach(self, pair_id: str, timeout_ms: int = 0) -> None:
        """Stop a pair's engine; without a timeout the GUI does not wait for it."""
        bridge = self._bridges.pop(pair_id, None)
        self._status.pop(pair_id, None)
        if self._watchers is not None:
            self._watchers.remove_pair(pair_id)
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

    def _on_tick(self) -> None:
        if self.config.paused:
            return
        now = time.monotonic()
        for pair in self.pairs():
            status = self.status(pair.pair_id)
            interval = pair.interval_s
            if status.failure is not None and status.failure.offline:
                interval = min(interval, OFFLINE_RETRY_S)  # back online soon after the network
            if not pair.paused and now - status.last_attempt >= interval:
                self.sync_now(pair.pair_id)

    def _update_watch(self, pair: PairConfig) -> None:
        """Watch and poll a pair unless it (or everything) is paused."""
        if self._watchers is not None:
            enabled = not (self.config.paused or pair.paused)
            self._watchers.set_pair(pair.pair_id, pair.local_root, pair.interval_s, enabled)

    def _on_sync_due(self, pair_id: str, why: str) -> None:
        self.sync_now(pair_id)

    def _on_watch_problem(self, pair_id: str, message: str) -> None:
        pair = self.pair(pair_id)
        self.notify.emit(f"Not watching {pair.local_root if pair else 'a folder'}", message, False)

    def _refresh_times(self) -> None:
        for pair in self.config.pairs:
            self.pair_updated.emit(pair.pair_id)
        self._emit_overview()

    def _on_started(self, pair_id: str, dry_run: bool) -> None:
        if pair_id not in self._bridges:
            return  # removed meanwhile
        status = self.status(pair_id)
        status.syncing, status.dry_run = True, dry_run
        if self._watchers is not None and not dry_run:
            self._watchers.started(pair_id)
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
                pair = self.pair(pair_id)
                where = f" ({pair.container})" if pair else ""
                self.notify.emit(outcome.failure.title + where, outcome.failure.message, True)
        if outcome.last_sync_time is not None:
            status.last_sync = outcome.last_sync_time
        if outcome.issues is not None:
            self._set_issues(pair_id, outcome.issues)
        if self._watchers is not None and not was_dry_run:
            ok = outcome.failure is None or outcome.failure.cancelled
            self._watchers.finished(pair_id, ok)
        status.dry_run = False
        self.pair_updated.emit(pair_id)
        self._emit_overview()

    def _on_issues_loaded(self, pair_id: str, value: object) -> None:
        if pair_id not in self._bridges or not isinstance(value, tuple):
            return
        issues, last = value
        if last is not None:
            self.status(pair_id).last_sync = last
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
