"""``blobsync sync`` and ``blobsync issues``: one pair given as FOLDER CONTAINER, or a
pair set up in the app (``--pair NAME``), or all of them (``--all``).

Folders: ``sync`` refuses a missing folder (a typo must not look like "everything
was deleted"), except in ``--mode download``, where it creates the folder (the
container is the source; nothing local can be lost). A dry run never creates it.
Containers: the first sync (two-way/upload) creates a missing container and says so;
``--mode download`` of a missing container is an error (exit 2). A paused pair is not
synced (``blobsync resume`` first); ``--all`` skips paused pairs and says so.
CONTAINER may carry a path inside it (``mycontainer/projects/x``); what a run leaves out
comes from :mod:`.filters`. A run that brought a changed ``.blobsyncignore`` is followed
by a second one at once, under the new rules.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..app.engines import open_engine, open_offline_engine, open_store
from ..app.pairs import pair_key, state_path
from ..app.service import AppService
from ..app.settings import PairConfig, remote_label
from ..credentials import Credentials
from ..engine import SyncEngine, SyncOptions
from ..errors import ConfigError, ContainerNotFound
from ..events import EventSink, ignore_event
from ..models import ConflictRule, SyncMode, SyncResult
from ..remote.base import CancelToken
from .filters import rules_for, split_container
from .output import (
    ProgressDisplay,
    archived_dict,
    expiry_warning,
    format_archived,
    format_issue,
    format_summary,
    issue_dict,
    result_dict,
)

log = logging.getLogger("blobsync.cli")

EXIT_OK = 0
EXIT_ISSUES = 1
EXIT_INTERRUPTED = 130


class Interrupted(Exception):
    """Ctrl-C during a run (after the engine was asked to stop)."""


def out(line: str = "") -> None:
    print(line, flush=True)


def err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# ---- which pair -----------------------------------------------------------------------


@dataclass
class Target:
    """One pair a command works on, however it was named."""

    local: Path
    container: str
    mode: SyncMode
    account_label: str | None  # --account, or the saved pair's account
    pair: PairConfig | None = None  # set when named with --pair / --all
    prefix: str = ""  # the path inside the container ("projects/x/"; "" for all of it)
    conflict_rule: ConflictRule = ConflictRule.KEEP_BOTH  # --conflict-rule, or the pair's

    @property
    def remote(self) -> str:
        """``container`` or ``container/path``."""
        return remote_label(self.container, self.prefix)

    @property
    def label(self) -> str:
        return self.pair.name if self.pair is not None else f"{self.local} <-> {self.remote}"

    def pair_config(self) -> PairConfig:
        """The saved pair, or for FOLDER CONTAINER one that is not saved anywhere (the
        application layer takes either)."""
        if self.pair is not None:
            return self.pair
        return PairConfig(
            str(self.local),
            self.account_label or "",
            self.container,
            mode=self.mode,
            prefix=self.prefix,
            conflict_rule=self.conflict_rule,
        )


def targets(args: argparse.Namespace, service: AppService) -> list[Target]:
    """The pairs ``args`` names (FOLDER CONTAINER, ``--pair NAME`` or ``--all``).
    Raises ConfigError for a bad combination or an unknown pair."""
    by_name = getattr(args, "pair", None)
    every = getattr(args, "all", False)
    positional = args.local_dir is not None or args.container is not None
    if sum(bool(x) for x in (by_name, every, positional)) != 1:
        raise ConfigError("Name the pair: FOLDER CONTAINER, --pair NAME or --all.")
    if positional:
        if args.local_dir is None or args.container is None:
            raise ConfigError("Give both the folder and the container.")
        container, prefix = split_container(args.container)
        local = Path(args.local_dir).expanduser().absolute()
        mode = SyncMode(args.mode) if getattr(args, "mode", None) else SyncMode.TWO_WAY
        rule = getattr(args, "conflict_rule", None)
        return [
            Target(
                local,
                container,
                mode,
                args.account,
                prefix=prefix,
                conflict_rule=RULES[rule] if rule else ConflictRule.KEEP_BOTH,
            )
        ]
    pairs = [service.find_pair(by_name)] if by_name else service.pairs()
    if not pairs:
        raise ConfigError("No folder pairs are set up yet (add one in the app).")
    if getattr(args, "mode", None):
        raise ConfigError("--mode applies to FOLDER CONTAINER; a saved pair has its own mode.")
    if getattr(args, "conflict_rule", None):
        raise ConfigError(
            "--conflict-rule applies to FOLDER CONTAINER; a saved pair has its own rule "
            "(blobsync config conflict-rule NAME RULE)."
        )
    return [
        Target(Path(p.local_root), p.container, p.mode, p.account, pair=p, prefix=p.prefix)
        for p in pairs
    ]


#: ``--conflict-rule`` words (also ``blobsync config conflict-rule``).
RULES: dict[str, ConflictRule] = {rule.value.replace("_", "-"): rule for rule in ConflictRule}


def rule_word(rule: ConflictRule) -> str:
    """``keep-both``: a rule as the command line spells it."""
    return rule.value.replace("_", "-")


def open_pair_engine(
    pair: PairConfig, creds: Credentials, events: EventSink = ignore_event
) -> SyncEngine:
    """The pair's engine on the container's store from :func:`open_store`, the way every
    online command of the CLI opens one (tests swap ``open_store`` for an in-memory
    store). Raises ConfigError for an invalid path."""
    store = open_store(creds, pair.container)
    return open_engine(
        pair.local_root, creds, pair.container, events, store=store, prefix=pair.prefix
    )


def credentials_for(target: Target, service: AppService) -> Credentials:
    """The target's credentials (its account, else the environment). Raises ConfigError."""
    return service.resolve_credentials(target.account_label)


def paused(target: Target, creds: Credentials, service: AppService) -> bool:
    key = pair_key(
        target.local, creds.account_url, creds.account_name, target.container, target.prefix
    )
    return service.pauses.is_paused(key)


# ---- sync -----------------------------------------------------------------------------


def run_cancellable(run: Callable[[CancelToken], SyncResult]) -> SyncResult:
    """Run the engine in a worker thread so Ctrl-C in the main thread can cancel it."""
    cancel = CancelToken()
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["result"] = run(cancel)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            box["error"] = exc

    worker = threading.Thread(target=work, name="sync", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        cancel.cancel()
        err("blobsync: Cancelling… (press Ctrl-C again to quit at once)")
        try:
            while worker.is_alive():
                worker.join(0.2)
        except KeyboardInterrupt:
            # Quit at once: the engine is crash-safe (every file old or new, never
            # partial), and closing its database under a running worker could hang.
            log.warning("second Ctrl-C: exiting without waiting for the engine")
            err("blobsync: Interrupted.")
            logging.shutdown()
            os._exit(EXIT_INTERRUPTED)
        raise Interrupted from None
    if "error" in box:
        raise box["error"]
    result: SyncResult = box["result"]
    return result


def transfer_options(args: argparse.Namespace, options: SyncOptions) -> SyncOptions:
    """``options`` with ``--workers``/``--bwlimit-up``/``--bwlimit-down`` applied (a
    saved pair's app-wide limits stay unless the flag is given)."""
    workers = getattr(args, "workers", options.workers)  # restore/undo have no flags
    if not 1 <= workers <= 64:
        raise ConfigError("--workers must be between 1 and 64.")
    limits = {flag: getattr(args, flag, None) for flag in ("bwlimit_up", "bwlimit_down")}
    for flag, value in limits.items():
        if value is not None and value < 0:
            raise ConfigError(f"--{flag.replace('_', '-')} cannot be negative.")
    options.workers = workers
    if limits["bwlimit_up"] is not None:
        options.upload_limit_bps = limits["bwlimit_up"] * 1024
    if limits["bwlimit_down"] is not None:
        options.download_limit_bps = limits["bwlimit_down"] * 1024
    return options


def add_transfer_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags ``sync`` and ``watch`` share."""
    default = SyncOptions().workers
    parser.add_argument(
        "--workers", type=int, default=default, metavar="N", help="parallel transfers"
    )
    parser.add_argument(
        "--bwlimit-up",
        type=int,
        default=None,
        metavar="KIB",
        help="upload limit in KiB/s (0 = none)",
    )
    parser.add_argument(
        "--bwlimit-down",
        type=int,
        default=None,
        metavar="KIB",
        help="download limit in KiB/s (0 = none)",
    )


def options_for(target: Target, args: argparse.Namespace, service: AppService) -> SyncOptions:
    options = service.options(target.pair_config())
    if target.pair is None:
        # FOLDER CONTAINER: the machine's settings (its name, the recycle bins), but the
        # app's bandwidth limits are for its saved pairs (--bwlimit-* set them here).
        options.upload_limit_bps = options.download_limit_bps = 0
    options.dry_run = bool(getattr(args, "dry_run", False))
    options.allow_mass_delete = bool(getattr(args, "allow_mass_delete", False))
    options.filters = rules_for(target.pair, args)
    options.restore_deleted = bool(getattr(args, "restore_deleted", False))
    return transfer_options(args, options)


def cmd_sync(args: argparse.Namespace, service: AppService) -> int:
    chosen = targets(args, service)
    for target in chosen:
        options_for(target, args, service)  # validate every flag before connecting
    if len(chosen) == 1 and chosen[0].pair is None:
        return sync_one(chosen[0], args, service)
    codes = []
    for target in chosen:
        if not args.json:
            out(f"{target.label}: {target.local} <-> {target.remote}")
        codes.append(sync_one(target, args, service, skip_paused=bool(args.all)))
    return max(codes, default=EXIT_OK)


def sync_one(
    target: Target, args: argparse.Namespace, service: AppService, skip_paused: bool = False
) -> int:
    local, container, mode = target.local, target.container, target.mode
    missing = not local.exists()
    if missing and (mode is not SyncMode.DOWNLOAD or args.dry_run):
        hint = "" if mode is SyncMode.DOWNLOAD else " or use --mode download to create it"
        raise ConfigError(f"The folder {local} does not exist; create it first{hint}.")
    if not missing and not local.is_dir():
        raise ConfigError(f"{local} is not a folder.")
    options = options_for(target, args, service)
    creds = credentials_for(target, service)
    warning = expiry_warning(creds, target.account_label)
    if warning:
        err(warning)
    if paused(target, creds, service) and not options.dry_run:
        name = target.pair.name if target.pair else str(local)
        if skip_paused:
            out(f"  paused; not synced (resume with: blobsync resume {name}).")
            return EXIT_ISSUES
        raise ConfigError(f"This pair is paused; resume it first: blobsync resume {name}")
    progress = ProgressDisplay(sys.stderr) if sys.stderr.isatty() and not args.json else None
    events: EventSink = progress if progress is not None else ignore_event
    store = open_store(creds, container)
    try:
        if mode is SyncMode.DOWNLOAD and not store.container_exists():
            raise ContainerNotFound(
                f"The container {container} does not exist, so there is nothing to download."
            )
        if missing:
            local.mkdir(parents=True)
            log.info("created folder %s for a download", local)
        engine = open_engine(local, creds, container, events, store=store, prefix=target.prefix)
        first: SyncResult | None = None
        try:
            result = run_cancellable(lambda cancel: engine.sync(options, cancel))
            if result.ignore_file_changed and not result.cancelled and not options.dry_run:
                # The run brought a new .blobsyncignore: its rules apply from the next
                # run, which runs now, so the folder ends in sync under them.
                first = result
                result = run_cancellable(lambda cancel: engine.sync(options, cancel))
        finally:
            engine.close()
    finally:
        if progress is not None:
            progress.close()
        store.close()
    if args.json:
        extra: dict[str, Any] = {"pair": target.pair.name} if target.pair else {}
        if first is not None:
            extra["first_run"] = result_dict(first)
        out(
            json.dumps(
                result_dict(
                    result,
                    container=container,
                    container_path=target.prefix.rstrip("/"),
                    local_dir=str(local),
                    mode=mode.value,
                    folder_created=missing,
                    **extra,
                )
            )
        )
    else:
        if missing:
            out(f"Created folder {local}.")
        if first is not None:
            if first.container_created:
                out(f"Created container {container}.")
            for line in format_summary(first):
                out(line)
            out("The ignore file .blobsyncignore changed; synced again under its new rules.")
        if result.container_created:
            out(f"Created container {container}.")
        for line in format_summary(result):
            out(line)
    if result.cancelled:
        return EXIT_INTERRUPTED
    return EXIT_OK if result.in_sync and not result.conflicts else EXIT_ISSUES


# ---- issues ---------------------------------------------------------------------------


def cmd_issues(args: argparse.Namespace, service: AppService) -> int:
    chosen = targets(args, service)
    if len(chosen) != 1:
        raise ConfigError("Name one pair: FOLDER CONTAINER or --pair NAME.")
    target = chosen[0]
    local, container = target.local, target.container
    account_url, account_name = account_of(target, service)
    issues = []
    archived = []
    ignored: list[str] = []
    prefix = target.prefix
    synced = state_path(local, account_url, account_name, container, prefix).exists()
    if synced or args.ignore or args.unignore:
        engine = open_offline_engine(local, account_url, account_name, container, prefix)
        try:
            for rel_path in args.ignore:
                engine.ignore(rel_path)
            for rel_path in args.unignore:
                engine.ignore(rel_path, ignored=False)
            issues = engine.pending_issues()
            archived = engine.archived_blobs()
            ignored = engine.ignored()
        finally:
            engine.close()
    if (args.ignore or args.unignore) and not args.json:
        for rel_path in args.ignore:
            out(f"Ignoring {rel_path} from now on (not synced, not listed).")
        for rel_path in args.unignore:
            out(f"{rel_path} syncs again from the next run.")
    if args.json:
        out(
            json.dumps(
                {
                    "synced_before": synced,
                    "issues": [issue_dict(i) for i in issues],
                    "archived": [archived_dict(b) for b in archived],
                    "ignored": ignored,
                }
            )
        )
        return EXIT_ISSUES if issues else EXIT_OK
    if ignored:
        out(f"Ignored: {', '.join(ignored)} (blobsync issues ... --unignore PATH).")
    if not synced:
        out(f"{local} has never been synced with {target.remote} on this account.")
    elif not issues:
        out("No pending issues.")
    else:
        out(f"{len(issues)} item{'s' if len(issues) != 1 else ''} need attention:")
        for issue in issues:
            out(format_issue(issue))
    if not args.json:
        for line in format_archived(archived):
            out(line)
    # Archived blobs are a state, not issues: they do not change the exit code.
    return EXIT_ISSUES if issues else EXIT_OK


def account_of(target: Target, service: AppService) -> tuple[str, str]:
    """The account URL and name, from the settings when they say (no keyring needed)."""
    if target.account_label:
        account = service.config.accounts.get(target.account_label)
        if account is None:
            raise ConfigError(
                f"No account named {target.account_label}; see 'blobsync account list'."
            )
        return account.account_url, account.account_name
    creds = credentials_for(target, service)
    return creds.account_url, creds.account_name


def add_conflict_rule_argument(parser: argparse.ArgumentParser) -> None:
    """``--conflict-rule`` for FOLDER CONTAINER (``sync``, ``watch``)."""
    parser.add_argument(
        "--conflict-rule",
        choices=list(RULES),
        default=None,
        help="when both sides changed a file: keep both (default), the newer, mine or "
        "theirs; the loser goes to its side's recycle bin (FOLDER CONTAINER only)",
    )


def add_target_arguments(parser: argparse.ArgumentParser, *, many: bool) -> None:
    """FOLDER CONTAINER (optional when ``--pair``/``--all`` name a saved pair)."""
    parser.add_argument("local_dir", metavar="LOCAL_DIR", nargs="?", help="the local folder")
    parser.add_argument(
        "container",
        metavar="CONTAINER",
        nargs="?",
        help="the blob container, or a path in it (mycontainer/projects/x)",
    )
    parser.add_argument(
        "--pair", metavar="NAME", help="a folder pair set up in the app (see 'blobsync pairs')"
    )
    if many:
        parser.add_argument("--all", action="store_true", help="every folder pair set up")
    parser.add_argument(
        "--account",
        metavar="NAME",
        help="a saved account (default: $AZURE_STORAGE_CONNECTION_STRING)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON, nothing else")
