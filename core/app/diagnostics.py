"""A diagnostics text a user can paste into a problem report: versions, keyring, accounts
and pairs with their state, and the end of the log, with every secret masked.

Built here, under both clients, from :class:`~.service.AppService`: account secrets are
never read (only where they are kept), account URLs keep their host but lose any query
(a SAS), and the whole text goes through :func:`.logs.redact` at the end.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from .. import __version__
from . import logs, secrets
from .service import AppService

LOG_LINES = 200


def _url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else url


def _tail(path: Path, lines: int) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ["(no log file yet)"]
    return text.splitlines()[-lines:]


def diagnostics_text(
    service: AppService, extra: Iterable[str] = (), log_lines: int = LOG_LINES
) -> str:
    """The report, redacted (``extra``: lines a client adds, e.g. its toolkit)."""
    usable, backend, reason = secrets.keyring_status()
    lines = [
        f"BlobSync {__version__}",
        f"Python {sys.version.split()[0]} on {platform.platform()}",
        *extra,
        f"Keyring: {backend}" + ("" if usable else f" (not usable: {reason})"),
        f"Everything paused: {service.everything_paused()}",
        "",
        "Accounts:",
    ]
    for account in service.accounts():
        kept = (
            "none needed"
            if not account.has_secret
            else "plaintext file"
            if account.plaintext_secret_file
            else "keyring"
        )
        lines.append(
            f"  {account.name}: {_url(account.account_url)} ({account.kind.value}, secret: {kept})"
        )
    lines += ["", "Folder pairs:"]
    for pair in service.pairs():
        try:
            summary = service.summary(pair)
            state = summary.words
            issues = len(summary.issues)
        except Exception as exc:  # noqa: BLE001 - a report must come out whatever is broken
            state, issues = f"unknown ({type(exc).__name__})", 0
        lines.append(
            f"  {pair.name}: {pair.local_root} <-> {pair.container} ({pair.account}, "
            f"{pair.mode.value}): {state}; {issues} pending item{'s' if issues != 1 else ''}"
        )
    path = logs.log_file()
    lines += ["", f"Last {log_lines} lines of {path}:", *_tail(path, log_lines)]
    return logs.redact("\n".join(lines)) + "\n"
