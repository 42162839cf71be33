"""``blobsync watch``: the live loop (file watching + periodic polling) run headless.

Runs until Ctrl-C or SIGTERM, which stop it cleanly: the running sync is cancelled
between chunks, its temporary files are removed, finished items stay recorded.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .. import events as ev
from ..app.accounts import open_engine, open_store, resolve_credentials
from ..engine import SyncOptions
from ..errors import ConfigError
from ..models import SyncMode
from ..names import container_name_problem
from .output import format_issue


def transfer_options(args: argparse.Namespace, options: SyncOptions) -> SyncOptions:
    """``options`` with ``--workers``/``--bwlimit-up``/``--bwlimit-down`` applied."""
    if not 1 <= args.workers <= 64:
        raise ConfigError("--workers must be between 1 and 64.")
    for flag in ("bwlimit_up", "bwlimit_down"):
        if getattr(args, flag) < 0:
            raise ConfigError(f"--{flag.replace('_', '-')} cannot be negative.")
    return dataclasses.replace(
        options,
        workers=args.workers,
        upload_limit_bps=args.bwlimit_up * 1024,
        download_limit_bps=args.bwlimit_down * 1024,
    )


def add_transfer_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags ``sync`` and ``watch`` share."""
    parser.add_argument("--workers", type=int, default=16, metavar="N", help="parallel transfers")
    parser.add_argument(
        "--bwlimit-up", type=int, default=0, metavar="KIB", help="upload limit in KiB/s (0 = none)"
    )
    parser.add_argument(
        "--bwlimit-down",
        type=int,
        default=0,
        metavar="KIB",
        help="download limit in KiB/s (0 = none)",
    )


class _Printer:
    """One line per finished sync and per problem; thread-safe."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self._lock = threading.Lock()

    def __call__(self, event: ev.Event) -> None:
        line = None
        if isinstance(event, ev.SyncFinished):
            r = event.result
            if r.writes or r.issues or not self.quiet:
                line = (
                    f"synced: {r.uploaded} up, {r.downloaded} down, {r.deleted_local + r.deleted_remote} deleted, "
                    f"{r.moved} moved, {r.conflicts} conflicts, {r.skipped} skipped ({r.duration_s:.1f} s)"
                )
                line += "".join("\n  " + format_issue(i) for i in r.issues)
        elif isinstance(event, ev.SyncFailed):
            line = f"sync failed: {event.title}: {event.message} (will retry)"
        elif isinstance(event, ev.WatcherStatus):
            line = event.message
        elif isinstance(event, ev.ContainerCreated):
            line = f"Created container {event.container}."
        if line:
            with self._lock:
                print(line, flush=True)


def cmd_watch(args: argparse.Namespace) -> int:
    problem = container_name_problem(args.container)
    if problem:
        raise ConfigError(f"'{args.container}' is not a valid container name. {problem}")
    if args.interval < 1:
        raise ConfigError("--interval must be at least 1 second.")
    local = Path(args.local_dir).expanduser().absolute()
    if not local.is_dir():
        raise ConfigError(f"The folder {local} does not exist; create it first.")
    options = transfer_options(args, SyncOptions(mode=SyncMode(args.mode)))
    creds = resolve_credentials(args.account)
    store = open_store(creds, args.container)
    printer = _Printer(quiet=args.quiet)
    engine = open_engine(local, creds, args.container, printer, store=store)
    from ..app.live import LiveSync  # watchdog: imported only by `watch` (start-up time)

    live = LiveSync(engine, options, interval_s=args.interval, debounce_s=args.debounce)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    print(
        f"Watching {local} <-> {args.container} (poll every {args.interval:g} s); Ctrl-C stops.",
        flush=True,
    )
    try:
        live.start()
        while not stop.wait(0.5):
            pass
        print("Stopping…", file=sys.stderr, flush=True)
    finally:
        live.stop()
        engine.close()
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
    return 0


def add_watch_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], parents: list[argparse.ArgumentParser]
) -> None:
    watch = sub.add_parser(
        "watch", parents=parents, help="keep syncing: on local changes and every --interval seconds"
    )
    watch.add_argument(
        "--mode", choices=[m.value for m in SyncMode], default=SyncMode.TWO_WAY.value
    )
    watch.add_argument(
        "--interval",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="full check every N seconds (remote changes)",
    )
    watch.add_argument(
        "--debounce",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="wait for N quiet seconds after a local change",
    )
    watch.add_argument(
        "--quiet", action="store_true", help="print only syncs that changed something"
    )
    add_transfer_arguments(watch)
    watch.set_defaults(handler=cmd_watch)
