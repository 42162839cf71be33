"""The ``blobsync`` command line: sync a folder with a container, list issues, manage accounts.

Exit codes: 0 in sync; 1 finished but items were skipped or are in conflict (listed);
2 usage or configuration error (argparse's own errors too); 3 authentication or
connection failure; 4 internal error (a bug: the traceback is in the log file only);
130 interrupted (Ctrl-C cancels the engine cleanly; a second Ctrl-C quits at once);
141 stdout closed early (broken pipe). Every failure is one sentence on
stderr, ``blobsync: <title>: <message>``, never a traceback.

Folders: ``sync`` refuses a missing LOCAL_DIR (a typo must not look like "everything
was deleted"), except in ``--mode download``, where it creates the folder (the
container is the source; nothing local can be lost). A dry run never creates it.
Containers: the first sync (two-way/upload) creates a missing container and says so;
``--mode download`` of a missing container is an error (exit 2).
Secrets never come from argv (it leaks into ``ps`` and shell history): ``account add``
reads them with getpass or from stdin.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import __version__
from ..app.accounts import (
    account_credentials,
    add_account,
    open_engine,
    open_offline_engine,
    open_store,
    pair_state_path,
    remove_account,
    resolve_account_url,
    resolve_credentials,
)
from ..app.logs import redact, setup_logging
from ..app.secrets import keyring_status
from ..app.settings import load_config
from ..credentials import SecretKind, from_key, from_sas_url, parse_connection_string
from ..engine import SyncOptions
from ..errors import BlobSyncError, ConfigError, ContainerNotFound, FatalError
from ..events import EventSink, ignore_event
from ..models import SyncMode, SyncResult
from ..names import container_name_problem
from ..remote.base import CancelToken
from .output import ProgressDisplay, format_issue, format_summary, issue_dict, result_dict
from .watch import add_transfer_arguments, add_watch_parser, transfer_options

log = logging.getLogger("blobsync.cli")

EXIT_OK = 0
EXIT_ISSUES = 1
EXIT_INTERNAL = 4
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as shells report it


class _Interrupted(Exception):
    """Ctrl-C during a run (after the engine was asked to stop)."""


def _out(line: str = "") -> None:
    print(line, flush=True)


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _check_container(name: str) -> None:
    problem = container_name_problem(name)
    if problem:
        raise ConfigError(f"'{name}' is not a valid container name. {problem}")


# ---- sync ---------------------------------------------------------------------------


def _run_cancellable(run: Callable[[CancelToken], SyncResult]) -> SyncResult:
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
        _err("blobsync: Cancelling… (press Ctrl-C again to quit at once)")
        try:
            while worker.is_alive():
                worker.join(0.2)
        except KeyboardInterrupt:
            # Quit at once: the engine is crash-safe (every file old or new, never
            # partial), and closing its database under a running worker could hang.
            log.warning("second Ctrl-C: exiting without waiting for the engine")
            _err("blobsync: Interrupted.")
            logging.shutdown()
            os._exit(EXIT_INTERRUPTED)
        raise _Interrupted from None
    if "error" in box:
        raise box["error"]
    result: SyncResult = box["result"]
    return result


def cmd_sync(args: argparse.Namespace) -> int:
    _check_container(args.container)
    mode = SyncMode(args.mode)
    local = Path(args.local_dir).expanduser().absolute()
    missing = not local.exists()
    if missing and (mode is not SyncMode.DOWNLOAD or args.dry_run):
        hint = "" if mode is SyncMode.DOWNLOAD else " or use --mode download to create it"
        raise ConfigError(f"The folder {local} does not exist; create it first{hint}.")
    if not missing and not local.is_dir():
        raise ConfigError(f"{local} is not a folder.")
    transfer_options(args, SyncOptions())  # validate before connecting
    creds = resolve_credentials(args.account)
    progress = ProgressDisplay(sys.stderr) if sys.stderr.isatty() and not args.json else None
    events: EventSink = progress if progress is not None else ignore_event
    store = open_store(creds, args.container)
    try:
        if mode is SyncMode.DOWNLOAD and not store.container_exists():
            raise ContainerNotFound(
                f"The container {args.container} does not exist, so there is nothing to download."
            )
        if missing:
            local.mkdir(parents=True)
            log.info("created folder %s for a download", local)
        engine = open_engine(local, creds, args.container, events, store=store)
        options = transfer_options(
            args,
            SyncOptions(mode=mode, dry_run=args.dry_run, allow_mass_delete=args.allow_mass_delete),
        )
        try:
            result = _run_cancellable(lambda cancel: engine.sync(options, cancel))
        finally:
            engine.close()
    finally:
        if progress is not None:
            progress.close()
        store.close()
    log.info(
        "sync %s <-> %s: %d up, %d down, %d issues",
        local,
        args.container,
        result.uploaded,
        result.downloaded,
        len(result.issues),
    )
    if args.json:
        _out(
            json.dumps(
                result_dict(
                    result,
                    container=args.container,
                    local_dir=str(local),
                    mode=mode.value,
                    folder_created=missing,
                )
            )
        )
    else:
        if missing:
            _out(f"Created folder {local}.")
        if result.container_created:
            _out(f"Created container {args.container}.")
        for line in format_summary(result):
            _out(line)
    if result.cancelled:
        return EXIT_INTERRUPTED
    return EXIT_OK if result.in_sync and not result.conflicts else EXIT_ISSUES


# ---- issues -------------------------------------------------------------------------


def cmd_issues(args: argparse.Namespace) -> int:
    _check_container(args.container)
    local = Path(args.local_dir).expanduser().absolute()
    account_url = resolve_account_url(args.account)
    issues = []
    synced = pair_state_path(local, account_url, args.container).exists()
    if synced:
        engine = open_offline_engine(local, account_url, args.container)
        try:
            issues = engine.pending_issues()
        finally:
            engine.close()
    if args.json:
        _out(json.dumps({"synced_before": synced, "issues": [issue_dict(i) for i in issues]}))
    elif not synced:
        _out(f"{local} has never been synced with {args.container} on this account.")
    elif not issues:
        _out("No pending issues.")
    else:
        _out(f"{len(issues)} item{'s' if len(issues) != 1 else ''} need attention:")
        for issue in issues:
            _out(format_issue(issue))
    return EXIT_ISSUES if issues else EXIT_OK


# ---- accounts -----------------------------------------------------------------------

_PROMPTS = {
    SecretKind.CONNECTION_STRING: "Connection string: ",
    SecretKind.ACCOUNT_KEY: "Account key: ",
    SecretKind.SAS: "SAS token or SAS URL: ",
}


def _read_secret(kind: SecretKind, from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        secret = sys.stdin.read().strip()
    else:
        secret = getpass.getpass(_PROMPTS[kind]).strip()
    if not secret:
        raise ConfigError("No secret was given (type it at the prompt or pipe it to stdin).")
    return secret


def cmd_account_add(args: argparse.Namespace) -> int:
    kind = SecretKind(args.kind)
    if kind is SecretKind.ACCOUNT_KEY and not args.url:
        raise ConfigError("--key needs --url (e.g. https://NAME.blob.core.windows.net).")
    secret = _read_secret(kind, args.secret_stdin)
    if kind is SecretKind.CONNECTION_STRING:
        creds = parse_connection_string(secret)
    elif kind is SecretKind.ACCOUNT_KEY:
        creds = from_key(args.url, secret)
    elif secret.lower().startswith(("http://", "https://")):
        creds = from_sas_url(secret)
    elif args.url:
        creds = from_sas_url(f"{args.url.rstrip('/')}/?{secret.lstrip('?')}")
    else:
        raise ConfigError("A SAS token needs --url, or give the whole SAS URL instead.")
    account = add_account(args.name, creds, allow_plaintext=args.plaintext_secret)
    where = (
        "INSECURE plaintext file (no OS keyring)"
        if account.plaintext_secret_file
        else f"OS keyring ({keyring_status()[1]})"
    )
    _out(f"Account {account.name} saved: {account.account_url}; secret in the {where}.")
    return EXIT_OK


def cmd_account_list(args: argparse.Namespace) -> int:
    accounts = list(load_config().accounts.values())
    usable, backend, reason = keyring_status()
    if args.json:
        _out(
            json.dumps(
                {
                    "keyring": {"usable": usable, "backend": backend, "reason": reason},
                    "accounts": [
                        {
                            "name": a.name,
                            "account_name": a.account_name,
                            "account_url": a.account_url,
                            "kind": a.kind.value,
                            "plaintext_secret_file": a.plaintext_secret_file,
                        }
                        for a in accounts
                    ],
                }
            )
        )
        return EXIT_OK
    if not accounts:
        _out("No accounts; add one with 'blobsync account add NAME --key --url URL'.")
    for a in accounts:
        badge = "  [INSECURE: secret in a plaintext file]" if a.plaintext_secret_file else ""
        _out(f"{a.name}\t{a.account_url}\t{a.kind.value}{badge}")
    _out(f"Keyring: {backend}" + ("" if usable else f" — not usable: {reason}"))
    return EXIT_OK


def cmd_account_remove(args: argparse.Namespace) -> int:
    still_used = remove_account(args.name)
    _out(f"Account {args.name} removed (and its secret).")
    for folder in still_used:
        _out(f"  note: the folder {folder} was set up with this account.")
    return EXIT_OK


def cmd_account_test(args: argparse.Namespace) -> int:
    from ..remote.azure import check_connection

    config = load_config()
    if args.name not in config.accounts:
        raise ConfigError(f"No account named {args.name}; see 'blobsync account list'.")
    creds = account_credentials(config.accounts[args.name])
    check_connection(creds)
    _out(f"Account {args.name}: connected to {creds.account_url}.")
    return EXIT_OK


# ---- parser and entry point ---------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    # SUPPRESS: a subcommand's own default must not undo `blobsync -v sync ...`.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="DEBUG logging to the log file",
    )
    pair = argparse.ArgumentParser(add_help=False)
    pair.add_argument("local_dir", metavar="LOCAL_DIR", help="the local folder")
    pair.add_argument("container", metavar="CONTAINER", help="the blob container")
    pair.add_argument(
        "--account",
        metavar="NAME",
        help="a saved account (default: $AZURE_STORAGE_CONNECTION_STRING)",
    )
    pair.add_argument("--json", action="store_true", help="print one JSON object, nothing else")

    parser = argparse.ArgumentParser(
        prog="blobsync",
        description="Keep a local folder in sync with an Azure Blob Storage container.",
        epilog="Exit codes: 0 in sync, 1 items skipped or in conflict, 2 usage or "
        "configuration error, 3 authentication or connection failure, 4 internal error, "
        "130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"blobsync {__version__}")
    # Its own action (not the shared parent's): argparse shares parent actions by reference.
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="DEBUG logging to the log file"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sync = sub.add_parser("sync", parents=[common, pair], help="sync a folder with a container")
    sync.add_argument("--mode", choices=[m.value for m in SyncMode], default=SyncMode.TWO_WAY.value)
    sync.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    sync.add_argument(
        "--allow-mass-delete",
        action="store_true",
        help="go on even when most files would be deleted",
    )
    add_transfer_arguments(sync)
    sync.set_defaults(handler=cmd_sync)
    add_watch_parser(sub, [common, pair])

    issues = sub.add_parser("issues", parents=[common, pair], help="list skipped/conflicting items")
    issues.set_defaults(handler=cmd_issues)

    account = sub.add_parser("account", parents=[common], help="manage saved storage accounts")
    acc = account.add_subparsers(dest="account_command", required=True, metavar="ACTION")
    add = acc.add_parser(
        "add",
        parents=[common],
        help="save an account (secret read from a prompt or stdin, never from the command line)",
    )
    add.add_argument("name", metavar="NAME")
    kinds = add.add_mutually_exclusive_group(required=True)
    for flag, kind in (
        ("--connection-string", SecretKind.CONNECTION_STRING),
        ("--key", SecretKind.ACCOUNT_KEY),
        ("--sas", SecretKind.SAS),
    ):
        kinds.add_argument(flag, dest="kind", action="store_const", const=kind.value)
    add.add_argument("--url", help="account URL, e.g. https://NAME.blob.core.windows.net")
    add.add_argument("--secret-stdin", action="store_true", help="read the secret from stdin")
    add.add_argument(
        "--plaintext-secret",
        action="store_true",
        help="if no OS keyring works, keep the secret in an INSECURE plaintext file",
    )
    add.set_defaults(handler=cmd_account_add)
    lst = acc.add_parser("list", parents=[common], help="list saved accounts")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(handler=cmd_account_list)
    rm = acc.add_parser("remove", parents=[common], help="forget an account and its secret")
    rm.add_argument("name", metavar="NAME")
    rm.set_defaults(handler=cmd_account_remove)
    test = acc.add_parser("test", parents=[common], help="check that an account can connect")
    test.add_argument("name", metavar="NAME")
    test.set_defaults(handler=cmd_account_test)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit code (argparse exits 2 itself on usage errors)."""
    args = build_parser().parse_args(argv)
    log_path = setup_logging(verbose=args.verbose)
    if threading.current_thread() is threading.main_thread():
        # SIGTERM stops a run as cleanly as Ctrl-C does (cancel, tidy up, exit 130).
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    log.debug("blobsync %s: %s", __version__, args.command)
    try:
        code: int = args.handler(args)
        return code
    except FatalError as exc:
        log.info("stopped: %s: %s", exc.title, exc.message)
        _err(f"blobsync: {exc.title}: {redact(exc.message)}")
        if getattr(args, "json", False):  # scripts get the one JSON object they expect
            error = {"title": exc.title, "message": redact(exc.message), "exit_code": exc.exit_code}
            _out(json.dumps({"error": error}))
        return exc.exit_code
    except BlobSyncError as exc:
        log.warning("item error outside a run: %s", exc.message)
        _err(f"blobsync: {exc.title}: {redact(exc.message)}")
        return EXIT_ISSUES
    except BrokenPipeError:
        # The reader went away (`blobsync issues ... | head -1`): say nothing more and
        # keep Python from complaining while it flushes stdout at exit.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return EXIT_BROKEN_PIPE
    except (KeyboardInterrupt, _Interrupted):
        log.info("interrupted")
        _err("blobsync: Interrupted.")
        return EXIT_INTERRUPTED
    except Exception as exc:
        log.exception("unexpected error")
        _err(
            f"blobsync: Unexpected error: {type(exc).__name__}: {redact(str(exc))}; "
            f"details in {log_path}."
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
