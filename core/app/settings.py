"""Settings that persist across restarts: accounts (without secrets) and folder pairs.

Stored as JSON in the platform config dir (``$XDG_CONFIG_HOME/blobsync/settings.json``
on Linux); per-pair state databases live in the platform data dir. Secrets are never
here: they go to the OS keyring through :mod:`blobsync.core.app.secrets`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir, user_data_dir

from ..credentials import SecretKind
from ..errors import ConfigError
from ..models import SyncMode

APP_NAME = "blobsync"
DEFAULT_INTERVAL_S = 300


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


@dataclass
class PairConfig:
    """A local folder kept in sync with one container."""

    local_root: str
    account: str  # AccountConfig.name
    container: str
    mode: SyncMode = SyncMode.TWO_WAY
    interval_s: int = DEFAULT_INTERVAL_S
    paused: bool = False

    @property
    def pair_id(self) -> str:
        """Stable id of (folder, account, container): names the state database."""
        key = f"{os.path.abspath(self.local_root)}\0{self.account}\0{self.container}"
        return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]


@dataclass
class AppConfig:
    """Everything in settings.json."""

    accounts: dict[str, AccountConfig] = field(default_factory=dict)
    pairs: list[PairConfig] = field(default_factory=list)
    paused: bool = False  # global pause
    upload_limit_kbps: int = 0  # 0 = unlimited
    download_limit_kbps: int = 0
    start_at_login: bool = False

    def find_pair(self, local_root: str, container: str) -> PairConfig | None:
        """The pair for this folder and container, if configured."""
        root = os.path.abspath(local_root)
        for pair in self.pairs:
            if os.path.abspath(pair.local_root) == root and pair.container == container:
                return pair
        return None


def state_db_path(local_root: str | Path, account_key: str, container: str) -> Path:
    """The snapshot database of one (folder, account, container) pair."""
    pair = PairConfig(str(local_root), account_key, container)
    return data_dir() / "pairs" / f"{pair.pair_id}.sqlite3"


def _settings_path() -> Path:
    return config_dir() / "settings.json"


def load_config() -> AppConfig:
    """Read settings.json (an absent file is an empty config). Raises ConfigError."""
    path = _settings_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return AppConfig()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Cannot read the settings file {path}: {exc}.") from None
    try:
        accounts = {
            name: AccountConfig(**{**acc, "kind": SecretKind(acc["kind"])})
            for name, acc in raw.get("accounts", {}).items()
        }
        pairs = [PairConfig(**{**p, "mode": SyncMode(p["mode"])}) for p in raw.get("pairs", [])]
        scalars: dict[str, Any] = {
            k: v for k, v in raw.items() if k not in ("accounts", "pairs", "version")
        }
        return AppConfig(accounts=accounts, pairs=pairs, **scalars)
    except (TypeError, ValueError, KeyError) as exc:
        raise ConfigError(f"The settings file {path} is not valid: {exc}.") from None


def save_config(config: AppConfig) -> None:
    """Write settings.json atomically (temp file + replace)."""
    path = _settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"version": 1, **dataclasses.asdict(config)}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".settings-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
