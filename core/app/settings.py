"""Settings that persist across restarts: accounts (without secrets) and folder pairs.

Stored as JSON in the platform config dir (``$XDG_CONFIG_HOME/blobsync/settings.json``
on Linux); per-pair state databases live in the platform data dir. Secrets are never
here: they go to the OS keyring through :mod:`blobsync.core.app.secrets`. Runtime
state that both clients change (pause) is not here either: it lives in
:mod:`blobsync.core.app.pause`, which the CLI and the app share.

:class:`SettingsStore` is the one object that holds the loaded config and writes it back;
the CLI and the desktop app both edit settings through it (via
:class:`~blobsync.core.app.service.AppService`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir, user_data_dir

from ..credentials import SecretKind
from ..errors import ConfigError
from ..filters import FilterRules
from ..models import ConflictRule, RemoteDeletePolicy, SyncMode
from ..names import normalize_prefix
from .schedule import DEFAULT_BEACON_INTERVAL_S, DEFAULT_INTERVAL_S

APP_NAME = "blobsync"
SETTINGS_VERSION = 2


def config_dir() -> Path:
    """Where settings live (honours XDG_CONFIG_HOME)."""
    return Path(user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    """Where snapshots and logs live (honours XDG_DATA_HOME)."""
    return Path(user_data_dir(APP_NAME, appauthor=False))


@dataclass
class AccountConfig:
    """A storage account we know how to reach; its secret is in the keyring."""

    name: str  # user's label, also the keyring username
    account_url: str
    account_name: str
    kind: SecretKind
    plaintext_secret_file: bool = False  # explicit, visible opt-in when no keyring works
    #: False when nothing was stored in the keyring (the local emulator's published key,
    #: a Microsoft Entra ID sign-in).
    has_secret: bool = True
    #: Entra ID: the saved sign-in (no token; see ``Credentials.sign_in_record``), ""
    #: for an account that signs in with DefaultAzureCredential; tenant and client hints.
    sign_in_record: str = ""
    tenant_id: str = ""
    client_id: str = ""
    #: A SAS's validity window, read when the account was saved (ISO 8601 UTC, "" when
    #: the SAS does not say): both clients warn before it ends without the keyring.
    sas_starts: str = ""
    sas_expires: str = ""
    #: A container SAS: the one container it may reach (the permission check's default).
    sas_container: str = ""


@dataclass
class PairConfig:
    """A local folder kept in sync with one container, or with a path inside one.

    ``prefix`` is the path inside the container (``"projects/x/"``, as
    :func:`~blobsync.core.names.normalize_prefix` writes it; ``""``: the whole
    container). ``patterns``, ``use_defaults`` and ``excluded_folders`` are what the
    pair keeps out (:class:`~blobsync.core.filters.FilterRules`). Settings saved before
    these existed load with their defaults: the whole container, the built-in list,
    nothing else left out.
    """

    local_root: str
    account: str  # AccountConfig.name
    container: str
    mode: SyncMode = SyncMode.TWO_WAY
    interval_s: int = int(DEFAULT_INTERVAL_S)
    #: What ``blobsync sync --pair NAME`` and the app call it (unique; the folder's name
    #: by default, see :func:`blobsync.core.app.pairs.unique_name`).
    name: str = ""
    #: Other machines' changes within seconds: the pair's change beacon is read every
    #: ``beacon_interval_s`` while live and written after each run that changed the
    #: container (:mod:`blobsync.core.app.beacon`). Off: neither; the full check only.
    beacon: bool = True
    beacon_interval_s: int = int(DEFAULT_BEACON_INTERVAL_S)
    #: KEEP_AS_ISSUES when the account may not delete in the container (chosen when the
    #: pair was set up, from the permission check): deletions become issues.
    remote_deletes: RemoteDeletePolicy = RemoteDeletePolicy.APPLY
    prefix: str = ""
    patterns: list[str] = field(default_factory=list)
    use_defaults: bool = True
    excluded_folders: list[str] = field(default_factory=list)
    #: Both sides changed: keep both (the default), newer wins, mine wins, theirs wins.
    #: Every loser goes to its side's recycle bin first.
    conflict_rule: ConflictRule = ConflictRule.KEEP_BOTH

    def __post_init__(self) -> None:
        self.prefix = normalize_prefix(self.prefix)

    @property
    def pair_id(self) -> str:
        """Stable id of (folder, account label, container, path) inside one settings
        file: how the app refers to a pair. The state database and the pause flag are
        keyed by :func:`blobsync.core.app.pairs.pair_key`, which both clients compute
        alike. A pair on the whole container keeps the id it had before paths existed."""
        key = f"{os.path.abspath(self.local_root)}\0{self.account}\0{self.container}"
        if self.prefix:
            key += f"\0{self.prefix}"
        return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]

    @property
    def remote_label(self) -> str:
        """Where the pair syncs, in words: ``container`` or ``container/some/path``."""
        return remote_label(self.container, self.prefix)

    def filter_rules(self) -> FilterRules:
        """What this pair keeps out of the sync (the folder's ignore file included)."""
        return FilterRules(
            patterns=tuple(self.patterns),
            use_defaults=self.use_defaults,
            excluded_folders=frozenset(self.excluded_folders),
        )


def remote_label(container: str, prefix: str) -> str:
    """``container`` for the whole container, else ``container/some/path``."""
    path = normalize_prefix(prefix)
    return f"{container}/{path[:-1]}" if path else container


@dataclass
class AppConfig:
    """Everything in settings.json."""

    accounts: dict[str, AccountConfig] = field(default_factory=dict)
    pairs: list[PairConfig] = field(default_factory=list)
    upload_limit_kbps: int = 0  # 0 = unlimited
    download_limit_kbps: int = 0
    start_at_login: bool = False
    #: The name other machines see ("changed on laptop-2"); "" means the host name.
    machine_name: str = ""
    #: Recycle bins (both sides): how long replaced and deleted versions are kept, and
    #: the local bin's size cap per pair; expired local versions to the desktop trash.
    bin_days: int = 30
    bin_max_gib: int = 10
    expired_to_system_trash: bool = False

    def find_pair(self, local_root: str, container: str, prefix: str = "") -> PairConfig | None:
        """The pair for this folder and container (and path in it), if configured."""
        root = os.path.abspath(local_root)
        prefix = normalize_prefix(prefix)
        for pair in self.pairs:
            if (
                os.path.abspath(pair.local_root) == root
                and pair.container == container
                and pair.prefix == prefix
            ):
                return pair
        return None


@dataclass(frozen=True)
class LegacyPause:
    """Pause flags found in a version-1 settings file (moved to the pause store)."""

    everything: bool
    pair_ids: tuple[str, ...]


def settings_path() -> Path:
    """The settings file."""
    return config_dir() / "settings.json"


def load_config() -> AppConfig:
    """Read settings.json (an absent file is an empty config). Raises ConfigError."""
    return _load()[0]


def _load() -> tuple[AppConfig, LegacyPause]:
    path = settings_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return AppConfig(), LegacyPause(False, ())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Cannot read the settings file {path}: {exc}.") from None
    try:
        accounts = {
            name: AccountConfig(**{**acc, "kind": SecretKind(acc["kind"])})
            for name, acc in raw.get("accounts", {}).items()
        }
        pairs: list[PairConfig] = []
        paused_pairs: list[str] = []
        for p in raw.get("pairs", []):
            fields = {k: v for k, v in p.items() if k != "paused"}
            fields["mode"] = SyncMode(p["mode"])
            fields["remote_deletes"] = RemoteDeletePolicy(p.get("remote_deletes", "apply"))
            fields["conflict_rule"] = ConflictRule(p.get("conflict_rule", "keep_both"))
            pair = PairConfig(**fields)
            pairs.append(pair)
            if p.get("paused"):
                paused_pairs.append(pair.pair_id)
        scalars: dict[str, Any] = {
            k: v for k, v in raw.items() if k not in ("accounts", "pairs", "version", "paused")
        }
        config = AppConfig(accounts=accounts, pairs=pairs, **scalars)
    except (TypeError, ValueError, KeyError) as exc:
        raise ConfigError(f"The settings file {path} is not valid: {exc}.") from None
    _name_pairs(config)
    return config, LegacyPause(bool(raw.get("paused")), tuple(paused_pairs))


def _name_pairs(config: AppConfig) -> None:
    """Give pairs saved before names existed the folder's name (made unique)."""
    from .pairs import unique_name

    for pair in config.pairs:
        if not pair.name:
            pair.name = unique_name(config, pair.local_root, exclude=pair)


def save_config(config: AppConfig) -> None:
    """Write settings.json atomically. Raises OSError."""
    payload = {"version": SETTINGS_VERSION, **dataclasses.asdict(config)}
    write_json_atomically(settings_path(), payload)


def write_json_atomically(path: Path, payload: object) -> None:
    """Write ``payload`` as JSON to ``path``: a temp file beside it (mode 0600 from the
    start, as ``mkstemp`` creates it), fsync, then rename over. Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class SettingsStore:
    """The loaded settings and how to write them back.

    ``save`` is injectable so tests (and the self-check) can keep settings in memory.
    ``legacy_pause`` carries pause flags found in an old settings file; the service
    moves them to the shared pause store once.
    """

    def __init__(
        self,
        config: AppConfig | None = None,
        save: Callable[[AppConfig], None] = save_config,
        legacy_pause: LegacyPause | None = None,
    ) -> None:
        self.config = config if config is not None else AppConfig()
        self._save = save
        self.legacy_pause = legacy_pause or LegacyPause(False, ())

    @classmethod
    def load(cls) -> SettingsStore:
        """From settings.json. Raises ConfigError when it is unreadable."""
        config, legacy = _load()
        return cls(config, legacy_pause=legacy)

    def save(self) -> None:
        """Write the settings. Raises OSError."""
        self._save(self.config)
