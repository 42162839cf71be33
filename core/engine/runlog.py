"""What one run leaves in the log: its counts, its issues (at most :data:`LOGGED_ISSUES`),
and why it stopped (a cancel, a safety stop with the facts, a failure). Read by the
Help menu's log view and ``blobsync logs``; never a secret (messages carry names, not
credentials)."""

from __future__ import annotations

import logging

from ..errors import Cancelled, FatalError, SafetyStop
from ..models import SyncResult

log = logging.getLogger("blobsync.core.engine.facade")  # the name existing logs use


#: Issues logged per run; a run with more says how many were left out.
LOGGED_ISSUES = 1000


def counts(result: SyncResult) -> str:
    """The run's counts in one line."""
    return (
        f"{result.uploaded} up, {result.downloaded} down, {result.deleted_local} deleted "
        f"locally, {result.deleted_remote} deleted remotely, {result.moved} moved, "
        f"{result.conflicts} conflicts, {result.skipped} skipped, "
        f"{result.bytes_uploaded + result.bytes_downloaded} bytes in {result.duration_s:.1f} s"
    )


def log_issues(where: str, result: SyncResult) -> None:
    """Each issue of the run (at most LOGGED_ISSUES), then how many more."""
    for issue in result.issues[:LOGGED_ISSUES]:
        log.info("%s: issue: %s: %s: %s", where, issue.rel_path, issue.describe(), issue.message)
    if len(result.issues) > LOGGED_ISSUES:
        log.info("%s: %d more issues not logged", where, len(result.issues) - LOGGED_ISSUES)


def log_result(where: str, result: SyncResult) -> None:
    """A finished run (or a preview): its issues and counts."""
    if result.dry_run:
        log.info("preview of %s: %d actions planned", where, len(result.planned))
        return
    log_issues(where, result)
    log.info(
        "sync %s finished%s: %s",
        where,
        "" if result.in_sync else " with items pending",
        counts(result),
    )


def log_stop(where: str, exc: FatalError, result: SyncResult) -> None:
    """A run that stopped: why, and what it did before (issues included)."""
    log_issues(where, result)
    if isinstance(exc, Cancelled):
        log.info("sync %s cancelled: %s", where, counts(result))
    elif isinstance(exc, SafetyStop):
        log.warning(
            "sync %s stopped for safety (%s): would delete %d of %d synced files "
            "(%d locally, %d remotely, %d bytes), first: %s",
            where,
            exc.reason.value,
            exc.deletes,
            exc.tracked,
            exc.deletes_local,
            exc.deletes_remote,
            exc.nbytes,
            ", ".join(exc.paths[:5]),
        )
    else:
        log.warning("sync %s stopped: %s: %s (%s)", where, exc.title, exc.message, counts(result))
