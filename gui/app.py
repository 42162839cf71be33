"""Start the desktop app: ``blobsync-gui`` / ``python -m blobsync.gui``.

``main()`` handles ``--version`` and ``--self-check`` before any window exists, makes
sure only one instance runs per user (a second launch asks the first, over a
QLocalSocket, to bring its window forward, then exits), loads the settings, and — when
no account is configured, or the app-managed emulator account is — starts a local
Azurite in the background and (re-)points the "Local emulator (Azurite)" account at it,
offering a first folder pair in one click. Azurite is stopped at quit.
"""

from __future__ import annotations

import argparse
import gc
import getpass
import hashlib
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication

from blobsync.core import __version__
from blobsync.core.app.emulator import (
    DEMO_ACCOUNT_NAME,
    DEMO_CONTAINER,
    Azurite,
    demo_account,
    find_azurite,
    free_port,
)
from blobsync.core.app.service import AppService
from blobsync.core.app.settings import (
    AccountConfig,
    AppConfig,
    PairConfig,
    SettingsStore,
    config_dir,
    data_dir,
)
from blobsync.core.errors import BlobSyncError

from .controller import Controller
from .main_window import MainWindow
from .tray import Tray

log = logging.getLogger(__name__)

_ACTIVATE = b"activate\n"


# ---- single instance ------------------------------------------------------------------


def instance_name() -> str:
    """The local-socket name: one per user and settings dir (tests isolate the latter)."""
    digest = hashlib.sha256(str(config_dir()).encode("utf-8", "surrogateescape")).hexdigest()
    return f"blobsync-{getpass.getuser()}-{digest[:10]}"


class SingleInstance(QObject):
    """Owns the local server of the running instance; ``activated`` fires on a 2nd launch."""

    activated = Signal()

    def __init__(self, name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name or instance_name()
        self.server: QLocalServer | None = None

    def notify_running(self, timeout_ms: int = 1000) -> bool:
        """True if another instance answered (and was asked to come forward)."""
        sock = QLocalSocket()
        sock.connectToServer(self.name)
        if not sock.waitForConnected(timeout_ms):
            return False
        sock.write(_ACTIVATE)
        sock.flush()
        sock.waitForBytesWritten(timeout_ms)
        sock.disconnectFromServer()
        return True

    def listen(self) -> bool:
        """Become the running instance (removes a stale socket left by a crash)."""
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                log.warning("single-instance server failed: %s", server.errorString())
                return False
        server.newConnection.connect(self._on_connection)
        self.server = server
        return True

    def _on_connection(self) -> None:
        assert self.server is not None
        while self.server.hasPendingConnections():
            conn = self.server.nextPendingConnection()
            # The client writes at once; a short blocking read keeps the socket's
            # lifetime simple (it stays a child of the server: no deleteLater races).
            ready = conn.bytesAvailable() > 0 or conn.waitForReadyRead(500)
            if ready and bytes(conn.readAll().data()).startswith(_ACTIVATE.strip()):
                self.activated.emit()
            conn.disconnectFromServer()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None


# ---- the bundled emulator ---------------------------------------------------------------


def demo_wanted(config: AppConfig) -> bool:
    """Start Azurite when nothing else is configured, or the demo account exists."""
    return not config.accounts or DEMO_ACCOUNT_NAME in config.accounts


def point_demo_account(config: AppConfig, port: int) -> AccountConfig:
    """Add or re-point the app-managed emulator account at ``port``."""
    account = demo_account(port)
    config.accounts[DEMO_ACCOUNT_NAME] = account
    return account


def demo_pair() -> PairConfig:
    """The one-click first pair: ``~/BlobSync`` ↔ ``blobsync-demo``, two-way."""
    return PairConfig(
        str(Path.home() / "BlobSync"), DEMO_ACCOUNT_NAME, DEMO_CONTAINER, name="BlobSync"
    )


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class EmulatorStarter(QObject):
    """Starts Azurite on a plain thread (it takes seconds) and reports back on the GUI
    thread through ``ready(str error_or_empty)``."""

    ready = Signal(str)
    _done = Signal(str)

    def __init__(self, port: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.server = Azurite(port=port, location=data_dir() / "azurite-data")
        # Emitted on the starter thread; a QObject method as the slot makes Qt queue it
        # to the GUI thread (a lambda or plain function connected to it would run on the starter thread).
        self._done.connect(self._relay)

    @Slot(str)
    def _relay(self, problem: str) -> None:
        self.ready.emit(problem)

    def start(self) -> None:
        threading.Thread(target=self._run, name="azurite-start", daemon=True).start()

    def _run(self) -> None:
        try:
            self.server.start()
        except BlobSyncError as exc:
            self._done.emit(exc.message)
        except OSError as exc:
            self._done.emit(f"Azurite could not start: {exc}.")
        else:
            self._done.emit("")

    def stop(self) -> None:
        self.server.stop()


# ---- main -----------------------------------------------------------------------------


def _parse(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="blobsync-gui", add_help=True)
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument(
        "--self-check", action="store_true", help="check the installation headlessly and exit"
    )
    parser.add_argument("--hidden", action="store_true", help="start in the tray, no window")
    return parser.parse_known_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the app; returns the exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    args, qt_args = _parse(args_list)
    if args.version:
        print(f"blobsync {__version__}")
        return 0
    if args.self_check:
        from . import selfcheck

        sys.exit(selfcheck.run(args_list))
    _setup_logging()

    app = QApplication.instance() or QApplication(["blobsync-gui", *qt_args])
    assert isinstance(app, QApplication)
    app.setApplicationName("BlobSync")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("io.github.blobsync.BlobSync")

    instance = SingleInstance()
    if instance.notify_running():
        print("BlobSync is already running; brought its window forward.")
        return 0
    instance.listen()
    return run_app(app, instance, hidden=args.hidden)


def _setup_logging() -> None:
    try:
        from blobsync.core.app.logs import setup_logging

        setup_logging()
    except (ImportError, OSError):
        logging.basicConfig(level=logging.INFO)


@dataclass
class AppSession:
    """Everything one running app owns; ``close()`` shuts it down (engines, tray, Azurite)."""

    app: QApplication
    instance: SingleInstance
    controller: Controller
    window: MainWindow
    tray: Tray | None
    starter: EmulatorStarter | None

    def close(self) -> None:
        self.controller.shutdown()
        self.window.keep_in_tray = False
        self.window.close()
        self.window.deleteLater()
        if self.tray is not None:
            self.tray.hide()
        self.instance.close()
        if self.starter is not None:
            self.starter.stop()


def _freeze_after_first_sync(controller: Controller) -> None:
    """Freeze once more after the first sync: the modules and caches it brought in (about
    30,000 objects the Azure SDK and the engine import lazily) live as long as the app, and
    otherwise every full collection of a 100,000-file re-sync walks them (28-58 ms each
    against 8-23 ms frozen: bench/gui_stall.py --freeze-after-first). Nothing in the
    engine touches the collector; this is the app's policy for its own process."""

    def freeze() -> None:
        controller.history_changed.disconnect(freeze)
        gc.freeze()

    controller.history_changed.connect(freeze)


def run_app(app: QApplication, instance: SingleInstance, hidden: bool = False) -> int:
    """Start the app, run the event loop until Quit, clean up."""
    session = start_app(app, instance, hidden)
    # Everything built so far (Qt wrappers, the SDK's modules) lives as long as the app:
    # keep it out of the cyclic GC, whose full passes would otherwise stall the GUI
    # thread for tens of milliseconds during big syncs (bench/gui_stall.py).
    gc.freeze()
    _freeze_after_first_sync(session.controller)
    previous = _quit_on_signals(app)
    try:
        return app.exec()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        session.close()


def start_app(app: QApplication, instance: SingleInstance, hidden: bool = False) -> AppSession:
    """Build controller, window and tray from the saved settings; start the bundled
    Azurite in the background when it is wanted. Returns without running the loop."""
    from .icons import app_icon

    app.setWindowIcon(app_icon())
    config_problem = ""
    try:
        settings = SettingsStore.load()
    except BlobSyncError as exc:
        settings, config_problem = SettingsStore(), exc.message
        config_problem += _set_aside_broken_settings()
    config = settings.config

    starter: EmulatorStarter | None = None
    emulator_problem = ""
    if demo_wanted(config):
        if find_azurite() is None:
            emulator_problem = (
                "The local storage emulator (Azurite) is not installed, so there is no demo "
                "account. Add your Azure storage account to start."
            )
        else:
            port = 10000 if _port_free(10000) else free_port()
            point_demo_account(config, port)
            starter = EmulatorStarter(port)

    # The demo account's pairs wait for the emulator: a sync racing its start-up would
    # fail and say "Offline" / "Connection failed" for nothing.
    held = (DEMO_ACCOUNT_NAME,) if starter is not None else ()
    controller = Controller(service=AppService(settings), hold=held)
    if not config_problem:
        controller.save()  # the demo account's current port
    window = MainWindow(controller)
    instance.activated.connect(window.bring_to_front)

    tray: Tray | None = None
    if Tray.available():
        tray = Tray(controller)
        tray.show_window_requested.connect(window.bring_to_front)
        tray.show_issues_requested.connect(window.show_issues)
        tray.review_requested.connect(window.review_first)
        tray.show_activity_requested.connect(window.show_activity)
        tray.quit_requested.connect(app.quit)
        tray.show()
        window.keep_in_tray = True
        app.setQuitOnLastWindowClosed(False)

    if config_problem:
        window.show_banner(config_problem)
    elif emulator_problem:
        window.show_banner(emulator_problem, "Add account…", window.add_account)
    elif starter is not None:
        window.show_banner("Starting the local storage emulator (Azurite)…")

        def on_ready(problem: str) -> None:
            controller.hold_account(DEMO_ACCOUNT_NAME, False)
            if problem:
                window.show_banner(f"The local storage emulator did not start: {problem}")
            elif not controller.pairs():
                window.show_banner(
                    "A local storage emulator is running. Try BlobSync with a demo folder: "
                    f"{demo_pair().local_root} ↔ container '{DEMO_CONTAINER}'.",
                    "Create demo folder pair",
                    lambda: _add_demo_pair(controller),
                    until_pairs=True,
                )
            else:
                window.hide_banner()
                controller.sync_all()

        starter.ready.connect(on_ready)
        starter.start()

    if not hidden or tray is None:
        window.show()
    return AppSession(app, instance, controller, window, tray, starter)


def _set_aside_broken_settings() -> str:
    """Keep an unreadable settings file for the user instead of overwriting it later."""
    path = config_dir() / "settings.json"
    backup = path.with_name(f"settings.json.broken-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        path.rename(backup)
    except OSError:
        return ""
    return f" It was kept as {backup.name}; BlobSync starts with empty settings."


def _quit_on_signals(app: QApplication) -> dict[int, Any]:
    """SIGINT/SIGTERM quit cleanly (engines closed, Azurite stopped) instead of killing
    the process and orphaning the emulator. Python only sees signals when it runs, so a
    timer wakes it up a few times a second."""
    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, lambda *_args: app.quit())
    waker = QTimer(app)
    waker.timeout.connect(lambda: None)
    waker.start(250)
    return previous


def _add_demo_pair(controller: Controller) -> None:
    pair = demo_pair()
    Path(pair.local_root).mkdir(parents=True, exist_ok=True)
    readme = Path(pair.local_root) / "Welcome to BlobSync.txt"
    if not readme.exists():
        readme.write_text(
            "Files in this folder are kept in sync with the container 'blobsync-demo'\n"
            "of the local storage emulator. Add, change or delete files and watch.\n",
            encoding="utf-8",
        )
    if controller.pair(pair.pair_id) is None:
        controller.add_pair(pair)
    controller.sync_now(pair.pair_id)
