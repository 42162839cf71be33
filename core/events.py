"""Typed events from the engine to its clients (CLI progress bar, GUI bridge).

The engine calls one ``Callable[[Event], None]``; it may be called from worker
threads, so receivers must be thread-safe (the GUI bridge re-emits them as Qt
signals, which queue across threads).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from .models import ActionKind, ArchivedBlob, Issue, SyncResult


class Phase(enum.StrEnum):
    """Where a run is."""

    SCANNING = "scanning"
    LISTING = "listing"
    PLANNING = "planning"
    TRANSFERRING = "transferring"
    FINISHED = "finished"


@dataclass(frozen=True, slots=True)
class SyncStarted:
    local_root: str
    container: str
    mode: str
    dry_run: bool


@dataclass(frozen=True, slots=True)
class PhaseChanged:
    phase: Phase


@dataclass(frozen=True, slots=True)
class ContainerCreated:
    container: str


@dataclass(frozen=True, slots=True)
class PlanReady:
    """Totals of what the run is about to do."""

    uploads: int
    downloads: int
    deletes_local: int
    deletes_remote: int
    conflicts: int
    files_total: int
    bytes_total: int


@dataclass(frozen=True, slots=True)
class ItemStarted:
    rel_path: str
    kind: ActionKind
    size: int


@dataclass(frozen=True, slots=True)
class ItemProgress:
    """Bytes moved so far for one item (throttled by the sender)."""

    rel_path: str
    bytes_done: int
    size: int


@dataclass(frozen=True, slots=True)
class ItemFinished:
    rel_path: str
    kind: ActionKind
    ok: bool


@dataclass(frozen=True, slots=True)
class OverallProgress:
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int


@dataclass(frozen=True, slots=True)
class IssueRaised:
    issue: Issue


@dataclass(frozen=True, slots=True)
class ArchivedFound:
    """A blob is archived in the container and not synced; sent once, in the run that
    first sees it (``SyncEngine.archived_blobs()`` lists them all)."""

    blob: ArchivedBlob


@dataclass(frozen=True, slots=True)
class SyncFinished:
    result: SyncResult


@dataclass(frozen=True, slots=True)
class SyncFailed:
    """The run stopped on a fatal error; ``message`` is one sentence for the user."""

    title: str
    message: str
    exit_code: int


@dataclass(frozen=True, slots=True)
class WatcherStatus:
    """Whether the folder is watched for changes; ``message`` says why not, in words."""

    watching: bool
    message: str


@dataclass(frozen=True, slots=True)
class PauseChanged:
    paused: bool


class BeaconNotice(enum.StrEnum):
    """What changed about watching a pair's change beacon (told once each time)."""

    WATCHING = "watching"  # reading it works (again): other machines' changes in seconds
    UNREADABLE = "unreadable"  # it cannot be read (permission): full checks only
    NOT_WRITABLE = "not_writable"  # it cannot be written: others see our changes later
    MISSING = "missing"  # it was there and is gone: the next change recreates it
    GARBLED = "garbled"  # it holds something BlobSync did not write: replaced next time


@dataclass(frozen=True, slots=True)
class BeaconStatus:
    """The live loop's word on the change beacon; ``message`` is one sentence."""

    notice: BeaconNotice
    message: str


@dataclass(frozen=True, slots=True)
class FolderStatus:
    """Whether the pair's local folder is there (a moved folder, an unmounted drive);
    ``message`` says what happens meanwhile, in words."""

    present: bool
    message: str


Event = (
    SyncStarted
    | PhaseChanged
    | ContainerCreated
    | PlanReady
    | ItemStarted
    | ItemProgress
    | ItemFinished
    | OverallProgress
    | IssueRaised
    | ArchivedFound
    | SyncFinished
    | SyncFailed
    | WatcherStatus
    | PauseChanged
    | BeaconStatus
    | FolderStatus
)

EventSink = Callable[[Event], None]


def ignore_event(event: Event) -> None:
    """The default sink: drop everything."""
