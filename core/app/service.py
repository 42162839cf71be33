"""The application layer's one object: what the CLI and the desktop app both call.

:class:`AppService` holds the settings (:class:`~.settings.SettingsStore`), the
machine's pause store (:class:`~.pause.PauseStore`) and the way to read secrets, and
offers every user-facing capability once: accounts (add, remove, credentials), folder
pairs (add, edit, remove, find by name), pause, the options a pair's sync runs with,
opening a pair's engine, and a pair's offline summary. The CLI calls it directly; the
app's controller wraps it with Qt signals and engine threads. Nothing here knows
either client.

What companies' accounts need (the last section): Microsoft Entra ID sign-ins (kept
alive in this process, see :meth:`AppService.credentials`), the SAS expiry of each
account (:meth:`~AppService.account_expiry`), the permission check of a container
(:meth:`~AppService.probe`), read-only links (:meth:`~AppService.share_link`) and
archive-tier blobs (:meth:`~AppService.archived`, :meth:`~AppService.rehydrate`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..credentials import CredentialExpiry, Credentials, ExpiryState, SecretKind
from ..engine import RunRecord, SyncEngine, SyncOptions
from ..engine.recovery import ConflictSides, FileVersion, RecoveryResult
from ..errors import ConfigError, ItemError
from ..events import EventSink, ignore_event
from ..models import AccessTier, ArchivedBlob, Issue, RehydratePriority
from ..remote.base import LinkDuration, RemoteStore, ShareLink
from . import accounts, entra
from .accounts import SecretLoader
from .engines import open_engine, open_offline_engine
from .expiry import account_expiry, times_to_save
from .pairs import (
    find_pair,
    move_state_db,
    new_pair_problem,
    pair_key,
    state_path,
    unique_name,
)
from .pause import PauseFlag, PauseStore
from .recovery import HistoryReader, history_path
from .secrets import load_secret
from .settings import AccountConfig, AppConfig, PairConfig, SettingsStore
from .status import PairState, PairStatus

if TYPE_CHECKING:
    from ..remote.probe import PermissionReport

log = logging.getLogger(__name__)


_UNKNOWN = CredentialExpiry(ExpiryState.UNKNOWN)


@dataclass(frozen=True)
class PairSummary:
    """What is known about a pair without the network (``blobsync pairs``)."""

    pair: PairConfig
    paused: bool
    synced_before: bool
    last_in_sync: float | None  # epoch seconds of the last run that left nothing pending
    issues: list[Issue]
    #: The account's SAS validity now (UNKNOWN without a SAS).
    expiry: CredentialExpiry = _UNKNOWN
    archived: int = 0  # blobs archived in the container, not synced (a state)
    last_pickup: float | None = None  # epoch seconds a run last applied changes from elsewhere
    record: RunRecord = dataclasses.field(default_factory=RunRecord)
    pair_paused: bool = False  # paused by itself (not only because everything is)

    def status(self) -> PairStatus:
        """The pair's status as far as the state database knows (the app's rules)."""
        missing = not os.path.isdir(self.pair.local_root)
        return PairStatus(
            record=self.record,
            issues=list(self.issues),
            folder_missing=missing,
            expiry=self.expiry,
        )

    @property
    def state(self) -> PairState:
        return self.status().state(self.paused)

    @property
    def words(self) -> str:
        """The state in the app's words ('Not finished — 3 changes waiting', …)."""
        return self.status().words(self.paused, self.pair_paused)


class AppService:
    """Accounts, pairs, pause and engines for one user on one machine."""

    def __init__(
        self,
        settings: SettingsStore,
        pauses: PauseStore | None = None,
        secret_loader: SecretLoader = load_secret,
    ) -> None:
        self.settings = settings
        self.pauses = pauses if pauses is not None else PauseStore()
        self._load_secret = secret_loader
        #: Entra ID token credentials made or restored in this process, by account: a
        #: sign-in whose tokens can only be kept in memory lasts until the process ends.
        self._signed_in: dict[str, object] = {}
        self._signed_in_lock = threading.Lock()
        self._migrate_legacy_pause()

    @property
    def config(self) -> AppConfig:
        return self.settings.config

    def save(self) -> None:
        """Write the settings. Raises OSError."""
        self.settings.save()

    # ---- accounts --------------------------------------------------------------------

    def add_account(
        self, label: str, creds: Credentials, *, allow_plaintext: bool = False
    ) -> AccountConfig:
        """Save a new account (secret to the keyring; an Entra ID sign-in's record to
        the settings, its live credential kept for this process). Raises ConfigError,
        OSError."""
        account = accounts.add_account(self.settings, label, creds, allow_plaintext=allow_plaintext)
        if creds.kind is SecretKind.ENTRA and creds.token_credential is not None:
            with self._signed_in_lock:
                self._signed_in[label] = creds.token_credential
        return account

    def accounts(self) -> list[AccountConfig]:
        return list(self.config.accounts.values())

    def pairs_using(self, label: str) -> list[PairConfig]:
        """The folder pairs set up with account ``label``."""
        return accounts.pairs_using(self.config, label)

    def update_account(
        self,
        label: str,
        creds: Credentials,
        *,
        allow_plaintext: bool = False,
        same_storage_account: bool = False,
    ) -> AccountConfig:
        """New credentials for a saved account: a new key, SAS or connection string,
        another URL, a new Entra ID sign-in. The new secret replaces the old one where
        it was kept; its pairs keep their state while the storage account stays the
        same. ``same_storage_account`` (renewing a SAS, signing in again) refuses
        credentials for another storage account. Raises ConfigError (no such account,
        another storage account, keyring unusable) or OSError."""
        old = accounts.get_account(self.config, label)
        if same_storage_account and creds.account_name != old.account_name:
            raise ConfigError(
                f"These credentials are for the storage account {creds.account_name}, not "
                f"{old.account_name}; add them as a new account instead."
            )
        account = accounts.update_account(
            self.settings, label, creds, allow_plaintext=allow_plaintext
        )
        with self._signed_in_lock:
            self._signed_in.pop(label, None)
            if creds.kind is SecretKind.ENTRA and creds.token_credential is not None:
                self._signed_in[label] = creds.token_credential
        return account

    def rename_account(self, label: str, new_label: str) -> AccountConfig:
        """Rename an account; its secret and pairs follow. Raises ConfigError, OSError."""
        return accounts.rename_account(self.settings, label, new_label)

    def remove_account(self, label: str, *, with_pairs: bool = False) -> list[PairConfig]:
        """Forget an account and its secret. An account that pairs use is refused
        unless ``with_pairs``: then those pairs are removed too (no file or blob is
        touched) and returned. Raises ConfigError, OSError."""
        used = self.pairs_using(label)
        accounts.get_account(self.config, label)  # raises for an unknown one
        if used and not with_pairs:
            names = ", ".join(p.name or p.local_root for p in used)
            raise ConfigError(
                f"The account {label} is used by {len(used)} folder "
                f"pair{'s' if len(used) != 1 else ''} ({names}); remove "
                f"{'them' if len(used) != 1 else 'it'} first, or together with the account."
            )
        if used:
            self.config.pairs = [p for p in self.config.pairs if p.account != label]
        with self._signed_in_lock:
            self._signed_in.pop(label, None)
        accounts.remove_account(self.settings, label)
        return used

    def test_account(self, label: str) -> Credentials:
        """Connect with a saved account; returns its credentials.
        Raises ConfigError, AuthError, ConnectionFailure."""
        creds = self.credentials(label)
        accounts.check_account(creds)
        return creds

    def shareable_connection_string(self, label: str) -> str | None:
        """The emulator account's connection string (published key), else None."""
        return accounts.shareable_connection_string(accounts.get_account(self.config, label))

    def credentials(self, label: str) -> Credentials:
        """The credentials of a saved account. An Entra ID account reuses the sign-in
        made or restored earlier in this process (so its tokens are renewed, not asked
        for again). Raises ConfigError, AuthError (an unreadable saved sign-in)."""
        account = accounts.get_account(self.config, label)
        if account.kind is SecretKind.ENTRA:
            with self._signed_in_lock:
                live = self._signed_in.get(label)
            if live is not None:
                return dataclasses.replace(entra.saved(account), token_credential=live)
            creds = accounts.account_credentials(account, self._load_secret)
            with self._signed_in_lock:
                self._signed_in.setdefault(label, creds.token_credential)
            return creds
        creds = accounts.account_credentials(account, self._load_secret)
        self._remember_sas_times(account, creds)
        return creds

    def _remember_sas_times(self, account: AccountConfig, creds: Credentials) -> None:
        """An account saved before SAS times were kept gets them now (for the warning)."""
        if account.sas_starts or account.sas_expires or creds.sas_token is None:
            return
        try:
            account.sas_starts, account.sas_expires = times_to_save(creds)
            if account.sas_starts or account.sas_expires:
                self.save()
        except (ConfigError, OSError) as exc:
            log.warning("could not keep the SAS validity of %s: %s", account.name, exc)

    def resolve_credentials(
        self, label: str | None, environ: Mapping[str, str] | None = None
    ) -> Credentials:
        """A saved account's credentials, else the environment's connection string.
        Raises ConfigError saying what to do when neither gives any."""
        if label:
            return self.credentials(label)
        return accounts.resolve_credentials(self.config, label, environ, self._load_secret)

    def account_of(self, pair: PairConfig) -> AccountConfig:
        """The pair's account. Raises ConfigError when it is not configured any more."""
        account = self.config.accounts.get(pair.account)
        if account is None:
            raise ConfigError(f"The account '{pair.account}' is not configured any more.")
        return account

    # ---- pairs -----------------------------------------------------------------------

    def pairs(self) -> list[PairConfig]:
        return list(self.config.pairs)

    def pair(self, pair_id: str) -> PairConfig | None:
        return next((p for p in self.config.pairs if p.pair_id == pair_id), None)

    def find_pair(self, name_or_folder: str) -> PairConfig:
        """The pair with this name (or folder). Raises ConfigError."""
        return find_pair(self.config, name_or_folder)

    def add_pair(self, pair: PairConfig) -> PairConfig:
        """Add a pair (named after its folder unless named). Raises ConfigError, OSError."""
        pair = dataclasses.replace(pair, local_root=os.path.abspath(pair.local_root))
        if not pair.name:
            pair.name = unique_name(self.config, pair.local_root)
        problem = new_pair_problem(self.config, pair)
        if problem:
            raise ConfigError(problem)
        self.config.pairs.append(pair)
        self.save()
        return pair

    def update_pair(self, pair_id: str, new: PairConfig) -> PairConfig:
        """Replace a pair's settings. Raises ConfigError, OSError."""
        old = self.pair(pair_id)
        if old is None:
            raise ConfigError("This folder pair is not configured any more.")
        new = dataclasses.replace(new, local_root=os.path.abspath(new.local_root))
        if not new.name:
            new.name = old.name or unique_name(self.config, new.local_root, exclude=old)
        problem = new_pair_problem(self.config, new, replacing=old)
        if problem:
            raise ConfigError(problem)
        was_paused = self.pauses.pair_paused(self.key(old))
        index = self.config.pairs.index(old)
        self.config.pairs[index] = new
        self.save()
        if was_paused and self.key(new) != self.key(old):
            self.set_paused(new, True)
        return new

    def relocation_problem(self, pair: PairConfig, new_root: str) -> str | None:
        """Why ``new_root`` cannot be where ``pair``'s folder went, or None.

        The pair keeps its snapshot, so the new folder must look like the old one: at
        least half of the files synced before must be there. Otherwise every missing
        one would read as deleted (a different folder is a new pair, not a move)."""
        root = os.path.abspath(os.path.expanduser(new_root))
        if not os.path.isdir(root):
            return f"{root} is not a folder."
        account = self.account_of(pair)
        path = state_path(
            pair.local_root, account.account_url, account.account_name, pair.container
        )
        if not path.exists():
            return None
        engine = open_offline_engine(
            pair.local_root, account.account_url, account.account_name, pair.container
        )
        try:
            tracked = present = 0
            for entry in engine.state.iter_snapshot():
                tracked += 1
                present += os.path.isfile(os.path.join(root, *entry.rel_path.split("/")))
        finally:
            engine.close()
        if tracked and present * 2 < tracked:
            return (
                f"{root} does not look like the folder that was synced: only {present:,} of "
                f"its {tracked:,} files are there. Choose the folder it was moved to, or "
                "remove this pair and add that folder as a new one."
            )
        return None

    def relocate_pair(self, pair_id: str, new_root: str) -> PairConfig:
        """Point a pair at the place its folder was moved to, keeping its state (last
        sync, pending issues, snapshot) and its pause. Close its engine first.
        Raises ConfigError (see :meth:`relocation_problem`), OSError."""
        old = self.pair(pair_id)
        if old is None:
            raise ConfigError("This folder pair is not configured any more.")
        problem = self.relocation_problem(old, new_root)
        if problem:
            raise ConfigError(problem)
        account = self.account_of(old)
        root = os.path.abspath(os.path.expanduser(new_root))
        old_db = state_path(
            old.local_root, account.account_url, account.account_name, old.container
        )
        new_db = state_path(root, account.account_url, account.account_name, old.container)
        new = dataclasses.replace(old, local_root=root)
        if old_db.exists() and not new_db.exists():
            move_state_db(old_db, new_db)
        try:
            return self.update_pair(pair_id, new)
        except (ConfigError, OSError):
            if new_db.exists() and not old_db.exists():
                move_state_db(new_db, old_db)  # as it was
            raise

    def remove_pair(self, pair_id: str) -> None:
        """Stop syncing a pair (no file or blob is touched). Raises OSError."""
        self.config.pairs = [p for p in self.config.pairs if p.pair_id != pair_id]
        self.save()

    def key(self, pair: PairConfig) -> str:
        """The pair's machine-wide id (state database, pause flag); stable across
        emulator ports. Raises ConfigError when its account is gone."""
        account = self.account_of(pair)
        return pair_key(
            pair.local_root, account.account_url, account.account_name, pair.container, pair.prefix
        )

    # ---- pause -----------------------------------------------------------------------

    def pause_flag(self, pair: PairConfig) -> PauseFlag:
        return PauseFlag(self.pauses, self.key(pair))

    def is_paused(self, pair: PairConfig) -> bool:
        """Paused by itself or because everything is."""
        return self.pauses.is_paused(self.key(pair))

    def pair_paused(self, pair: PairConfig) -> bool:
        """Paused by itself."""
        return self.pauses.pair_paused(self.key(pair))

    def set_paused(self, pair: PairConfig, paused: bool) -> None:
        """Raises ConfigError."""
        self.pauses.set_paused(self.key(pair), paused)

    def everything_paused(self) -> bool:
        return self.pauses.everything_paused()

    def set_everything_paused(self, paused: bool) -> None:
        """Raises ConfigError."""
        self.pauses.set_everything_paused(paused)

    def _migrate_legacy_pause(self) -> None:
        legacy = self.settings.legacy_pause
        if not (legacy.everything or legacy.pair_ids):
            return
        try:
            if legacy.everything:
                self.set_everything_paused(True)
            for pair_id in legacy.pair_ids:
                pair = self.pair(pair_id)
                if pair is not None and pair.account in self.config.accounts:
                    self.set_paused(pair, True)
        except ConfigError as exc:
            log.warning("could not keep the old pause settings: %s", exc.message)
        self.settings.legacy_pause = dataclasses.replace(legacy, everything=False, pair_ids=())

    # ---- running ---------------------------------------------------------------------

    def options(
        self,
        pair: PairConfig,
        *,
        dry_run: bool = False,
        allow_mass_delete: bool = False,
        workers: int | None = None,
        restore_deleted: bool = False,
        confirmed_deletes: int | None = None,
    ) -> SyncOptions:
        """The options one run of ``pair`` uses (its mode and filter rules, the app-wide
        limits, and the deletion review's answer for this run)."""
        options = SyncOptions(
            mode=pair.mode,
            dry_run=dry_run,
            allow_mass_delete=allow_mass_delete,
            restore_deleted=restore_deleted,
            confirmed_deletes=confirmed_deletes,
            upload_limit_bps=self.config.upload_limit_kbps * 1024,
            download_limit_bps=self.config.download_limit_kbps * 1024,
            remote_deletes=pair.remote_deletes,
            filters=pair.filter_rules(),
            beacon=pair.beacon,
            hostname=self.machine_name(),
            conflict_rule=pair.conflict_rule,
            bin_days=float(max(1, self.config.bin_days)),
            bin_max_bytes=max(1, self.config.bin_max_gib) << 30,
            expired_to_system_trash=self.config.expired_to_system_trash,
        )
        if workers is not None:
            options.workers = workers
        return options

    def open_engine(
        self,
        pair: PairConfig,
        events: EventSink = ignore_event,
        store: RemoteStore | None = None,
    ) -> SyncEngine:
        """The pair's engine on its part of the container (Azure unless ``store``, the
        whole container's store, is given). Raises ConfigError."""
        creds = self.credentials(pair.account)
        return open_engine(
            pair.local_root, creds, pair.container, events, store=store, prefix=pair.prefix
        )

    def summary(self, pair: PairConfig) -> PairSummary:
        """State, last sync and pending issues from the pair's database (no network)."""
        account = self.account_of(pair)
        path = state_path(
            pair.local_root, account.account_url, account.account_name, pair.container, pair.prefix
        )
        paused = self.is_paused(pair)
        expiry = account_expiry(account)
        itself = self.pair_paused(pair)
        if not Path(path).exists():
            return PairSummary(pair, paused, False, None, [], expiry=expiry, pair_paused=itself)
        engine = open_offline_engine(
            pair.local_root, account.account_url, account.account_name, pair.container, pair.prefix
        )
        try:
            record = engine.run_record()
            return PairSummary(
                pair,
                paused,
                record.synced_before,
                record.last_in_sync,
                engine.pending_issues(),
                expiry=expiry,
                archived=len(engine.archived_blobs()),
                last_pickup=engine.last_pickup_time(),
                record=record,
                pair_paused=itself,
            )
        finally:
            engine.close()

    # ---- Entra ID, SAS expiry, permissions, links, archive ---------------------------

    def account_expiry(self, label: str, now: dt.datetime | None = None) -> CredentialExpiry:
        """Where the account's SAS stands at ``now`` (from the settings: no keyring, no
        network). UNKNOWN for keys, Entra ID and SAS tokens that state no expiry.
        Raises ConfigError when there is no such account."""
        return account_expiry(accounts.get_account(self.config, label), now)

    def probe(self, target: PairConfig | str, container: str = "") -> PermissionReport:
        """The permission check of a pair's container, or of ``container`` with a saved
        account (``target`` its name): which of list, read, write and delete are
        allowed, with a temporary blob in the reserved space. Raises ConfigError,
        AuthError (refused outright; SignInExpired), ConnectionFailure."""
        if isinstance(target, PairConfig):
            label, container = target.account, target.container
        else:
            label = target
        if not container:
            raise ConfigError("Name the container to check.")
        return accounts.check_permissions(self.credentials(label), container)

    def share_link(
        self,
        pair: PairConfig,
        rel_path: str,
        duration: LinkDuration,
        *,
        creds: Credentials | None = None,
    ) -> ShareLink:
        """A read-only link to one synced file of ``pair``, valid for ``duration``:
        a service SAS with the account key, a user-delegation SAS with Entra ID.
        ``creds`` overrides the pair's account (the CLI's FOLDER CONTAINER form).
        The URL is a bearer secret: show it, never log it. Raises LinkNotPossible (not
        synced, a SAS account), ConfigError, AuthError, ConnectionFailure."""
        engine = self._engine(pair, creds)
        try:
            return engine.share_link(rel_path, duration.value)
        finally:
            engine.close()

    def archived(self, pair: PairConfig, *, creds: Credentials | None = None) -> list[ArchivedBlob]:
        """The pair's blobs that are archived in the container and so not synced, as
        of its last run (no network). Raises ConfigError when its account is gone."""
        if creds is not None:
            url, name = creds.account_url, creds.account_name
        else:
            account = self.account_of(pair)
            url, name = account.account_url, account.account_name
        if not Path(state_path(pair.local_root, url, name, pair.container, pair.prefix)).exists():
            return []
        engine = open_offline_engine(pair.local_root, url, name, pair.container, pair.prefix)
        try:
            return engine.archived_blobs()
        finally:
            engine.close()

    def rehydrate(
        self,
        pair: PairConfig,
        rel_path: str,
        tier: AccessTier = AccessTier.HOT,
        priority: RehydratePriority = RehydratePriority.STANDARD,
        *,
        creds: Credentials | None = None,
    ) -> None:
        """Ask Azure to bring an archived blob of ``pair`` back to ``tier``; it syncs in
        a later run once readable (hours at Standard priority, about one at High).
        Raises ConfigError (not an online tier, not archived here), AuthError,
        BlobNotFound, RemoteItemError."""
        known = {blob.rel_path for blob in self.archived(pair, creds=creds)}
        if rel_path not in known:
            raise ConfigError(
                f"'{rel_path}' is not among the archived blobs of the last sync "
                "(run a sync first, or check the name)."
            )
        engine = self._engine(pair, creds)
        try:
            engine.rehydrate(rel_path, tier, priority)
        finally:
            engine.close()

    # ---- who changed what: machine name, history, versions, restore, undo ---------

    def machine_name(self) -> str:
        """The name other machines see in history and conflicts (the host name unless
        set in Settings)."""
        return self.config.machine_name.strip() or socket.gethostname()

    def set_machine_name(self, name: str) -> None:
        """Set the machine name ("" for the host name). Raises ConfigError for a name
        with control characters or longer than 64 characters, OSError on saving."""
        name = name.strip()
        if len(name) > 64 or any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise ConfigError(
                "A machine name is at most 64 characters, without control characters."
            )
        self.config.machine_name = name
        self.save()

    def history(self, extra: PairConfig | None = None) -> HistoryReader:
        """The machine's history of applied changes, every configured pair (and
        ``extra``, the CLI's FOLDER CONTAINER pair that is not configured) by name."""
        keys: dict[str, PairConfig] = {}
        for pair in [*self.pairs(), *([extra] if extra is not None else [])]:
            try:
                keys[self.key(pair)] = pair
            except ConfigError:  # its account is gone: its rows show as a removed pair
                continue
        return HistoryReader(history_path(), keys)

    def versions(
        self, pair: PairConfig, rel_path: str, *, creds: Credentials | None = None
    ) -> list[FileVersion]:
        """The previous versions of one file kept in either recycle bin (or the
        account's blob versions), newest first: ``--version N`` is the N-th. Raises
        ConfigError, AuthError, ConnectionFailure."""
        engine = self._engine(pair, creds)
        try:
            return engine.versions(rel_path)
        finally:
            engine.close()

    def restore(
        self,
        pair: PairConfig,
        rel_path: str,
        number: int | None = None,
        *,
        dry_run: bool = False,
        creds: Credentials | None = None,
    ) -> RecoveryResult:
        """Put the ``number``-th previous version (1 = newest, the default) of one file
        back, then sync it to the other side; what it replaces goes to a recycle bin.
        Raises ItemError (no such file or version), ConfigError, FatalError."""
        engine = self._engine(pair, creds)
        try:
            return restore_on(engine, self.options(pair), rel_path, number, dry_run=dry_run)
        finally:
            engine.close()

    def undo(
        self,
        pair: PairConfig,
        run_id: str,
        *,
        dry_run: bool = False,
        creds: Credentials | None = None,
    ) -> RecoveryResult:
        """Reverse one run on both sides; items changed since become issues. Raises
        ItemError (unknown run), ConfigError, FatalError."""
        engine = self._engine(pair, creds)
        try:
            return engine.undo(run_id, options=self.options(pair), dry_run=dry_run)
        finally:
            engine.close()

    def conflict_sides(
        self, pair: PairConfig, rel_path: str, *, creds: Credentials | None = None
    ) -> ConflictSides | None:
        """Both versions of one kept-both conflict (no network: the state DB, the
        history and the folder); None if ``rel_path`` is no kept-both conflict. Raises
        ConfigError (the pair's account is gone)."""
        if creds is not None:
            url, name = creds.account_url, creds.account_name
        else:
            account = self.account_of(pair)
            url, name = account.account_url, account.account_name
        engine = open_offline_engine(pair.local_root, url, name, pair.container, pair.prefix)
        try:
            return engine.conflict_sides(rel_path, offline=True)
        finally:
            engine.close()

    def _engine(self, pair: PairConfig, creds: Credentials | None) -> SyncEngine:
        if creds is None:
            return self.open_engine(pair)
        return open_engine(pair.local_root, creds, pair.container, prefix=pair.prefix)


def restore_on(
    engine: SyncEngine,
    options: SyncOptions,
    rel_path: str,
    number: int | None = None,
    *,
    dry_run: bool = False,
) -> RecoveryResult:
    """Restore the ``number``-th previous version (1 = newest) of ``rel_path`` with an
    open engine (the app calls this on the pair's engine thread). Raises ItemError when
    there is no such version."""
    version = None
    if number is not None:
        versions = engine.versions(rel_path)
        if not 1 <= number <= len(versions):
            raise ItemError(f"There is no version {number} of {rel_path}: {len(versions)} kept.")
        version = versions[number - 1]
    return engine.restore(rel_path, version, options=options, dry_run=dry_run)
