"""``blobsync account add|list|remove|test``: saved storage accounts.

Secrets never come from argv (it leaks into ``ps`` and shell history): ``account add``
reads them with getpass or from stdin. Parsing and saving are the application layer's
(:mod:`blobsync.core.app.accounts`), the same code the app's account dialog uses.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from ..app.accounts import check_account, credentials_from_secret
from ..app.secrets import keyring_status
from ..app.service import AppService
from ..credentials import SecretKind
from ..errors import ConfigError
from .sync import EXIT_OK, out

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


def cmd_account_add(args: argparse.Namespace, service: AppService) -> int:
    kind = SecretKind(args.kind)
    if kind is SecretKind.ACCOUNT_KEY and not args.url:
        raise ConfigError("--key needs --url (e.g. https://NAME.blob.core.windows.net).")
    secret = _read_secret(kind, args.secret_stdin)
    creds = credentials_from_secret(kind, secret, args.url or "")
    account = service.add_account(args.name, creds, allow_plaintext=args.plaintext_secret)
    if not account.has_secret:
        where = "nowhere: it is the local emulator's published development key"
    elif account.plaintext_secret_file:
        where = "the INSECURE plaintext file (no OS keyring)"
    else:
        where = f"the OS keyring ({keyring_status()[1]})"
    out(f"Account {account.name} saved: {account.account_url}; secret in {where}.")
    return EXIT_OK


def cmd_account_list(args: argparse.Namespace, service: AppService) -> int:
    accounts = list(service.config.accounts.values())
    usable, backend, reason = keyring_status()
    if args.json:
        listed = [
            {
                "name": a.name,
                "account_name": a.account_name,
                "account_url": a.account_url,
                "kind": a.kind.value,
                "plaintext_secret_file": a.plaintext_secret_file,
            }
            for a in accounts
        ]
        out(
            json.dumps(
                {
                    "keyring": {"usable": usable, "backend": backend, "reason": reason},
                    "accounts": listed,
                }
            )
        )
        return EXIT_OK
    if not accounts:
        out("No accounts; add one with 'blobsync account add NAME --key --url URL'.")
    for a in accounts:
        badge = "  [INSECURE: secret in a plaintext file]" if a.plaintext_secret_file else ""
        out(f"{a.name}\t{a.account_url}\t{a.kind.value}{badge}")
    out(f"Keyring: {backend}" + ("" if usable else f" — not usable: {reason}"))
    return EXIT_OK


def cmd_account_remove(args: argparse.Namespace, service: AppService) -> int:
    still_used = service.remove_account(args.name)
    out(f"Account {args.name} removed (and its secret).")
    for pair in still_used:
        out(f"  note: the folder pair {pair.name} ({pair.local_root}) was set up with it.")
    return EXIT_OK


def cmd_account_test(args: argparse.Namespace, service: AppService) -> int:
    creds = service.credentials(args.name)
    check_account(creds)
    out(f"Account {args.name}: connected to {creds.account_url}.")
    return EXIT_OK


def add_account_parser(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
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
