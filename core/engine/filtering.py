"""The filter rules inside one run: which rules apply, what they keep out, and the
safety rules around the boundary between synced and excluded items.

- **The rules of a run are fixed when it starts**: the pair's :class:`FilterRules` plus
  the folder's ``.blobsyncignore`` as it is on disk then (nested ones: as the scan
  reaches their folder, below). A ``.blobsyncignore`` that
  the run itself downloads (changed on another machine) takes effect from the next run,
  and the result says so (``SyncResult.ignore_file_changed``) so the client can run
  again at once. One exception: on a pair's first sync (empty snapshot) with no local
  ignore file, the container's is read first, so a new machine does not upload what
  every other machine ignores. An ignore file that cannot be read (not UTF-8, over
  1 MiB) is replaced by the last one that could, and invalid lines are skipped; both
  become an issue on the file.
- **Nested ignore files** (``sub/.blobsyncignore``, git's semantics: see
  :mod:`blobsync.core.filters`) are read as the scan lists their folder, before
  anything in it is judged, so they cost no walk of their own and nothing when there
  are none. The same two rules hold as for the root's: one changed on another machine
  arrives like any file and applies from the next run (``ignore_file_changed``). One
  that is new in the container (no local file, no snapshot row: not one deleted
  here) is read from the container as the listing reaches it and applies in the same
  run, so a folder that arrives with its ignore file does not bring down what that
  file ignores (not in upload mode, where the folder is the only source). Items of its
  folder listed before it (names sorting before ``.blobsyncignore``) are judged again
  then; an unchanged one among them is forgotten from the next run on. If it cannot be
  read (the service fails, an archived blob), nothing in its folder changes in that
  run (an issue says so); one too large or not text is an issue, as the root's is.
- **Excluding never deletes**: an item that a rule keeps out is left alone on both
  sides; if it was synced before, only its snapshot row goes (``FORGET``), so it is not
  a deletion anywhere and counts for no safety valve.
- **Including never overwrites**: an item that comes back in has no snapshot row any
  more, so it is merged like on a first sync (the planner's ``new``/``new`` rows: same
  content is recorded, different content kept as a conflict, one-sided items copied).
  In the mirror modes, the mirror's own rule applies, as on its first sync: the source
  side wins.
- **Moves across the boundary**: a synced file that is gone from its place while a file
  with the same content sits in an excluded place of the folder (moved into an excluded
  folder, renamed to an ignored name) is not deleted from the container: the intent is
  unclear, so the container's copy is kept and an issue says where the file went. It
  stays held while that copy is there; a file that is simply gone is deleted as usual.
"""

from __future__ import annotations

import io
import logging
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

from ..errors import ItemError
from ..filters import (
    IGNORE_FILE,
    MAX_IGNORE_FILE_BYTES,
    NESTED_IGNORE_SUFFIX,
    Exclusion,
    FilterRules,
    PathFilter,
    PatternProblem,
    ignore_file_folder,
    parse_ignore_text,
)
from ..models import (
    Action,
    ActionKind,
    ExclusionCounts,
    Issue,
    IssueKind,
    LocalEntry,
    RemoteEntry,
    SnapshotEntry,
    SyncMode,
)
from ..names import is_reserved
from ..remote.base import RemoteStore
from .state import StateDB

log = logging.getLogger(__name__)

#: State DB key of the last ignore-file text that could be read.
_LAST_GOOD = "ignore_file_text"


class NestedFiles:
    """Where a run reads nested ignore files: ``root`` (None: not at all), the state DB
    keeping the last readable text of each, and whether the container's new ones count
    (``from_container``) and the texts are remembered (not in a dry run)."""

    def __init__(
        self, root: Path | None, state: StateDB | None, from_container: bool, dry_run: bool
    ) -> None:
        self.root = root
        self.state = state
        self.from_container = from_container and root is not None
        self.dry_run = dry_run


_NO_NESTED = NestedFiles(None, None, False, True)


class RunFilter:
    """One run's compiled rules and what they kept out (counted once per item: a file,
    a blob, or a folder that is excluded as a whole)."""

    def __init__(
        self,
        path_filter: PathFilter,
        ignore_text: str | None = None,
        ignore_on_disk: str | None = None,
        nested: NestedFiles = _NO_NESTED,
    ) -> None:
        self.filter = path_filter
        self.ignore_text = ignore_text  # the ignore file's text this run applies
        self.ignore_on_disk = ignore_on_disk  # the local file at the start (None: none/broken)
        self.nested = nested
        #: folder -> the text of its nested ignore file this run applies
        self.applied: dict[str, str] = {}
        self.issues: list[Issue] = []  # nested ignore files that could not be used fully
        #: folders ("web/") whose new ignore file in the container could not be read:
        #: nothing in them changes in this run
        self.held: list[str] = []
        self.counts = ExclusionCounts()
        self.forgotten = 0  # snapshot rows dropped because their item is now excluded
        self.pruned: list[str] = []  # local folders not entered
        self._tops: set[str] = set()
        self._excluded_files: dict[int, list[str]] = {}  # size -> excluded local files

    @property
    def active(self) -> bool:
        """Whether any rule applies (a nested ignore file may add some as the run goes)."""
        return self.filter.active

    @property
    def reads_nested(self) -> bool:
        """Whether the scan should report folders holding an ignore file."""
        return self.nested.root is not None

    def fresh(self) -> RunFilter:
        """The same rules with nothing counted yet (for a second planning pass)."""
        return RunFilter(self.filter, self.ignore_text, self.ignore_on_disk, self.nested)

    # ---- nested ignore files ------------------------------------------------------

    def local_ignore_file(self, rel_folder: str) -> None:
        """For the scanner: ``rel_folder`` holds an ignore file; apply it to what lies
        under it (the root's was read when the run started)."""
        root = self.nested.root
        if not rel_folder or root is None or is_reserved(rel_folder):
            return
        if self.filter.folder_excluded(rel_folder) is not None:
            return  # not entered anyway; its rules would change nothing
        key = f"{_LAST_GOOD}:{rel_folder}"
        state = self.nested.state
        try:
            text = read_ignore_file(root, rel_folder)
        except ItemError as exc:
            text = state.get_meta(key) if state is not None else None
            kept = " The rules it had before still apply." if text is not None else ""
            self.issues.append(_ignore_issue(rel_folder, exc.message + kept))
        else:
            if (
                text is not None
                and state is not None
                and not self.nested.dry_run
                and state.get_meta(key) != text
            ):
                state.set_meta(key, text)
        if text is not None:
            self._apply(rel_folder, text)

    def remote_ignore_file(
        self, remote: RemoteEntry, store: RemoteStore, actions: list[Action]
    ) -> None:
        """The listing reached a nested ignore file that is new in the container (no
        local file, no snapshot row): read it and apply it in this run, judging again
        the ``actions`` already planned for its folder (see the module docstring)."""
        rel_folder = ignore_file_folder(remote.rel_path)
        if not self.nested.from_container or not rel_folder or is_reserved(rel_folder):
            return
        if self.filter.folder_excluded(rel_folder) is not None:
            return
        try:
            text = _read_remote(store, remote)
        except _NotReadNow as exc:
            # Its rules are unknown: the folder waits rather than bring down (or send
            # up, or delete) what they may keep out. The next run tries again.
            self.held.append(rel_folder + "/")
            self._hold(actions, rel_folder + "/")
            self.issues.append(_ignore_issue(rel_folder, exc.message))
            return
        except ItemError as exc:  # too large, not text: what the root's would do
            self.issues.append(_ignore_issue(rel_folder, exc.message))
            return
        self._apply(rel_folder, text)
        self._judge_again(actions, rel_folder + "/")

    def holds(self, rel_path: str) -> bool:
        """True if ``rel_path`` lies in a folder that waits for its ignore file."""
        return rel_path.startswith(tuple(self.held))

    @staticmethod
    def _hold(actions: list[Action], inside: str) -> None:
        """Drop the changes planned so far under ``inside`` (the last ones, as keys come
        in order); a FORGET writes nothing and stays."""
        start = len(actions)
        while start > 0 and actions[start - 1].rel_path.startswith(inside):
            start -= 1
        actions[start:] = [a for a in actions[start:] if a.kind is ActionKind.FORGET]

    def _apply(self, rel_folder: str, text: str) -> None:
        lines, problems = parse_ignore_text(text)
        if problems:
            self.issues.append(_ignore_issue(rel_folder, _problems_message(problems)))
        self.applied[rel_folder] = text
        self.filter.add_ignore_file(rel_folder, lines)

    def _judge_again(self, actions: list[Action], inside: str) -> None:
        """The actions at the end of ``actions`` for items under ``inside`` (a folder
        with "/"; keys come in order, so they are the last ones) under the rules now."""
        start = len(actions)
        while start > 0 and actions[start - 1].rel_path.startswith(inside):
            start -= 1
        if start == len(actions):
            return
        tail = actions[start:]
        del actions[start:]
        noted: set[str] = set()
        for action in tail:
            key = action.rel_path
            if action.kind is ActionKind.FORGET:
                actions.append(action)  # excluded already, and counted
                continue
            verdict = self.filter.excluded(key)
            if verdict is None:
                actions.append(action)
            elif key not in noted:
                noted.add(key)
                self.note(verdict, key, action.snapshot, action.local)
                if action.snapshot is not None:
                    actions.append(Action(ActionKind.FORGET, key, snapshot=action.snapshot))

    def nested_changed(self, root: Path, actions: list[Action]) -> bool:
        """True if the run changed a nested ignore file on disk (brought another
        machine's version, removed it) so that it no longer says what this run
        applied: its rules apply from the next run."""
        for action in actions:
            key = action.rel_path
            if action.kind is ActionKind.FORGET or not key.endswith(NESTED_IGNORE_SUFFIX):
                continue
            folder = ignore_file_folder(key)
            try:
                now = read_ignore_file(root, folder)
            except ItemError:
                now = None
            if now != self.applied.get(folder):
                return True
        return False

    def ignore_file_changed(self, now: str | None) -> bool:
        """True if the ignore file now on disk (``now``; None if none or unusable) is
        neither what this run applied nor what was there when it started."""
        return now != self.ignore_text and now != self.ignore_on_disk

    def skip_local(self, rel_path: str, is_dir: bool) -> bool:
        """For the scanner: True to skip a folder (not entered) or a non-regular entry."""
        if is_reserved(rel_path):
            return False  # BlobSync's own space: the engine passes over it anyway
        verdict = (
            self.filter.folder_excluded(rel_path) if is_dir else self.filter.excluded(rel_path)
        )
        if verdict is None:
            return False
        self._count(verdict)
        if is_dir:
            self.pruned.append(rel_path)
        return True

    def note(
        self, verdict: Exclusion, key: str, snap: SnapshotEntry | None, local: LocalEntry | None
    ) -> None:
        """One merged item the rules keep out (``self.filter.excluded(key)``, which the
        engine calls itself, being on the hot path): counts it and notes what is needed
        later."""
        self._count(verdict)
        if local is not None:
            self._excluded_files.setdefault(local.size, []).append(key)
        if snap is not None:
            self.forgotten += 1

    def _count(self, verdict: Exclusion) -> None:
        if verdict.top not in self._tops:
            self._tops.add(verdict.top)
            self.counts.add(verdict.by, verdict.pattern)

    # ---- moves across the boundary ----------------------------------------------------

    def hold_moved_out(
        self,
        actions: list[Action],
        root: Path,
        md5_of: Callable[[str], bytes | None],
        pending_of: Callable[[], dict[str, str]],
    ) -> list[Action]:
        """``actions`` with each remote deletion whose file now sits in an excluded
        place replaced by a MOVED_OUT_OF_SYNC issue (see the module docstring).
        ``pending_of()``: rel_path -> where, from the issues of the previous run."""
        if not self.active or not any(a.kind is ActionKind.DELETE_REMOTE for a in actions):
            return actions
        pending = pending_of()
        wanted: dict[tuple[int, bytes], list[str]] = {}
        held: dict[str, str] = {}
        for a in actions:
            if a.kind is not ActionKind.DELETE_REMOTE:
                continue
            where = pending.get(a.rel_path)
            if where is not None and _is_file(root, where) and self.filter.excluded(where):
                held[a.rel_path] = where  # still there (perhaps edited since): still held
                continue
            if a.snapshot is not None:
                wanted.setdefault((a.snapshot.size, a.snapshot.md5), []).append(a.rel_path)
            elif a.remote is not None and a.remote.md5 is not None:
                wanted.setdefault((a.remote.size, a.remote.md5), []).append(a.rel_path)
        if wanted:
            sizes = {size for size, _md5 in wanted}
            for where, size in self._excluded_candidates(root, sizes):
                md5 = md5_of(where)
                for rel in wanted.pop((size, md5), ()) if md5 is not None else ():
                    held[rel] = where
                if not wanted:
                    break
        if not held:
            return actions
        return [
            _moved_out(a.rel_path, held[a.rel_path])
            if a.kind is ActionKind.DELETE_REMOTE and a.rel_path in held
            else a
            for a in actions
        ]

    def _excluded_candidates(self, root: Path, sizes: set[int]) -> Iterator[tuple[str, int]]:
        """(rel_path, size) of excluded local files of one of ``sizes``: those the scan
        saw, then those in the folders it did not enter (walked now, only because a
        deletion needs it)."""
        for size in sizes:
            for rel in self._excluded_files.get(size, ()):
                yield rel, size
        for folder in self.pruned:
            yield from _walk_sized(root, folder, sizes)


def _moved_out(rel_path: str, where: str) -> Action:
    return Action(
        ActionKind.ISSUE,
        rel_path,
        issue=Issue(
            rel_path,
            IssueKind.MOVED_OUT_OF_SYNC,
            f"It was moved to '{where}', which is not synced; the copy in the container was kept.",
            retryable=True,
            conflict_copy=where,
        ),
    )


def _ignore_issue(rel_folder: str, message: str) -> Issue:
    return Issue(f"{rel_folder}/{IGNORE_FILE}", IssueKind.IGNORE_FILE, message)


def _problems_message(problems: list[PatternProblem]) -> str:
    first = problems[0]
    more = f" ({len(problems) - 1} more such lines were skipped too)" if len(problems) > 1 else ""
    return f"Line {first.line_no}: {first.message} The line was skipped{more}."


def _is_file(root: Path, rel_path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(root / rel_path).st_mode)
    except OSError:
        return False


def _walk_sized(root: Path, rel_dir: str, sizes: set[int]) -> Iterator[tuple[str, int]]:
    """Regular files of one of ``sizes`` under ``rel_dir`` (links not followed)."""
    try:
        with os.scandir(root / rel_dir) as it:
            entries = list(it)
    except OSError:
        return
    for entry in entries:
        rel = f"{rel_dir}/{entry.name}"
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_sized(root, rel, sizes)
        elif stat.S_ISREG(st.st_mode) and st.st_size in sizes:
            yield rel, st.st_size


# ---- the rules of one run --------------------------------------------------------------


def build_run_filter(
    rules: FilterRules,
    root: Path,
    state: StateDB,
    store: RemoteStore,
    mode: SyncMode,
    container_exists: bool,
    dry_run: bool,
) -> tuple[RunFilter, list[Issue]]:
    """The run's rules (see the module docstring) and the issues met reading the ignore
    file. Raises ConfigError for an invalid pattern among ``rules.patterns``; FatalError
    from the store (first sync only)."""
    issues: list[Issue] = []
    text: str | None = None
    on_disk: str | None = None
    if rules.use_ignore_file:
        try:
            text = on_disk = read_ignore_file(root)
        except ItemError as exc:
            text = state.get_meta(_LAST_GOOD)
            kept = " The rules it had before still apply." if text is not None else ""
            issues.append(Issue(IGNORE_FILE, IssueKind.IGNORE_FILE, exc.message + kept))
        else:
            if text is not None and not dry_run:
                if state.get_meta(_LAST_GOOD) != text:
                    state.set_meta(_LAST_GOOD, text)
            elif text is None and _first_sync(state, mode, container_exists):
                text = _remote_ignore_text(store)
    lines, problems = parse_ignore_text(text or "")
    if problems:
        issues.append(Issue(IGNORE_FILE, IssueKind.IGNORE_FILE, _problems_message(problems)))
    nested = (
        NestedFiles(root, state, mode is not SyncMode.UPLOAD and container_exists, dry_run)
        if rules.use_ignore_file
        else _NO_NESTED
    )
    return RunFilter(PathFilter(rules, lines), text, on_disk, nested), issues


def local_path_filter(root: Path, rules: FilterRules) -> PathFilter:
    """The pair's rules with the folder's ignore files as they are now, for uses outside
    a run (the file watcher's ``skip``, a live "this would exclude N files" count):
    nested ones are read as their folders are first judged. An ignore file that cannot
    be read counts as empty; invalid lines are left out. Raises ConfigError for an
    invalid pattern among ``rules.patterns``."""
    if not rules.use_ignore_file:
        return PathFilter(rules)

    def usable_lines(rel_folder: str) -> list[str] | None:
        try:
            text = read_ignore_file(root, rel_folder)
        except ItemError:
            return None
        return None if text is None else parse_ignore_text(text)[0]

    return PathFilter(rules, usable_lines("") or (), discover=usable_lines)


def _first_sync(state: StateDB, mode: SyncMode, container_exists: bool) -> bool:
    """A first sync that may take the container's ignore file (not in upload mode,
    where the folder is the only source)."""
    return container_exists and mode is not SyncMode.UPLOAD and not state.has_snapshot()


def read_ignore_file(root: Path, rel_folder: str = "") -> str | None:
    """The text of ``root/rel_folder/.blobsyncignore``, or None if there is none (or it
    is not a regular file). Raises ItemError(IGNORE_FILE) if it cannot be used."""
    path = (root / rel_folder if rel_folder else root) / IGNORE_FILE
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode):
            return None
        if st.st_size > MAX_IGNORE_FILE_BYTES:
            raise ItemError(
                f"The ignore file is {st.st_size:,} bytes; at most "
                f"{MAX_IGNORE_FILE_BYTES:,} are read, so it was not used.",
                IssueKind.IGNORE_FILE,
            )
        with open(path, "rb") as fh:
            data = fh.read(MAX_IGNORE_FILE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ItemError(
            f"The ignore file cannot be read ({exc.strerror}), so it was not used.",
            IssueKind.IGNORE_FILE,
        ) from None
    return _decode(data)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ItemError(
            "The ignore file is not UTF-8 text, so it was not used.", IssueKind.IGNORE_FILE
        ) from None


def _remote_ignore_text(store: RemoteStore) -> str | None:
    """The container's ignore file, read into memory (the run downloads it as a file
    like any other); None if there is none or it cannot be read."""
    try:
        entry = store.get_entry(IGNORE_FILE)
        if entry is None or entry.size > MAX_IGNORE_FILE_BYTES:
            return None
        sink = io.BytesIO()
        store.download(IGNORE_FILE, entry.etag, sink)
        return _decode(sink.getvalue())
    except ItemError as exc:
        log.info("the container's ignore file was not read: %s", exc.message)
        return None


def _read_remote(store: RemoteStore, remote: RemoteEntry) -> str:
    """The text of a nested ignore file in the container, read into memory (the run
    downloads it as a file like any other). Raises ItemError(IGNORE_FILE)."""
    if remote.size > MAX_IGNORE_FILE_BYTES:
        raise ItemError(
            f"The ignore file in the container is {remote.size:,} bytes; at most "
            f"{MAX_IGNORE_FILE_BYTES:,} are read, so it was not used.",
            IssueKind.IGNORE_FILE,
        )
    sink = io.BytesIO()
    try:
        store.download(remote.rel_path, remote.etag, sink)
    except ItemError as exc:
        raise _NotReadNow(
            f"The ignore file in the container could not be read ({exc.message}); nothing "
            "in its folder is synced until it can be.",
            IssueKind.IGNORE_FILE,
        ) from None
    return _decode(sink.getvalue())


class _NotReadNow(ItemError):
    """A nested ignore file in the container that could not be read this time."""
