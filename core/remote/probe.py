"""Which permissions the credentials have in one container: list, read, write, delete.

Only container- and blob-level requests, never an account-level call (a container SAS
cannot list containers, so asking the account says nothing about the container). The
probe blob lives in BlobSync's reserved space (``.blobsync/``, never synced), and is
removed again. Each permission is tested on its own, so one missing permission does not
hide another:

1. **list**: the first page of List Blobs (also tells a missing container);
2. **read**: Get Blob Properties of the probe name (absent: 404 when allowed);
3. **delete**: a conditional delete of the absent probe name (412/404 when allowed,
   403 when not; Azure and Azurite check authorization before the condition);
4. **write**: when delete is allowed, create the probe blob, overwrite it (If-Match: a
   SAS with 'c' but not 'w' may create but not update), read it back, delete it. When
   delete is not allowed nothing is created (it could not be removed): a conditional
   write with an ETag that cannot match (412 when allowed, 403 when not).

A refusal counts as a missing permission only when the service says the operation is
not allowed (``AuthReason.PERMISSION_MISSING`` / ``ROLE_MISSING``); any other refusal
(wrong key, expired SAS, not signed in) is raised: the credentials themselves are bad.
"""

from __future__ import annotations

import hashlib
import io
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import (
    AuthError,
    AuthReason,
    BlobNotFound,
    BlobSyncError,
    ContainerNotFound,
    PreconditionFailed,
)
from ..models import Permission, RemoteDeletePolicy, SyncMode
from ..names import RESERVED_DIR
from .base import RemoteStore

#: An ETag no blob has: conditional requests with it test authorization only.
_NO_SUCH_ETAG = '"0x0"'
_PROBE_BODY = b"BlobSync permission check; safe to delete.\n"
_DENIED = (AuthReason.PERMISSION_MISSING, AuthReason.ROLE_MISSING)

#: What each mode needs (plus DELETE, unless deletions are kept as issues).
_NEEDS: dict[SyncMode, frozenset[Permission]] = {
    SyncMode.TWO_WAY: frozenset({Permission.LIST, Permission.READ, Permission.WRITE}),
    SyncMode.UPLOAD: frozenset({Permission.LIST, Permission.WRITE}),
    SyncMode.DOWNLOAD: frozenset({Permission.LIST, Permission.READ}),
}


@dataclass(frozen=True, slots=True)
class PermissionReport:
    """What the probe found for one container.

    ``missing`` is empty when everything BlobSync needs is allowed. When the container
    does not exist, nothing could be probed (``container_exists`` False, ``missing``
    empty). ``leftover`` names a probe blob that could not be removed (a write that
    worked and a delete that failed on the way), in the reserved space.
    """

    container: str
    container_exists: bool
    missing: frozenset[Permission] = frozenset()
    leftover: str | None = None
    #: Signed in with Entra ID: the Azure role that would grant what is missing.
    role: str | None = None

    @property
    def ok(self) -> bool:
        """True if the container exists and every permission is there."""
        return self.container_exists and not self.missing

    def allows(self, permission: Permission) -> bool:
        return self.container_exists and permission not in self.missing

    def delete_policy(self) -> RemoteDeletePolicy:
        """The policy a pair on this container should run with."""
        if self.allows(Permission.DELETE):
            return RemoteDeletePolicy.APPLY
        return RemoteDeletePolicy.KEEP_AS_ISSUES

    def supports(self, mode: SyncMode) -> bool:
        """True if ``mode`` can run here (deletions kept as issues if delete is missing)."""
        return self.container_exists and not (_NEEDS[mode] & self.missing)

    def describe(self) -> str:
        """One sentence for the user (clients may phrase their own from the fields)."""
        if not self.container_exists:
            return f"The container '{self.container}' does not exist yet."
        if not self.missing:
            return (
                f"Everything needed is allowed in '{self.container}' (list, read, write, delete)."
            )
        names = [p.value for p in Permission if p in self.missing]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        usable = [m.value for m in SyncMode if self.supports(m)]
        tail = (
            f"; it can still sync as {' or '.join(usable)}"
            + (" with deletions kept as issues" if Permission.DELETE in self.missing else "")
            if usable
            else "; it cannot sync this container"
        )
        if self.role:
            return (
                f"Signed in, but without the role {self.role} you may not {listed} in "
                f"'{self.container}'{tail}."
            )
        return f"These credentials may not {listed} in '{self.container}'{tail}."


def probe_permissions(store: RemoteStore) -> PermissionReport:
    """Probe list, read, write and delete in ``store``'s container (see the module doc).

    Raises AuthError when the credentials are refused outright (SignInExpired for an
    expired SAS or sign-in), ConnectionFailure / ListingError when the service cannot
    be reached.
    """
    name = f"{RESERVED_DIR}/permission-check-{uuid.uuid4().hex}"
    missing: set[Permission] = set()
    roles: set[str] = set()
    try:
        if not _allowed(lambda: next(iter(store.list_blobs()), None), roles):
            missing.add(Permission.LIST)
    except ContainerNotFound:
        return PermissionReport(store.container, False)
    if not _allowed(lambda: store.get_entry(name), roles):
        missing.add(Permission.READ)
    if not _allowed(lambda: _expect_refusal(lambda: store.delete(name, _NO_SUCH_ETAG)), roles):
        missing.add(Permission.DELETE)
    leftover: str | None = None
    if Permission.DELETE in missing:
        body = io.BytesIO(_PROBE_BODY)
        if not _allowed(
            lambda: _expect_refusal(
                lambda: store.upload(name, body, len(_PROBE_BODY), _MD5, 0, _NO_SUCH_ETAG)
            ),
            roles,
        ):
            missing.add(Permission.WRITE)
    else:
        writable, leftover = _write_read_delete(store, name, Permission.READ not in missing, roles)
        if not writable:
            missing.add(Permission.WRITE)
    role = next(iter(sorted(roles)), None) if missing else None
    return PermissionReport(store.container, True, frozenset(missing), leftover, role)


_MD5 = hashlib.md5(_PROBE_BODY).digest()


def _write_read_delete(
    store: RemoteStore, name: str, can_read: bool, roles: set[str]
) -> tuple[bool, str | None]:
    """Create, overwrite, read back and delete the probe blob. Returns (write allowed,
    name of a blob left behind or None)."""

    def put(if_match: str | None) -> str:
        body = io.BytesIO(_PROBE_BODY)
        return store.upload(name, body, len(_PROBE_BODY), _MD5, time.time_ns(), if_match).etag

    try:
        etag = put(None)
    except AuthError as exc:
        if exc.reason not in _DENIED:
            raise
        if exc.role:
            roles.add(exc.role)
        return False, None
    writable = True
    leftover: str | None = name
    try:
        try:
            etag = put(etag)
        except AuthError as exc:
            if exc.reason not in _DENIED:
                raise
            if exc.role:
                roles.add(exc.role)
            writable = False  # may create, but not update: not enough to sync
        if can_read:
            store.download(name, etag, io.BytesIO())
    finally:
        try:
            store.delete(name, etag)
            leftover = None
        except BlobNotFound:
            leftover = None
        except BlobSyncError:
            pass  # reported as ``leftover``; the probe's answer stands
    return writable, leftover


def _expect_refusal(call: Callable[[], object]) -> None:
    """Run a request that cannot succeed when allowed (absent blob, impossible ETag):
    its 404/412 means "allowed"."""
    try:
        call()
    except (BlobNotFound, PreconditionFailed):
        return


def _allowed(call: Callable[[], object], roles: set[str]) -> bool:
    """True if ``call`` was allowed; False on a permission refusal (the role a signed-in
    user lacks goes to ``roles``); other errors raise."""
    try:
        call()
    except AuthError as exc:
        if exc.reason in _DENIED:
            if exc.role:
                roles.add(exc.role)
            return False
        raise
    return True
