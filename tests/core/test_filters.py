"""The filter rules on their own (core/filters.py): gitignore semantics checked against a
table and, where git is installed, against git itself on random pattern sets; the
built-in list; selective sync; the ignore file's own name; pattern problems."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from blobsync.core.errors import ConfigError
from blobsync.core.filters import (
    DEFAULT_PATTERNS,
    IGNORE_FILE,
    Exclusion,
    FilterRules,
    PathFilter,
    folder_problem,
    parse_ignore_text,
    pattern_problem,
)
from blobsync.core.models import ExcludedBy, ExclusionCounts


def excluded(patterns: list[str], files: list[str]) -> set[str]:
    rules = PathFilter(FilterRules(patterns=tuple(patterns), use_defaults=False))
    return {f for f in files if rules.excluded(f) is not None}


#: (patterns, files, the files git excludes). Checked against git 2.39 (`git status
#: --ignored`); test_table_agrees_with_git re-checks it wherever git is installed.
TABLE: list[tuple[list[str], list[str], set[str]]] = [
    (["*.tmp", "!important.tmp"], ["x.tmp", "important.tmp", "d/important.tmp", "d/y.tmp"], {"x.tmp", "d/y.tmp"}),
    (["build/", "!build/keep.txt"], ["build/keep.txt", "build/x", "sub/build"], {"build/keep.txt", "build/x"}),
    (["logs/*", "!logs/keep.log"], ["logs/keep.log", "logs/y.log", "logs/sub/z"], {"logs/y.log", "logs/sub/z"}),
    (["a/**", "!a/keep"], ["a/keep", "a/x", "a/b/c", "b"], {"a/x", "a/b/c"}),
    (["*", "!*/", "!*.txt"], ["a.txt", "b.bin", "d/c.txt", "d/e.bin"], {"b.bin", "d/e.bin"}),
    (["**/", "!keep/"], ["r.txt", "keep/x", "d/y"], {"d/y"}),
    (["*/"], ["r.txt", "d/y", "d/e/f"], {"d/y", "d/e/f"}),
    (["a", "!a/b"], ["a/b", "a/c"], {"a/b", "a/c"}),
    (["/*", "!/keep"], ["keep/x", "other/y", "root.txt"], {"other/y", "root.txt"}),
    (["docs/**/*.pdf"], ["docs/a.pdf", "docs/x/y/b.pdf", "other/docs/c.pdf"], {"docs/a.pdf", "docs/x/y/b.pdf"}),
    (["a/**/b"], ["a/b", "a/x/b", "a/x/y/b/c", "a/bb"], {"a/b", "a/x/b", "a/x/y/b/c"}),
    (["foo", "!foo/"], ["foo/x", "x/foo"], {"x/foo"}),
    (["!foo/", "foo"], ["foo/x", "x/foo"], {"foo/x", "x/foo"}),
    (["d/*", "!d/e/"], ["d/e/f", "d/g"], {"d/g"}),
    (["**/tmp/"], ["tmp/a", "x/tmp/b", "tmpx"], {"tmp/a", "x/tmp/b"}),
    (["a/b"], ["a/b/c", "x/a/b/c", "q/a/b"], {"a/b/c"}),
    (["x/**/"], ["x/a", "x/y/b", "xz"], {"x/y/b"}),
    (["x/**/", "!x/y/"], ["x/a", "x/y/b"], set()),
    (["a/**", "!a/b/", "!a/b/d"], ["a/b/c", "a/b/d", "a/e"], {"a/b/c", "a/e"}),
    (["~$*", ".~lock.*#"], ["~$doc.docx", ".~lock.f.odt#", "d/~$x", "a~$"], {"~$doc.docx", ".~lock.f.odt#", "d/~$x"}),
    (["\\#x", "\\!y"], ["#x", "!y"], {"#x", "!y"}),
    (["a b", "c\\ "], ["a b", "c ", "c"], {"a b", "c "}),
    (["*.[oa]", "!x.a"], ["y.o", "x.a", "z.c"], {"y.o"}),
    (["?.txt"], ["a.txt", "ab.txt"], {"a.txt"}),
    (["d/**/*"], ["d/a", "d/b/c", "dd"], {"d/a", "d/b/c"}),
    (["# comment", "", "   "], ["# comment", "x"], set()),
]  # fmt: skip


@pytest.mark.parametrize(("patterns", "files", "expected"), TABLE)
def test_gitignore_semantics(patterns: list[str], files: list[str], expected: set[str]) -> None:
    assert excluded(patterns, files) == expected


def git_excluded(repo: Path, patterns: list[str], files: list[str]) -> set[str]:
    """What git itself ignores (the patterns in .git/info/exclude, real files on disk)."""
    shutil.rmtree(repo, ignore_errors=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".git" / "info").mkdir(parents=True, exist_ok=True)
    (repo / ".git" / "info" / "exclude").write_text("\n".join(patterns) + "\n")
    for rel in files:
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_bytes(b"")
    out = subprocess.run(
        ["git", "-C", str(repo), "-c", "core.quotePath=false", "status", "--porcelain",
         "--ignored=matching", "-uall"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    found: set[str] = set()
    for line in out.splitlines():
        if line.startswith("!! "):
            name = line[3:].strip('"')
            found.update(f for f in files if f == name or f.startswith(name.rstrip("/") + "/"))
    return found


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@needs_git
@pytest.mark.parametrize(("patterns", "files", "expected"), TABLE)
def test_table_agrees_with_git(
    tmp_path: Path, patterns: list[str], files: list[str], expected: set[str]
) -> None:
    assert git_excluded(tmp_path / "repo", patterns, files) == expected


@needs_git
@pytest.mark.parametrize("seed", range(4))
def test_random_pattern_sets_agree_with_git(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    folders = ["a", "b", "x"]
    leaves = ["a", "b", "x", "d.txt", "e.log", "x.tmp", "keep"]
    pool = [
        "a", "b/", "a/b", "/a", "*.txt", "!*.txt", "!a", "!b/", "a/**", "**/b", "b/*",
        "!keep", "*.log", "!e.log", "a/**/x", "*/", "x", "!x/", "/b/*", "**/keep/**",
        "d.*", "!d.txt", "x.*", "x/**/", "**/", "a/**/", "!a/**/", "**/a/", "/**/b",
    ]  # fmt: skip
    for _round in range(25):
        files: list[str] = []
        for _ in range(12):
            depth = rng.randint(0, 3)
            rel = "/".join([*(rng.choice(folders) for _ in range(depth)), rng.choice(leaves)])
            clash = any(f.startswith(rel + "/") or rel.startswith(f + "/") for f in files)
            if not clash and rel not in files:
                files.append(rel)
        patterns = [rng.choice(pool) for _ in range(rng.randint(1, 5))]
        assert excluded(patterns, files) == git_excluded(tmp_path / "repo", patterns, files), (
            patterns,
            files,
        )


def test_defaults_keep_out_os_and_editor_junk_and_can_be_switched_off() -> None:
    junk = [
        "Thumbs.db", "photos/Thumbs.db", "desktop.ini", ".DS_Store", "a/b/.DS_Store",
        "~$report.docx", ".~lock.budget.ods#", ".notes.txt.swp", "x.tmp",
        ".Trash-1000/files/old.txt", ".blobsync-abc123.tmp",
    ]  # fmt: skip
    keep = ["report.docx", "thumbs.db.txt", "tmp/notes.txt", "a.tmpl", "lock.ods", "swp"]
    on = PathFilter(FilterRules())
    assert {f for f in junk + keep if on.excluded(f)} == set(junk)
    verdict = on.excluded("a/b/.DS_Store")
    assert verdict == Exclusion("a/b/.DS_Store", ExcludedBy.DEFAULTS, ".DS_Store")
    off = PathFilter(FilterRules(use_defaults=False))
    assert not off.active
    assert all(off.excluded(f) is None for f in junk)
    assert len(DEFAULT_PATTERNS) == 9


def test_later_sources_override_earlier_ones() -> None:
    """Defaults, then the ignore file, then the pair's own patterns: the last match wins."""
    rules = PathFilter(FilterRules(patterns=("!keep.tmp", "*.log")), ["!*.tmp", "x.tmp", "a.log"])
    assert rules.excluded("keep.tmp") is None  # pair's pattern re-includes
    assert rules.excluded("other.tmp") is None  # the ignore file re-includes the default
    assert rules.excluded("x.tmp") == Exclusion("x.tmp", ExcludedBy.IGNORE_FILE, "x.tmp")
    assert rules.excluded("a.log") == Exclusion("a.log", ExcludedBy.PATTERN, "*.log")


def test_selective_sync_excludes_folders_whatever_the_patterns_say() -> None:
    rules = PathFilter(
        FilterRules(
            patterns=("!photos/**",), use_defaults=False, excluded_folders={"photos/2019/", "v"}
        )
    )
    assert rules.excluded("photos/2019/a.jpg") == Exclusion(
        "photos/2019", ExcludedBy.FOLDER, "photos/2019/"
    )
    assert rules.excluded("photos/2019/deep/b.jpg").top == "photos/2019"  # type: ignore[union-attr]
    assert rules.folder_excluded("photos/2019/deep") is not None
    assert rules.excluded("photos/2020/a.jpg") is None
    assert rules.excluded("photos/2019.txt") is None
    assert rules.excluded("v") is None  # a file named like the folder is not the folder
    assert rules.excluded("vv/x") is None


def test_an_excluded_folder_is_the_top_of_everything_below_it() -> None:
    rules = PathFilter(FilterRules(patterns=("node_modules/",), use_defaults=False))
    tops = {rules.excluded(f).top for f in ("a/node_modules/x.js", "a/node_modules/p/q.js")}  # type: ignore[union-attr]
    assert tops == {"a/node_modules"}
    assert rules.folder_excluded("a/node_modules") == Exclusion(
        "a/node_modules", ExcludedBy.PATTERN, "node_modules/"
    )
    assert rules.excluded("node_modules") is None  # a file: the pattern is for folders


def test_the_root_ignore_file_is_never_excluded() -> None:
    rules = PathFilter(FilterRules(patterns=("*", ".*")), [".blobsyncignore"])
    assert rules.excluded(IGNORE_FILE) is None
    assert rules.excluded("sub/.blobsyncignore") is not None  # only the root one is special


def test_invalid_patterns() -> None:
    assert pattern_problem("*.log") is None
    assert pattern_problem("# just a comment") is None
    assert pattern_problem("") is None
    for bad in ("!", "\\", "a\\", "[z-a]"):
        problem = pattern_problem(bad)
        assert problem is not None and problem.startswith(f"'{bad}' is not a valid pattern")
    with pytest.raises(ConfigError, match="not a valid pattern"):
        PathFilter(FilterRules(patterns=("ok", "!")))
    lines, problems = parse_ignore_text("*.log\r\n!\r\n# c\nbuild/\n[z-a]\n")
    assert lines == ["*.log", "# c", "build/"]
    assert [(p.line_no, p.line) for p in problems] == [(2, "!"), (5, "[z-a]")]


def test_folder_problems() -> None:
    assert folder_problem("photos/2019") is None
    assert folder_problem("/photos/") is None
    for bad in ("", "/", "a//b", "../x", "a/./b", "a\\b"):
        assert folder_problem(bad) is not None, bad
    with pytest.raises(ConfigError, match="excluded folder 'a//b' is not valid"):
        PathFilter(FilterRules(excluded_folders={"ok", "a//b"}))


def test_counts_add_up() -> None:
    counts = ExclusionCounts()
    counts.add(ExcludedBy.DEFAULTS, "*.tmp")
    counts.add(ExcludedBy.DEFAULTS, "*.tmp")
    counts.add(ExcludedBy.FOLDER, "photos/")
    assert (counts.defaults, counts.folder, counts.total) == (2, 1, 3)
    assert counts.by_pattern == {"*.tmp": 2, "photos/": 1}


def test_rules_accept_lists_and_sets() -> None:
    rules = FilterRules(patterns=["a"], excluded_folders=["x/", "/y"])  # type: ignore[arg-type]
    assert rules.patterns == ("a",) and rules.excluded_folders == frozenset({"x", "y"})
    assert hash(rules)  # usable as a key by clients
    assert FilterRules.nothing() == FilterRules(use_defaults=False, use_ignore_file=False)


def test_filters_on_hostile_names_do_not_crash() -> None:
    rules = PathFilter(FilterRules(patterns=("*.log", "a/")))
    for name in ("a//b", "/abs", "x/../y.log", "\udcff.log", "ctrl\x01.tmp", "é/ø.log"):
        rules.excluded(name)  # any verdict; the planner refuses such names afterwards
    assert rules.excluded("x/../y.log") is not None
