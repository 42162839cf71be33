"""``blobsync pairs``, ``blobsync pause``, ``blobsync resume``: the folder pairs set up in
the app, seen and controlled from the command line.

Pause is the machine-wide flag of :mod:`blobsync.core.app.pause`: pausing here stops the
app's live sync of that pair (and a running ``blobsync watch``) within a second, and a
pair paused in the app is paused here too.
"""

from __future__ import annotations

import argparse
import json
import time

from ..app.expiry import expiry_words
from ..app.service import AppService, PairSummary
from ..credentials import ExpiryState
from ..errors import ConfigError
from .sync import EXIT_OK, out, rule_word


def _state_words(s: PairSummary) -> str:
    """The app's words for the pair's state, plus what only a summary adds."""
    words = s.words
    if s.expiry.state is ExpiryState.EXPIRES_SOON:
        words += f"; {expiry_words(s.expiry)}"
    if s.archived:
        words += f"; {s.archived} archived (not synced)"
    return words


def _ago(when: float | None) -> str:
    if when is None:
        return "never"
    minutes = int((time.time() - when) // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(when))


def cmd_pairs(args: argparse.Namespace, service: AppService) -> int:
    summaries = [service.summary(p) for p in service.pairs()]
    if args.json:
        listed = [
            {
                "name": s.pair.name,
                "local_dir": s.pair.local_root,
                "account": s.pair.account,
                "container": s.pair.container,
                "container_path": s.pair.prefix.rstrip("/"),
                "patterns": list(s.pair.patterns),
                "use_defaults": s.pair.use_defaults,
                "excluded_folders": sorted(s.pair.excluded_folders),
                "mode": s.pair.mode.value,
                "conflict_rule": rule_word(s.pair.conflict_rule),
                "paused": s.paused,
                "state": s.state.value,
                "words": s.words,
                "last_completed": s.record.last_completed,
                "last_in_sync": s.last_in_sync,
                "last_pickup": s.last_pickup,
                "beacon": s.pair.beacon,
                "waiting": s.record.waiting if s.record.stopped else 0,
                "issues": len(s.issues),
            }
            for s in summaries
        ]
        out(json.dumps({"everything_paused": service.everything_paused(), "pairs": listed}))
        return EXIT_OK
    if not summaries:
        out("No folder pairs yet; add one in the app, or sync FOLDER CONTAINER directly.")
        return EXIT_OK
    if service.everything_paused():
        out("Everything is paused (blobsync resume --all).")
    for s in summaries:
        out(
            f"{s.pair.name}\t{s.pair.local_root} <-> {s.pair.remote_label} ({s.pair.account}, "
            f"{s.pair.mode.value})\t{_state_words(s)}; last sync: {_ago(s.record.last_completed)}, "
            f"last in sync: {_ago(s.last_in_sync)}; "
            f"changes from elsewhere picked up: {_ago(s.last_pickup)}"
        )
    return EXIT_OK


def _set_paused(args: argparse.Namespace, service: AppService, paused: bool) -> int:
    verb = "paused" if paused else "resumed"
    if args.all:
        if args.name:
            raise ConfigError("Give a pair's name or --all, not both.")
        service.set_everything_paused(paused)
        out(f"Everything {verb}.")
        still = [p.name for p in service.pairs() if not paused and service.pair_paused(p)]
        if still:
            out(f"Still paused on their own: {', '.join(still)} (blobsync resume NAME).")
        return EXIT_OK
    if not args.name:
        raise ConfigError("Give the pair's name (see 'blobsync pairs') or --all.")
    pair = service.find_pair(args.name)
    service.set_paused(pair, paused)
    out(f"{pair.name} {verb}.")
    if not paused and service.everything_paused():
        out("Note: everything is still paused (blobsync resume --all).")
    return EXIT_OK


def cmd_pause(args: argparse.Namespace, service: AppService) -> int:
    return _set_paused(args, service, True)


def cmd_resume(args: argparse.Namespace, service: AppService) -> int:
    return _set_paused(args, service, False)


def add_pairs_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    pairs = sub.add_parser(
        "pairs", parents=[common], help="list the folder pairs set up in the app"
    )
    pairs.add_argument("--json", action="store_true")
    pairs.set_defaults(handler=cmd_pairs)
    for name, handler, text in (
        ("pause", cmd_pause, "pause a folder pair (for the app and 'watch' too)"),
        ("resume", cmd_resume, "resume a paused folder pair"),
    ):
        cmd = sub.add_parser(name, parents=[common], help=text)
        cmd.add_argument("name", metavar="NAME", nargs="?", help="the pair (see 'blobsync pairs')")
        cmd.add_argument("--all", action="store_true", help="every pair")
        cmd.set_defaults(handler=handler)
