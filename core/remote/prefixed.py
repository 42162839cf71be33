"""A pair on a path inside a container: a RemoteStore that sees only the blobs under one
name prefix, with their names relative to it.

``at_prefix(store, "projects/x")`` gives the engine a store whose blob ``a/b.txt`` is
``projects/x/a/b.txt`` in the container. The listing asks the service for that prefix
only (List Blobs ``prefix=``), so names outside it are never sent, never seen and never
touched, and two pairs on sibling paths (``projects/x/`` and ``projects/xy/``: the
trailing slash keeps them apart) are as independent as two containers. Every name the
engine sends gets the prefix in front, so Azure's limits (1,024 characters, 254
segments) are checked by the wrapped store on the whole name; BlobSync's reserved
``.blobsync/`` space is relative to the pair's root, i.e. under the prefix.

Overlapping pairs (one path inside another) are refused when a pair is created
(:func:`blobsync.core.names.prefix_overlap_problem`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace
from typing import BinaryIO

from ..errors import ConfigError, LinkNotPossible
from ..models import AccessTier, RehydratePriority, RemoteEntry, Writer
from ..names import normalize_prefix, prefix_problem
from .base import (
    BEACON_BLOB,
    BeaconRead,
    BlobVersion,
    CancelToken,
    HashWhileSending,
    LinkMaker,
    PrefixListingStore,
    ProgressCallback,
    Protection,
    RemoteStore,
    ShareLink,
    TierControl,
    WriteResult,
)


class PrefixedStore:
    """The part of ``inner``'s container under ``prefix`` (normalised, ends with "/")."""

    def __init__(self, inner: PrefixListingStore, prefix: str) -> None:
        """Raises ConfigError if ``prefix`` is not a valid container path."""
        problem = prefix_problem(prefix)
        if problem is not None:
            raise ConfigError(problem)
        normal = normalize_prefix(prefix)
        if not normal:
            raise ConfigError("A container path is needed here (use the store itself for all).")
        self.inner = inner
        self.prefix = normal
        self.container = inner.container

    def __repr__(self) -> str:
        return f"PrefixedStore({self.inner!r}, {self.prefix!r})"

    def _full(self, blob_name: str) -> str:
        return self.prefix + blob_name

    def _relative(self, entry: RemoteEntry) -> RemoteEntry:
        return replace(entry, rel_path=entry.rel_path[len(self.prefix) :])

    # ---- RemoteStore --------------------------------------------------------------

    def container_exists(self) -> bool:
        return self.inner.container_exists()

    def create_container(self) -> bool:
        return self.inner.create_container()

    def list_blobs(self, prefix: str = "") -> Iterator[RemoteEntry]:
        mine = self.prefix
        cut = len(mine)
        for e in self.inner.list_blobs(mine + prefix):
            # The folder marker "x/" that some tools write is no file; anything outside
            # the prefix (a service that ignored it) is none of this pair's business.
            name = e.rel_path
            if len(name) > cut and name.startswith(mine):
                yield replace(e, rel_path=name[cut:])  # tier, writer etc. kept

    def list_folders(self, prefix: str = "") -> list[str]:
        """The folders right under ``prefix`` inside this pair's path, relative to it."""
        cut = len(self.prefix)
        return [name[cut:] for name in self.inner.list_folders(self.prefix + prefix)]

    def get_entry(self, blob_name: str) -> RemoteEntry | None:
        entry = self.inner.get_entry(self._full(blob_name))
        return None if entry is None else self._relative(entry)

    def list_meta(self, prefix: str) -> Iterator[tuple[RemoteEntry, dict[str, str]]]:
        cut = len(self.prefix)
        for entry, metadata in self.inner.list_meta(self.prefix + prefix):
            if len(entry.rel_path) > cut and entry.rel_path.startswith(self.prefix):
                yield replace(entry, rel_path=entry.rel_path[cut:]), metadata

    @property
    def hash_while_sending_min(self) -> int:
        return self.inner.hash_while_sending_min

    def protection(self) -> Protection:
        return self.inner.protection()

    def list_versions(self, blob_name: str) -> list[BlobVersion]:
        cut = len(self.prefix)
        return [
            replace(v, blob_name=v.blob_name[cut:])
            for v in self.inner.list_versions(self._full(blob_name))
        ]

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
        return self.inner.upload(
            self._full(blob_name), source, size, md5, mtime_ns, if_match, progress, cancel, writer
        )

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
        return self.inner.download(
            self._full(blob_name), if_match, sink, progress, cancel, offset=offset
        )

    def delete(self, blob_name: str, if_match: str) -> None:
        self.inner.delete(self._full(blob_name), if_match)

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
        return self.inner.copy(
            self._full(source_name),
            self._full(target_name),
            source_etag,
            metadata=metadata,
            target_if_match=target_if_match,
            source_version=source_version,
        )

    # ---- optional capabilities, when the wrapped store has them ----------------------

    def rehydrate(self, blob_name: str, tier: AccessTier, priority: RehydratePriority) -> None:
        """Raises ConfigError when the wrapped store has no access tiers."""
        if not isinstance(self.inner, TierControl):
            raise ConfigError("This storage does not have access tiers.")
        self.inner.rehydrate(self._full(blob_name), tier, priority)

    def share_link(self, blob_name: str, valid_for: dt.timedelta) -> ShareLink:
        """Raises LinkNotPossible when the wrapped store cannot sign links."""
        if not isinstance(self.inner, LinkMaker):
            raise LinkNotPossible("This storage cannot create links.")
        return self.inner.share_link(self._full(blob_name), valid_for)

    def read_beacon(self, if_none_match: str | None, blob_name: str = BEACON_BLOB) -> BeaconRead:
        return self.inner.read_beacon(if_none_match, self._full(blob_name))

    def write_beacon(self, body: bytes, if_match: str | None, blob_name: str = BEACON_BLOB) -> str:
        return self.inner.write_beacon(body, if_match, self._full(blob_name))

    def close(self) -> None:
        self.inner.close()


def at_prefix(store: PrefixListingStore, prefix: str) -> RemoteStore:
    """``store`` itself for the whole container (``prefix`` empty or "/"), else the
    :class:`PrefixedStore` for that path. Raises ConfigError for an invalid path."""
    if not normalize_prefix(prefix):
        return store
    return PrefixedStore(store, prefix)


def store_prefix(store: object) -> str:
    """The path inside the container a store stands for ("" = the whole container)."""
    return store.prefix if isinstance(store, PrefixedStore) else ""
