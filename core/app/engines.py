"""Open the engine for one pair: online (the Azure store) or offline (its state only).

Shared by the CLI and the app, so both find the same state database for the same pair
(:func:`blobsync.core.app.pairs.state_path`).
"""

from __future__ import annotations

from pathlib import Path

from ..credentials import Credentials
from ..engine import SyncEngine
from ..events import EventSink, ignore_event
from ..remote.base import RemoteStore
from ..remote.offline import OfflineStore
from .pairs import state_path


def open_store(creds: Credentials, container: str) -> RemoteStore:
    """The Azure store for ``container`` (imported lazily: only that package uses the SDK)."""
    from ..remote import azure

    return azure.open_store(creds, container)


def open_engine(
    local_root: str | Path,
    creds: Credentials,
    container: str,
    events: EventSink = ignore_event,
    store: RemoteStore | None = None,
) -> SyncEngine:
    """The engine for one pair; ``store`` defaults to Azure via :func:`open_store`."""
    if store is None:
        store = open_store(creds, container)
    path = state_path(local_root, creds.account_url, creds.account_name, container)
    return SyncEngine(Path(local_root), store, path, events)


def open_offline_engine(
    local_root: str | Path, account_url: str, account_name: str, container: str
) -> SyncEngine:
    """An engine that can only read its state DB (pending issues); any network use fails."""
    path = state_path(local_root, account_url, account_name, container)
    return SyncEngine(Path(local_root), OfflineStore(container), path)
