"""The ``blobsync`` command line: the parser, the entry point and its exit codes.

Exit codes: 0 in sync; 1 finished but items were skipped or are in conflict (listed);
2 usage or configuration error (argparse's own errors too, a safety stop, a paused
pair); 3 authentication or connection failure; 4 internal error (a bug: the traceback
is in the log file only); 130 interrupted (Ctrl-C cancels the engine cleanly; a second
Ctrl-C quits at once); 141 stdout closed early (broken pipe). Every failure is one
sentence on stderr, ``blobsync: <title>: <message>``, never a traceback.

The commands are thin: they parse, call the application layer
(:class:`~blobsync.core.app.service.AppService`, the same one the desktop app uses)
and print. A pair can be named as FOLDER CONTAINER or, for pairs set up in the app,
``--pair NAME`` (``blobsync pairs`` lists them).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading

from .. import __version__
from ..app.logs import redact, setup_logging
from ..app.service import AppService
from ..app.settings import SettingsStore
from ..errors import BlobSyncError, FatalError, SafetyStop
from ..models import SyncMode
from .accounts import add_account_parser
from .config import add_config_parsers
from .filters import add_filter_arguments
from .items import add_item_parsers
from .output import deletion_lines, failure_line, failure_sentence
from .pairs import add_pairs_parsers
from .recovery import add_recovery_parsers
from .sync import (
    EXIT_INTERRUPTED,
    EXIT_ISSUES,
    Interrupted,
    add_conflict_rule_argument,
    add_target_arguments,
    add_transfer_arguments,
    cmd_issues,
    cmd_sync,
    err,
    out,
)
from .watch import add_watch_parser

log = logging.getLogger("blobsync.cli")

EXIT_INTERNAL = 4
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as shells report it


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

    sync = sub.add_parser("sync", parents=[common], help="sync a folder with a container")
    add_target_arguments(sync, many=True)
    sync.add_argument(
        "--mode",
        choices=[m.value for m in SyncMode],
        default=None,
        help="two-way (default), upload or download (FOLDER CONTAINER only)",
    )
    add_conflict_rule_argument(sync)
    sync.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    sync.add_argument(
        "--allow-mass-delete",
        action="store_true",
        help="go on even when most files would be deleted",
    )
    sync.add_argument(
        "--restore-deleted",
        action="store_true",
        help="put back what one side lost (download or upload it again) instead of "
        "deleting it on the other side",
    )
    add_transfer_arguments(sync)
    add_filter_arguments(sync)
    sync.set_defaults(handler=cmd_sync)
    add_watch_parser(sub, common)

    issues = sub.add_parser("issues", parents=[common], help="list skipped/conflicting items")
    add_target_arguments(issues, many=False)
    issues.add_argument(
        "--ignore",
        metavar="PATH",
        action="append",
        default=[],
        help="leave this item alone from now on (not synced, not listed)",
    )
    issues.add_argument(
        "--unignore", metavar="PATH", action="append", default=[], help="sync it again"
    )
    issues.set_defaults(handler=cmd_issues)

    add_pairs_parsers(sub, common)
    add_account_parser(sub, common)
    add_item_parsers(sub, common)
    add_recovery_parsers(sub, common)
    add_config_parsers(sub, common)
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
        service = AppService(SettingsStore.load())
        code: int = args.handler(args, service)
        return code
    except FatalError as exc:
        sentence = redact(failure_sentence(exc))
        log.info("stopped: %s: %s", exc.title, sentence)
        for line in sentence.splitlines():  # several problems: one sentence a line
            err(failure_line(exc, line))
        if isinstance(exc, SafetyStop) and exc.deletes:
            for line in deletion_lines(exc):
                err(redact(line))
        if getattr(args, "json", False):  # scripts get the one JSON object they expect
            error = {"title": exc.title, "message": sentence, "exit_code": exc.exit_code}
            out(json.dumps({"error": error}))
        return exc.exit_code
    except BlobSyncError as exc:
        log.warning("item error outside a run: %s", exc.message)
        err(f"blobsync: {exc.title}: {redact(exc.message)}")
        return EXIT_ISSUES
    except BrokenPipeError:
        # The reader went away (`blobsync issues ... | head -1`): say nothing more and
        # keep Python from complaining while it flushes stdout at exit.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        return EXIT_BROKEN_PIPE
    except (KeyboardInterrupt, Interrupted):
        log.info("interrupted")
        err("blobsync: Interrupted.")
        return EXIT_INTERRUPTED
    except Exception as exc:
        log.exception("unexpected error")
        err(
            f"blobsync: Unexpected error: {type(exc).__name__}: {redact(str(exc))}; "
            f"details in {log_path}."
        )
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
