"""Open the engine for one pair: online (the Azure store) or offline (its state only).

Shared by the CLI and the app, so both find the same state database for the same pair
(:func:`blobsync.core.app.pairs.state_path`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..credentials import Credentials
from ..engine import SyncEngine
from ..errors import ConfigError
from ..events import EventSink, ignore_event
from ..models import RemoteEntry
from ..remote.base import (
    BEACON_BLOB,
    BeaconRead,
    CancelToken,
    ProgressCallback,
    RemoteStore,
    WriteResult,
)
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


class OfflineStore:
    """A RemoteStore that refuses every call: for reading a pair's state offline."""

    def __init__(self, container: str) -> None:
        self.container = container

    def _refuse(self) -> ConfigError:
        return ConfigError("This command works offline and cannot reach the storage account.")

    def container_exists(self) -> bool:
        raise self._refuse()

    def create_container(self) -> bool:
        raise self._refuse()

    def list_blobs(self) -> Iterator[RemoteEntry]:
        raise self._refuse()

    def get_entry(self, blob_name: str) -> RemoteEntry | None:
        raise self._refuse()

    def upload(
        self,
        blob_name: str,
        source: BinaryIO,
        size: int,
        md5: bytes,
        mtime_ns: int,
        if_match: str | None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> WriteResult:
        raise self._refuse()

    def download(
        self,
        blob_name: str,
        if_match: str,
        sink: BinaryIO,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> int:
        raise self._refuse()

    def delete(self, blob_name: str, if_match: str) -> None:
        raise self._refuse()

    def copy(self, source_name: str, target_name: str, source_etag: str) -> WriteResult:
        raise self._refuse()

    def read_beacon(self, if_none_match: str | None, blob_name: str = BEACON_BLOB) -> BeaconRead:
        raise self._refuse()

    def write_beacon(self, body: bytes, if_match: str | None, blob_name: str = BEACON_BLOB) -> str:
        raise self._refuse()

    def close(self) -> None:
        pass
