"""``blobsync history``, ``blobsync restore`` and ``blobsync undo``: who changed what, and
getting it back (the app's Activity view offers the same, over the same calls).

A pair is named as ``blobsync sync`` names one: FOLDER CONTAINER (``--account``, or the
environment's credentials) or ``--pair NAME``; ``history`` without either lists every
pair set up in the app.

- ``history [--kind K] [--text T] [--run RUN_ID] [--limit N]``: the runs that changed
  something (their ids are what ``undo`` takes) and the changes, newest first, each
  with who made it ("Deleted here: deleted on laptop-2"). Offline: it reads the
  machine's history database only.
- ``restore ... PATH [--version N] [--list]``: ``--list`` numbers the previous versions
  kept of one file (this machine's recycle bin, the container's, or the account's blob
  versions), newest first; without it version N (default 1, the newest) is put back and
  synced to the other side. What it replaces goes to a recycle bin first.
- ``undo ... RUN_ID``: reverses one run on both sides. An item changed since is left
  alone and listed; the rest is undone.

``--dry-run`` says what would be done and changes nothing. Exit codes as for ``sync``:
0 done; 1 done, but items were left alone (listed) or the sync after it has issues;
2 an unknown pair, run or version (one sentence), a paused pair.

Restore and undo open the engine through :func:`.sync.open_pair_engine`, as ``sync``
does, and run with the options :meth:`AppService.options` gives the pair (machine name,
conflict rule, recycle bins) plus, for FOLDER CONTAINER, ``--mode`` and the filter
flags of the syncs it undoes: the sync that follows a restore or an undo must leave out
what those syncs left out.
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from ..app.pairs import pair_key
from ..app.recovery import KIND_GROUPS, HistoryReader, PairChange, version_words
from ..app.service import AppService
from ..app.settings import PairConfig
from ..credentials import Credentials
from ..engine import SyncOptions
from ..engine.history import Run
from ..engine.recovery import FileVersion
from ..errors import ConfigError, ItemError
from ..models import SyncMode
from .filters import add_filter_arguments
from .items import add_item_arguments, item_of, pair_and_word, warn_expiry
from .output import (
    change_dict,
    format_changes,
    format_recovery,
    format_runs,
    recovery_dict,
    recovery_troubled,
    run_dict,
    version_dict,
)
from .sync import (
    EXIT_ISSUES,
    EXIT_OK,
    Target,
    account_of,
    add_target_arguments,
    open_pair_engine,
    options_for,
    out,
    paused,
    targets,
)

# ---- history --------------------------------------------------------------------------


def _named_history(
    args: argparse.Namespace, service: AppService
) -> tuple[HistoryReader, PairConfig]:
    """The history with the pair ``args`` names in it (a FOLDER CONTAINER pair that is
    not set up in the app is added by its machine-wide key). Raises ConfigError."""
    target = targets(args, service)[0]
    url, name = account_of(target, service)
    key = pair_key(target.local, url, name, target.container, target.prefix)
    base = service.history()
    keys = dict(base.keys)
    pair = keys.setdefault(key, target.pair_config())  # a saved pair keeps its name
    return HistoryReader(base.path, keys), pair


def cmd_history(args: argparse.Namespace, service: AppService) -> int:
    if args.limit < 1:
        raise ConfigError("--limit must be at least 1.")
    named = bool(args.pair) or args.local_dir is not None or args.container is not None
    if named:
        reader, pair = _named_history(args, service)
    else:
        reader, pair = service.history(), None
    kinds = KIND_GROUPS[args.kind] if args.kind else None
    changes = reader.changes(
        pair=pair, kinds=kinds, text=args.text, run_id=args.run, limit=args.limit
    )
    runs = _runs(reader, pair, args, changes)
    if args.json:
        out(
            json.dumps(
                {
                    "runs": [run_dict(run, reader.keys.get(run.pair)) for run, _name in runs],
                    "changes": [change_dict(c) for c in changes],
                }
            )
        )
        return EXIT_OK
    if not changes and not runs:
        filtered = args.kind or args.text or args.run
        out("No recorded change matches." if filtered else "No changes recorded yet.")
        return EXIT_OK
    if runs:
        how = f"blobsync undo {_address(args, pair)} RUN_ID"
        out(f"Runs, newest first (reverse one with: {how}):")
        for line in format_runs(runs, show_pair=not named):
            out(line)
    if changes:
        out("Changes, newest first:")
        for line in format_changes(changes, show_pair=not named):
            out(line)
    return EXIT_OK


def _runs(
    reader: HistoryReader,
    pair: PairConfig | None,
    args: argparse.Namespace,
    shown: list[PairChange],
) -> list[tuple[Run, str]]:
    """The runs to list with their pair's name, newest first: the recent ones (of
    ``pair``, or of every pair), or with --run that one, or with --kind/--text those of
    the changes shown."""
    filtered = bool(args.run or args.kind or args.text)
    # filtered: look through all the runs kept (a few thousand rows in 90 days at most)
    runs = reader.runs(pair, limit=1_000_000 if filtered else args.limit)
    if args.run:
        runs = [run for run in runs if run.run_id == args.run]
    elif args.kind or args.text:
        ids = {c.change.run_id for c in shown}
        runs = [run for run in runs if run.run_id in ids]
    return [(run, reader.name_of(run.pair)) for run in runs[: args.limit]]


def _address(args: argparse.Namespace, pair: PairConfig | None) -> str:
    """How ``undo`` names the pair the history was listed for."""
    if pair is not None and pair.name:
        return f"--pair {pair.name}"
    if pair is not None:
        return f"{shlex.quote(args.local_dir)} {shlex.quote(args.container)}"
    return "--pair NAME"


# ---- restore and undo -----------------------------------------------------------------


def _recovery_target(
    args: argparse.Namespace, service: AppService, what: str
) -> tuple[Target, str, Credentials, SyncOptions]:
    """The pair (as a Target), the PATH (as a relative path) or RUN_ID, the credentials
    and the options of the sync that carries the change. Raises ConfigError."""
    if what == "PATH":
        pair, word, creds = item_of(args, service)
    else:
        pair, word, creds = pair_and_word(args, service, what)
    saved = pair if args.pair else None
    if saved is not None and args.mode:
        raise ConfigError("--mode applies to FOLDER CONTAINER; a saved pair has its own mode.")
    mode = SyncMode(args.mode) if args.mode else pair.mode
    target = Target(
        Path(pair.local_root),
        pair.container,
        mode,
        pair.account or None,
        pair=saved,
        prefix=pair.prefix,
    )
    warn_expiry(service, pair, creds)
    if creds is None:
        creds = service.credentials(pair.account)
    options = options_for(target, args, service)
    options.dry_run = False  # a dry restore or undo never syncs; the engine is told
    if paused(target, creds, service) and not (args.dry_run or getattr(args, "list", False)):
        raise ConfigError(
            f"This pair is paused; resume it first: blobsync resume {saved.name if saved else target.local}"
        )
    return target, word, creds, options


def cmd_restore(args: argparse.Namespace, service: AppService) -> int:
    if args.list and args.version is not None:
        raise ConfigError("--list shows the versions; --version N restores one: give one.")
    if args.version is not None and args.version < 1:
        raise ConfigError("--version counts from 1, the newest previous version.")
    target, rel_path, creds, options = _recovery_target(args, service, "PATH")
    engine = open_pair_engine(target.pair_config(), creds)
    try:
        versions = engine.versions(rel_path)
        if args.list:
            return _list_versions(args, rel_path, versions)
        number = args.version or 1
        if not versions:
            raise ConfigError(f"No previous version of {rel_path} is kept in either recycle bin.")
        if number > len(versions):
            raise ConfigError(
                f"There is no version {number} of {rel_path}: {len(versions)} kept "
                "(blobsync restore ... --list shows them)."
            )
        version = versions[number - 1]
        try:
            result = engine.restore(rel_path, version, options=options, dry_run=args.dry_run)
        except ItemError as exc:  # a name BlobSync never syncs
            raise ConfigError(f"{rel_path}: {exc.message}") from None
    finally:
        engine.close()
    if args.json:
        out(
            json.dumps(
                {
                    "path": rel_path,
                    "version": version_dict(number, version),
                    **recovery_dict(result),
                }
            )
        )
    else:
        out(
            f"{'Would restore' if args.dry_run else 'Restored'} {rel_path}, version {version_words(number, version)}"
        )
        for line in format_recovery(result, "restore"):
            out(line)
    return EXIT_ISSUES if recovery_troubled(result) else EXIT_OK


def _list_versions(args: argparse.Namespace, rel_path: str, versions: list[FileVersion]) -> int:
    if args.json:
        out(
            json.dumps(
                {
                    "path": rel_path,
                    "versions": [version_dict(n, v) for n, v in enumerate(versions, 1)],
                }
            )
        )
        return EXIT_OK
    if not versions:
        out(f"No previous version of {rel_path} is kept.")
        return EXIT_OK
    out(f"Previous versions of {rel_path}, newest first (restore one with --version N):")
    for n, version in enumerate(versions, 1):
        out(f"  {version_words(n, version)}")
    return EXIT_OK


def cmd_undo(args: argparse.Namespace, service: AppService) -> int:
    target, run_id, creds, options = _recovery_target(args, service, "RUN_ID")
    engine = open_pair_engine(target.pair_config(), creds)
    try:
        result = engine.undo(run_id, options=options, dry_run=args.dry_run)
    except ItemError as exc:  # no such run for this pair
        raise ConfigError(
            f"{exc.message.rstrip('.')} ({run_id}); 'blobsync history' lists the runs."
        ) from None
    finally:
        engine.close()
    if args.json:
        out(json.dumps({"undone_run": run_id, **recovery_dict(result)}))
    else:
        for line in format_recovery(result, "undo"):
            out(line)
    return EXIT_ISSUES if recovery_troubled(result) else EXIT_OK


# ---- parsers --------------------------------------------------------------------------


def add_recovery_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    history = sub.add_parser(
        "history", parents=[common], help="list the runs and changes, newest first"
    )
    add_target_arguments(history, many=False)
    history.add_argument("--kind", choices=list(KIND_GROUPS), help="only changes of this kind")
    history.add_argument(
        "--text", metavar="TEXT", help="only changes whose path or machine has TEXT"
    )
    history.add_argument("--run", metavar="RUN_ID", help="only this run's changes")
    history.add_argument(
        "--limit", type=int, default=50, metavar="N", help="at most N runs and N changes (50)"
    )
    history.set_defaults(handler=cmd_history)

    restore = sub.add_parser(
        "restore", parents=[common], help="put a previous version of a file back"
    )
    add_item_arguments(restore)
    restore.add_argument(
        "--version",
        type=int,
        default=None,
        metavar="N",
        help="the N-th previous version (1, the newest)",
    )
    restore.add_argument("--list", action="store_true", help="list the previous versions kept")
    _add_recovery_flags(restore)
    restore.set_defaults(handler=cmd_restore)

    undo = sub.add_parser("undo", parents=[common], help="reverse one run on both sides")
    add_item_arguments(undo, "RUN_ID")
    _add_recovery_flags(undo)
    undo.set_defaults(handler=cmd_undo)


def _add_recovery_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run", action="store_true", help="say what would be done, change nothing"
    )
    parser.add_argument(
        "--mode",
        choices=[m.value for m in SyncMode],
        default=None,
        help="the mode of the sync that follows (FOLDER CONTAINER only; as its syncs use)",
    )
    add_filter_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON, nothing else")
