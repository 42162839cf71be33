"""What a ``blobsync sync``/``watch`` run keeps out, from the command line, and where it
syncs inside a container.

``--exclude PATTERN`` (repeatable) and ``--exclude-from FILE`` add patterns in
gitignore syntax (the folder's ``.blobsyncignore`` applies as well);
``--no-default-excludes`` switches the built-in list of OS and editor junk off. For a
saved pair they add to the pair's own patterns for this run. Every pattern is checked
before anything connects: each line that is not a valid pattern gets one sentence (a
typo in an exclude must not upload what it was meant to keep out).

``CONTAINER`` may carry a path: ``mycontainer/projects/x`` syncs the folder with the
blobs under ``projects/x/`` only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..app.settings import PairConfig
from ..errors import ConfigError
from ..filters import MAX_IGNORE_FILE_BYTES, FilterRules, parse_ignore_text, pattern_problem
from ..names import container_name_problem, normalize_prefix, prefix_problem


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags ``sync`` and ``watch`` share for what to leave out."""
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help="leave out what matches PATTERN (gitignore syntax; repeatable)",
    )
    parser.add_argument(
        "--exclude-from",
        action="append",
        default=[],
        metavar="FILE",
        help="leave out what the patterns in FILE match (one per line, as in .gitignore)",
    )
    parser.add_argument(
        "--no-default-excludes",
        action="store_true",
        help="also sync OS and editor junk (Thumbs.db, .DS_Store, ~$*, *.swp, ...)",
    )


def split_container(text: str) -> tuple[str, str]:
    """``container[/path]`` -> (container, normalised path, "" for the whole container).
    Raises ConfigError naming what is wrong."""
    container, _, path = text.partition("/")
    problem = container_name_problem(container)
    if problem:
        raise ConfigError(f"'{container}' is not a valid container name. {problem}")
    problem = prefix_problem(path)
    if problem:
        raise ConfigError(f"'{text}' does not name a usable path in the container. {problem}")
    return container, normalize_prefix(path)


def command_line_patterns(args: argparse.Namespace) -> list[str]:
    """The patterns of ``--exclude-from`` files, then of ``--exclude``, in order. Raises
    ConfigError with one sentence (one line) per line that is not a valid pattern."""
    patterns: list[str] = []
    problems: list[str] = []
    for name in getattr(args, "exclude_from", None) or []:
        lines, bad = parse_ignore_text(_read_pattern_file(Path(name).expanduser()))
        patterns += lines
        problems += [f"{name} line {p.line_no}: {p.message}" for p in bad]
    for pattern in getattr(args, "exclude", None) or []:
        problem = pattern_problem(pattern)
        if problem:
            problems.append(f"--exclude {problem}")
        else:
            patterns.append(pattern)
    if problems:
        raise ConfigError("\n".join(problems))
    return patterns


def rules_for(pair: PairConfig | None, args: argparse.Namespace) -> FilterRules:
    """The run's rules: the saved pair's (or none of its own), plus the command line's.
    Raises ConfigError for an invalid pattern."""
    extra = command_line_patterns(args)
    base = pair.filter_rules() if pair is not None else FilterRules()
    return FilterRules(
        patterns=(*base.patterns, *extra),
        use_defaults=base.use_defaults and not getattr(args, "no_default_excludes", False),
        use_ignore_file=base.use_ignore_file,
        excluded_folders=base.excluded_folders,
    )


def _read_pattern_file(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_IGNORE_FILE_BYTES:
            raise ConfigError(
                f"The pattern file {path} is larger than {MAX_IGNORE_FILE_BYTES:,} bytes."
            )
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"The pattern file {path} does not exist.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"The pattern file {path} is not UTF-8 text.") from None
    except OSError as exc:
        raise ConfigError(f"Cannot read the pattern file {path} ({exc.strerror}).") from None
