"""Logging shared by the CLI and the GUI: one rotating file, secrets redacted.

``setup_logging()`` sends records to ``<platform log dir>/blobsync.log``
(``$XDG_STATE_HOME/blobsync/log/blobsync.log`` on Linux), INFO by default, DEBUG with
``verbose=True`` or ``BLOBSYNC_DEBUG=1``. Every handler it installs carries a
:class:`RedactingFilter` and a redacting formatter, so account keys, SAS signatures,
connection-string secrets, ``Authorization`` header values and every secret
registered with :func:`register_secret` are replaced by ``***`` before anything
reaches the file, including tracebacks. The Azure SDK logs request URLs and headers
at DEBUG; they go through the same filter.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import threading
from pathlib import Path
from urllib.parse import quote

from platformdirs import user_log_dir

APP_NAME = "blobsync"
LOG_FILE_NAME = "blobsync.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUP_COUNT = 3
MASK = "***"
_MIN_SECRET_LEN = 6  # shorter strings would mask ordinary words

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Connection-string parts: the value runs to the next ';', quote or whitespace.
    (re.compile(r"(?i)(AccountKey\s*=\s*)[^;\s'\"]+"), r"\1" + MASK),
    (re.compile(r"(?i)(SharedAccessSignature\s*=\s*)[^;\s'\"]+"), r"\1" + MASK),
    # SAS signature in a URL or token, raw or percent-encoded ('sig%3D...').
    (re.compile(r"(?i)(\bsig(?:=|%3D))[^&\s'\";]+"), r"\1" + MASK),
    # Authorization header values, in "Authorization: x", "'Authorization': 'x'" or
    # "authorization=x" forms; the value runs to the end of the quoted string or line.
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*)'[^'\r\n]*'"), r"\1'" + MASK + "'"),
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*)\"[^\"\r\n]*\""), r'\1"' + MASK + '"'),
    (re.compile(r"(?i)(authorization['\"]?\s*+[:=]\s*+)(?!['\"])[^,\r\n}]+"), r"\1" + MASK),
)

_secrets_lock = threading.Lock()
_secrets: tuple[str, ...] = ()


def register_secret(secret: str | None) -> None:
    """Mask this exact string (and its percent-encoded form) in every log line from now on.

    Connection strings are also split, so their AccountKey / SharedAccessSignature
    values are masked wherever they appear on their own.
    """
    global _secrets
    if not secret:
        return
    candidates = {secret.strip(), quote(secret.strip(), safe="")}
    for piece in secret.split(";"):
        key, sep, value = piece.partition("=")
        if sep and key.strip().lower() in ("accountkey", "sharedaccesssignature"):
            candidates.add(value.strip())
            candidates.add(quote(value.strip(), safe=""))
    for piece in secret.replace("?", "&").split("&"):  # a SAS token's signature alone
        key, sep, value = piece.partition("=")
        if sep and key.strip().lower() == "sig":
            candidates.add(value.strip())
    new = {c for c in candidates if len(c) >= _MIN_SECRET_LEN}
    with _secrets_lock:
        # Longest first, so a secret that contains another is masked whole.
        _secrets = tuple(sorted(set(_secrets) | new, key=len, reverse=True))


def clear_registered_secrets() -> None:
    """Forget runtime-registered secrets (tests)."""
    global _secrets
    with _secrets_lock:
        _secrets = ()


def redact(text: str) -> str:
    """``text`` with every known kind of secret replaced by ``***``."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (arguments merged in) with secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not kill logging
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """Last line of defence: masks the fully formatted line too."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def log_dir() -> Path:
    """The platform log dir (honours XDG_STATE_HOME on Linux)."""
    return Path(user_log_dir(APP_NAME, appauthor=False))


def log_file() -> Path:
    """Where the log file is (or will be)."""
    return log_dir() / LOG_FILE_NAME


def debug_requested() -> bool:
    """True when the environment asks for DEBUG logging (``BLOBSYNC_DEBUG=1``)."""
    return os.environ.get("BLOBSYNC_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


def _tag(handler: logging.Handler) -> logging.Handler:
    handler.addFilter(RedactingFilter())
    handler.set_name("blobsync")
    return handler


def _remove_handlers() -> None:
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == "blobsync":
            root.removeHandler(old)
            old.close()


def shutdown_logging() -> None:
    """Undo :func:`setup_logging` (close the file, restore levels); for tests and embedders."""
    _remove_handlers()
    logging.getLogger().setLevel(logging.WARNING)
    for name in ("azure", "urllib3"):
        logging.getLogger(name).setLevel(logging.NOTSET)


def setup_logging(verbose: bool = False, path: Path | None = None) -> Path:
    """Configure the root logger: rotating file, redacted; returns the file's path.

    Calling it again replaces the handlers it installed before (not others). If the
    log file cannot be opened, logging goes to stderr at WARNING instead (still
    redacted) and the intended path is returned.
    """
    target = path or log_file()
    level = logging.DEBUG if verbose or debug_requested() else logging.INFO
    root = logging.getLogger()
    _remove_handlers()
    formatter = RedactingFormatter(
        "%(asctime)s %(levelname)-7s %(process)d %(threadName)s %(name)s: %(message)s"
    )
    handler: logging.Handler
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            target, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
        )
        handler.setLevel(level)
    except OSError:
        handler = logging.StreamHandler()
        handler.setLevel(logging.WARNING)
    handler.setFormatter(formatter)
    root.addHandler(_tag(handler))
    root.setLevel(level)
    # The SDK logs every request at INFO; keep that out of the file unless debugging.
    logging.getLogger("azure").setLevel(
        logging.DEBUG if level == logging.DEBUG else logging.WARNING
    )
    logging.getLogger("urllib3").setLevel(
        logging.DEBUG if level == logging.DEBUG else logging.WARNING
    )
    return target
