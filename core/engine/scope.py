"""Targeted runs: the full-enumeration pipeline restricted to a few top-level folders of
the pair, on all three sides at once, for a change beacon's hint (:mod:`.beacon`).

A targeted run scans only those local folders, lists only ``<folder>/`` in the
container (one List Blobs with ``prefix=`` each) and reads only their snapshot rows,
then merges and plans exactly as a full run does. Inside those subtrees every side was
enumerated in full, so "missing on one side" means what it means in a full run; outside
them nothing is judged at all: no item there is planned, counted or forgotten.

It is deliberately narrow; anything else is a full run (:func:`why_full`, and the
engine's fallback after planning):

- the root's own files (``""`` in the hint) are not targeted: listing them needs a
  delimiter listing, and the root also holds the ignore file whose rules apply to all;
- a first sync, a dry run, a restore-deletions or confirmed-deletions run, a store that
  cannot list by prefix, a missing container, a folder name that is odd on this disk (a
  link, a file, a twin name this file system folds together);
- a plan that deletes or renames anything in the container (``DELETE_REMOTE``,
  ``MOVE_REMOTE``): those come from changes in this folder, which this machine's own
  watcher syncs with a full run; a targeted run would see one end of a local move only
  (a file moved from a listed folder to an unlisted one would be a deletion here and an
  upload later) and the whole folder is the full run's to judge;
- a plan the safety valves stop. A targeted run applies what the other machine did in
  its folders (downloads, and deletions and renames of local files, which go to the
  local bin as always), and the valves judge it on the subtree's own numbers: files
  tracked, listed and scanned under those folders. Those are never more lenient than
  the pair's (fewer tracked files, a subset of the deletions), so a targeted run is
  stopped wherever the full one would be and sometimes where it would not be (a whole
  folder deleted elsewhere empties the subtree's container side); any stop makes it a
  full run, which applies the valves to the whole pair and stops, or asks, as always.

A targeted run never claims the pair is in sync: the run record's "last in sync",
"completed", "stopped" and "waiting" are only written by full runs (a failed targeted
run records that it stopped; the next full run clears it), and neither the racy-clean
threshold nor the archived list or issues outside its folders change. The container
bin is not pruned by it (it does not list the bin, except to say who deleted a file it
deletes locally). In the history it is a sync like any other: what it changed, it
changed. Its own beacon write (after it wrote to the container) carries its own hint,
pinned to the beacon whose hint it acted on.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from ..models import Action, ActionKind, Issue, RemoteEntry
from ..names import fold_key
from ..remote.base import PrefixListingStore, RemoteStore
from ..remote.trash import TRASH_PREFIX
from .beacon import MAX_HINT_FOLDERS, valid_top

#: What a targeted run may not plan (see the module docstring).
WIDENING_KINDS = frozenset({ActionKind.DELETE_REMOTE, ActionKind.MOVE_REMOTE})


@dataclass(frozen=True, slots=True)
class SyncScope:
    """Sync only these top-level folders of the pair (a targeted run).

    ``beacon_etag``: the change beacon whose hint named them. The run reports it as the
    beacon it covers, so a beacon written after it is still news to the live loop (a
    targeted run does not list the beacon itself).
    """

    folders: frozenset[str]
    beacon_etag: str | None = None

    def prefixes(self) -> list[str]:
        """``folder + "/"`` for each folder, in listing order."""
        return sorted(name + "/" for name in self.folders)

    def covers(self, rel_path: str) -> bool:
        """True if ``rel_path`` lies in one of the folders."""
        head, sep, _rest = rel_path.partition("/")
        return bool(sep) and head in self.folders


class Widen(Exception):
    """Internal: a targeted run found it must be a full one (nothing was changed yet)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def why_full(scope: SyncScope, store: RemoteStore, root: Path, folds: bool) -> str | None:
    """Why ``scope`` cannot be a targeted run here (one phrase for the log), or None.
    ``folds``: this disk folds twin names (case or normalization) together."""
    folders = scope.folders
    if not folders:
        return "the hint names no folder"
    if len(folders) > MAX_HINT_FOLDERS or not all(valid_top(name) for name in folders):
        return "the hint is not one this version writes"
    if "" in folders:
        return "files at the pair's root changed"
    if not hasattr(store, "list_folders"):  # every PrefixListingStore has it
        return "this store cannot list by prefix"
    try:
        with os.scandir(root) as it:
            here = {entry.name: entry for entry in it}
    except OSError:
        return "the folder cannot be listed"
    for name in folders:
        entry = here.get(name)
        if entry is not None:
            try:
                mode = entry.stat(follow_symlinks=False).st_mode
            except OSError:
                return f"'{name}' cannot be read"
            if not stat.S_ISDIR(mode):
                return f"'{name}' is not a folder here"
        if folds:
            key = fold_key(name)
            if any(other != name and fold_key(other) == key for other in here):
                return f"'{name}' has a twin name on this disk"
    return None


def listing(store: RemoteStore, scope: SyncScope) -> Iterator[RemoteEntry]:
    """The container's blobs under the scope's folders, in listing order: one List
    Blobs with ``prefix=`` per folder (``store`` is a PrefixListingStore, see
    :func:`why_full`)."""
    lister = cast(PrefixListingStore, store)
    for prefix in scope.prefixes():
        yield from lister.list_blobs(prefix)


def bin_listing(store: RemoteStore) -> Iterator[RemoteEntry]:
    """The container bin's copies (what a full listing shows of ``.blobsync/trash/``)."""
    return cast(PrefixListingStore, store).list_blobs(TRASH_PREFIX)


def widening(actions: list[Action]) -> Action | None:
    """The first planned action a targeted run may not make, if any."""
    return next((a for a in actions if a.kind in WIDENING_KINDS), None)


def kept_outside(old: list[Issue], scope: SyncScope, raised: set[str]) -> list[Issue]:
    """Pending issues outside the scope: a targeted run did not look at them, so they
    stay as they are."""
    return [i for i in old if not scope.covers(i.rel_path) and i.rel_path not in raised]
