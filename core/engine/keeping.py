"""What a run keeps and records: the old version of everything it replaces or deletes goes
to a bin first (the local versions folder, the container's bin), and every change it
applies becomes a history row naming the machine that made it.

Used by the executor's handlers (one :class:`Keeper` per run) and by the facade for the
bins' retention.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..crashpoints import crash_point
from ..errors import AuthError, BlobNotFound, ItemError, PreconditionFailed
from ..models import Action, BinReason, RemoteEntry, SyncResult, Writer
from ..remote.base import RemoteStore
from ..remote.trash import expired, path_from_name
from .history import Change, ChangeKind

if TYPE_CHECKING:
    from .executor import RunContext

log = logging.getLogger(__name__)


class Keeper:
    """The bins and the history for one run (thread-safe: workers share it)."""

    def __init__(self, ctx: RunContext, result: SyncResult, lock: threading.Lock) -> None:
        self.ctx = ctx
        self.result = result
        self.lock = lock

    def remote(self, entry: RemoteEntry, reason: BinReason) -> str | None:
        """Copy the blob ``entry`` (pinned to its ETag) into the container bin before it
        is replaced or deleted; returns the bin name (None when the account keeps
        versions itself). A blob that changed or vanished since it was listed raises
        PreconditionFailed: the write that would follow fails the same way."""
        container_bin = self.ctx.container_bin()
        if container_bin is None:
            return None
        try:
            name = container_bin.keep(entry, reason, self.ctx.run_id, self.ctx.writer)
        except BlobNotFound:
            raise PreconditionFailed(
                f"'{entry.rel_path}' was deleted on the server since it was listed."
            ) from None
        crash_point("remote_bin_after_copy")
        with self.lock:
            self.result.kept_remote += 1
        return name

    def local(
        self,
        path: Path,
        rel: str,
        *,
        move: bool,
        reason: BinReason,
        md5: bytes | None,
        writer: Writer | None = None,
    ) -> str | None:
        """Keep the local file in the versions folder before it is deleted (``move``)
        or replaced; returns the version id. Without a versions folder a deletion is a
        plain unlink (returns None)."""
        local_bin = self.ctx.local_bin
        if local_bin is None:
            if move:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
            return None
        try:
            version = local_bin.keep(
                path, rel, move=move, reason=reason, run_id=self.ctx.run_id, md5=md5, writer=writer
            )
        except FileNotFoundError:
            return None  # already gone: nothing to keep
        with self.lock:
            self.result.kept_local += 1
        return version.version_id

    def record(
        self,
        kind: ChangeKind,
        rel: str,
        size: int,
        writer: Writer | None,
        **details: object,
    ) -> None:
        history = self.ctx.history
        if history is None or not self.ctx.run_id:
            return
        history.record(
            Change(
                run_id=self.ctx.run_id,
                pair=self.ctx.pair,
                time=0.0,
                kind=kind,
                rel_path=rel,
                size=size,
                writer=writer,
                **details,  # type: ignore[arg-type]
            )
        )

    def deleter(self, rel: str, md5: bytes | None) -> Writer | None:
        """The machine whose bin copy of ``rel`` (with that content) says it deleted it."""
        candidates = self.ctx.deleted_by.get(rel, [])
        for copy_md5, who in reversed(candidates):
            if md5 is None or copy_md5 is None or copy_md5 == md5:
                return who
        return None


def known_md5(action: Action) -> bytes | None:
    """The MD5 of the local file as scanned, when known without reading it again."""
    local, snap = action.local, action.snapshot
    if local is not None and local.md5 is not None:
        return local.md5
    if (
        local is not None
        and snap is not None
        and (local.size, local.mtime_ns)
        == (
            snap.size,
            snap.mtime_ns,
        )
    ):
        return snap.md5
    return None


def deleted_by(
    listed: Iterable[RemoteEntry],
) -> dict[str, list[tuple[bytes | None, Writer | None]]]:
    """Who deleted what, from the bin copies a listing showed (their writer is the
    machine that moved them to the bin): original path -> [(md5, who)]."""
    out: dict[str, list[tuple[bytes | None, Writer | None]]] = {}
    for entry in listed:
        original = path_from_name(entry.rel_path)
        if original is not None:
            out.setdefault(original, []).append((entry.md5, entry.writer))
    return out


def prune_container_bin(
    store: RemoteStore, listed: Iterable[RemoteEntry], now: float, max_age_s: float
) -> int:
    """Delete bin copies older than ``max_age_s`` among ``listed`` (the sync's own
    listing, so an idle run sends nothing unless something expired). Each delete is
    pinned to the copy's ETag; a failure waits for the next run, and a credential that
    may not delete stops pruning without failing the run. Returns how many went. Raises
    ConnectionFailure."""
    removed = 0
    for entry in list(expired(listed, now, max_age_s)):
        try:
            store.delete(entry.rel_path, entry.etag)
            removed += 1
        except ItemError as exc:
            log.info("bin copy %s not pruned: %s", entry.rel_path, exc.message)
        except AuthError as exc:
            log.info("bin not pruned (the credential may not delete): %s", exc.message)
            break
    return removed


def system_trash() -> Callable[[Path], None] | None:
    """send2trash's ``send2trash`` when it is installed (it is a dependency; a frozen
    bundle may lack its platform module), else None."""
    try:
        module = importlib.import_module("send2trash")
    except ImportError:
        return None
    send: Callable[[Path], None] = module.send2trash
    return send
