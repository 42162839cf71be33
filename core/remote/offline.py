"""A RemoteStore that refuses every call: for reading a pair's state, history and local
bin offline (``blobsync issues``, the Activity view without a connection)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from ..errors import ConfigError
from ..models import RemoteEntry, Writer
from .base import (
    BEACON_BLOB,
    BeaconRead,
    BlobVersion,
    CancelToken,
    HashWhileSending,
    ProgressCallback,
    Protection,
    WriteResult,
)


class OfflineStore:
    """Every network call raises ConfigError; nothing is sent."""

    def __init__(self, container: str) -> None:
        self.container = container
        self.hash_while_sending_min = 2**63  # nothing is sent

    def _refuse(self) -> ConfigError:
        return ConfigError("This command works offline and cannot reach the storage account.")

    def container_exists(self) -> bool:
        raise self._refuse()

    def create_container(self) -> bool:
        raise self._refuse()

    def list_blobs(self, prefix: str = "") -> Iterator[RemoteEntry]:
        raise self._refuse()

    def list_folders(self, prefix: str = "") -> list[str]:
        raise self._refuse()

    def get_entry(self, blob_name: str) -> RemoteEntry | None:
        raise self._refuse()

    def list_meta(self, prefix: str) -> Iterator[tuple[RemoteEntry, dict[str, str]]]:
        raise self._refuse()

    def protection(self) -> Protection:
        raise self._refuse()

    def list_versions(self, blob_name: str) -> list[BlobVersion]:
        raise self._refuse()

    def upload(
        self,
        blob_name: str,
        source: BinaryIO,
        size: int,
        md5: bytes | HashWhileSending,
        mtime_ns: int,
        if_match: str | None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        writer: Writer | None = None,
    ) -> WriteResult:
        raise self._refuse()

    def download(
        self,
        blob_name: str,
        if_match: str,
        sink: BinaryIO,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        *,
        offset: int = 0,
    ) -> int:
        raise self._refuse()

    def delete(self, blob_name: str, if_match: str) -> None:
        raise self._refuse()

    def copy(
        self,
        source_name: str,
        target_name: str,
        source_etag: str | None,
        *,
        metadata: dict[str, str] | None = None,
        target_if_match: str | None = None,
        source_version: str | None = None,
    ) -> WriteResult:
        raise self._refuse()

    def read_beacon(self, if_none_match: str | None, blob_name: str = BEACON_BLOB) -> BeaconRead:
        raise self._refuse()

    def write_beacon(self, body: bytes, if_match: str | None, blob_name: str = BEACON_BLOB) -> str:
        raise self._refuse()

    def close(self) -> None:
        pass
