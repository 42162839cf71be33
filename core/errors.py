"""BlobSync's error types: each carries a title and one human sentence.

Fatal errors (:class:`FatalError` subclasses) stop a run; per-item errors
(:class:`ItemError`) become issues and the run goes on. Only
``remote/azure/errors.py`` converts Azure SDK exceptions and ``local/fs.py`` converts
``OSError`` into these; everything else raises and catches these types only.
"""

from __future__ import annotations

import datetime as dt
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


class LinkNotPossible(ConfigError):
    """A share link cannot be made with these credentials (a SAS cannot sign another
    SAS), or not for this item (not synced, reserved, validity out of range)."""

    title = "Cannot create a link"


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
        were = "were" if tracked != 1 else "was"
        if reason is SafetyReason.FOLDER_EMPTIED:
            message = (
                f"The folder {local_root} is empty but {files} {were} synced from it before; "
                "nothing was deleted."
            )
        elif reason is SafetyReason.CONTAINER_GONE:
            message = (
                f"The container '{container}' no longer exists although {files} {were} "
                "synced to it; nothing was deleted."
            )
        elif reason is SafetyReason.CONTAINER_EMPTIED:
            message = (
                f"The container '{container}' is empty but {files} {were} synced to "
                "it before; nothing was deleted."
            )
        else:
            message = f"This sync would delete {deletes} of {files} synced; nothing was deleted."
        super().__init__(message)


class AuthReason(enum.StrEnum):
    """Why the service (or we, before asking it) refused the credentials."""

    REFUSED = "refused"  # no better reason known
    BAD_KEY = "bad_key"  # the account key is wrong
    MALFORMED_KEY = "malformed_key"  # not a base64 key: nothing was sent
    SAS_REFUSED = "sas_refused"  # wrong signature, revoked, or a permission it lacks
    SAS_EXPIRED = "sas_expired"  # see SignInExpired
    SAS_NOT_YET_VALID = "sas_not_yet_valid"  # its start time is ahead
    PERMISSION_MISSING = "permission_missing"  # authenticated, but this operation is not allowed
    ROLE_MISSING = "role_missing"  # signed in with Entra ID, but no data role on the container
    SIGN_IN_REQUIRED = "sign_in_required"  # Entra ID: no token (not signed in, or it lapsed)
    KEY_AUTH_DISABLED = "key_auth_disabled"  # the account allows Entra ID only
    NETWORK_RULE = "network_rule"  # AuthorizationFailure: firewall, private endpoint, policy


#: The Azure role that lets a signed-in user read, write and delete blobs (and sign
#: user-delegation links): https://learn.microsoft.com/azure/storage/blobs/assign-azure-role-data-access
CONTRIBUTOR_ROLE = "Storage Blob Data Contributor"


class AuthError(FatalError):
    """The service refused our credentials (wrong key, expired SAS, missing permission).

    ``reason`` says why, for clients that phrase their own remedy; ``role`` names the
    Azure role a signed-in user lacks (ROLE_MISSING).
    """

    title = "Authentication failed"
    exit_code = 3

    def __init__(
        self, message: str, reason: AuthReason = AuthReason.REFUSED, *, role: str | None = None
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.role = role


class SignInExpired(AuthError):
    """The credentials' validity ended: a SAS past its ``se`` (detected locally or
    answered by the service), or an Entra ID sign-in that can no longer be renewed
    silently. Not a connection failure: the remedy is a new SAS or a new sign-in."""

    title = "Sign-in expired"
    exit_code = 3

    def __init__(
        self,
        message: str,
        reason: AuthReason = AuthReason.SAS_EXPIRED,
        *,
        expired_at: dt.datetime | None = None,
    ) -> None:
        super().__init__(message, reason)
        self.expired_at = expired_at


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


class BlobArchived(ItemError):
    """The blob is in the Archive tier (409 BlobArchived): it cannot be read or
    overwritten until it is rehydrated. Normally the listing shows this first and the
    planner never tries; this is for a blob archived between listing and transfer."""

    kind = IssueKind.ARCHIVED
