"""The application layer's one object: what the CLI and the desktop app both call.

:class:`AppService` holds the settings (:class:`~.settings.SettingsStore`), the
machine's pause store (:class:`~.pause.PauseStore`) and the way to read secrets, and
offers every user-facing capability once: accounts (add, remove, credentials), folder
pairs (add, edit, remove, find by name), pause, the options a pair's sync runs with,
opening a pair's engine, and a pair's offline summary. The CLI calls it directly; the
app's controller wraps it with Qt signals and engine threads. Nothing here knows
either client.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..credentials import Credentials
from ..engine import RunRecord, SyncEngine, SyncOptions
from ..errors import ConfigError
from ..events import EventSink, ignore_event
from ..models import Issue
from ..remote.base import RemoteStore
from . import accounts
from .accounts import SecretLoader
from .engines import open_engine, open_offline_engine
from .live import PauseFlag
from .pairs import (
    find_pair,
    move_state_db,
    new_pair_problem,
    pair_key,
    state_path,
    unique_name,
)
from .pause import PauseStore
from .secrets import load_secret
from .settings import AccountConfig, AppConfig, PairConfig, SettingsStore
from .status import PairState, PairStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PairSummary:
    """What is known about a pair without the network (``blobsync pairs``)."""

    pair: PairConfig
    paused: bool
    synced_before: bool
    last_in_sync: float | None  # epoch seconds of the last run that left nothing pending
    issues: list[Issue]
    record: RunRecord = dataclasses.field(default_factory=RunRecord)
    pair_paused: bool = False  # paused by itself (not only because everything is)

    def status(self) -> PairStatus:
        """The pair's status as far as the state database knows (the app's rules)."""
        missing = not os.path.isdir(self.pair.local_root)
        return PairStatus(record=self.record, issues=list(self.issues), folder_missing=missing)

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
        """Save a new account (secret to the keyring). Raises ConfigError, OSError."""
        return accounts.add_account(self.settings, label, creds, allow_plaintext=allow_plaintext)

    def accounts(self) -> list[AccountConfig]:
        return list(self.config.accounts.values())

    def pairs_using(self, label: str) -> list[PairConfig]:
        """The folder pairs set up with account ``label``."""
        return accounts.pairs_using(self.config, label)

    def update_account(
        self, label: str, creds: Credentials, *, allow_plaintext: bool = False
    ) -> AccountConfig:
        """New credentials for a saved account (re-key, another URL).
        Raises ConfigError, OSError."""
        return accounts.update_account(self.settings, label, creds, allow_plaintext=allow_plaintext)

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
        """The credentials of a saved account. Raises ConfigError."""
        return accounts.account_credentials(
            accounts.get_account(self.config, label), self._load_secret
        )

    def resolve_credentials(
        self, label: str | None, environ: Mapping[str, str] | None = None
    ) -> Credentials:
        """A saved account's credentials, else the environment's connection string.
        Raises ConfigError saying what to do when neither gives any."""
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
        return pair_key(pair.local_root, account.account_url, account.account_name, pair.container)

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
        """The options one run of ``pair`` uses (its mode, the app-wide limits, and the
        deletion review's answer for this run)."""
        options = SyncOptions(
            mode=pair.mode,
            dry_run=dry_run,
            allow_mass_delete=allow_mass_delete,
            restore_deleted=restore_deleted,
            confirmed_deletes=confirmed_deletes,
            upload_limit_bps=self.config.upload_limit_kbps * 1024,
            download_limit_bps=self.config.download_limit_kbps * 1024,
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
        """The pair's engine (Azure unless ``store`` is given). Raises ConfigError."""
        creds = self.credentials(pair.account)
        return open_engine(pair.local_root, creds, pair.container, events, store=store)

    def summary(self, pair: PairConfig) -> PairSummary:
        """State, last sync and pending issues from the pair's database (no network)."""
        account = self.account_of(pair)
        path = state_path(
            pair.local_root, account.account_url, account.account_name, pair.container
        )
        paused = self.is_paused(pair)
        itself = self.pair_paused(pair)
        if not Path(path).exists():
            return PairSummary(pair, paused, False, None, [], pair_paused=itself)
        engine = open_offline_engine(
            pair.local_root, account.account_url, account.account_name, pair.container
        )
        try:
            record = engine.run_record()
            return PairSummary(
                pair,
                paused,
                record.synced_before,
                record.last_in_sync,
                engine.pending_issues(),
                record,
                itself,
            )
        finally:
            engine.close()
