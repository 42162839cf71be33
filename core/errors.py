"""BlobSync's error types: each carries a title and one human sentence.

Fatal errors (:class:`FatalError` subclasses) stop a run; per-item errors
(:class:`ItemError`) become issues and the run goes on. Only
``remote/azure/errors.py`` converts Azure SDK exceptions and ``local/fs.py`` converts
``OSError`` into these; everything else raises and catches these types only.
"""

from __future__ import annotations

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


class SafetyStop(FatalError):
    """A safety valve refused to go on (mass delete, empty root)."""

    title = "Sync stopped for safety"
    exit_code = 2


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
