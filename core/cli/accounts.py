"""``blobsync account add|list|show|test|rekey|rename|remove``: saved storage accounts,
with the same capabilities as the app's Accounts view (both call
:class:`~blobsync.core.app.service.AppService`).

Secrets never come from argv (it leaks into ``ps`` and shell history): ``account add``
reads them with getpass or from stdin. Parsing and saving are the application layer's
(:mod:`blobsync.core.app.accounts`), the same code the app's account dialog uses.

``--entra`` signs in with Microsoft Entra ID with a device code (printed here: open
the URL anywhere, enter the code); ``--entra-default`` saves an account that signs in
with ``DefaultAzureCredential`` (environment variables, managed identity, ``az
login``) for servers. ``account test NAME --container C`` runs the permission check
on that container only (a container SAS cannot make account-level calls) and names
each missing permission.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import TYPE_CHECKING

from ..app import entra
from ..app.accounts import account_url_from, check_account, credentials_from_secret, get_account
from ..app.expiry import expiry_words
from ..app.secrets import keyring_status
from ..app.service import AppService
from ..app.settings import AccountConfig
from ..credentials import SecretKind
from ..errors import ConfigError
from ..models import Permission, SyncMode
from .output import expiry_warning
from .sync import EXIT_ISSUES, EXIT_OK, err, out

if TYPE_CHECKING:
    from ..remote.azure import DeviceCodePrompt

#: ``account add --entra-default``: an Entra ID account without an interactive sign-in.
_ENTRA_DEFAULT = "entra_default"

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


def _add_entra(args: argparse.Namespace, service: AppService) -> int:
    if not args.url:
        raise ConfigError("--entra needs --url (the account name or https://NAME.blob...).")
    url = account_url_from(args.url)
    if args.kind == _ENTRA_DEFAULT:
        creds = entra.default_credentials(url, client_id=args.client_id or "")
        account = (
            service.add_account(args.name, creds)
            if not args.replace
            else service.update_account(args.name, creds, same_storage_account=True)
        )
        out(
            f"Account {account.name} saved: {account.account_url}; it signs in with "
            "DefaultAzureCredential (environment, managed identity or Azure CLI login). "
            f"Check it with: blobsync account test {account.name} --container CONTAINER"
        )
        return EXIT_OK

    def show_code(prompt: DeviceCodePrompt) -> None:
        out(prompt.message)
        out("Waiting for the sign-in to finish (Ctrl-C cancels)…")

    creds, done = entra.sign_in(
        url,
        on_device_code=show_code,
        tenant_id=args.tenant or "",
        client_id=args.client_id or "",
        allow_plaintext_cache=args.plaintext_secret,
        browser=False,  # a terminal: the device code works over SSH and without a desktop
    )
    from ..remote.azure import TokenCacheMode

    plaintext = done.cache.mode is TokenCacheMode.PLAINTEXT
    if args.replace:
        account = service.update_account(
            args.name, creds, allow_plaintext=plaintext, same_storage_account=True
        )
    else:
        account = service.add_account(args.name, creds, allow_plaintext=plaintext)
    who = done.username or "your Microsoft account"
    out(f"Signed in as {who}. Account {account.name} saved: {account.account_url}.")
    out(entra.cache_words(done.cache))
    return EXIT_OK


def cmd_account_add(args: argparse.Namespace, service: AppService) -> int:
    if args.kind in (SecretKind.ENTRA.value, _ENTRA_DEFAULT):
        return _add_entra(args, service)
    if args.tenant or args.client_id:
        raise ConfigError("--tenant and --client-id go with --entra or --entra-default.")
    kind = SecretKind(args.kind)
    if kind is SecretKind.ACCOUNT_KEY and not args.url:
        raise ConfigError("--key needs --url (e.g. https://NAME.blob.core.windows.net).")
    secret = _read_secret(kind, args.secret_stdin)
    creds = credentials_from_secret(kind, secret, args.url or "")
    if args.replace:
        account = service.update_account(
            args.name, creds, allow_plaintext=args.plaintext_secret, same_storage_account=True
        )
    else:
        account = service.add_account(args.name, creds, allow_plaintext=args.plaintext_secret)
    if not account.has_secret:
        where = "nowhere: it is the local emulator's published development key"
    elif account.plaintext_secret_file:
        where = "the INSECURE plaintext file (no OS keyring)"
    else:
        where = f"the OS keyring ({keyring_status()[1]})"
    out(f"Account {account.name} saved: {account.account_url}; secret in {where}.")
    soon = expiry_words(service.account_expiry(account.name), account.name)
    if soon:
        out(soon)
    return EXIT_OK


def _kind_words(service: AppService, name: str) -> str:
    account = service.config.accounts[name]
    if account.kind is not SecretKind.ENTRA:
        return account.kind.value
    user = entra.signed_in_user(account.sign_in_record)
    return f"entra ({user})" if user else "entra (DefaultAzureCredential)"


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
                "signed_in_as": entra.signed_in_user(a.sign_in_record) or None,
                "sas_expires": a.sas_expires or None,
                "expiry_state": service.account_expiry(a.name).state.value,
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
        note = expiry_words(service.account_expiry(a.name))
        used = service.pairs_using(a.name)
        pairs = f"\tused by {', '.join(p.name for p in used)}" if used else ""
        out(f"{a.name}\t{a.account_url}\t{_kind_words(service, a.name)}{badge}{pairs}")
        if note:
            out(f"  {note}")
    out(f"Keyring: {backend}" + ("" if usable else f" — not usable: {reason}"))
    return EXIT_OK


def cmd_account_remove(args: argparse.Namespace, service: AppService) -> int:
    removed_pairs = service.remove_account(args.name, with_pairs=args.with_pairs)
    out(f"Account {args.name} removed (and its secret).")
    for pair in removed_pairs:
        out(f"  folder pair {pair.name} ({pair.local_root}) removed too; no file was touched.")
    return EXIT_OK


def cmd_account_test(args: argparse.Namespace, service: AppService) -> int:
    """Without a container: an account-level check (keys, account SAS). With one (or a
    container SAS, which names its own): the permission check of that container."""
    creds = service.credentials(args.name)
    warning = expiry_warning(creds, args.name)
    if warning:
        err(warning)
    container = args.container or creds.sas_container
    if not container:
        check_account(creds)
        if args.json:
            out(json.dumps({"account": args.name, "connected": True}))
        else:
            out(f"Account {args.name}: connected to {creds.account_url}.")
            if creds.kind is SecretKind.ENTRA:
                out("Add --container C to check what you may do in a container.")
        return EXIT_OK
    report = service.probe(args.name, container)
    allowed = [p.value for p in Permission if report.allows(p)]
    missing = [p.value for p in Permission if p in report.missing]
    if args.json:
        out(
            json.dumps(
                {
                    "account": args.name,
                    "container": container,
                    "container_exists": report.container_exists,
                    "allowed": allowed,
                    "missing": missing,
                    "role": report.role,
                    "usable_modes": [m.value for m in SyncMode if report.supports(m)],
                }
            )
        )
    else:
        out(f"Account {args.name}, container {container}:")
        if report.container_exists:
            for permission in Permission:
                mark = "yes" if report.allows(permission) else "NO"
                out(f"  {permission.value:<7} {mark}")
        out(report.describe())
        if report.leftover:
            out(f"Note: the check could not remove its test blob {report.leftover}.")
    return EXIT_OK if report.ok else EXIT_ISSUES


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
    kinds.add_argument(
        "--entra",
        dest="kind",
        action="store_const",
        const=SecretKind.ENTRA.value,
        help="sign in with Microsoft Entra ID (a device code is printed)",
    )
    kinds.add_argument(
        "--entra-default",
        dest="kind",
        action="store_const",
        const=_ENTRA_DEFAULT,
        help="Entra ID through DefaultAzureCredential (environment, managed identity, az login)",
    )
    add.add_argument("--url", help="account URL, e.g. https://NAME.blob.core.windows.net")
    add.add_argument("--tenant", metavar="T", help="Entra ID: the tenant (directory) id or domain")
    add.add_argument(
        "--client-id",
        metavar="C",
        help="Entra ID: an app registration's client id (or a managed identity's)",
    )
    add.add_argument("--secret-stdin", action="store_true", help="read the secret from stdin")
    add.add_argument(
        "--replace",
        action="store_true",
        help="new credentials for an existing account (e.g. a new SAS); its pairs keep syncing",
    )
    add.add_argument(
        "--plaintext-secret",
        action="store_true",
        help="if no OS keyring works, keep the secret (with --entra: the sign-in tokens) "
        "in an INSECURE plaintext file",
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
    test = acc.add_parser(
        "test",
        parents=[common],
        help="check that an account can connect (and, with --container, its permissions)",
    )
    test.add_argument("name", metavar="NAME")
    test.add_argument(
        "--container",
        metavar="C",
        help="check list, read, write and delete in this container (a container SAS: its own)",
    )
    test.add_argument("--json", action="store_true")
    test.set_defaults(handler=cmd_account_test)
