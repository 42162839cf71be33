"""Folder pairs: their stable identity, their state database, names, and the rules for
a new pair.

**Identity.** A pair is (folder, storage account, container). The storage account is
named by :func:`account_identity`, which does not change when an endpoint's port or
spelling does: the bundled emulator can come back on another port a few seconds
after a restart (the old one still in TIME_WAIT), and a state database keyed by the
URL string would then look brand new ("Last sync: never", conflicts gone). The CLI
(folder + container + credentials) and the app (a saved pair) compute the same
:func:`pair_key` for the same pair, so they share one state database and one pause flag.
A pair on a path inside a container has that path in its identity (two folders on
sibling paths of one container are two pairs); a pair on the whole container keeps the
key it had before paths existed.

**New pairs** may share a container as long as their paths do not overlap
(:func:`blobsync.core.names.prefix_overlap_problem`): names outside a pair's path are
invisible to it, so pairs on ``projects/x/`` and ``projects/y/`` never touch each
other's blobs, while a pair on the whole container and one on ``projects/x/`` would
both sync the same blobs from two folders.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from urllib.parse import urlsplit

from ..credentials import AZURITE_ACCOUNT
from ..errors import ConfigError
from ..names import container_name_problem, normalize_prefix, prefix_overlap_problem, prefix_problem
from .settings import AppConfig, PairConfig, data_dir

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_local_emulator(account_url: str, account_name: str) -> bool:
    """True for Azurite's well-known development account on this machine."""
    host = urlsplit(account_url).hostname or ""
    return account_name == AZURITE_ACCOUNT and host in LOOPBACK_HOSTS


def account_identity(account_url: str, account_name: str) -> str:
    """A name for the storage account that survives a new port or URL spelling.

    The local emulator is ``emulator/devstoreaccount1`` whatever its port; an Azure
    account is its host (lower case, no port) plus the account name, e.g.
    ``myacct.blob.core.windows.net/myacct``.
    """
    if is_local_emulator(account_url, account_name):
        return f"emulator/{account_name}"
    host = (urlsplit(account_url).hostname or account_url).lower()
    return f"{host}/{account_name}"


def _digest(*parts: str) -> str:
    key = "\0".join(parts)
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def pair_key(
    local_root: str | Path, account_url: str, account_name: str, container: str, prefix: str = ""
) -> str:
    """The id both clients use for a pair's state database and pause flag; ``prefix``
    is the pair's path inside the container ("" for the whole container)."""
    root = os.path.abspath(local_root)
    parts = [root, account_identity(account_url, account_name), container]
    path = normalize_prefix(prefix)
    if path:  # pairs on the whole container keep the key they had before paths existed
        parts.append(path)
    return _digest(*parts)


def state_dir() -> Path:
    """Where the per-pair state databases live."""
    return data_dir() / "pairs"


def state_path(
    local_root: str | Path, account_url: str, account_name: str, container: str, prefix: str = ""
) -> Path:
    """The pair's snapshot database, moved from its pre-identity name if needed."""
    key = pair_key(local_root, account_url, account_name, container, prefix)
    path = state_dir() / f"{key}.sqlite3"
    if not path.exists() and not normalize_prefix(prefix):
        _migrate_url_keyed(path, _digest(os.path.abspath(local_root), account_url, container))
    return path


def _migrate_url_keyed(path: Path, old_key: str) -> None:
    """Databases used to be named by (folder, account URL, container): move one found
    under that name (with its WAL and lock files) to the identity-based name."""
    old = path.with_name(f"{old_key}.sqlite3")
    if old == path or not old.exists():
        return
    try:
        move_state_db(old, path)
    except OSError as exc:  # keep using nothing rather than fail: the old one stays
        log.warning("could not rename state database %s: %s", old, exc)


def move_state_db(old: Path, new: Path) -> None:
    """Rename a state database with its WAL, shared-memory and lock files (closed
    first). Raises OSError."""
    for suffix in ("-wal", "-shm", ".lock"):
        side = Path(str(old) + suffix)
        if side.exists():
            os.replace(side, str(new) + suffix)
    os.replace(old, new)
    log.info("state database %s renamed to %s", old.name, new.name)


def unique_name(config: AppConfig, local_root: str, exclude: PairConfig | None = None) -> str:
    """The folder's name, or ``name-2``, ``name-3``… if another pair has it."""
    base = Path(os.path.abspath(local_root)).name or "folder"
    taken = {p.name for p in config.pairs if p is not exclude}
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def find_pair(config: AppConfig, name_or_folder: str) -> PairConfig:
    """The pair called ``name_or_folder``, or whose folder it is. Raises ConfigError."""
    for pair in config.pairs:
        if pair.name == name_or_folder:
            return pair
    folder = os.path.abspath(os.path.expanduser(name_or_folder))
    matches = [p for p in config.pairs if os.path.abspath(p.local_root) == folder]
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(p.name for p in matches)
        raise ConfigError(f"The folder {folder} is in several pairs ({names}); give a name.")
    known = ", ".join(p.name for p in config.pairs) or "none yet"
    raise ConfigError(f"No folder pair named {name_or_folder} (pairs: {known}).")


def folders_overlap(a: str, b: str) -> bool:
    """True when one folder is the other or inside it."""
    a_path, b_path = Path(os.path.realpath(a)), Path(os.path.realpath(b))
    return a_path == b_path or a_path.is_relative_to(b_path) or b_path.is_relative_to(a_path)


def same_storage_account(config: AppConfig, label_a: str, label_b: str) -> bool:
    """True when two account labels reach the same storage account (one label, or two
    labels for one account, e.g. a key and a SAS)."""
    if label_a == label_b:
        return True
    a, b = config.accounts.get(label_a), config.accounts.get(label_b)
    if a is None or b is None:
        return False
    return account_identity(a.account_url, a.account_name) == account_identity(
        b.account_url, b.account_name
    )


def new_pair_problem(
    config: AppConfig, pair: PairConfig, replacing: PairConfig | None = None
) -> str | None:
    """Why ``pair`` cannot be added next to the configured ones, or None.

    Two pairs writing into the same files would fight each other, and two folders on
    one part of a container would undo each other's changes (an upload-only pair
    deletes every blob its folder does not have). Pairs on one container are fine when
    neither path lies inside the other.
    """
    if pair.account not in config.accounts:
        return f"The account {pair.account} is not configured."
    problem = container_name_problem(pair.container) or prefix_problem(pair.prefix)
    if problem:
        return problem
    same_account: list[tuple[str, str]] = []
    for other in config.pairs:
        if other is replacing:
            continue
        if pair.name and other.name == pair.name:
            return f"Another folder pair is already called {pair.name}; choose another name."
        if folders_overlap(pair.local_root, other.local_root):
            return (
                f"This folder overlaps {other.local_root}, which another pair already "
                "syncs; choose a separate folder."
            )
        if same_storage_account(config, pair.account, other.account):
            same_account.append((other.container, other.prefix))
    return prefix_overlap_problem(pair.container, pair.prefix, same_account)
