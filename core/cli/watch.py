"""``blobsync watch``: the shared live loop (:mod:`blobsync.core.app.live`) run headless.

Runs until Ctrl-C or SIGTERM, which stop it cleanly: the running sync is cancelled
between chunks, its temporary files are removed, finished items stay recorded. The
pair's pause flag is the machine-wide one: pausing the pair in the app (or with
``blobsync pause``) stops this loop's syncs within a second, resuming restarts them.
Changes from other machines arrive through the pair's change beacon within seconds
(``--beacon-interval``, ``--no-beacon``; a configured pair's settings by default).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from .. import events as ev
from ..app.pairs import pair_key
from ..app.schedule import DEFAULT_BEACON_INTERVAL_S, DEFAULT_INTERVAL_S
from ..app.service import AppService
from ..app.settings import PairConfig
from ..errors import ConfigError
from ..models import SyncMode
from . import sync as cli_sync
from .filters import add_filter_arguments
from .output import expiry_warning, format_issue
from .sync import (
    add_conflict_rule_argument,
    add_target_arguments,
    add_transfer_arguments,
    options_for,
    targets,
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
                    f"synced: {r.uploaded} up, {r.downloaded} down, "
                    f"{r.deleted_local + r.deleted_remote} deleted, {r.moved} moved, "
                    f"{r.conflicts} conflicts, {r.skipped} skipped ({r.duration_s:.1f} s)"
                )
                line += "".join("\n  " + format_issue(i) for i in r.issues)
        elif isinstance(event, ev.SyncFailed):
            if event.title != "Cancelled":
                line = f"sync failed: {event.title}: {event.message} (will retry)"
        elif isinstance(event, ev.WatcherStatus | ev.BeaconStatus | ev.FolderStatus):
            line = event.message
        elif isinstance(event, ev.PauseChanged):
            line = "Paused; not syncing until resumed." if event.paused else "Resumed."
        elif isinstance(event, ev.ContainerCreated):
            line = f"Created container {event.container}."
        if line:
            with self._lock:
                print(line, flush=True)


def cmd_watch(args: argparse.Namespace, service: AppService) -> int:
    chosen = targets(args, service)
    if len(chosen) != 1:
        raise ConfigError("Name one pair: FOLDER CONTAINER or --pair NAME.")
    target = chosen[0]
    # A folder typed on the command line must exist (a typo is not an empty folder); a
    # saved pair's folder may come back (a drive mounted later): watch says so and waits.
    if not target.local.is_dir() and target.pair is None:
        raise ConfigError(f"The folder {target.local} does not exist; create it first.")
    options = options_for(target, args, service)
    creds = cli_sync.credentials_for(target, service)
    warning = expiry_warning(creds, target.account_label)
    if warning:
        cli_sync.err(warning)
    printer = _Printer(quiet=args.quiet)
    engine = cli_sync.open_pair_engine(target.pair_config(), creds, printer)
    from ..app.live import LiveSync  # watchdog: imported only by `watch`
    from ..app.pause import PauseFlag

    key = pair_key(
        target.local, creds.account_url, creds.account_name, target.container, target.prefix
    )
    interval = args.interval
    if interval is None:
        interval = target.pair.interval_s if target.pair is not None else DEFAULT_INTERVAL_S
    if interval < 1:
        raise ConfigError("--interval must be at least 1 second.")
    beacon_s = beacon_interval(args, target.pair)
    options.beacon = beacon_s is not None
    live = LiveSync(
        engine,
        options,
        pause=PauseFlag(service.pauses, key),
        interval_s=interval,
        debounce_s=args.debounce,
        beacon_s=beacon_s,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    others = (
        f"other machines' changes within seconds (change beacon read every {beacon_s:g} s)"
        if beacon_s is not None
        else "change beacon off"
    )
    print(
        f"Watching {target.local} <-> {target.remote} (full check every {interval:g} s; "
        f"{others}); Ctrl-C stops.",
        flush=True,
    )
    if live.paused:
        print("This pair is paused; waiting until it is resumed.", flush=True)
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


def beacon_interval(args: argparse.Namespace, pair: PairConfig | None) -> float | None:
    """Seconds between change-beacon reads, or None when it is off: the flags, else the
    pair's settings, else the default. Raises ConfigError."""
    if args.no_beacon or (args.beacon_interval is None and pair is not None and not pair.beacon):
        return None
    seconds: float = args.beacon_interval
    if seconds is None:
        seconds = pair.beacon_interval_s if pair is not None else DEFAULT_BEACON_INTERVAL_S
    if seconds < 1:
        raise ConfigError("--beacon-interval must be at least 1 second.")
    return seconds


def add_watch_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    watch = sub.add_parser(
        "watch",
        parents=[common],
        help="keep syncing: on local changes and every --interval seconds",
    )
    add_target_arguments(watch, many=False)
    watch.add_argument("--mode", choices=[m.value for m in SyncMode], default=None)
    add_conflict_rule_argument(watch)
    watch.add_argument(
        "--interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="full check every N seconds (remote changes; default 300, or the pair's)",
    )
    watch.add_argument(
        "--debounce",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="wait for N quiet seconds after a local change",
    )
    watch.add_argument(
        "--beacon-interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="read the change beacon every N seconds: other machines' changes arrive "
        f"within seconds (default {DEFAULT_BEACON_INTERVAL_S:g}, or the pair's)",
    )
    watch.add_argument(
        "--no-beacon",
        action="store_true",
        help="neither read nor write the change beacon (the full check only)",
    )
    watch.add_argument(
        "--quiet", action="store_true", help="print only syncs that changed something"
    )
    add_transfer_arguments(watch)
    add_filter_arguments(watch)
    watch.set_defaults(handler=cmd_watch)
