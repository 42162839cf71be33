"""What the ``blobsync`` CLI prints: summaries, plans, issues, history, JSON, the progress
bar.

Kept apart from :mod:`.cli` (argument handling) so the formatting can be unit-tested on
plain :class:`~blobsync.core.models.SyncResult` objects. The progress bar is a tqdm
bar on stderr fed by the engine's events; the engine calls it from worker threads, so
it takes a lock.
"""

from __future__ import annotations

import os
import threading
from typing import Any, TextIO

from ..app.expiry import expiry_words
from ..app.progress import ProgressModel, ProgressSnapshot
from ..app.recovery import (
    RUN_WORDS,
    PairChange,
    change_words,
    recovery_words,
    version_words,
    when_words,
)
from ..app.secrets import NoUsableKeyring
from ..app.selection import exclusion_summary, exclusions_by_rule
from ..app.settings import PairConfig
from ..app.status import plural
from ..credentials import Credentials, ExpiryState, credential_expiry
from ..engine.history import Run
from ..engine.recovery import FileVersion, RecoveryResult
from ..errors import FatalError, SafetyReason, SafetyStop
from ..events import Event, OverallProgress, PhaseChanged, PlanReady
from ..models import (
    Action,
    ActionKind,
    ArchivedBlob,
    ExcludedBy,
    ExclusionCounts,
    Issue,
    SyncResult,
    Writer,
)

#: Words for each planned action in a dry run; RECORD/FORGET change no data and are not shown.
ACTION_WORDS: dict[ActionKind, str] = {
    ActionKind.UPLOAD: "upload",
    ActionKind.DOWNLOAD: "download",
    ActionKind.DELETE_LOCAL: "delete local",
    ActionKind.DELETE_REMOTE: "delete remote",
    ActionKind.CONFLICT: "conflict",
    ActionKind.ISSUE: "skip",
}


def issue_dict(issue: Issue) -> dict[str, Any]:
    """One issue as JSON."""
    out: dict[str, Any] = {
        "path": issue.rel_path,
        "kind": issue.kind.value,
        "message": issue.message,
    }
    if issue.conflict_copy:
        out["conflict_copy"] = issue.conflict_copy
    return out


def shown_actions(actions: list[Action]) -> list[Action]:
    """The planned actions a user cares about (those that change or skip something)."""
    return [a for a in actions if a.kind in ACTION_WORDS]


def result_dict(result: SyncResult, **extra: Any) -> dict[str, Any]:
    """The ``--json`` object of one sync run."""
    out: dict[str, Any] = {
        "uploaded": result.uploaded,
        "downloaded": result.downloaded,
        "deleted_local": result.deleted_local,
        "deleted_remote": result.deleted_remote,
        "conflicts": result.conflicts,
        "skipped": result.skipped,
        "recorded": result.recorded,
        "bytes_uploaded": result.bytes_uploaded,
        "bytes_downloaded": result.bytes_downloaded,
        "container_created": result.container_created,
        "dry_run": result.dry_run,
        "cancelled": result.cancelled,
        "in_sync": result.in_sync,
        "duration_s": round(result.duration_s, 3),
        "issues": [issue_dict(i) for i in result.issues],
        "archived": [archived_dict(b) for b in result.archived],
        "archived_new": result.archived_new,
        "excluded": exclusions_dict(result.excluded),
        "ignore_file_changed": result.ignore_file_changed,
    }
    if result.dry_run:
        out["planned"] = [
            {"action": ACTION_WORDS[a.kind], "path": a.rel_path}
            for a in shown_actions(result.planned)
        ]
    out.update(extra)
    return out


def archived_dict(blob: ArchivedBlob) -> dict[str, Any]:
    """One archived blob as JSON."""
    return {
        "path": blob.rel_path,
        "size": blob.size,
        "rehydrating_to": blob.rehydrating_to.value if blob.rehydrating_to else None,
    }


ARCHIVED_HEAD = "archived in the container — not synced"


def format_archived(blobs: list[ArchivedBlob]) -> list[str]:
    """The archived blobs as their own block (a state, not issues)."""
    if not blobs:
        return []
    n = len(blobs)
    lines = [
        f"{n} blob{'s' if n != 1 else ''} {'are' if n != 1 else 'is'} {ARCHIVED_HEAD} "
        "(bring one back with: blobsync rehydrate ... PATH):"
    ]
    for blob in blobs:
        line = f"  {blob.rel_path} ({human_size(blob.size)})"
        if blob.rehydrating_to is not None:
            line += f" — rehydrating to {blob.rehydrating_to.value}"
        lines.append(line)
    return lines


def expiry_warning(creds: Credentials, label: str | None) -> str | None:
    """The warning line for a saved account (``label``) whose SAS ends within a week, or
    None. Credentials given afresh each run (the environment's connection string) get
    none: a script's short-lived SAS would warn on every run."""
    if not label:
        return None
    expiry = credential_expiry(creds)
    if expiry.state is not ExpiryState.EXPIRES_SOON:
        return None
    return f"blobsync: warning: {expiry_words(expiry, label or '')}"


def exclusions_dict(counts: ExclusionCounts) -> dict[str, Any]:
    """What each rule kept out, as JSON (``by_pattern``: per deciding pattern line)."""
    return {
        "total": counts.total,
        **{by.value: getattr(counts, by.value) for by in ExcludedBy},
        "by_pattern": dict(counts.by_pattern),
    }


def format_exclusions(counts: ExclusionCounts, per_pattern: bool) -> list[str]:
    """How many items the rules kept out (nothing if none); ``per_pattern`` adds one
    line per deciding pattern, most items first (dry runs)."""
    summary = exclusion_summary(counts)
    if not summary:
        return []
    lines = [summary]
    if per_pattern:
        ranked = exclusions_by_rule(counts)
        width = max(len(f"{n:,}") for _p, n in ranked)
        lines += [f"  {n:>{width},}  {pattern}" for pattern, n in ranked]
    return lines


def format_issue(issue: Issue) -> str:
    """One line: path, reason, details."""
    line = f"  {issue.rel_path}: {issue.describe()}"
    if issue.message and issue.message != issue.describe():
        line += f" — {issue.message}"
    if issue.conflict_copy:
        line += f" (your copy: {issue.conflict_copy})"
    return line


def format_plan(actions: list[Action]) -> list[str]:
    """Dry-run lines: one per action that would change or skip something."""
    shown = shown_actions(actions)
    if not shown:
        return ["Dry run: nothing to do."]
    width = max(len(ACTION_WORDS[a.kind]) for a in shown)
    lines = [
        f"Dry run: {len(shown)} action{'s' if len(shown) != 1 else ''} planned, nothing changed."
    ]
    lines += [f"  {ACTION_WORDS[a.kind]:<{width}}  {a.rel_path}" for a in shown]
    return lines


def human_size(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - loop always returns


def format_summary(result: SyncResult) -> list[str]:
    """Human summary: counts, then each issue on one line."""
    lines: list[str] = []
    if result.dry_run:
        lines += format_plan(result.planned)
        lines += format_exclusions(result.excluded, per_pattern=True)
    else:
        moved = human_size(result.bytes_uploaded + result.bytes_downloaded)
        lines.append(
            f"Uploaded {result.uploaded}, downloaded {result.downloaded}, "
            f"deleted {result.deleted_local} local and {result.deleted_remote} remote, "
            f"{result.conflicts} conflict{'s' if result.conflicts != 1 else ''}, "
            f"{result.skipped} skipped ({moved} in {result.duration_s:.1f} s)."
        )
        lines += format_exclusions(result.excluded, per_pattern=False)
    if result.cancelled:
        lines.append("Cancelled before the end; the next run picks up where this one stopped.")
    if result.issues:
        n = len(result.issues)
        lines.append(f"{n} item{'s' if n != 1 else ''} need{'s' if n == 1 else ''} attention:")
        lines += [format_issue(i) for i in result.issues]
    elif not result.dry_run and not result.cancelled:
        lines.append("In sync.")
    if result.archived_new:
        # Said once, in the run that first sees them; 'blobsync issues' lists them all.
        n = result.archived_new
        lines.append(
            f"{n} more blob{'s' if n != 1 else ''} {'are' if n != 1 else 'is'} {ARCHIVED_HEAD}"
            f" ({len(result.archived)} in all; 'blobsync issues' lists them)."
        )
    return lines


class ProgressDisplay:
    """An engine event sink drawing a tqdm bar (bytes, speed, ETA, files) on ``stream``.

    Events are folded by the shared :class:`~blobsync.core.app.progress.ProgressModel`
    (the app's progress view uses the same one); the bar is redrawn from its snapshot.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._bar: Any = None
        self.model = ProgressModel()
        self.model.reset()

    def __call__(self, event: Event) -> None:
        self.model.feed(event)
        if not isinstance(event, PhaseChanged | PlanReady | OverallProgress):
            return
        with self._lock:
            snap = self.model.snapshot()
            if isinstance(event, PlanReady) or self._bar is None:
                self._open(snap.bytes_total)
            self._redraw(snap)

    def _open(self, bytes_total: int) -> None:
        if self._bar is not None:
            self._bar.close()
        sized = self._has_size()
        # imported here: tqdm costs ~40 ms at start-up and only a terminal needs it
        from tqdm import tqdm  # type: ignore[import-untyped]

        self._bar = tqdm(
            total=max(bytes_total, 0),
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            file=self._stream,
            # A terminal that reports no size (a bare pty, some CI) gives tqdm 0 columns
            # and -1 rows, and it then draws nothing at all: use a fixed size there.
            dynamic_ncols=sized,
            ncols=None if sized else 100,
            nrows=None if sized else 24,
            leave=False,
            desc="Transferring",
            mininterval=0.2,
        )

    def _has_size(self) -> bool:
        try:
            return os.get_terminal_size(self._stream.fileno()).columns > 0
        except (OSError, ValueError, AttributeError):
            return False

    def _redraw(self, snap: ProgressSnapshot) -> None:
        bar = self._bar
        if bar is None:
            return
        bar.set_description_str(snap.phase_words.capitalize(), refresh=False)
        bar.n = min(snap.bytes_done, bar.total) if bar.total else snap.bytes_done
        bar.set_postfix_str(snap.files_words, refresh=False)
        bar.refresh()

    def close(self) -> None:
        """Remove the bar (the summary follows on stdout)."""
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None


#: What to do about each safety stop, in the CLI's words (the app has its own).
SAFETY_REMEDIES: dict[SafetyReason, str] = {
    SafetyReason.FOLDER_EMPTIED: (
        "If it was emptied by mistake (or a drive is not mounted), run again with "
        "--restore-deleted to download the files again; if you really emptied it, run "
        "again with --allow-mass-delete."
    ),
    SafetyReason.CONTAINER_GONE: (
        "To upload the folder again use --restore-deleted (or --mode upload); if it was "
        "deleted on purpose, run again with --allow-mass-delete."
    ),
    SafetyReason.CONTAINER_EMPTIED: (
        "If it was emptied by mistake, run again with --restore-deleted to upload the "
        "files again; if you really emptied it, run again with --allow-mass-delete."
    ),
    SafetyReason.MASS_DELETE: (
        "To put the files back instead, run again with --restore-deleted; if the "
        "deletions are intended, run again with --allow-mass-delete."
    ),
}


def failure_line(exc: FatalError, sentence: str) -> str:
    """``blobsync: <title>: <sentence>``, without repeating a title the sentence starts
    with ("Sign-in expired — update the SAS ...")."""
    if sentence.startswith(exc.title):
        return f"blobsync: {sentence}"
    return f"blobsync: {exc.title}: {sentence}"


def deletion_lines(exc: SafetyStop, limit: int = 10) -> list[str]:
    """What the stopped run would have deleted: a count with its size, then the first
    few paths (the app's deletion review shows the same facts)."""
    where = []
    if exc.deletes_local:
        where.append(f"{exc.deletes_local:,} in the folder")
    if exc.deletes_remote:
        where.append(f"{exc.deletes_remote:,} in the container")
    lines = [
        f"It would delete {plural(exc.deletes, 'file')} ({human_size(exc.nbytes)}): "
        + ", ".join(where)
        + "."
    ]
    lines += [f"  {path}" for path in exc.paths[:limit]]
    if exc.deletes > limit:
        lines.append(f"  … and {exc.deletes - limit:,} more (see --dry-run)")
    return lines


def failure_sentence(exc: FatalError) -> str:
    """The error's message plus, where the CLI can say what to do, its remedy."""
    if isinstance(exc, SafetyStop):
        return f"{exc.message} {SAFETY_REMEDIES[exc.reason]}"
    if isinstance(exc, NoUsableKeyring):
        return (
            f"{exc.message} Use an OS keyring, or opt in to an insecure plaintext file "
            "with --plaintext-secret."
        )
    return exc.message


# ---- history, previous versions, restore, undo ----------------------------------------
# The sentences are core/app/recovery.py's (the app shows the same); only the layout and
# the JSON shapes are the CLI's. The JSON fields are listed in the README's CLI section.


def writer_dict(writer: Writer | None) -> dict[str, str] | None:
    """Who wrote or changed something, as JSON (None: another app, or unknown)."""
    if writer is None:
        return None
    return {"machine": writer.machine, "installation_id": writer.installation_id}


def _pair_name(pair: PairConfig | None) -> str | None:
    """A saved pair's name; None for one that is not saved (FOLDER CONTAINER, removed)."""
    return pair.name or None if pair is not None else None


def run_dict(run: Run, pair: PairConfig | None) -> dict[str, Any]:
    """One run of ``blobsync history --json``."""
    return {
        "run_id": run.run_id,
        "pair": _pair_name(pair),
        "kind": run.kind.value,
        "machine": run.machine,
        "started": run.started,
        "finished": run.finished,
        "changes": run.changes,
        "undoes": run.undoes,
    }


def change_dict(item: PairChange) -> dict[str, Any]:
    """One change of ``blobsync history --json``."""
    change = item.change
    local = item.local_path()
    return {
        "time": change.time,
        "pair": _pair_name(item.pair),
        "run_id": change.run_id,
        "kind": change.kind.value,
        "words": change_words(change),
        "path": change.rel_path,
        "old_path": change.old_path,
        "size": change.size,
        "writer": writer_dict(change.writer),
        "other": writer_dict(change.other),
        "local_path": str(local) if local is not None else None,
    }


def format_runs(runs: list[tuple[Run, str]], show_pair: bool) -> list[str]:
    """One line per run: its id (what ``undo`` takes), when, (pair,) what, on which
    machine, how many changes."""
    if not runs:
        return []
    width = max(len(RUN_WORDS[run.kind]) for run, _name in runs)
    times = [when_words(run.started) for run, _name in runs]
    time_width = max(len(t) for t in times)
    pair_width = max(len(name) for _run, name in runs)
    lines = []
    for (run, name), when in zip(runs, times, strict=True):
        pair = f"  {name:<{pair_width}}" if show_pair else ""
        line = (
            f"  {run.run_id}  {when:<{time_width}}{pair}  {RUN_WORDS[run.kind]:<{width}}"
            f"  on {run.machine}  {plural(run.changes, 'change')}"
        )
        if run.undoes:
            line += f", undoing {run.undoes}"
        lines.append(line)
    return lines


def format_changes(items: list[PairChange], show_pair: bool) -> list[str]:
    """One line per change: when, (pair,) what happened and who, path, size, run."""
    if not items:
        return []
    words = [change_words(item.change) for item in items]
    times = [when_words(item.change.time) for item in items]
    width = max(len(w) for w in words)
    time_width = max(len(t) for t in times)
    pair_width = max(len(item.pair_name) for item in items)
    lines = []
    for item, said, when in zip(items, words, times, strict=True):
        change = item.change
        pair = f"  {item.pair_name:<{pair_width}}" if show_pair else ""
        lines.append(
            f"  {when:<{time_width}}{pair}  {said:<{width}}  {change.rel_path}"
            f"  ({human_size(change.size)}, run {change.run_id})"
        )
    return lines


def version_dict(number: int, version: FileVersion) -> dict[str, Any]:
    """One previous version of ``blobsync restore --list --json``."""
    return {
        "number": number,
        "path": version.rel_path,
        "size": version.size,
        "kept_at": version.kept_at,
        "reason": version.reason.value if version.reason is not None else None,
        "source": version.source.value,
        "writer": writer_dict(version.writer),
        "removed_by": writer_dict(version.removed_by),
        "run_id": version.run_id or None,
        "words": version_words(number, version),
    }


def recovery_dict(result: RecoveryResult) -> dict[str, Any]:
    """What ``restore``/``undo --json`` report (the sync that carried it included)."""
    return {
        "run_id": result.run_id or None,
        "dry_run": result.dry_run,
        "restored": list(result.restored),
        "removed": list(result.removed),
        "issues": [issue_dict(i) for i in result.issues],
        "skipped_conflicts": list(result.skipped_conflicts),
        "sync": result_dict(result.sync) if result.sync is not None else None,
    }


def format_recovery(result: RecoveryResult, what: str) -> list[str]:
    """What a restore or an undo did, then what its sync did (its own issues too)."""
    lines = recovery_words(result, what)
    sync = result.sync
    if sync is None:
        return lines
    lines.append("Then synced: " + format_summary(sync)[0])
    told = {(i.rel_path, i.kind) for i in result.issues}
    more = [i for i in sync.issues if (i.rel_path, i.kind) not in told]
    if more:
        lines.append(
            f"{plural(len(more), 'item')} of the pair need{'s' if len(more) == 1 else ''} attention:"
        )
        lines += [format_issue(i) for i in more]
    return lines


def recovery_troubled(result: RecoveryResult) -> bool:
    """True when a restore or an undo left something undone (exit code 1)."""
    sync = result.sync
    synced_badly = sync is not None and (
        bool(sync.issues) or bool(sync.conflicts) or not sync.in_sync
    )
    return bool(result.issues or result.skipped_conflicts) or synced_badly
