"""BlobSync's error types: each carries a title and one human sentence.

Fatal errors (:class:`FatalError` subclasses) stop a run; per-item errors
(:class:`ItemError`) become issues and the run goes on. Only
``remote/azure/errors.py`` converts Azure SDK exceptions and ``local/fs.py`` converts
``OSError`` into these; everything else raises and catches these types only.
"""

from __future__ import annotations

import enum

from .models import IssueKind


class BlobSyncError(Exception):
    """Base of every error BlobSync raises on purpose."""

    title = "BlobSync error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


# ---- fatal: stop the run ---------------------------------------------------------


class FatalError(BlobSyncError):
    """Stops the run. ``exit_code`` is what the CLI returns."""

    exit_code = 2


class ConfigError(FatalError):
    """Usage or configuration is wrong (bad container name, missing folder, no credentials)."""

    title = "Configuration error"
    exit_code = 2


class FolderMissing(ConfigError):
    """The pair's local folder is not there (moved, deleted, or a drive not mounted):
    nothing is synced until it is back or the pair points elsewhere."""

    title = "Folder missing"

    def __init__(self, local_root: str, message: str = "") -> None:
        self.local_root = local_root
        super().__init__(
            message or f"The folder {local_root} does not exist (moved, or a drive unmounted?)."
        )


class SafetyReason(enum.StrEnum):
    """Which safety valve stopped a run."""

    FOLDER_EMPTIED = "folder_emptied"  # the folder is empty, files were synced from it
    CONTAINER_GONE = "container_gone"  # the container vanished after files were synced
    CONTAINER_EMPTIED = "container_emptied"  # the container is empty, files were synced to it
    MASS_DELETE = "mass_delete"  # the run would delete most synced files


#: How many of the paths a stopped run would have deleted a :class:`SafetyStop` carries
#: (sorted; the rest are only counted).
SAFETY_SAMPLE = 1000


class SafetyStop(FatalError):
    """A safety valve refused to go on; nothing was deleted.

    Carries its facts so that each client phrases its own remedy (the CLI names a flag,
    the app opens a deletion review): ``reason``; ``tracked`` (files synced before);
    ``deletes`` (what the run would delete, ``deletes_local`` in the folder and
    ``deletes_remote`` in the container); ``nbytes`` (their size); ``paths`` (the first
    :data:`SAFETY_SAMPLE` of them, sorted); and where (``local_root``, ``container``).
    """

    title = "Sync stopped for safety"
    exit_code = 2

    def __init__(
        self,
        reason: SafetyReason,
        *,
        tracked: int,
        deletes: int = 0,
        local_root: str = "",
        container: str = "",
        deletes_local: int = 0,
        deletes_remote: int = 0,
        nbytes: int = 0,
        paths: tuple[str, ...] = (),
    ) -> None:
        self.reason = reason
        self.tracked = tracked
        self.deletes = deletes
        self.local_root = local_root
        self.container = container
        self.deletes_local = deletes_local
        self.deletes_remote = deletes_remote
        self.nbytes = nbytes
        self.paths = paths
        files = f"{tracked} file{'s' if tracked != 1 else ''}"
        if reason is SafetyReason.FOLDER_EMPTIED:
            message = (
                f"The folder {local_root} is empty but {files} were synced from it before; "
                "nothing was deleted."
            )
        elif reason is SafetyReason.CONTAINER_GONE:
            message = (
                f"The container '{container}' no longer exists although {files} were synced "
                "to it; nothing was deleted."
            )
        elif reason is SafetyReason.CONTAINER_EMPTIED:
            message = (
                f"The container '{container}' is empty but {files} were synced to it "
                "before; nothing was deleted."
            )
        else:
            message = f"This sync would delete {deletes} of {files} synced; nothing was deleted."
        super().__init__(message)


class AuthError(FatalError):
    """The service refused our credentials (wrong key, expired SAS, missing permission)."""

    title = "Authentication failed"
    exit_code = 3


class ConnectionFailure(FatalError):
    """The service could not be reached (network down, DNS, refused, timeouts)."""

    title = "Connection failed"
    exit_code = 3


class ContainerNotFound(FatalError):
    """The container does not exist (and we were not allowed to create it)."""

    title = "Container not found"
    exit_code = 2


class ListingError(FatalError):
    """A listing failed part-way; nothing may be inferred from it."""

    title = "Listing failed"
    exit_code = 3


class Cancelled(FatalError):
    """The user cancelled the run."""

    title = "Cancelled"
    exit_code = 1


# ---- per item: become issues -------------------------------------------------------


class ItemError(BlobSyncError):
    """A problem with one item; becomes an :class:`~blobsync.core.models.Issue`."""

    kind: IssueKind = IssueKind.IO_ERROR
    retryable = True

    def __init__(self, message: str, kind: IssueKind | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class PreconditionFailed(ItemError):
    """A conditional write/read lost the race: the blob is not what we last saw (409/412)."""

    kind = IssueKind.CONCURRENT_CHANGE


class BlobNotFound(ItemError):
    """The blob is gone (404)."""

    kind = IssueKind.VANISHED


class RemoteItemError(ItemError):
    """The service refused or failed this one item after retries."""

    kind = IssueKind.REMOTE_ERROR
