"""History, previous versions, restore and undo, as both clients show them.

The engine keeps the history (``history.sqlite3`` beside the pairs' state databases,
one file for every pair on this machine), the local recycle bins (a versions folder per
pair, outside the synced folder) and the container's bin (``.blobsync/trash/``). This
module is what the CLI (``blobsync history|restore|undo``) and the app (the Activity
view, the conflict center, the tray's latest changes) share on top of it:

- :func:`history_path` and :class:`HistoryReader`: the changes of every pair, newest
  first, with the pair each belongs to (rows carry the pair's machine-wide key);
- :func:`change_words`: one sentence per change ("Deleted here: deleted on laptop-2"),
  with who made it ("changed by another app" for blobs written without BlobSync);
- :func:`version_words` and :func:`recovery_words`: a previous version and the outcome
  of a restore or undo, in the same words on both faces.

Restore and undo themselves are :meth:`AppService.restore` / :meth:`AppService.undo`
(they need a pair's engine and its run options); the app runs them on the pair's engine
thread, the CLI in its own process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..engine.history import Change, ChangeKind, History, Run, RunKind
from ..engine.recovery import FileVersion, RecoveryResult, VersionSource
from ..models import BinReason, ConflictRule, Writer
from .pairs import state_dir
from .settings import PairConfig
from .status import plural

#: What a change did, as a short label (the Activity view's "What" column, the CLI).
KIND_WORDS: dict[ChangeKind, str] = {
    ChangeKind.UPLOADED: "Uploaded",
    ChangeKind.DOWNLOADED: "Downloaded",
    ChangeKind.DELETED_LOCAL: "Deleted here",
    ChangeKind.DELETED_REMOTE: "Deleted in the container",
    ChangeKind.MOVED_LOCAL: "Renamed here",
    ChangeKind.MOVED_REMOTE: "Renamed in the container",
    ChangeKind.CONFLICT: "Conflict, both kept",
    ChangeKind.CONFLICT_RESOLVED: "Conflict resolved",
    ChangeKind.RESTORED: "Restored here",
    ChangeKind.RESTORED_REMOTE: "Restored in the container",
    ChangeKind.REMOVED: "Removed by an undo",
}

#: Filter groups the Activity view and ``blobsync history --kind`` offer.
KIND_GROUPS: dict[str, tuple[ChangeKind, ...]] = {
    "uploads": (ChangeKind.UPLOADED,),
    "downloads": (ChangeKind.DOWNLOADED,),
    "deletions": (ChangeKind.DELETED_LOCAL, ChangeKind.DELETED_REMOTE, ChangeKind.REMOVED),
    "renames": (ChangeKind.MOVED_LOCAL, ChangeKind.MOVED_REMOTE),
    "conflicts": (ChangeKind.CONFLICT, ChangeKind.CONFLICT_RESOLVED),
    "restores": (ChangeKind.RESTORED, ChangeKind.RESTORED_REMOTE),
}

RULE_WORDS: dict[ConflictRule, str] = {
    ConflictRule.KEEP_BOTH: "Keep both (recommended)",
    ConflictRule.NEWER_WINS: "Newer wins",
    ConflictRule.MINE_WINS: "Mine wins",
    ConflictRule.THEIRS_WINS: "Theirs wins",
}

RUN_WORDS: dict[RunKind, str] = {
    RunKind.SYNC: "sync",
    RunKind.RESTORE: "restore",
    RunKind.UNDO: "undo",
    RunKind.RESOLVE: "conflict resolution",
}

SOURCE_WORDS: dict[VersionSource, str] = {
    VersionSource.LOCAL_BIN: "this machine's recycle bin",
    VersionSource.CONTAINER_BIN: "the container's recycle bin",
    VersionSource.AZURE_VERSION: "the account's blob versions",
}

#: The pair of a history row that is not among the saved pairs: removed since, or
#: synced from the command line as FOLDER CONTAINER without being saved.
UNSAVED_PAIR = "(not a saved pair)"

#: Changes an undo or a restore can act on (the rest are records only).
UNDOABLE = frozenset(ChangeKind) - {ChangeKind.CONFLICT}


def history_path() -> Path:
    """The machine's history database (the engine's default: beside the state DBs)."""
    return state_dir() / "history.sqlite3"


def who(writer: Writer | None) -> str:
    """``changed on laptop-2`` / ``changed by another app``."""
    return f"changed on {writer.describe()}" if writer is not None else "changed by another app"


def change_words(change: Change) -> str:
    """One sentence: what happened to the file and who did it."""
    words = KIND_WORDS[change.kind]
    if change.old_path and change.kind in (ChangeKind.MOVED_LOCAL, ChangeKind.MOVED_REMOTE):
        words += f" from {change.old_path}"
    if change.kind is ChangeKind.CONFLICT:
        mine = change.old_path or "a conflict copy"
        theirs = who(change.writer)  # the blob's writer; ``other`` is this machine
        return f"{words}: yours is {mine}, theirs {theirs}"
    if change.kind is ChangeKind.DELETED_LOCAL:
        by = change.writer
        return f"{words}: deleted on {by.describe()}" if by else f"{words}: deleted elsewhere"
    return f"{words}: {who(change.writer)}"


def when_words(epoch: float, now: dt.datetime | None = None) -> str:
    """A local time, short: ``14:03`` today, else ``2026-11-30 14:03``."""
    stamp = dt.datetime.fromtimestamp(epoch).astimezone()
    today = (now or dt.datetime.now().astimezone()).date()
    return stamp.strftime("%H:%M" if stamp.date() == today else "%Y-%m-%d %H:%M")


def version_words(number: int, version: FileVersion) -> str:
    """``2. 1,024 bytes, kept 2026-11-30 14:03 (replaced on laptop-2), in the container's
    recycle bin``: how the CLI lists ``--version N`` and the app's restore menu."""
    why = "deleted" if version.reason is BinReason.DELETED else "replaced"
    by = f" on {version.removed_by.describe()}" if version.removed_by is not None else ""
    written = f", written on {version.writer.describe()}" if version.writer else ""
    return (
        f"{number}. {version.size:,} bytes, kept {when_words(version.kept_at)} "
        f"({why}{by}{written}), in {SOURCE_WORDS[version.source]}"
    )


def recovery_words(result: RecoveryResult, what: str) -> list[str]:
    """Lines saying what a restore or an undo did, or on a dry run would do."""
    would = "would be " if result.dry_run else ""
    lines: list[str] = []
    if result.restored:
        lines.append(f"{plural(len(result.restored), 'file')} {would}put back")
    if result.removed:
        lines.append(
            f"{plural(len(result.removed), 'file')} {would}taken away (kept in the recycle bin)"
        )
    for issue in result.issues:
        lines.append(f"Left alone: {issue.rel_path}: {issue.message}")
    if result.skipped_conflicts:
        lines.append(
            f"{plural(len(result.skipped_conflicts), 'conflict')} left to the conflict list: "
            + ", ".join(result.skipped_conflicts[:5])
        )
    if not lines:
        lines.append(f"Nothing to {what}.")
    return lines


@dataclass(frozen=True)
class PairChange:
    """A change with the pair it belongs to (None: a pair no longer configured)."""

    change: Change
    pair: PairConfig | None

    @property
    def pair_name(self) -> str:
        return self.pair.name if self.pair is not None else UNSAVED_PAIR

    def local_path(self) -> Path | None:
        """Where the file is (or was) in the pair's folder."""
        if self.pair is None:
            return None
        return Path(self.pair.local_root, *self.change.rel_path.split("/"))


class HistoryReader:
    """The machine's history for the faces: changes of every pair (or one), newest
    first, each with its pair. ``keys`` maps a pair's machine-wide key (what history
    rows carry) to the pair."""

    def __init__(self, path: Path, keys: dict[str, PairConfig]) -> None:
        self.path = path
        self.keys = keys

    def changes(
        self,
        pair: PairConfig | None = None,
        kinds: Iterable[ChangeKind] | None = None,
        text: str | None = None,
        run_id: str | None = None,
        limit: int = 500,
    ) -> list[PairChange]:
        if not self.path.exists():
            return []
        key = self._key_of(pair) if pair is not None else None
        if pair is not None and key is None:
            return []
        history = History(self.path)
        try:
            rows = history.changes(pair=key, kinds=kinds, text=text, run_id=run_id, limit=limit)
        finally:
            history.close()
        return [PairChange(c, self.keys.get(c.pair)) for c in rows]

    def runs(self, pair: PairConfig | None = None, limit: int = 100) -> list[Run]:
        """Runs that changed something, newest first: of ``pair``, or of every pair."""
        key = self._key_of(pair) if pair is not None else None
        if (pair is not None and key is None) or not self.path.exists():
            return []
        history = History(self.path)
        try:
            return history.runs(pair=key, limit=limit)
        finally:
            history.close()

    def name_of(self, key: str) -> str:
        """The name of the pair whose machine-wide key a row carries."""
        pair = self.keys.get(key)
        return pair.name if pair is not None else UNSAVED_PAIR

    def _key_of(self, pair: PairConfig) -> str | None:
        for key, known in self.keys.items():
            if known.pair_id == pair.pair_id:
                return key
        return None
