"""Which items a pair syncs: ignore patterns in gitignore syntax, a built-in list of OS
and editor junk, the folder's ``.blobsyncignore``, and selective sync (excluded folders).

The rules apply to relative paths, so local names and blob names are judged alike (an
ignored blob is never downloaded, an ignored file never uploaded). Semantics are git's
(https://git-scm.com/docs/gitignore): patterns are read in order, defaults first, then
the ignore file, then the pair's own patterns, and the last pattern that matches an item
decides (``!pattern`` re-includes); a pattern ending in ``/`` matches folders only; and
"it is not possible to re-include a file if a parent directory of that file is
excluded": a folder that is excluded takes everything under it along, which lets the
local scan skip it without entering it. An excluded folder of selective sync is
excluded whatever the patterns say. An ignore file is never excluded itself (unless
its folder is), so every machine reads the same rules.

A ``.blobsyncignore`` in a subfolder works as git's nested ``.gitignore`` does: its
patterns apply to what lies under its folder, relative to that folder (a pattern with a
slash is anchored there, one without matches at any depth below it), and they come
after those of the folders above it, so a deeper file can re-include with ``!`` (not
inside an excluded folder: that stays excluded, and its own ignore files are not read).
The pair's own patterns still come last. Each folder with nested files gets its own
compiled rule set (the ones above it plus its own), so folders without any pay nothing.

``pathspec`` (pinned) parses and translates the patterns; the matching itself is done
here on the item's own path, file or folder, because ``pathspec`` judges paths only as
files and lets a later pattern re-include a file under an excluded folder, which git
does not. Most paths match no pattern at all, so a cheap test comes first: patterns
without a slash (most of them) concern only the last path segment, and those that are
a plain name, ``*suffix`` or ``prefix*`` are tested with set and string operations; the
rest go into one alternation per kind. Only a path that passes this test is matched
rule by rule. Folder verdicts are cached, so a run with rules costs little more than
one without (bench/filters.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pathspec.patterns.gitignore.base import GitIgnorePatternError
from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

from .errors import ConfigError
from .models import ExcludedBy

#: The ignore file, at the root of a synced folder or in any folder below it. It syncs
#: like any other file.
IGNORE_FILE = ".blobsyncignore"
#: How the name of an ignore file below the root ends.
NESTED_IGNORE_SUFFIX = "/" + IGNORE_FILE
#: Larger ignore files are refused (nobody writes a megabyte of patterns by hand).
MAX_IGNORE_FILE_BYTES = 1024 * 1024

#: The built-in list (switched off with ``FilterRules(use_defaults=False)``): files that
#: operating systems, Office and editors leave beside documents, which would otherwise
#: reach every machine and turn into conflicts there. BlobSync's own temporary files
#: are never synced in any case (the scanner skips them).
DEFAULT_PATTERNS: tuple[str, ...] = (
    "Thumbs.db",  # Windows Explorer thumbnails
    "desktop.ini",  # Windows folder settings
    ".DS_Store",  # macOS Finder
    "~$*",  # Microsoft Office owner/lock files (~$report.docx)
    ".~lock.*#",  # LibreOffice lock files
    "*.swp",  # Vim swap files
    "*.tmp",
    ".Trash-*",  # trash folders on removable drives (freedesktop.org)
    ".blobsync-*.tmp",  # BlobSync's own in-progress downloads
)

_BASENAME_PREFIX = "^(?:.+/)?"  # how pathspec starts a pattern that matches at any depth
_NAMED_GROUP = re.compile(r"\(\?P<\w+>")
_GLOB_CHARS = re.compile(r"[*?\[\\]")


@dataclass(frozen=True, slots=True)
class FilterRules:
    """What a pair keeps out of the sync; the client builds it from the pair's settings.

    ``patterns``: the pair's own lines in gitignore syntax (``*.log``, ``build/``,
    ``!keep.log``...). ``use_defaults``: apply :data:`DEFAULT_PATTERNS`.
    ``use_ignore_file``: read the folder's :data:`IGNORE_FILE`. ``excluded_folders``:
    folders not synced (selective sync), as relative POSIX paths (``photos/2019``).
    Lists and sets are accepted and stored as tuple / frozenset.
    """

    patterns: tuple[str, ...] = ()
    use_defaults: bool = True
    use_ignore_file: bool = True
    excluded_folders: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "patterns", tuple(self.patterns))
        object.__setattr__(
            self, "excluded_folders", frozenset(f.strip("/") for f in self.excluded_folders)
        )

    @classmethod
    def nothing(cls) -> FilterRules:
        """No rules at all: everything syncs (no defaults, no ignore file)."""
        return cls(use_defaults=False, use_ignore_file=False)


@dataclass(frozen=True, slots=True)
class Exclusion:
    """Why an item is out: the highest excluded path on its way (the item itself, or
    the folder it lies in), the rule, and the deciding pattern line (for an excluded
    folder of selective sync: its path with a trailing slash)."""

    top: str
    by: ExcludedBy
    pattern: str


@dataclass(frozen=True, slots=True)
class PatternProblem:
    """A line that is not a valid pattern; ``line_no`` counts from 1."""

    line_no: int
    line: str
    message: str


def pattern_problem(line: str) -> str | None:
    """Why ``line`` is not a usable gitignore pattern, or None (blank lines and
    ``#`` comments are fine: they do nothing). For clients checking input as typed."""
    try:
        _compile_line(line)
    except _BadPattern as exc:
        return exc.message
    return None


def folder_problem(rel_folder: str) -> str | None:
    """Why ``rel_folder`` cannot name a folder inside the pair, or None."""
    folder = rel_folder.strip("/")
    if not folder:
        return "Choose a folder inside the synced folder, not the folder itself."
    if "\\" in folder or any(seg in ("", ".", "..") for seg in folder.split("/")):
        return "A folder path uses '/' between names and has no empty, '.' or '..' parts."
    return None


def is_ignore_file(rel_path: str) -> bool:
    """True for the ignore file at the root or in any folder below it."""
    return rel_path == IGNORE_FILE or rel_path.endswith(NESTED_IGNORE_SUFFIX)


def ignore_file_folder(rel_path: str) -> str:
    """The folder an ignore file's rules apply to ("" for the root's)."""
    return rel_path[: -len(NESTED_IGNORE_SUFFIX)] if rel_path != IGNORE_FILE else ""


def parse_ignore_text(text: str) -> tuple[list[str], list[PatternProblem]]:
    """The usable lines of an ignore file and the problems of the others (skipped)."""
    lines: list[str] = []
    problems: list[PatternProblem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        problem = pattern_problem(line)
        if problem is None:
            lines.append(line)
        else:
            problems.append(PatternProblem(number, line, problem))
    return lines, problems


class _BadPattern(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class _Rule:
    exclude: bool  # False for a "!pattern" that re-includes
    by: ExcludedBy
    line: str
    regex: re.Pattern[str]  # matched against the whole path (folders end with "/")
    basename: bool  # regex applies to the last segment only
    source: str  # the line as written
    anchor: str  # the literal start of every path a many-segment rule can match


def _one_segment(line: str) -> str:
    """The pattern without "!", a trailing "/" and a leading "**/" (which changes nothing:
    a pattern without a slash matches at any depth anyway)."""
    body = line.rstrip().removeprefix("!").removesuffix("/")
    return body[3:] if body.startswith("**/") else body


def _anchor(line: str) -> str:
    """The literal start every path a many-segment pattern matches begins with ("" if
    the pattern starts with a wildcard): ``/dist`` -> ``dist``, ``docs/**/*.pdf`` ->
    ``docs/``."""
    body = line.rstrip().removeprefix("!").removeprefix("/")
    found = _GLOB_CHARS.search(body)
    return body if found is None else body[: found.start()]


def _literal_form(line: str) -> tuple[str, str]:
    """How the cheap test can look for the names a one-segment pattern may match:
    ("name", n) for exactly n, ("suffix", s) for names ending in s (``*s``), ("prefix",
    p) for names starting with p (``p*``), ("regex", "") otherwise. Leading spaces count
    in gitignore, trailing ones do not (unless escaped, which takes the regex)."""
    body = _one_segment(line)
    if not _GLOB_CHARS.search(body):
        return "name", body
    if body.startswith("*") and not _GLOB_CHARS.search(body[1:]):
        return "suffix", body[1:]
    if body.endswith("*") and not _GLOB_CHARS.search(body[:-1]):
        return "prefix", body[:-1]
    return "regex", ""


def _compile_line(line: str) -> tuple[str, bool, bool] | None:
    """(regex text, exclude, basename-only) for one line, or None for a line that does
    nothing. Raises _BadPattern."""
    source = line.rstrip()
    # "dir/**/" means the folders inside dir (git), where pathspec matches dir itself:
    # take "dir/**" (what is inside dir) and keep only folders.
    inside_folders = source.endswith("/**/") and source.lstrip("!") != "/**/"
    try:
        pattern = GitIgnoreSpecPattern(source[:-1] if inside_folders else line)
    except (GitIgnorePatternError, re.error, ValueError) as exc:
        why = exc.msg if isinstance(exc, re.error) else str(exc)  # re.error: no position
        raise _BadPattern(f"'{line}' is not a valid pattern ({why}).") from None
    if pattern.include is None or pattern.regex is None:
        return None
    text = _NAMED_GROUP.sub("(?:", pattern.regex.pattern)
    # pathspec's regexes are matched as prefixes (a match on "dir/" covers what lies
    # below); here they must match the item itself, so the open-ended ones are closed.
    if text == ".":  # "*" and "**": everything
        text = ".+"
    elif text == "(?:/)":  # "*/" and "**/": every folder
        text = ".+/"
    elif text == "/":  # "**/*/**": everything below a first-level folder
        text = ".+/.+"
    elif not text.endswith(("|$)", "(?:/)")):  # "dir/**": whatever is inside dir
        text += ".+"
    if inside_folders:
        text += "/"
    basename = "/" not in _one_segment(line.strip()) and text.startswith(_BASENAME_PREFIX)
    if basename:
        text = text[len(_BASENAME_PREFIX) :]
    try:
        re.compile(text)
    except re.error as exc:  # pragma: no cover - pathspec produced it, so it compiles
        raise _BadPattern(f"'{line}' is not a valid pattern ({exc}).") from None
    return text, pattern.include, basename


def _compile_rules(
    sources: Iterable[tuple[ExcludedBy, str]], folder: str = "", label: str = ""
) -> list[_Rule]:
    """Compiled rules for ``sources``; with ``folder``, as the lines of that folder's
    ignore file (anchored there), counted under ``label`` + line. Raises _BadPattern."""
    rules: list[_Rule] = []
    base = folder + "/" if folder else ""
    for by, line in sources:
        compiled = _compile_line(line)
        if compiled is None:
            continue
        text, exclude, basename = compiled
        anchor = "" if basename else base + _anchor(line)
        if base and not basename:
            # Anchored to the ignore file's folder. A one-segment rule needs nothing:
            # the rule set it joins only ever judges paths under that folder.
            text = re.escape(base) + text.removeprefix("^")
        rules.append(
            _Rule(exclude, by, label + line.strip(), re.compile(text), basename, line, anchor)
        )
    return rules


class _RuleSet:
    """Rules in order (the last match decides) and the cheap test for them (see the
    module docstring)."""

    __slots__ = ("anchors", "any_base", "any_full", "exact", "prefixes", "reversed", "tails")

    def __init__(self, rules: list[_Rule]) -> None:
        self.reversed = rules[::-1]
        exact: set[str] = set()
        suffixes: list[str] = []
        prefixes: list[str] = []
        base: list[str] = []
        for rule in rules:
            if rule.basename:
                kind, literal = _literal_form(rule.source)
                if kind == "name":
                    exact.add(literal)
                elif kind == "suffix":
                    suffixes.append(literal)
                elif kind == "prefix":
                    prefixes.append(literal)
                else:
                    base.append(rule.regex.pattern)
        full = [r.regex.pattern for r in rules if not r.basename]
        self.anchors = [r.anchor for r in rules if not r.basename]
        self.exact = frozenset(exact)
        # One endswith() covers "*suffix" patterns and plain names below the root.
        self.tails = tuple(suffixes) + tuple("/" + name for name in exact)
        self.prefixes = tuple(prefixes)
        self.any_base = re.compile("|".join(f"(?:{t})" for t in base)) if base else None
        self.any_full = re.compile("|".join(f"(?:{t})" for t in full)) if full else None

    def full_here(self, rel_folder: str) -> bool:
        """Whether a many-segment rule may match a file directly in ``rel_folder``: it
        matches only paths that start with its literal anchor."""
        here = rel_folder + "/" if rel_folder else ""
        return any(
            here.startswith(a) or (a.startswith(here) and "/" not in a[len(here) :])
            for a in self.anchors
        )

    def match(self, subject: str, start: int, top: str) -> Exclusion | None:
        """The last rule matching ``subject`` (a path; folders end with "/") decides.
        ``start`` is where its last segment begins."""
        for rule in self.reversed:
            hit = (
                rule.regex.fullmatch(subject, start)
                if rule.basename
                else rule.regex.fullmatch(subject)
            )
            if hit is not None:
                return Exclusion(top, rule.by, rule.line) if rule.exclude else None
        return None


#: ``discover(rel_folder)``: the lines of that folder's ignore file, or None if it has
#: none (for filters used outside a run, which find nested ignore files as they go).
Discover = Callable[[str], list[str] | None]


class PathFilter:
    """The compiled rules of one run. ``excluded(rel_path)`` judges a file or blob,
    ``folder_excluded(rel_folder)`` a folder; both return an :class:`Exclusion` or
    None. Nested ignore files join with :meth:`add_ignore_file` (the engine's scan, as
    it lists each folder) or through ``discover``. Not thread-safe (the engine plans on
    one thread)."""

    def __init__(
        self,
        rules: FilterRules,
        ignore_lines: Iterable[str] = (),
        discover: Discover | None = None,
    ) -> None:
        """Raises ConfigError if one of the pair's own patterns or excluded folders is
        not valid (clients check them with :func:`pattern_problem` and
        :func:`folder_problem` first); ``ignore_lines`` must already be valid
        (:func:`parse_ignore_text`)."""
        low: list[tuple[ExcludedBy, str]] = []
        if rules.use_defaults:
            low += [(ExcludedBy.DEFAULTS, line) for line in DEFAULT_PATTERNS]
        low += [(ExcludedBy.IGNORE_FILE, line) for line in ignore_lines]
        try:
            self._low = _compile_rules(low)
            self._high = _compile_rules((ExcludedBy.PATTERN, line) for line in rules.patterns)
        except _BadPattern as exc:
            raise ConfigError(f"The sync pattern {exc.message}") from None
        for folder in sorted(rules.excluded_folders):
            problem = folder_problem(folder)
            if problem is not None:
                raise ConfigError(f"The excluded folder '{folder}' is not valid: {problem}")
        self._folders = rules.excluded_folders
        self._discover = discover
        #: folder -> the compiled lines of its ignore file (nested ones only)
        self._layers: dict[str, list[_Rule]] = {}
        #: folder -> the rule set for what lies under it ("" and folders with a layer)
        self._sets: dict[str, _RuleSet] = {"": _RuleSet(self._low + self._high)}
        #: folder -> (its verdict, whether a many-segment rule may match a file in it,
        #: the rule set for what lies in it)
        self._folder_cache: dict[str, tuple[Exclusion | None, bool, _RuleSet]] = {}
        self.active = bool(self._low or self._high or self._folders)

    @property
    def nested_folders(self) -> list[str]:
        """The folders whose own ignore file is applied (sorted)."""
        return sorted(self._layers)

    def add_ignore_file(self, rel_folder: str, lines: Iterable[str]) -> None:
        """Apply the ignore file of ``rel_folder`` (not the root) from now on, in place of
        any the folder had; ``lines`` must be valid (:func:`parse_ignore_text`). Call it
        before anything under the folder is judged (verdicts cached so far are
        dropped)."""
        self._set_layer(rel_folder, lines)
        self._folder_cache.clear()

    def _set_layer(self, rel_folder: str, lines: Iterable[str]) -> None:
        label = f"{rel_folder}/{IGNORE_FILE}: "
        try:
            layer = _compile_rules(
                ((ExcludedBy.IGNORE_FILE, line) for line in lines), rel_folder, label
            )
        except _BadPattern:  # pragma: no cover - the caller passes parsed lines
            layer = []
        inside = rel_folder + "/"
        for folder in [f for f in self._sets if f == rel_folder or f.startswith(inside)]:
            del self._sets[folder]
        if layer:
            self._layers[rel_folder] = layer
        else:
            self._layers.pop(rel_folder, None)
        self.active = self.active or bool(layer)

    def _set_of(self, rel_folder: str) -> _RuleSet:
        """The rule set for a folder with a layer: the rules of every ignore file on the
        way down, shallow to deep, then the pair's own patterns."""
        known = self._sets.get(rel_folder)
        if known is not None:
            return known
        rules = list(self._low)
        parts = rel_folder.split("/")
        for depth in range(1, len(parts) + 1):
            rules += self._layers.get("/".join(parts[:depth]), ())
        made = self._sets[rel_folder] = _RuleSet(rules + self._high)
        return made

    def excluded(self, rel_path: str) -> Exclusion | None:
        """Why the file or blob ``rel_path`` is out of the sync, or None if it syncs."""
        if not self.active:
            return None
        cut = rel_path.rfind("/")
        folder = rel_path[:cut] if cut > 0 else ""
        known = self._folder_cache.get(folder)
        above, full_here, rs = known if known is not None else self._folder(folder)
        if above is not None:
            return above
        any_base = rs.any_base
        if (
            (
                rel_path.endswith(rs.tails)
                or rel_path.startswith(rs.prefixes, cut + 1)
                or (cut < 0 and rel_path in rs.exact)
                or (any_base is not None and any_base.fullmatch(rel_path, cut + 1))
                or (full_here and rs.any_full is not None and rs.any_full.fullmatch(rel_path))
            )
            and rel_path != IGNORE_FILE
            and not rel_path.endswith(NESTED_IGNORE_SUFFIX)
        ):
            return rs.match(rel_path, cut + 1, rel_path)
        return None  # the common case: no pattern mentions this item at all

    def skips(self, rel_path: str, is_dir: bool) -> bool:
        """True if the file (or, with ``is_dir``, the folder) ``rel_path`` is out of the
        sync: the form the scanner and the file watcher take."""
        verdict = self.folder_excluded(rel_path) if is_dir else self.excluded(rel_path)
        return verdict is not None

    def folder_excluded(self, rel_folder: str) -> Exclusion | None:
        """Why the folder ``rel_folder`` (and all below it) is out, or None."""
        return self._folder(rel_folder)[0] if rel_folder else None

    def _folder(self, rel_folder: str) -> tuple[Exclusion | None, bool, _RuleSet]:
        cache = self._folder_cache
        known = cache.get(rel_folder)
        if known is not None:
            return known
        verdict: Exclusion | None = None
        rs = self._sets[""]
        if rel_folder:
            cut = rel_folder.rfind("/")
            verdict, _full, rs = self._folder(rel_folder[:cut]) if cut > 0 else self._folder("")
            if verdict is None:
                if rel_folder in self._folders:
                    verdict = Exclusion(rel_folder, ExcludedBy.FOLDER, rel_folder + "/")
                else:  # once per folder: no cheap test needed
                    verdict = rs.match(rel_folder + "/", cut + 1, rel_folder)
            if verdict is None:
                if self._discover is not None:
                    lines = self._discover(rel_folder)
                    if lines is not None:
                        self._set_layer(rel_folder, lines)
                if rel_folder in self._layers:
                    rs = self._set_of(rel_folder)
        full_here = rs.full_here(rel_folder)
        if len(cache) > 200_000:  # bounded: a listing with millions of folders
            cache.clear()
        cache[rel_folder] = (verdict, full_here, rs)
        return verdict, full_here, rs
