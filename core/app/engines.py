"""Open the engine for one pair: online (the Azure store) or offline (its state only).

Shared by the CLI and the app, so both find the same state database for the same pair
(:func:`blobsync.core.app.pairs.state_path`). A pair on a path inside its container gets
the container's store wrapped by :func:`blobsync.core.remote.prefixed.at_prefix`: the
engine then sees only the blobs under that path, with names relative to it.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from ..credentials import Credentials
from ..engine import SyncEngine
from ..errors import ConfigError
from ..events import EventSink, ignore_event
from ..names import normalize_prefix
from ..remote.base import PrefixListingStore, RemoteStore
from ..remote.offline import OfflineStore
from ..remote.prefixed import at_prefix
from .pairs import state_path


def open_store(creds: Credentials, container: str) -> RemoteStore:
    """The Azure store for ``container`` (imported lazily: only that package uses the SDK)."""
    from ..remote import azure

    return azure.open_store(creds, container)


def pair_store(store: RemoteStore, prefix: str) -> RemoteStore:
    """The part of ``store``'s container a pair on ``prefix`` syncs with (``store``
    itself for the whole container). Raises ConfigError for an invalid path, or when
    the store cannot list a path on the service's side."""
    if not normalize_prefix(prefix):
        return store
    if not hasattr(store, "list_folders"):  # every PrefixListingStore has it
        raise ConfigError("This storage cannot sync a path inside a container.")
    return at_prefix(cast(PrefixListingStore, store), prefix)


def open_engine(
    local_root: str | Path,
    creds: Credentials,
    container: str,
    events: EventSink = ignore_event,
    store: RemoteStore | None = None,
    prefix: str = "",
) -> SyncEngine:
    """The engine for one pair on ``container`` (at ``prefix``, a path inside it; "" for
    all of it). ``store`` is the whole container's; it defaults to Azure via
    :func:`open_store`. Raises ConfigError for an invalid path."""
    if store is None:
        store = open_store(creds, container)
    store = pair_store(store, prefix)
    path = state_path(local_root, creds.account_url, creds.account_name, container, prefix)
    return SyncEngine(Path(local_root), store, path, events)


def open_offline_engine(
    local_root: str | Path, account_url: str, account_name: str, container: str, prefix: str = ""
) -> SyncEngine:
    """An engine that can only read its state DB (pending issues); any network use fails."""
    path = state_path(local_root, account_url, account_name, container, prefix)
    return SyncEngine(Path(local_root), OfflineStore(container), path)
