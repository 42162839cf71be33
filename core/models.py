"""Plain data the engine passes around: entries on each side, snapshot rows, actions, issues.

Identity of an item is its relative POSIX path, which is also its blob name
(``rel_path``). Versions: size + mtime + MD5 locally, ETag (+ Content-MD5) remotely.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class SyncMode(enum.StrEnum):
    """Which way changes flow."""

    TWO_WAY = "two-way"
    UPLOAD = "upload"  # the container mirrors the folder
    DOWNLOAD = "download"  # the folder mirrors the container


@dataclass(frozen=True, slots=True)
class LocalEntry:
    """A regular file found by the local scan."""

    rel_path: str
    size: int
    mtime_ns: int
    inode: int = 0
    md5: bytes | None = None  # filled only when the engine needed it


@dataclass(frozen=True, slots=True)
class Writer:
    """Which BlobSync installation wrote a blob: a machine name the user sees (the host
    name by default) and a random installation id that tells two machines of the same
    name apart. Blobs written by other tools have none ("changed by another app")."""

    machine: str
    installation_id: str = ""

    def describe(self) -> str:
        """``laptop-2``, for "changed on laptop-2"."""
        return self.machine or self.installation_id[:8] or "another BlobSync"


class ConflictRule(enum.StrEnum):
    """A pair's default for both-sides-changed items. Every loser goes to a bin."""

    KEEP_BOTH = "keep_both"  # theirs keeps the name, ours becomes a conflict copy
    NEWER_WINS = "newer_wins"  # by modification time; a tie or an unknown time keeps both
    MINE_WINS = "mine_wins"
    THEIRS_WINS = "theirs_wins"


class BinReason(enum.StrEnum):
    """Why a version went to a recycle bin (either side)."""

    DELETED = "deleted"
    REPLACED = "replaced"


@dataclass(frozen=True, slots=True)
class RemoteEntry:
    """A blob found by the remote listing."""

    rel_path: str  # == blob name
    size: int
    etag: str
    md5: bytes | None = None  # Content-MD5, when the blob has one
    mtime_ns: int | None = None  # from metadata "mtime" (RFC 3339), when present
    #: From BlobSync's writer metadata; None for blobs other tools wrote. Never part of
    #: the version: a blob whose only change is its writer is not a change.
    writer: Writer | None = None


@dataclass(frozen=True, slots=True)
class SnapshotEntry:
    """The last state both sides agreed on for one item."""

    rel_path: str
    size: int
    mtime_ns: int  # local mtime after the last sync
    md5: bytes
    etag: str  # remote ETag after the last sync


class ActionKind(enum.StrEnum):
    """What the executor does for one item."""

    UPLOAD = "upload"
    DOWNLOAD = "download"
    DELETE_REMOTE = "delete_remote"
    DELETE_LOCAL = "delete_local"
    CONFLICT = "conflict"  # keep both: ours goes to a conflict copy, theirs keeps the name
    MOVE_REMOTE = "move_remote"  # a local rename: server-side copy + conditional delete
    MOVE_LOCAL = "move_local"  # a remote rename: local rename instead of a download
    RECORD = "record"  # both sides already agree: only the snapshot changes
    FORGET = "forget"  # gone on both sides: drop the snapshot row
    ISSUE = "issue"  # nothing can be done automatically: report it


@dataclass(frozen=True, slots=True)
class Action:
    """One planned step for one item.

    ``if_match`` is the ETag a remote write/delete/download is pinned to; ``None`` on an
    upload means create-only (``If-None-Match: *``).
    """

    kind: ActionKind
    rel_path: str
    local: LocalEntry | None = None
    remote: RemoteEntry | None = None
    snapshot: SnapshotEntry | None = None
    if_match: str | None = None
    issue: Issue | None = None


class IssueKind(enum.StrEnum):
    """Why an item was skipped or needs the user; the GUI shows ``describe()``."""

    CONCURRENT_CHANGE = "concurrent_change"  # lost an optimistic-concurrency race
    CONFLICT = "conflict"  # both sides changed; both copies kept
    PERMISSION_DENIED = "permission_denied"
    NAME_NOT_ALLOWED = "name_not_allowed"
    NAME_COLLISION = "name_collision"  # differs from another only by case / normalization
    SYMLINK = "symlink"
    FILE_CHANGED = "file_changed"  # changed while we were reading or about to replace it
    VANISHED = "vanished"
    UNREADABLE = "unreadable"
    DISK_FULL = "disk_full"
    IO_ERROR = "io_error"
    REMOTE_ERROR = "remote_error"
    TOO_LARGE = "too_large"


ISSUE_WORDS: dict[IssueKind, str] = {
    IssueKind.CONCURRENT_CHANGE: "Changed on another machine since we looked",
    IssueKind.CONFLICT: "Both sides changed; both copies kept",
    IssueKind.PERMISSION_DENIED: "Permission denied",
    IssueKind.NAME_NOT_ALLOWED: "Name not allowed",
    IssueKind.NAME_COLLISION: "Name differs from another only by case or accents",
    IssueKind.SYMLINK: "Symbolic link (not followed)",
    IssueKind.FILE_CHANGED: "File changed while it was being synced",
    IssueKind.VANISHED: "File disappeared while it was being synced",
    IssueKind.UNREADABLE: "Cannot be read",
    IssueKind.DISK_FULL: "Disk full",
    IssueKind.IO_ERROR: "Local file error",
    IssueKind.REMOTE_ERROR: "Storage service error",
    IssueKind.TOO_LARGE: "File too large for a blob",
}


@dataclass(frozen=True, slots=True)
class Issue:
    """A per-item problem: shown to the user, kept in the state DB, retried next run."""

    rel_path: str
    kind: IssueKind
    message: str  # one human sentence
    retryable: bool = True
    conflict_copy: str | None = None  # rel_path of the copy we made, for conflicts

    def describe(self) -> str:
        """The reason in words, for lists."""
        return ISSUE_WORDS[self.kind]


@dataclass(slots=True)
class SyncResult:
    """What one run did; the CLI prints it (``--json``), the GUI shows it."""

    uploaded: int = 0
    downloaded: int = 0
    deleted_local: int = 0
    deleted_remote: int = 0
    conflicts: int = 0
    skipped: int = 0
    recorded: int = 0
    moved: int = 0  # renames done without a transfer (either side)
    bytes_uploaded: int = 0
    bytes_downloaded: int = 0
    container_created: bool = False
    dry_run: bool = False
    cancelled: bool = False
    duration_s: float = 0.0
    issues: list[Issue] = field(default_factory=list)
    planned: list[Action] = field(default_factory=list)  # filled on dry runs
    run_id: str = ""  # the history's id of this run ("" on dry runs)
    kept_local: int = 0  # versions kept in the local bin (deleted or replaced here)
    kept_remote: int = 0  # versions kept in the container's bin

    @property
    def writes(self) -> int:
        """Number of writes on either side (a no-change run has zero)."""
        return (
            self.uploaded
            + self.downloaded
            + self.deleted_local
            + self.deleted_remote
            + self.conflicts
            + self.moved
        )

    @property
    def in_sync(self) -> bool:
        """True when nothing was skipped and no conflict is pending."""
        return not self.issues and not self.cancelled
