"""``blobsync config``: the settings the app's Settings and pair dialogs edit, from the
command line (both through :class:`~blobsync.core.app.service.AppService`).

- ``config machine-name [NAME]`` shows or sets the name other machines see in their
  history and conflicts ("changed on laptop-2"); ``""`` goes back to the host name.
- ``config conflict-rule NAME [RULE]`` shows or sets what a saved pair does when both
  sides changed a file: ``keep-both`` (the default), ``newer-wins``, ``mine-wins``,
  ``theirs-wins``; the loser goes to its side's recycle bin. A FOLDER CONTAINER sync
  takes ``--conflict-rule`` instead.
"""

from __future__ import annotations

import argparse
import dataclasses

from ..app.recovery import RULE_WORDS
from ..app.service import AppService
from .sync import EXIT_OK, RULES, out, rule_word


def cmd_machine_name(args: argparse.Namespace, service: AppService) -> int:
    if args.name is not None:
        service.set_machine_name(args.name)
    name = service.machine_name()
    if service.config.machine_name.strip():
        out(f"Machine name: {name} (other machines see 'changed on {name}').")
    else:
        out(
            f"Machine name: {name}, the host name (set another with: "
            "blobsync config machine-name NAME)."
        )
    return EXIT_OK


def cmd_conflict_rule(args: argparse.Namespace, service: AppService) -> int:
    pair = service.find_pair(args.pair_name)
    if args.rule is not None:
        pair = service.update_pair(
            pair.pair_id, dataclasses.replace(pair, conflict_rule=RULES[args.rule])
        )
    rule = pair.conflict_rule
    out(f"{pair.name}: when both sides changed a file: {rule_word(rule)} ({RULE_WORDS[rule]}).")
    return EXIT_OK


def add_config_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    config = sub.add_parser(
        "config", parents=[common], help="show or set the machine name, a pair's conflict rule"
    )
    settings = config.add_subparsers(dest="setting", required=True, metavar="SETTING")
    machine = settings.add_parser(
        "machine-name",
        parents=[common],
        help="the name other machines see (default: the host name)",
    )
    machine.add_argument(
        "name", metavar="NAME", nargs="?", help='set it ("" for the host name again)'
    )
    machine.set_defaults(handler=cmd_machine_name)
    rule = settings.add_parser(
        "conflict-rule",
        parents=[common],
        help="what a saved pair does when both sides changed a file",
    )
    rule.add_argument("pair_name", metavar="NAME", help="the pair (see 'blobsync pairs')")
    rule.add_argument("rule", metavar="RULE", nargs="?", choices=list(RULES), help=", ".join(RULES))
    rule.set_defaults(handler=cmd_conflict_rule)
