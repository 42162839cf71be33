"""Open the main window as a first start would and record where it lands (run under X).

``QT_SCALE_FACTOR=1.5 python scale_script.py OUT.png OUT.json`` — run by
``test_screenshots.py`` on a 1366×850 Xvfb at scale factors 1, 1.5 and 2. The window
has two pairs, one of them syncing (held half way) so that Cancel is enabled. Writes a
picture of the whole screen and, in logical pixels, the screen's available area, the
window's frame and every button's rectangle on the screen.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QAbstractButton, QApplication

from blobsync.core.app.settings import AccountConfig, AppConfig, PairConfig
from blobsync.core.credentials import SecretKind
from blobsync.core.engine import RunRecord
from blobsync.core.events import ItemStarted, PlanReady
from blobsync.core.models import ActionKind, SyncResult
from blobsync.gui.controller import Controller
from blobsync.gui.main_window import MainWindow

RELEASE = threading.Event()


class HeldEngine:
    """Announces one transfer and holds it until the script is done."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink

    def sync(self, options: Any = None, cancel: Any = None) -> SyncResult:
        self.sink(PlanReady(1, 0, 0, 0, 0, 1, 1000))
        self.sink(ItemStarted("big.iso", ActionKind.UPLOAD, 1000))
        RELEASE.wait(60)
        return SyncResult()

    def pending_issues(self) -> list[Any]:
        return []

    def resolve(self, rel_path: str, resolution: Any) -> None:
        pass

    def run_record(self) -> RunRecord:
        return RunRecord(time.time() - 120, time.time() - 120)

    def close(self) -> None:
        pass


def rect(r: Any) -> list[int]:
    return [r.x(), r.y(), r.width(), r.height()]


def main() -> int:
    png, manifest_path = Path(sys.argv[1]), Path(sys.argv[2])
    app = QApplication(sys.argv[:1])
    home = Path(tempfile.mkdtemp(prefix="blobsync-scale-"))
    account = AccountConfig(
        "acc", "http://127.0.0.1:9/devstoreaccount1", "devstoreaccount1", SecretKind.ACCOUNT_KEY
    )
    config = AppConfig(
        accounts={"acc": account},
        pairs=[
            PairConfig(str(home / "Documents"), "acc", "documents", name="Documents"),
            PairConfig(str(home / "Photos"), "acc", "photos", name="Photos"),
        ],
    )
    controller = Controller(
        config,
        engine_factory=lambda _p, sink: HeldEngine(sink),
        schedule=False,
        save=lambda _c: None,
    )
    window = MainWindow(controller)
    window.show()
    first = controller.pairs()[0].pair_id
    controller.sync_now(first)
    window.pairs_view.select_pair(first)
    deadline = time.monotonic() + 20
    while not window.progress_view.cancel_button.isEnabled() and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.02)
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)
    screen = QGuiApplication.primaryScreen()
    buttons = {}
    for button in window.findChildren(QAbstractButton):
        if button.isVisible() and button.objectName():
            top_left = button.mapToGlobal(button.rect().topLeft())
            buttons[button.objectName()] = {
                "rect": [top_left.x(), top_left.y(), button.width(), button.height()],
                "text": button.text(),
                "enabled": button.isEnabled(),
            }
    manifest = {
        "scale": os.environ.get("QT_SCALE_FACTOR", "1"),
        "available": rect(screen.availableGeometry()),
        "screen": rect(screen.geometry()),
        "frame": rect(window.frameGeometry()),
        "buttons": buttons,
    }
    screen.grabWindow(0).save(str(png), "PNG")
    manifest_path.write_text(json.dumps(manifest, indent=2))
    RELEASE.set()
    controller.shutdown()
    window.close()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    sys.exit(main())
