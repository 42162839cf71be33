"""The engine facade: the one object the CLI and the GUI drive.

``SyncEngine(local_root, store, state_path, events).sync(options, cancel)`` runs one
full-enumeration sync: scan the folder, list the container, compare both with the
snapshot, plan (pure, :mod:`.planner`), apply (:mod:`.executor`). It raises only
:class:`~blobsync.core.errors.FatalError` subclasses; per-item problems become issues
(returned in the result, kept in the state DB, retried next run). Events go to the
``events`` callable, possibly from worker threads.
"""

from __future__ import annotations

import enum
import socket
from dataclasses import dataclass, field
from pathlib import Path

from .events import EventSink, ignore_event
from .models import Issue, SyncMode, SyncResult
from .remote.base import CancelToken, RemoteStore


@dataclass
class SyncOptions:
    """How one run behaves."""

    mode: SyncMode = SyncMode.TWO_WAY
    dry_run: bool = False
    allow_mass_delete: bool = False
    workers: int = 8
    hostname: str = field(default_factory=socket.gethostname)


class Resolution(enum.StrEnum):
    """What the user chose for a pending issue."""

    RETRY = "retry"
    KEEP_MINE = "keep_mine"
    TAKE_THEIRS = "take_theirs"
    KEEP_BOTH = "keep_both"


class SyncEngine:
    """One (folder, container) pair."""

    def __init__(
        self,
        local_root: str | Path,
        store: RemoteStore,
        state_path: str | Path,
        events: EventSink = ignore_event,
    ) -> None:
        self.local_root = Path(local_root)
        self.store = store
        self.state_path = Path(state_path)
        self.events = events

    def sync(self, options: SyncOptions | None = None, cancel: CancelToken | None = None) -> SyncResult:
        """Run one sync. Raises FatalError subclasses only."""
        raise NotImplementedError

    def pending_issues(self) -> list[Issue]:
        """Items skipped or in conflict, as last recorded."""
        raise NotImplementedError

    def resolve(self, rel_path: str, resolution: Resolution) -> None:
        """Apply the user's choice for one pending item. Raises ItemError / FatalError."""
        raise NotImplementedError

    def last_sync_time(self) -> float | None:
        """When the last run finished with everything in sync (epoch seconds)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the database and the store's connections."""
        raise NotImplementedError
