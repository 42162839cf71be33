"""``blobsync account add|list|show|test|rekey|rename|remove``: saved storage accounts,
with the same capabilities as the app's Accounts view (both call
:class:`~blobsync.core.app.service.AppService`).

Secrets never come from argv (it leaks into ``ps`` and shell history): ``account add``
reads them with getpass or from stdin. Parsing and saving are the application layer's
(:mod:`blobsync.core.app.accounts`), the same code the app's account dialog uses.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from ..app.accounts import check_account, credentials_from_secret, get_account
from ..app.secrets import keyring_status
from ..app.service import AppService
from ..app.settings import AccountConfig
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


def _secret_words(account: AccountConfig) -> str:
    if not account.has_secret:
        return "none needed (the local emulator's published development key)"
    if account.plaintext_secret_file:
        return "INSECURE plaintext file (no OS keyring)"
    return "OS keyring"


def cmd_account_show(args: argparse.Namespace, service: AppService) -> int:
    account = get_account(service.config, args.name)
    used = service.pairs_using(account.name)
    out(f"{account.name}")
    out(f"  URL:     {account.account_url}")
    out(f"  Account: {account.account_name} ({account.kind.value})")
    out(f"  Secret:  {_secret_words(account)}")
    out(f"  Pairs:   {', '.join(p.name for p in used) if used else 'none'}")
    shared = service.shareable_connection_string(account.name)
    if shared:
        out("  Connection string (for another machine or AZURE_STORAGE_CONNECTION_STRING):")
        out(f"    {shared}")
    return EXIT_OK


def cmd_account_rekey(args: argparse.Namespace, service: AppService) -> int:
    account = get_account(service.config, args.name)
    kind = SecretKind(args.kind) if args.kind else account.kind
    url = args.url or ("" if kind is SecretKind.CONNECTION_STRING else account.account_url)
    secret = _read_secret(kind, args.secret_stdin)
    creds = credentials_from_secret(kind, secret, url)
    if args.test:
        check_account(creds)
    updated = service.update_account(args.name, creds, allow_plaintext=args.plaintext_secret)
    out(f"Account {updated.name}: new secret saved ({_secret_words(updated)}).")
    return EXIT_OK


def cmd_account_rename(args: argparse.Namespace, service: AppService) -> int:
    renamed = service.rename_account(args.name, args.new_name)
    used = service.pairs_using(renamed.name)
    out(
        f"Account {args.name} is now {renamed.name}"
        + (f" ({len(used)} folder pair{'s' if len(used) != 1 else ''} follow it)." if used else ".")
    )
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
        used = service.pairs_using(a.name)
        pairs = f"\tused by {', '.join(p.name for p in used)}" if used else ""
        out(f"{a.name}\t{a.account_url}\t{a.kind.value}{badge}{pairs}")
    out(f"Keyring: {backend}" + ("" if usable else f" — not usable: {reason}"))
    return EXIT_OK


def cmd_account_remove(args: argparse.Namespace, service: AppService) -> int:
    removed_pairs = service.remove_account(args.name, with_pairs=args.with_pairs)
    out(f"Account {args.name} removed (and its secret).")
    for pair in removed_pairs:
        out(f"  folder pair {pair.name} ({pair.local_root}) removed too; no file was touched.")
    return EXIT_OK


def cmd_account_test(args: argparse.Namespace, service: AppService) -> int:
    creds = service.test_account(args.name)
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
    rm.add_argument(
        "--with-pairs",
        action="store_true",
        help="also remove the folder pairs that use it (no file or blob is touched)",
    )
    rm.set_defaults(handler=cmd_account_remove)
    show = acc.add_parser(
        "show", parents=[common], help="an account's details (and the emulator's connection string)"
    )
    show.add_argument("name", metavar="NAME")
    show.set_defaults(handler=cmd_account_show)
    rekey = acc.add_parser(
        "rekey",
        parents=[common],
        help="give an account a new secret (read from a prompt or stdin)",
    )
    rekey.add_argument("name", metavar="NAME")
    rekey_kinds = rekey.add_mutually_exclusive_group()
    for flag, kind in (
        ("--connection-string", SecretKind.CONNECTION_STRING),
        ("--key", SecretKind.ACCOUNT_KEY),
        ("--sas", SecretKind.SAS),
    ):
        rekey_kinds.add_argument(flag, dest="kind", action="store_const", const=kind.value)
    rekey.add_argument("--url", help="a new account URL (default: the current one)")
    rekey.add_argument("--secret-stdin", action="store_true", help="read the secret from stdin")
    rekey.add_argument("--test", action="store_true", help="test the new secret before saving")
    rekey.add_argument(
        "--plaintext-secret",
        action="store_true",
        help="if no OS keyring works, keep the secret in an INSECURE plaintext file",
    )
    rekey.set_defaults(handler=cmd_account_rekey, kind=None)
    rename = acc.add_parser("rename", parents=[common], help="rename an account")
    rename.add_argument("name", metavar="NAME")
    rename.add_argument("new_name", metavar="NEW_NAME")
    rename.set_defaults(handler=cmd_account_rename)
    test = acc.add_parser("test", parents=[common], help="check that an account can connect")
    test.add_argument("name", metavar="NAME")
    test.set_defaults(handler=cmd_account_test)
