"""The change beacon, engine side: after a run that changed the container, tell the other
machines by rewriting one tiny blob (``.blobsync/beacon`` relative to the pair's root).

Machines watching the pair (:mod:`blobsync.core.app.beacon`) read the beacon every few
seconds with a conditional request; a new ETag makes them sync at once instead of at
their next full check. The beacon carries no user data (a format version, a random
writer token, a time): what matters is that its ETag changes.

- Only a run that wrote to the container writes the beacon, once, at its end: a
  no-change run sends no write at all.
- The write is conditional like every other write: pinned to the beacon's ETag in this
  run's own listing (the engine notes it while merging; no extra request). If someone
  else wrote it since, their changes may have come after our listing: the report says
  ``raced`` so the live loop syncs again, and the write is retried against the current
  ETag (a few times, then left to them: they have just announced a change anyway).
- A missing or garbled beacon is simply written afresh; a refusal (credentials that
  may not write it) or any other failure never fails the run: it is reported, and the
  other machines see the changes at their next full check.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass

from ..errors import AuthError, AuthReason, BlobSyncError, PreconditionFailed
from ..models import Action, ActionKind, SyncResult
from ..remote.base import RemoteStore

log = logging.getLogger(__name__)

BEACON_FORMAT = 1
WRITE_TRIES = 3

#: Refusals that mean "these credentials may not do this to the beacon", as opposed to
#: credentials that no longer work at all (expired, wrong key), which the run says itself.
_PERMISSION_REASONS = frozenset(
    {
        AuthReason.REFUSED,
        AuthReason.SAS_REFUSED,
        AuthReason.PERMISSION_MISSING,
        AuthReason.ROLE_MISSING,
    }
)


def is_permission_refusal(error: BlobSyncError) -> bool:
    """True when ``error`` says the credentials lack a permission (a SAS without read or
    write, an Entra ID role without it), not that they stopped working."""
    return isinstance(error, AuthError) and error.reason in _PERMISSION_REASONS


@dataclass(frozen=True, slots=True)
class BeaconReport:
    """What one run saw of the pair's change beacon and did to it; handed to
    ``SyncEngine.on_beacon`` at the end of every run that got as far as transferring."""

    listed: str | None  # the beacon's ETag in this run's listing (None: there was none)
    changed_container: bool = False  # the run wrote to the container
    picked_up: bool = False  # the run applied changes made elsewhere to the folder
    written: str | None = None  # the ETag our beacon write left (None: not written)
    raced: bool = False  # someone else wrote the beacon after our listing
    refused: bool = False  # these credentials may not write the beacon
    failure: str | None = None  # why the write failed otherwise (one sentence)


def beacon_body(writer: str, now: float | None = None) -> bytes:
    """The beacon's content: small, versioned, no user data."""
    at = time.time() if now is None else now
    return json.dumps(
        {"v": BEACON_FORMAT, "by": writer, "at": round(at, 3)}, separators=(",", ":")
    ).encode("ascii")


def parse_beacon(body: bytes) -> str | None:
    """The writer token of a beacon BlobSync wrote, or None if ``body`` is not one
    (garbled, empty, a newer format)."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("v") != BEACON_FORMAT:
        return None
    writer = data.get("by")
    return writer if isinstance(writer, str) else None


def new_writer_token() -> str:
    """A random token naming one engine's beacon writes (no host or user name)."""
    return secrets.token_hex(8)


def run_effects(actions: list[Action], result: SyncResult) -> tuple[bool, bool]:
    """(wrote to the container, applied changes made elsewhere) for a finished run.

    Counts from the result, with the planned moves to tell which side a rename was
    on; a conflict both downloads theirs and uploads our copy. Erring towards "wrote"
    costs the other machines one no-change sync, never a missed change.
    """
    moved_remote = moved_local = False
    if result.moved:
        kinds = {a.kind for a in actions}
        moved_remote = ActionKind.MOVE_REMOTE in kinds
        moved_local = ActionKind.MOVE_LOCAL in kinds
    wrote = bool(result.uploaded or result.deleted_remote or result.conflicts or moved_remote)
    picked = bool(result.downloaded or result.deleted_local or moved_local)
    return wrote, picked


def announce(
    store: RemoteStore, listed: str | None, writer: str, *, tries: int = WRITE_TRIES
) -> BeaconReport:
    """Write the beacon, pinned to the ETag the run's listing showed (``None``: create
    it). Never raises: every outcome is in the report."""
    if_match = listed
    raced = False
    try:
        for _ in range(tries):
            try:
                etag = store.write_beacon(beacon_body(writer), if_match)
            except PreconditionFailed:
                raced = True  # written (or created, or deleted) by someone else meanwhile
                if_match = store.read_beacon(None).etag
                continue
            return BeaconReport(listed, True, written=etag, raced=raced)
    except BlobSyncError as exc:
        if is_permission_refusal(exc):
            log.info("may not write the change beacon: %s", exc.message)
            return BeaconReport(listed, True, raced=raced, refused=True, failure=exc.message)
        log.info("writing the change beacon failed: %s", exc.message)
        return BeaconReport(listed, True, raced=raced, failure=exc.message)
    return BeaconReport(listed, True, raced=True)
