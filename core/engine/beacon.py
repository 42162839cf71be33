"""The change beacon, engine side: after a run that changed the container, tell the other
machines by rewriting one tiny blob (``.blobsync/beacon`` relative to the pair's root).

Machines watching the pair (:mod:`blobsync.core.app.beacon`) read the beacon every few
seconds with a conditional request; a new ETag makes them sync at once instead of at
their next full check. The beacon carries no file contents (a format version, a random
writer token, a time, and a hint): what matters is that its ETag changes.

The hint (body revision 2) says which top-level folders of the pair the run changed in
the container, so a watching machine can sync just those (a targeted run,
:mod:`.scope`) instead of listing the whole container::

    {"v":1,"by":"<token>","at":<time>,"hint":{"after":"<etag>"|null,"top":["x",""]}}

- ``top``: the first path segment (relative to the pair's root: the store is already
  confined to it, so nothing outside the pair is ever named) of every item the run
  wrote, deleted or moved in the container; ``""`` stands for files at the root
  itself. At most :data:`MAX_HINT_FOLDERS`, and the whole body at most
  :data:`MAX_BODY_BYTES`; a run that changed more, or a run that is not a plain sync
  (a restore or an undo also writes outside its plan), writes no hint: the readers
  then sync everything, as they always did.
- ``after``: the ETag of the beacon this write replaced (null: it created it). A
  reader uses the hint only if that is the ETag it last knew: otherwise it missed a
  write in between (whose hint is gone) and syncs everything.
- ``v`` stays 1: a reader written before the hint existed rejects any other number as
  "garbled" (and says so to the user) but ignores members it does not know, so a
  revision-2 body is still a beacon to it; a revision-1 body (no ``hint``) is "no hint"
  to a new reader. JSON with ``ensure_ascii`` keeps every name an escaped string.

Correctness never depends on the hint: the full check still runs at its interval, and a
hint a reader cannot use in full is ignored in full.

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
from ..names import is_reserved
from ..remote.base import RemoteStore

log = logging.getLogger(__name__)

BEACON_FORMAT = 1
WRITE_TRIES = 3
#: A hint names at most this many top-level folders; a run that changed more writes none.
MAX_HINT_FOLDERS = 16
#: A body with a hint stays this small (well under ``BEACON_MAX_BYTES``, what a reader
#: downloads at most); a longer one is written without its hint.
MAX_BODY_BYTES = 2048
#: Azure's limit on a blob name, in characters: no longer folder name can be real.
_MAX_NAME_CHARS = 1024
_MAX_ETAG_CHARS = 256
#: The actions that write, delete or move something in the container.
_REMOTE_KINDS = frozenset(
    {ActionKind.UPLOAD, ActionKind.DELETE_REMOTE, ActionKind.CONFLICT, ActionKind.MOVE_REMOTE}
)

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


@dataclass(frozen=True, slots=True)
class Hint:
    """Which top-level folders one beacon write says changed, and which beacon it
    replaced (see the module docstring)."""

    folders: frozenset[str]  # "" = files at the root itself
    after: str | None  # the ETag of the beacon the write replaced (None: it created it)


@dataclass(frozen=True, slots=True)
class BeaconBody:
    """A beacon body BlobSync wrote."""

    writer: str
    hint: Hint | None = None  # None: no usable hint (sync everything)


def beacon_body(
    writer: str,
    now: float | None = None,
    *,
    folders: frozenset[str] | None = None,
    after: str | None = None,
) -> bytes:
    """The beacon's content: small, versioned, no file contents; with a hint when
    ``folders`` is given and fits (at most :data:`MAX_HINT_FOLDERS` valid names, at most
    :data:`MAX_BODY_BYTES` in all), otherwise without one."""
    at = time.time() if now is None else now
    data: dict[str, object] = {"v": BEACON_FORMAT, "by": writer, "at": round(at, 3)}
    plain = json.dumps(data, separators=(",", ":")).encode("ascii")
    if (
        folders is None
        or len(folders) > MAX_HINT_FOLDERS
        or not all(valid_top(name) for name in folders)
        or (after is not None and len(after) > _MAX_ETAG_CHARS)
    ):
        return plain
    data["hint"] = {"after": after, "top": sorted(folders)}
    body = json.dumps(data, separators=(",", ":")).encode("ascii")
    return body if len(body) <= MAX_BODY_BYTES else plain


def parse_body(body: bytes) -> BeaconBody | None:
    """A beacon BlobSync wrote, or None if ``body`` is not one (garbled, empty, a newer
    format). A hint that is not exactly what :func:`beacon_body` writes (too many or
    odd names, a long body, wrong types) is dropped as a whole: no hint."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("v") != BEACON_FORMAT:
        return None
    writer = data.get("by")
    if not isinstance(writer, str):
        return None
    return BeaconBody(writer, _hint(data.get("hint")) if len(body) <= MAX_BODY_BYTES else None)


def _hint(raw: object) -> Hint | None:
    if not isinstance(raw, dict):
        return None
    after, top = raw.get("after"), raw.get("top")
    if after is not None and not (isinstance(after, str) and 0 < len(after) <= _MAX_ETAG_CHARS):
        return None
    if not isinstance(top, list) or not top or len(top) > MAX_HINT_FOLDERS:
        return None
    if not all(isinstance(name, str) and valid_top(name) for name in top):
        return None
    folders = frozenset(top)
    if len(folders) != len(top):
        return None  # a name twice: not what we write
    return Hint(folders, after)


def valid_top(name: str) -> bool:
    """True for a name a hint may carry: "" (the root's own files) or one path segment
    that could be a synced folder (no separator, not "." or "..", no control
    characters, not BlobSync's own space, valid UTF-8, within Azure's name length)."""
    if name == "":
        return True
    if len(name) > _MAX_NAME_CHARS or name in (".", "..") or is_reserved(name):
        return False
    if "/" in name or "\\" in name or any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no blob can have that name
        return False
    return True


def top_of(rel_path: str) -> str:
    """The hint's name for a path: its first segment, or "" for a file at the root."""
    head, sep, _rest = rel_path.partition("/")
    return head if sep else ""


def parse_beacon(body: bytes) -> str | None:
    """The writer token of a beacon BlobSync wrote, or None if ``body`` is not one
    (garbled, empty, a newer format)."""
    parsed = parse_body(body)
    return parsed.writer if parsed is not None else None


def changed_folders(actions: list[Action]) -> frozenset[str]:
    """The top-level folders (``""``: the root's files) of everything ``actions`` write,
    delete or move in the container: both ends of a move, the conflict copy's folder
    (beside the file). A superset of what the run changed is harmless; a subset is
    not, so every name an action carries counts."""
    tops: set[str] = set()
    for a in actions:
        if a.kind not in _REMOTE_KINDS:
            continue
        tops.add(top_of(a.rel_path))
        for entry in (a.remote, a.snapshot, a.local):
            if entry is not None:
                tops.add(top_of(entry.rel_path))
    return frozenset(tops)


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
    store: RemoteStore,
    listed: str | None,
    writer: str,
    *,
    tries: int = WRITE_TRIES,
    folders: frozenset[str] | None = None,
) -> BeaconReport:
    """Write the beacon, pinned to the ETag the run's listing showed (``None``: create
    it), with the hint ``folders`` (None: none). Never raises: every outcome is in the
    report."""
    if_match = listed
    raced = False
    try:
        for _ in range(tries):
            try:
                body = beacon_body(writer, folders=folders, after=if_match)
                etag = store.write_beacon(body, if_match)
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
