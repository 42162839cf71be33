"""Nested ignore files (``sub/.blobsyncignore``) on their own: git's semantics for
nested ``.gitignore`` files, checked against a table and, where git is installed,
against git itself on random trees; labels of nested rules; the pair's own patterns
still last; folders found as they go (``discover``)."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from blobsync.core.filters import IGNORE_FILE, FilterRules, PathFilter, is_ignore_file
from blobsync.core.models import ExcludedBy

Nested = dict[str, list[str]]  # folder ("" for the root) -> the lines of its ignore file


def path_filter(files: Nested, patterns: tuple[str, ...] = ()) -> PathFilter:
    rules = FilterRules(patterns=patterns, use_defaults=False)
    found = PathFilter(rules, files.get("", ()))
    for folder, lines in files.items():
        if folder:
            found.add_ignore_file(folder, lines)
    return found


def excluded(files: Nested, paths: list[str]) -> set[str]:
    rules = path_filter(files)
    return {p for p in paths if rules.excluded(p) is not None}


#: (ignore files, paths, the paths git excludes). Checked against git 2.39 with
#: `.gitignore` files in the same places; test_table_agrees_with_git re-checks it.
TABLE: list[tuple[Nested, list[str], set[str]]] = [
    # a pattern without a slash matches at any depth, but only under its folder
    ({"sub": ["*.log"]}, ["a.log", "sub/a.log", "sub/x/b.log", "other/c.log"], {"sub/a.log", "sub/x/b.log"}),
    # a pattern with a slash is anchored to the ignore file's folder
    ({"sub": ["/build"]}, ["build/x", "sub/build/x", "sub/y/build/x"], {"sub/build/x"}),
    ({"sub": ["docs/*.pdf"]}, ["docs/a.pdf", "sub/docs/a.pdf", "sub/x/docs/b.pdf"], {"sub/docs/a.pdf"}),
    ({"sub": ["x/**"]}, ["x/a", "sub/x/a", "sub/x/b/c", "sub/y/x/a"], {"sub/x/a", "sub/x/b/c"}),
    ({"a/b": ["c/**/d"]}, ["a/b/c/d", "a/b/c/x/d", "a/c/d", "a/b/x/c/d"], {"a/b/c/d", "a/b/c/x/d"}),
    ({"sub": ["*/"]}, ["sub/f", "sub/d/f", "d/f"], {"sub/d/f"}),
    ({"sub": ["*"]}, ["sub/f", "sub/d/f", "f"], {"sub/f", "sub/d/f"}),
    # a deeper file re-includes what a file above excluded
    ({"": ["*.log"], "sub": ["!keep.log"]}, ["keep.log", "sub/keep.log", "sub/x/keep.log", "sub/a.log"], {"keep.log", "sub/a.log"}),
    ({"sub": ["*.tmp"], "sub/deep": ["!*.tmp"]}, ["sub/a.tmp", "sub/deep/b.tmp", "sub/deep/x/c.tmp"], {"sub/a.tmp"}),
    # ... and the other way round
    ({"": ["!*.txt", "*.bin"], "sub": ["*.txt"]}, ["a.txt", "sub/a.txt", "sub/a.bin"], {"sub/a.txt", "sub/a.bin"}),
    # ... but not under an excluded folder: that stays excluded, its ignore files unread
    ({"": ["build/"], "build": ["!*"]}, ["build/x", "build/y/z"], {"build/x", "build/y/z"}),
    ({"sub": ["cache/"], "sub/cache": ["!keep"]}, ["sub/cache/keep", "sub/keep"], {"sub/cache/keep"}),
    ({"": ["sub/*", "!sub/open/"], "sub/shut": ["!x"], "sub/open": ["!x"]}, ["sub/shut/x", "sub/open/x", "sub/y"], {"sub/shut/x", "sub/y"}),
    # a folder's own ignore file does not judge the folder itself
    ({"sub": ["/sub", "sub"]}, ["sub/a", "sub/sub/b"], {"sub/sub/b"}),
    # glob characters in folder names are plain characters
    ({"we[i]rd*": ["/a"]}, ["we[i]rd*/a", "weird/a", "we[i]rdX/a"], {"we[i]rd*/a"}),
    ({"a b": ["c d"]}, ["a b/c d", "a b/x/c d", "c d"], {"a b/c d", "a b/x/c d"}),
]  # fmt: skip


@pytest.mark.parametrize(("files", "paths", "expected"), TABLE)
def test_nested_gitignore_semantics(files: Nested, paths: list[str], expected: set[str]) -> None:
    assert excluded(files, paths) == expected


def git_excluded(repo: Path, files: Nested, paths: list[str]) -> set[str]:
    """What git ignores with the same lines in ``.gitignore`` files (real files)."""
    shutil.rmtree(repo, ignore_errors=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for rel in paths:
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_bytes(b"")
    for folder, lines in files.items():
        (repo / folder).mkdir(parents=True, exist_ok=True)
        (repo / folder / ".gitignore").write_text("\n".join(lines) + "\n")
    out = subprocess.run(
        ["git", "-C", str(repo), "-c", "core.quotePath=false", "status", "--porcelain",
         "--ignored=matching", "-uall"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    found: set[str] = set()
    for line in out.splitlines():
        if line.startswith("!! "):
            name = line[3:].strip('"')
            found.update(p for p in paths if p == name or p.startswith(name.rstrip("/") + "/"))
    return found


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@needs_git
@pytest.mark.parametrize(("files", "paths", "expected"), TABLE)
def test_table_agrees_with_git(
    tmp_path: Path, files: Nested, paths: list[str], expected: set[str]
) -> None:
    assert git_excluded(tmp_path / "repo", files, paths) == expected


@needs_git
@pytest.mark.parametrize("seed", range(4))
def test_random_nested_files_agree_with_git(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    folders = ["a", "b", "x"]
    leaves = ["a", "b", "x", "d.txt", "e.log", "keep"]
    pool = [
        "a", "b/", "a/b", "/a", "*.txt", "!*.txt", "!a", "!b/", "a/**", "**/b", "b/*",
        "!keep", "*.log", "!e.log", "*/", "x", "!x/", "/b/*", "!/a", "x/**/", "!*.log",
        "d.*", "!d.txt", "/x", "!x", "*", "!*/",
    ]  # fmt: skip
    for _round in range(20):
        paths: list[str] = []
        for _ in range(14):
            depth = rng.randint(0, 3)
            rel = "/".join([*(rng.choice(folders) for _ in range(depth)), rng.choice(leaves)])
            clash = any(p.startswith(rel + "/") or rel.startswith(p + "/") for p in paths)
            if not clash and rel not in paths:
                paths.append(rel)
        dirs = sorted({p.rsplit("/", 1)[0] for p in paths if "/" in p} | {""})
        files = {
            d: [rng.choice(pool) for _ in range(rng.randint(1, 3))]
            for d in rng.sample(dirs, min(len(dirs), 3))
        }
        assert excluded(files, paths) == git_excluded(tmp_path / "repo", files, paths), (
            files,
            paths,
        )


def test_nested_rules_are_named_by_their_file() -> None:
    rules = path_filter({"": ["*.log"], "sub/deep": ["*.tmp", "!keep.log"]})
    verdict = rules.excluded("sub/deep/x.tmp")
    assert verdict is not None
    assert (verdict.by, verdict.pattern) == (
        ExcludedBy.IGNORE_FILE,
        "sub/deep/.blobsyncignore: *.tmp",
    )
    root_rule = rules.excluded("sub/deep/x/y.log")
    assert root_rule is not None and root_rule.pattern == "*.log"  # the root file's lines as before
    assert rules.excluded("sub/deep/keep.log") is None


def test_ignore_files_are_never_excluded_unless_their_folder_is() -> None:
    rules = path_filter({"": ["*", "!*/"], "sub": ["*", "!*/"], "out": ["*"]})
    rules.add_ignore_file("gone", ["x"])
    assert rules.excluded(IGNORE_FILE) is None
    assert rules.excluded("sub/" + IGNORE_FILE) is None
    assert rules.excluded("sub/d/" + IGNORE_FILE) is None
    assert rules.excluded("sub/d/file") is not None
    dropped = path_filter({"": ["out/"]})
    verdict = dropped.excluded("out/" + IGNORE_FILE)
    assert verdict is not None and verdict.top == "out"
    assert is_ignore_file("a/b/" + IGNORE_FILE) and is_ignore_file(IGNORE_FILE)
    assert not is_ignore_file("a/x" + IGNORE_FILE)


def test_the_pairs_own_patterns_still_come_last() -> None:
    rules = path_filter({"sub": ["!*.log"]}, patterns=("*.log",))
    verdict = rules.excluded("sub/a.log")
    assert verdict is not None and verdict.by is ExcludedBy.PATTERN
    rules = path_filter({"sub": ["*.log"]}, patterns=("!keep.log",))
    assert rules.excluded("sub/keep.log") is None
    assert rules.excluded("sub/other.log") is not None


def test_a_replaced_or_emptied_file_replaces_the_folders_rules() -> None:
    rules = path_filter({"sub": ["*.log"]})
    assert rules.excluded("sub/x/a.log") is not None
    rules.add_ignore_file("sub", ["*.tmp"])
    assert rules.excluded("sub/x/a.log") is None
    assert rules.excluded("sub/x/a.tmp") is not None
    rules.add_ignore_file("sub", [])
    assert rules.excluded("sub/x/a.tmp") is None
    assert rules.nested_folders == []


def test_discover_finds_nested_files_as_folders_are_judged() -> None:
    asked: list[str] = []
    on_disk = {"sub": ["*.log"], "sub/deep": ["!keep.log"], "skipped": ["!x"]}

    def discover(folder: str) -> list[str] | None:
        asked.append(folder)
        return on_disk.get(folder)

    rules = PathFilter(FilterRules(patterns=("skipped/",), use_defaults=False), (), discover)
    assert rules.excluded("sub/deep/a.log") is not None
    assert rules.excluded("sub/deep/keep.log") is None
    assert rules.excluded("skipped/x") is not None
    assert rules.excluded("a.log") is None
    assert rules.excluded("sub/deep/b.log") is not None
    assert asked == ["sub", "sub/deep"]  # once per folder; an excluded folder is not read
    assert rules.nested_folders == ["sub", "sub/deep"]


def test_a_filter_without_rules_becomes_active_with_a_nested_file() -> None:
    rules = PathFilter(FilterRules.nothing())
    assert not rules.active and rules.excluded("sub/a.log") is None
    rules.add_ignore_file("sub", ["*.log"])
    assert rules.active and rules.excluded("sub/a.log") is not None
