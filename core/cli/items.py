"""``blobsync link`` and ``blobsync rehydrate``: one synced item of a pair.

Both name the pair as FOLDER CONTAINER (with ``--account``, or the environment's
credentials) or ``--pair NAME``, then the item's PATH: its path inside the folder
(= the blob name, ``/``-separated), or an absolute path to a file in the folder.

- ``link ... PATH --expires 1h|1d|7d`` prints a read-only URL that works without
  credentials until it expires (a service SAS with the account key, a user-delegation
  SAS with Entra ID) on stdout, alone, and when it ends on stderr. The URL is a bearer
  secret: it is never logged.
- ``rehydrate ... PATH [--tier hot|cool] [--priority standard|high]`` asks Azure to
  bring an archived blob back; the sync after it is readable downloads it.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ..app.service import AppService
from ..app.settings import PairConfig
from ..credentials import Credentials
from ..errors import ConfigError
from ..models import AccessTier, RehydratePriority
from ..remote.base import LinkDuration, LinkKind
from .filters import split_container
from .output import expiry_warning
from .sync import EXIT_OK, err, out

#: ``--expires`` words -> durations.
EXPIRES = {"1h": LinkDuration.HOUR, "1d": LinkDuration.DAY, "7d": LinkDuration.WEEK}
TIERS = {"hot": AccessTier.HOT, "cool": AccessTier.COOL}
PRIORITIES = {"standard": RehydratePriority.STANDARD, "high": RehydratePriority.HIGH}


def pair_and_word(
    args: argparse.Namespace, service: AppService, what: str = "PATH"
) -> tuple[PairConfig, str, Credentials | None]:
    """``FOLDER CONTAINER WORD`` or ``--pair NAME WORD`` (``args.words``): the pair, the
    last word as given (``what`` names it in errors: PATH, RUN_ID), and credentials
    overriding the pair's account (FOLDER CONTAINER form) or None. Raises ConfigError."""
    words: list[str] = list(args.words)
    if args.pair:
        if len(words) != 1:
            raise ConfigError(f"With --pair NAME give only the {what}.")
        if args.account:
            raise ConfigError("--account goes with FOLDER CONTAINER; a pair has its account.")
        return service.find_pair(args.pair), words[0], None
    if len(words) != 3:
        raise ConfigError(f"Give FOLDER CONTAINER {what}, or --pair NAME {what}.")
    folder, remote, word = words
    container, prefix = split_container(remote)
    local = Path(folder).expanduser().absolute()
    if not local.is_dir():
        raise ConfigError(f"The folder {local} does not exist.")
    creds = service.resolve_credentials(args.account)
    pair = PairConfig(str(local), args.account or "", container, prefix=prefix)
    return pair, word, creds


def item_of(
    args: argparse.Namespace, service: AppService
) -> tuple[PairConfig, str, Credentials | None]:
    """The pair, the item's relative path, and credentials overriding the pair's account
    (FOLDER CONTAINER form) or None. Raises ConfigError."""
    pair, path, creds = pair_and_word(args, service)
    return pair, _rel_path(Path(pair.local_root), path), creds


def _rel_path(root: Path, path: str) -> str:
    """PATH as the item's relative path: an absolute path must lie in the folder."""
    if os.path.isabs(path):
        try:
            rel = Path(os.path.abspath(path)).relative_to(root)
        except ValueError:
            raise ConfigError(f"{path} is not inside the folder {root}.") from None
        return rel.as_posix()
    rel_path = path.replace(os.sep, "/").strip("/")
    if not rel_path:
        raise ConfigError("Name the item (its path inside the folder).")
    return rel_path


def warn_expiry(service: AppService, pair: PairConfig, creds: Credentials | None) -> None:
    if creds is None:
        creds = service.credentials(pair.account)
    warning = expiry_warning(creds, pair.account or None)
    if warning:
        err(warning)


def cmd_link(args: argparse.Namespace, service: AppService) -> int:
    pair, rel_path, creds = item_of(args, service)
    warn_expiry(service, pair, creds)
    link = service.share_link(pair, rel_path, EXPIRES[args.expires], creds=creds)
    if args.json:
        out(json.dumps({"url": link.url, "expires": link.expires.isoformat(), "kind": link.kind}))
        return EXIT_OK
    out(link.url)
    how = "user delegation SAS" if link.kind is LinkKind.USER_DELEGATION_SAS else "service SAS"
    err(
        f"Read-only link to {rel_path}, valid until {link.expires:%Y-%m-%d %H:%M} UTC "
        f"({how}); anyone with the link can download the file until then."
    )
    return EXIT_OK


def cmd_rehydrate(args: argparse.Namespace, service: AppService) -> int:
    pair, rel_path, creds = item_of(args, service)
    warn_expiry(service, pair, creds)
    tier, priority = TIERS[args.tier], PRIORITIES[args.priority]
    service.rehydrate(pair, rel_path, tier, priority, creds=creds)
    wait = "about an hour" if priority is RehydratePriority.HIGH else "up to 15 hours"
    out(
        f"Asked Azure to bring {rel_path} back to the {tier.value.lower()} tier "
        f"({priority.value.lower()} "
        f"priority; it takes {wait}). The first sync after that downloads it."
    )
    return EXIT_OK


def add_item_arguments(parser: argparse.ArgumentParser, what: str = "PATH") -> None:
    """``FOLDER CONTAINER WHAT`` / ``--pair NAME WHAT`` and ``--account``."""
    parser.add_argument(
        "words", nargs="+", metavar=f"FOLDER CONTAINER {what}", help=f"the pair and the {what}"
    )
    parser.add_argument(
        "--pair", metavar="NAME", help="a folder pair set up in the app; then only PATH"
    )
    parser.add_argument(
        "--account",
        metavar="NAME",
        help="a saved account (default: $AZURE_STORAGE_CONNECTION_STRING)",
    )


def add_item_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    link = sub.add_parser("link", parents=[common], help="print a read-only link to a synced file")
    add_item_arguments(link)
    link.add_argument(
        "--expires", choices=list(EXPIRES), default="1d", help="how long the link works"
    )
    link.add_argument("--json", action="store_true", help="print JSON, nothing else")
    link.set_defaults(handler=cmd_link)
    rehydrate = sub.add_parser(
        "rehydrate", parents=[common], help="bring an archived blob back to an online tier"
    )
    add_item_arguments(rehydrate)
    rehydrate.add_argument("--tier", choices=list(TIERS), default="hot")
    rehydrate.add_argument("--priority", choices=list(PRIORITIES), default="standard")
    rehydrate.set_defaults(handler=cmd_rehydrate)
