"""Choosing what a pair syncs, before it syncs: the logic under the app's pair dialog,
kept free of Qt so it is tested alone (and any client can use it).

- :class:`FolderSelection`: the check boxes of a selective-sync tree, as Dropbox and
  Maestral show them. Unchecking a folder leaves it (and all below it) out; a folder
  with something left out below it is *partly* checked; checking a folder inside one
  that is left out brings back that folder's parents, while their other folders stay
  out (the files directly in those parents then sync again). What is saved is the
  smallest list of left-out folders (``PairConfig.excluded_folders``).
- :func:`preview_exclusions`: how many local files a set of rules would leave out
  (the live "this would exclude N files" count), counted as the engine's scan decides:
  a left-out folder is one item (its files are counted too, for the sentence), links
  and BlobSync's own files are not looked at.
- :func:`container_folders`: the "folders" of a container under a path (a delimiter
  listing on the service's side), for the container path picker and the tree's
  remote side.

Changes made here apply from the pair's next sync, under the engine's rules:
excluding never deletes anything, including again never overwrites (different
versions are both kept).
"""

from __future__ import annotations

import enum
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..credentials import Credentials
from ..engine.filtering import local_path_filter
from ..errors import ContainerNotFound
from ..filters import NESTED_IGNORE_SUFFIX, FilterRules, PathFilter
from ..local.scanner import is_temp_name
from ..models import ExcludedBy, ExclusionCounts
from ..names import RESERVED_DIR, normalize_prefix
from .engines import open_store, pair_store
from .status import plural

#: A preview stops counting after this many entries (a count, not a promise).
PREVIEW_LIMIT = 200_000


class Check(enum.Enum):
    """A folder's box in the selective-sync tree."""

    CHECKED = "checked"  # synced, with everything below it
    PARTIAL = "partial"  # synced, but something below it is left out
    UNCHECKED = "unchecked"  # left out (by itself or by a folder above it)


def _parent(rel_folder: str) -> str:
    cut = rel_folder.rfind("/")
    return rel_folder[:cut] if cut > 0 else ""


def _ancestors(rel_folder: str) -> list[str]:
    """The folders above ``rel_folder``, top first (``a/b/c`` -> ``a``, ``a/b``)."""
    parts = rel_folder.split("/")
    return ["/".join(parts[:n]) for n in range(1, len(parts))]


class FolderSelection:
    """Which folders of a pair are left out; see the module docstring.

    Folders are relative POSIX paths (``photos/2019``). The tree tells it which
    folders it shows (:meth:`add_folders`): bringing back a folder inside a left-out
    one needs to know its parents' other folders, which then stay out.
    """

    def __init__(self, excluded: Iterable[str] = ()) -> None:
        self._excluded: set[str] = set()
        self._children: dict[str, set[str]] = {}
        for folder in excluded:
            folder = folder.strip("/")
            if folder:
                self._excluded.add(folder)
        self._excluded = set(_minimal(self._excluded))

    # ---- what is known --------------------------------------------------------------

    def add_folders(self, parent: str, children: Iterable[str]) -> None:
        """``children`` (relative paths) are the folders right inside ``parent`` ("" for
        the top of the pair)."""
        known = self._children.setdefault(parent, set())
        for child in children:
            if _parent(child) != parent or not child:
                raise ValueError(f"{child!r} is not a folder right inside {parent!r}")
            known.add(child)

    def children(self, parent: str) -> list[str]:
        return sorted(self._children.get(parent, ()))

    # ---- reading --------------------------------------------------------------------

    def left_out(self, rel_folder: str) -> bool:
        """True if the folder, or one above it, is left out."""
        return rel_folder in self._excluded or any(
            a in self._excluded for a in _ancestors(rel_folder)
        )

    def state(self, rel_folder: str) -> Check:
        if self.left_out(rel_folder):
            return Check.UNCHECKED
        below = rel_folder + "/"
        if any(e.startswith(below) for e in self._excluded):
            return Check.PARTIAL
        return Check.CHECKED

    def excluded_folders(self) -> list[str]:
        """The folders to save as left out: none inside another, sorted."""
        return sorted(self._excluded)

    # ---- the user's clicks ----------------------------------------------------------

    def set_checked(self, rel_folder: str, checked: bool) -> None:
        """Check (sync it, with all below it) or uncheck (leave it out) a folder."""
        if checked:
            self.include(rel_folder)
        else:
            self.exclude(rel_folder)

    def exclude(self, rel_folder: str) -> None:
        if self.left_out(rel_folder):
            return
        below = rel_folder + "/"
        self._excluded = {e for e in self._excluded if not e.startswith(below)}
        self._excluded.add(rel_folder)

    def include(self, rel_folder: str) -> None:
        """Sync ``rel_folder`` and all below it. A left-out folder above it comes back
        with it, its other folders staying out. Raises ValueError if such a folder's
        folders are not known (:meth:`add_folders`): they cannot be kept out unseen."""
        below = rel_folder + "/"
        way = [*_ancestors(rel_folder), rel_folder]
        top = next((a for a in way[:-1] if a in self._excluded), None)
        if top is not None:
            for upper in way[way.index(top) : -1]:
                if upper not in self._children:
                    raise ValueError(f"the folders inside {upper!r} are not known")
        excluded = {e for e in self._excluded if e != rel_folder and not e.startswith(below)}
        if top is not None:
            start = way.index(top)
            excluded.discard(top)
            for upper, step in zip(way[start:-1], way[start + 1 :], strict=True):
                excluded.update(c for c in self._children[upper] if c != step)
        self._excluded = set(_minimal(excluded))


def _minimal(folders: Iterable[str]) -> list[str]:
    """``folders`` without those inside another one of them."""
    kept: list[str] = []
    for folder in sorted(folders):
        if not any(folder.startswith(k + "/") for k in kept):
            kept.append(folder)
    return kept


# ---- the live count -------------------------------------------------------------------


@dataclass
class ExclusionPreview:
    """What a set of rules would leave out of a local folder right now.

    ``files``: files left out, including those inside left-out folders; ``folders``:
    folders left out as a whole; ``counts``: per rule and pattern, as a sync counts
    them (a left-out folder once); ``truncated``: the count stopped at
    :data:`PREVIEW_LIMIT` entries (``scanned``)."""

    files: int = 0
    folders: int = 0
    files_in_folders: int = 0
    counts: ExclusionCounts = field(default_factory=ExclusionCounts)
    scanned: int = 0
    truncated: bool = False
    cancelled: bool = False


class _Stop(Exception):
    pass


def preview_exclusions(
    root: Path,
    rules: FilterRules,
    cancelled: Callable[[], bool] = lambda: False,
    limit: int = PREVIEW_LIMIT,
) -> ExclusionPreview:
    """Count what ``rules`` (with the folder's ignore files as they are now, nested ones
    too: their rules are counted as "sub/.blobsyncignore: pattern") leave out of
    ``root``. A folder that does not exist counts nothing. Raises ConfigError for an
    invalid pattern among ``rules.patterns``."""
    path_filter = local_path_filter(root, rules)
    preview = ExclusionPreview()
    if not root.is_dir():
        return preview
    try:
        _walk(root, "", path_filter, preview, cancelled, limit)
    except _Stop:
        pass
    return preview


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError:
        return []


def _tick(preview: ExclusionPreview, cancelled: Callable[[], bool], limit: int) -> None:
    preview.scanned += 1
    if preview.scanned >= limit:
        preview.truncated = True
        raise _Stop
    if preview.scanned % 256 == 0 and cancelled():
        preview.cancelled = True
        raise _Stop


def _kind(entry: os.DirEntry[str]) -> str:
    try:
        mode = entry.stat(follow_symlinks=False).st_mode
    except OSError:
        return "other"
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "other"


def _walk(
    root: Path,
    rel_dir: str,
    path_filter: PathFilter,
    preview: ExclusionPreview,
    cancelled: Callable[[], bool],
    limit: int,
) -> None:
    for entry in _entries(root / rel_dir if rel_dir else root):
        _tick(preview, cancelled, limit)
        rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
        kind = _kind(entry)
        if kind == "dir":
            if not rel_dir and entry.name == RESERVED_DIR:
                continue  # BlobSync's own space: never synced in any case
            verdict = path_filter.folder_excluded(rel)
            if verdict is None:
                _walk(root, rel, path_filter, preview, cancelled, limit)
            else:
                preview.folders += 1
                preview.counts.add(verdict.by, verdict.pattern)
                inside = _count_files(root / rel, preview, cancelled, limit)
                preview.files += inside
                preview.files_in_folders += inside
        elif not is_temp_name(entry.name):  # files, and links (a sync counts them too)
            verdict = path_filter.excluded(rel)
            if verdict is not None:
                preview.files += 1
                preview.counts.add(verdict.by, verdict.pattern)


def _count_files(
    folder: Path, preview: ExclusionPreview, cancelled: Callable[[], bool], limit: int
) -> int:
    total = 0
    for entry in _entries(folder):
        _tick(preview, cancelled, limit)
        kind = _kind(entry)
        if kind == "dir":
            total += _count_files(Path(entry.path), preview, cancelled, limit)
        elif kind == "file":
            total += 1
    return total


# ---- folders on both sides ------------------------------------------------------------


def local_folders(root: Path, rel_folder: str = "") -> list[str]:
    """The folders right inside ``root/rel_folder`` (relative paths, sorted; links not
    followed; BlobSync's own space left out). A folder that cannot be read has none."""
    found = []
    for entry in _entries(root / rel_folder if rel_folder else root):
        if _kind(entry) != "dir" or (not rel_folder and entry.name == RESERVED_DIR):
            continue
        found.append(f"{rel_folder}/{entry.name}" if rel_folder else entry.name)
    return found


def container_folders(creds: Credentials, container: str, under: str = "") -> list[str]:
    """The folders right under the path ``under`` of ``container``, as full paths ending
    in "/" (``projects/x/``); none if the container does not exist yet. Raises
    AuthError, ConnectionFailure, ListingError."""
    store = open_store(creds, container)
    try:
        return _folders_of(store, normalize_prefix(under))
    finally:
        store.close()


def pair_folders(
    creds: Credentials, container: str, prefix: str, rel_folder: str = ""
) -> list[str]:
    """The folders right inside ``rel_folder`` of a pair on ``container/prefix``, as the
    pair's relative paths (``photos/2019``), BlobSync's own space left out. Raises
    AuthError, ConnectionFailure, ListingError, ConfigError (invalid path)."""
    store = open_store(creds, container)
    try:
        scoped = pair_store(store, prefix)
        folders = _folders_of(scoped, normalize_prefix(rel_folder))
    finally:
        store.close()
    names = [f.rstrip("/") for f in folders]
    return [n for n in names if n and not (not rel_folder and n == RESERVED_DIR)]


def _folders_of(store: object, prefix: str) -> list[str]:
    lister = getattr(store, "list_folders", None)
    if lister is None:
        return []
    try:
        return list(lister(prefix))
    except ContainerNotFound:
        return []


#: Each rule, in the words of a summary line ("3 by the built-in list").
EXCLUDED_BY_WORDS: dict[ExcludedBy, str] = {
    ExcludedBy.DEFAULTS: "by the built-in list",
    ExcludedBy.IGNORE_FILE: "by .blobsyncignore",
    ExcludedBy.PATTERN: "by your patterns",
    ExcludedBy.FOLDER: "left out as folders of selective sync",
}


def exclusion_summary(counts: ExclusionCounts) -> str:
    """``Left out by the filter rules: 12 items (9 by the built-in list, 3 by your
    patterns).`` ("" when nothing was left out): a run's or a preview's line, in both
    clients."""
    if not counts.total:
        return ""
    parts = [
        f"{getattr(counts, by.value):,} {words}"
        for by, words in EXCLUDED_BY_WORDS.items()
        if getattr(counts, by.value)
    ]
    return f"Left out by the filter rules: {plural(counts.total, 'item')} ({', '.join(parts)})."


def exclusions_by_rule(counts: ExclusionCounts) -> list[tuple[str, int]]:
    """(deciding pattern line or folder, items it kept out), most items first."""
    return sorted(counts.by_pattern.items(), key=lambda kv: (-kv[1], kv[0]))


#: What the rules of ignore files in subfolders are counted under start with their file.
_NESTED_RULE = NESTED_IGNORE_SUFFIX + ": "


def nested_file_rules(counts: ExclusionCounts) -> list[tuple[str, int]]:
    """The rules of ignore files in subfolders among ``counts`` ("web/.blobsyncignore:
    *.log"), with the items each kept out, most items first."""
    return [(rule, n) for rule, n in exclusions_by_rule(counts) if _NESTED_RULE in rule]
