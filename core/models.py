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


class AccessTier(enum.StrEnum):
    """A block blob's access tier (``x-ms-access-tier``). Archive blobs cannot be read
    or overwritten until rehydrated to an online tier (Azure: "Blob rehydration from
    the archive tier")."""

    HOT = "Hot"
    COOL = "Cool"
    COLD = "Cold"
    ARCHIVE = "Archive"

    @classmethod
    def parse(cls, text: str | None) -> AccessTier | None:
        """The tier named by the service (any case), or None (premium tiers, absent)."""
        if not text:
            return None
        for tier in cls:
            if tier.value.lower() == text.strip().lower():
                return tier
        return None


#: The tiers a blob can be rehydrated to.
ONLINE_TIERS = (AccessTier.HOT, AccessTier.COOL, AccessTier.COLD)


class RehydratePriority(enum.StrEnum):
    """How fast Azure brings a blob back from Archive: Standard takes up to 15 hours,
    High usually under one hour for blobs under 10 GB (and costs more)."""

    STANDARD = "Standard"
    HIGH = "High"


class Permission(enum.StrEnum):
    """What BlobSync needs to do in a container (checked by the permission probe)."""

    LIST = "list"
    READ = "read"
    WRITE = "write"
    DELETE = "delete"


class RemoteDeletePolicy(enum.StrEnum):
    """What a run does with a planned deletion of a blob."""

    APPLY = "apply"  # delete it (conditionally), as planned
    #: Keep the blob and raise a DELETE_NOT_PERMITTED issue instead (an account that may
    #: not delete): chosen before the first sync, from the permission probe.
    KEEP_AS_ISSUES = "keep_as_issues"


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
    tier: AccessTier | None = None  # None when the listing did not say (or premium)
    #: The online tier an archived blob is being rehydrated to (ArchiveStatus
    #: ``rehydrate-pending-to-hot`` ...); the blob stays unreadable until it is done.
    rehydrating_to: AccessTier | None = None

    @property
    def archived(self) -> bool:
        """True if the blob's content cannot be read or replaced now (Archive tier,
        rehydrating or not)."""
        return self.tier is AccessTier.ARCHIVE or self.rehydrating_to is not None

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
    #: The blob is archived: what would have been done (``Action.held``) waits until it
    #: is rehydrated; a state shown once, not an issue raised every run.
    ARCHIVED = "archived"


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
    held: ActionKind | None = None  # ARCHIVED: the action held back until rehydrated


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
    ARCHIVED = "archived"  # archived between listing and transfer
    DELETE_NOT_PERMITTED = "delete_not_permitted"  # the account may not delete: blob kept
    MOVED_OUT_OF_SYNC = "moved_out_of_sync"  # moved into an excluded place: remote copy kept
    IGNORE_FILE = "ignore_file"  # the folder's .blobsyncignore could not be used (in part)


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
    IssueKind.ARCHIVED: "Archived in the container — not synced",
    IssueKind.DELETE_NOT_PERMITTED: "Not deleted in the container (no delete permission)",
    IssueKind.MOVED_OUT_OF_SYNC: "Moved to a place that is not synced; the container's copy was kept",
    IssueKind.IGNORE_FILE: "Problem in the ignore file",
}


@dataclass(frozen=True, slots=True)
class Issue:
    """A per-item problem: shown to the user, kept in the state DB, retried next run."""

    rel_path: str
    kind: IssueKind
    message: str  # one human sentence
    retryable: bool = True
    #: Conflicts: rel_path of the copy we made. MOVED_OUT_OF_SYNC: where the file now is
    #: (an excluded place in the folder).
    conflict_copy: str | None = None

    def describe(self) -> str:
        """The reason in words, for lists."""
        return ISSUE_WORDS[self.kind]


@dataclass(frozen=True, slots=True)
class ArchivedBlob:
    """A blob that is archived in the container and therefore not synced: shown as a
    state ("archived in the container — not synced"), announced once when first seen.

    ``held`` is what the run would otherwise have done (download, upload over it,
    delete it, keep both); ``rehydrating_to`` is set while a rehydration is pending.
    """

    rel_path: str
    held: ActionKind
    rehydrating_to: AccessTier | None = None
    size: int = 0


class ExcludedBy(enum.StrEnum):
    """Which rule kept an item out of the sync (see :mod:`blobsync.core.filters`)."""

    FOLDER = "folder"  # selective sync: an excluded folder
    DEFAULTS = "defaults"  # the built-in list of OS and editor junk
    IGNORE_FILE = "ignore_file"  # a line of the folder's .blobsyncignore
    PATTERN = "pattern"  # a pattern kept in the pair's settings


@dataclass(slots=True)
class ExclusionCounts:
    """How many items each rule kept out of one run, on either side.

    An item is a file or blob, or a whole folder when the folder itself is excluded
    (its contents are not counted one by one: a local folder that is excluded is not
    even entered). ``by_pattern`` counts per deciding pattern line (for folders of
    selective sync: the folder's path with a trailing slash).
    """

    folder: int = 0
    defaults: int = 0
    ignore_file: int = 0
    pattern: int = 0
    by_pattern: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.folder + self.defaults + self.ignore_file + self.pattern

    def add(self, by: ExcludedBy, pattern: str) -> None:
        """Count one more item kept out by ``by`` (deciding ``pattern``)."""
        setattr(self, by.value, getattr(self, by.value) + 1)
        self.by_pattern[pattern] = self.by_pattern.get(pattern, 0) + 1


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
    #: Of those, bytes a resumed download found already in its partial file.
    bytes_resumed: int = 0
    container_created: bool = False
    dry_run: bool = False
    cancelled: bool = False
    duration_s: float = 0.0
    issues: list[Issue] = field(default_factory=list)
    planned: list[Action] = field(default_factory=list)  # filled on dry runs
    #: Archived blobs not synced this run (a state, not issues: ``in_sync`` ignores them).
    archived: list[ArchivedBlob] = field(default_factory=list)
    archived_new: int = 0  # how many of them were first seen in this run
    #: What the filter rules kept out of this run (dry runs too).
    excluded: ExclusionCounts = field(default_factory=ExclusionCounts)
    #: The folder's .blobsyncignore changed during this run (downloaded, or edited while
    #: it ran): its rules apply from the next run, which the client may start at once.
    ignore_file_changed: bool = False
    run_id: str = ""  # the history's id of this run ("" on dry runs)
    kept_local: int = 0  # versions kept in the local bin (deleted or replaced here)
    kept_remote: int = 0  # versions kept in the container's bin
    #: A targeted run (the change beacon's hint): the only top-level folders it looked
    #: at; None: a full run. A targeted run never says the whole pair is in sync.
    scope: frozenset[str] | None = None

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
