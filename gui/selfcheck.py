"""Headless self-check of an installed or bundled BlobSync: ``blobsync-gui --self-check``.

Proves, without a person at the screen, that the parts a user needs are really there:
Qt starts (offscreen when there is no display), the SVG icons render (the svg image
format and icon engine plugins were bundled), the main window opens, a keyring backend
is importable, and the storage account answers: its containers are listed and one
container's blobs too. It prints a short report and exits 0, or prints one sentence on
failure and exits non-zero (2 configuration, 3 authentication/connection, 1 otherwise).

    blobsync-gui --self-check                      # AZURE_STORAGE_CONNECTION_STRING, else Azurite
    blobsync-gui --self-check --azurite            # start a private Azurite (if installed)
    blobsync-gui --self-check --connection-string CS [--container NAME]

Prefer the environment variable to ``--connection-string``: a command line is visible
to every user of the machine. The self-check never writes to an account it was given;
only with its own Azurite does it create a container so there is something to list.
Nothing it prints contains the secret.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import IO, Any

from blobsync.core import __version__
from blobsync.core.credentials import Credentials, parse_connection_string
from blobsync.core.errors import BlobSyncError, ConfigError, FatalError

ENV_CONNECTION_STRING = "AZURE_STORAGE_CONNECTION_STRING"
#: Blobs counted in the listed container before stopping (a self-check, not an inventory).
MAX_BLOBS_LISTED = 1000
#: Container created in a private Azurite so that listing blobs has something to list.
AZURITE_CONTAINER = "blobsync-selfcheck"
TRAY_ICONS = ("idle", "syncing", "paused", "offline", "error", "attention")


class SelfCheckFailed(Exception):
    """One step failed; the message is the one sentence shown to the user."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def build_parser() -> argparse.ArgumentParser:
    """The self-check's command line (``--self-check`` itself is accepted and ignored)."""
    parser = argparse.ArgumentParser(
        prog="blobsync-gui --self-check",
        description="Check that BlobSync's GUI, icons, keyring and storage access work.",
    )
    parser.add_argument("--self-check", action="store_true", help=argparse.SUPPRESS)
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--connection-string",
        metavar="CS",
        help=f"storage account connection string (default: ${ENV_CONNECTION_STRING})",
    )
    source.add_argument(
        "--azurite", action="store_true", help="start a private Azurite emulator and use it"
    )
    parser.add_argument("--container", help="container whose blobs to list (default: the first)")
    return parser


class _Report:
    """Collects ``name: result`` lines and prints them aligned."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def line(self, name: str, result: str) -> None:
        print(f"  {name:<12} {result}", file=self.out, flush=True)


def _output() -> tuple[IO[str], str | None]:
    """Where to print: stdout, or a file when a windowed (Windows) build has no stdout."""
    if sys.stdout is not None:
        return sys.stdout, None
    path = os.path.join(tempfile.gettempdir(), "blobsync-selfcheck.txt")
    return open(path, "w", encoding="utf-8"), path


def _ensure_platform() -> None:
    # Without a display Qt aborts the whole process; offscreen renders into memory.
    if sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM"):
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ["QT_QPA_PLATFORM"] = "offscreen"


def _check_qt(report: _Report) -> Any:
    """Create (or reuse) the QApplication; return it."""
    _ensure_platform()
    from PySide6 import __version__ as pyside_version
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["blobsync-gui"])
    report.line("qt", f"PySide6 {pyside_version}, platform '{QApplication.platformName()}'")
    return app


def _check_icons(report: _Report) -> None:
    """Every icon file is there and renders through Qt's SVG plugins."""
    from PySide6.QtGui import QIcon, QImageReader

    from blobsync.gui.icons import icon_path

    formats = {bytes(f.data()).decode() for f in QImageReader.supportedImageFormats()}
    if "svg" not in formats:
        raise SelfCheckFailed(
            "Qt cannot read SVG images: the 'qsvg' image format plugin is missing."
        )
    names = ["blobsync.svg"] + [f"tray-{state}.svg" for state in TRAY_ICONS]
    for name in names:
        path = icon_path(name)
        if path is None:
            raise SelfCheckFailed(f"The icon file {name} is missing from the installation.")
        pixmap = QIcon(path).pixmap(32, 32)
        if pixmap.isNull() or pixmap.toImage().pixelColor(16, 16).alpha() == 0:
            raise SelfCheckFailed(f"The icon {name} does not render (SVG icon engine missing?).")
    report.line("icons", f"{len(names)} SVG icons render")


def _check_window(report: _Report, app: Any) -> None:
    """Open the main window (empty, nothing scheduled), let it paint, close it."""
    from blobsync.gui.main_window import MainWindow

    window = MainWindow()
    window.show()
    app.processEvents()
    grabbed = window.grab()
    window.close()
    window.deleteLater()
    app.processEvents()
    if grabbed.isNull():
        raise SelfCheckFailed("The main window could not be drawn.")
    report.line(
        "window",
        f"{type(window).__name__} opened and painted ({grabbed.width()}x{grabbed.height()})",
    )


def _check_keyring(report: _Report) -> None:
    """Report the keyring backend; a missing one is reported, not a failure (the GUI says so)."""
    try:
        import keyring
        from keyring.backend import get_all_keyring
    except ImportError:
        raise SelfCheckFailed("The keyring library is missing from the installation.") from None

    def label(backend: object) -> str:
        cls = type(backend)
        return f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__}"

    names = sorted({label(k) for k in get_all_keyring()})
    backend = label(keyring.get_keyring())
    report.line("keyring", f"backend {backend} (available: {', '.join(names) or 'none'})")


@contextmanager
def _credentials(args: argparse.Namespace, report: _Report) -> Iterator[tuple[Credentials, bool]]:
    """The credentials to check, and whether they are our own Azurite (writable)."""
    conn_str = args.connection_string or (
        None if args.azurite else os.environ.get(ENV_CONNECTION_STRING)
    )
    if conn_str:
        creds = parse_connection_string(conn_str)
        report.line("account", f"{creds.account_name} at {creds.account_url}")
        yield creds, False
        return
    from blobsync.core.app.emulator import Azurite, find_azurite

    if find_azurite() is None:
        raise SelfCheckFailed(
            "No storage account to check: set "
            f"{ENV_CONNECTION_STRING} or pass --connection-string (Azurite is not installed).",
            exit_code=ConfigError.exit_code,
        )
    started = time.monotonic()
    with Azurite(in_memory=True) as server:
        report.line(
            "azurite",
            f"started on port {server.port} in {time.monotonic() - started:.1f} s",
        )
        yield server.credentials, True


def _check_storage(
    report: _Report, creds: Credentials, own_azurite: bool, container: str | None
) -> None:
    from blobsync.core.remote import azure

    started = time.monotonic()
    if own_azurite:
        azure.create_container(creds, container or AZURITE_CONTAINER)
    names = azure.list_containers(creds)
    report.line(
        "containers",
        f"{len(names)} listed in {time.monotonic() - started:.2f} s"
        + (f": {', '.join(names[:5])}{', ...' if len(names) > 5 else ''}" if names else ""),
    )
    target = container or (names[0] if names else None)
    if target is None:
        report.line("blobs", "no container to list")
        return
    started = time.monotonic()
    store = azure.open_store(creds, target, max_connections=2)
    try:
        count = 0
        total = 0
        for entry in store.list_blobs():
            count += 1
            total += entry.size
            if count >= MAX_BLOBS_LISTED:
                break
    finally:
        store.close()
    more = "+" if count >= MAX_BLOBS_LISTED else ""
    report.line(
        "blobs",
        f"'{target}': {count}{more} blob(s), {total} bytes, listed in "
        f"{time.monotonic() - started:.2f} s",
    )


def _redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<hidden>")
    return text


def run(argv: list[str]) -> int:
    """Run the self-check with ``argv`` (arguments without the program name).

    Returns the process exit code: 0 when every step passed. Never raises for a failed
    step; prints one sentence instead.
    """
    args = build_parser().parse_args(argv)
    out, out_path = _output()
    report = _Report(out)
    secrets = [args.connection_string or "", os.environ.get(ENV_CONNECTION_STRING, "")]
    print(
        f"BlobSync {__version__} self-check (Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}"
        f"{', bundled' if getattr(sys, 'frozen', False) else ''})",
        file=out,
        flush=True,
    )
    started = time.monotonic()
    try:
        with ExitStack() as stack:
            app = _check_qt(report)
            _check_icons(report)
            _check_window(report, app)
            _check_keyring(report)
            creds, own_azurite = stack.enter_context(_credentials(args, report))
            secrets.append(creds.secret)
            _check_storage(report, creds, own_azurite, args.container)
        print(f"Self-check passed in {time.monotonic() - started:.1f} s.", file=out, flush=True)
        return 0
    except SelfCheckFailed as exc:
        print(f"Self-check FAILED: {_redact(str(exc), secrets)}", file=out, flush=True)
        return exc.exit_code
    except BlobSyncError as exc:
        code = exc.exit_code if isinstance(exc, FatalError) else 1
        print(f"Self-check FAILED: {exc.title}: {exc.message}", file=out, flush=True)
        return code
    except Exception as exc:  # noqa: BLE001 - the check reports anything, it never crashes
        text = _redact(str(exc), secrets)
        print(f"Self-check FAILED: unexpected {type(exc).__name__}: {text}", file=out, flush=True)
        return 1
    finally:
        if out_path is not None:
            out.close()


def main() -> int:
    """``python -m blobsync.gui.selfcheck [options]``."""
    return run(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
