"""Walk a new user's first day through the real app, under X, and record what it says.

    xvfb-run -s "-screen 0 1280x800x24" python tests/gui/day_one_walk.py OUT_DIR

(``trayer`` is started on the display when it is installed, so the tray exists.) A
fresh home and settings, the bundled emulator, the app started as ``blobsync-gui``
starts (``start_app``), and then, step by step: the first start, the demo folder pair
and its first sync, a big upload cancelled half way, a restart within seconds (the
emulator comes back, often on another port), the folder emptied, the folder moved
away, a wrong account added. Each step saves a screenshot of the whole screen
(``NN_name.png``) and what the screen says (window title, the pair's row, the banner,
the tray tooltip) in ``walk.json``. Not a test: a record for people to read; it exits
non-zero when a step does not happen within its time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

STEP_TIMEOUT_S = 120


def main() -> int:
    out = Path(sys.argv[1]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="blobsync-day-one-"))
    for var, sub in (
        ("HOME", "home"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
    ):
        (home / sub).mkdir()
        os.environ[var] = str(home / sub)
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    tray = None
    if shutil.which("trayer"):
        tray = subprocess.Popen(
            ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request",
             "--height", "28", "--transparent", "false", "--tint", "0x404040"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1.0)
    try:
        return walk(out, home / "home")
    finally:
        if tray is not None:
            tray.terminate()
            tray.wait(10)


def walk(out: Path, home: Path) -> int:
    import keyring
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication
    from screenshot_script import MemoryKeyring

    from blobsync.core.app.status import PairState
    from blobsync.gui import app as gui_app
    from blobsync.gui.tray import tray_look

    keyring.set_keyring(MemoryKeyring())  # no desktop keyring on this display
    qt_app = QApplication(["blobsync-gui"])
    record: list[dict[str, Any]] = []
    session: Any = None

    def wait(condition: Callable[[], bool], what: str, timeout: float = STEP_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                sys.stderr.write(f"timed out waiting for: {what}\n")
                raise SystemExit(3)
            qt_app.processEvents()
            time.sleep(0.02)

    def settle(seconds: float = 0.5) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            qt_app.processEvents()
            time.sleep(0.02)

    def start() -> Any:
        instance = gui_app.SingleInstance(f"blobsync-walk-{uuid.uuid4().hex[:8]}")
        instance.listen()
        started = gui_app.start_app(qt_app, instance)
        started.window.resize(1100, 700)
        started.window.move(0, 30)
        return started

    def shot(name: str, what: str) -> None:
        settle(0.6)
        window, ctl = session.window, session.controller
        pairs = ctl.pairs()
        row = ""
        if pairs:
            model = window.pairs_view.model
            row = " | ".join(
                str(model.data(model.index(0, col)) or "") for col in range(model.columnCount())
            )
        QGuiApplication.primaryScreen().grabWindow(0).save(str(out / name), "PNG")
        record.append(
            {
                "screenshot": name,
                "step": what,
                "title": window.windowTitle(),
                "pair_row": row,
                "banner": window.banner_label.text() if window.banner.isVisible() else "",
                "tray": tray_look(ctl.overview()).tooltip,
                "issues_notice": window.issues_view.notice.text(),
            }
        )

    def state() -> PairState:
        return session.controller.pair_state(session.controller.pairs()[0].pair_id)

    # 1. the first start: no account, so the bundled emulator and a one-click demo pair
    session = start()
    shot("01_starting.png", "first start, the emulator starting")
    wait(lambda: session.window.banner_button.isVisible(), "the demo offer")
    shot("02_demo_offer.png", "the emulator is running: the demo offer")

    # 2. the demo pair and its first sync
    session.window.banner_button.click()
    wait(lambda: session.controller.pairs() and state() is PairState.IDLE, "the first sync")
    shot("03_first_sync.png", "the demo pair synced")

    # 3. a big upload, cancelled half way
    folder = Path(session.controller.pairs()[0].local_root)
    session.controller.config.upload_limit_kbps = 8 * 1024  # ~30 s for the file below
    big = folder / "holiday-video.mp4"
    with open(big, "wb") as fh:
        for _ in range(240):
            fh.write(os.urandom(1024 * 1024))
    pair_id = session.controller.pairs()[0].pair_id

    def halfway() -> bool:
        snap = session.controller.status(pair_id).progress
        return bool(snap and snap.running and snap.bytes_total and snap.fraction > 0.3)

    wait(halfway, "the upload half way")
    shot("04_uploading.png", "a 240 MiB upload in progress")
    session.window.progress_view.cancel_button.click()
    wait(lambda: not session.controller.status(pair_id).syncing, "the cancel")
    shot("05_cancelled.png", "the upload cancelled")

    # 4. quit and start again within seconds
    port_before = session.controller.config.accounts[
        session.controller.pairs()[0].account
    ].account_url
    session.controller.config.upload_limit_kbps = 0
    session.controller.save()
    session.close()
    session = start()
    shot("06_restarted.png", "restarted within seconds, the emulator starting again")
    port_after = session.controller.config.accounts[
        session.controller.pairs()[0].account
    ].account_url
    wait(lambda: state() is PairState.IDLE, "the restarted sync")
    shot("07_restarted_synced.png", f"after the restart ({port_before} -> {port_after})")

    # 5. the folder emptied (by mistake)
    for path in list(folder.iterdir()):
        path.unlink()
    wait(lambda: state() is PairState.REVIEW, "the safety stop")
    shot("08_folder_emptied.png", "every file deleted from the folder")
    session.window.banner_button.click()
    wait(lambda: session.window.review_dialog is not None, "the deletion review")
    session.window.review_dialog.move(120, 120)
    shot("09_deletion_review.png", "the deletion review")
    session.window.review_dialog.restore_button.click()
    wait(lambda: big.exists() and state() is PairState.IDLE, "the restore")
    shot("10_restored.png", "the files restored from the container")

    # 6. the folder moved away
    moved = folder.with_name("BlobSync (moved)")
    folder.rename(moved)
    wait(lambda: state() is PairState.MISSING, "the missing folder")
    shot("11_folder_missing.png", "the folder moved away")
    session.window.folder_picker = lambda _title, _start: str(moved)
    session.window.banner_button.click()  # Locate…
    wait(lambda: state() is PairState.IDLE, "the located folder synced")
    shot("12_located.png", "Locate… pointed at the moved folder")

    # 7. a wrong account
    accounts = session.window.show_accounts()
    accounts.move(80, 80)
    accounts.add()
    dialog = accounts.account_dialog
    from blobsync.gui.widgets.account_dialog import AccountKind

    dialog.set_kind(AccountKind.KEY)
    dialog.name_edit.setText("my-storage")
    dialog.url_edit.setText("mystorageacct")
    dialog.secret_edit.setText("bm90IHRoZSByaWdodCBrZXkgYXQgYWxs")
    dialog.move(140, 140)
    dialog.test_connection()
    wait(lambda: not dialog.is_testing(), "the connection test", 90)
    shot("13_wrong_account_tested.png", "a wrong account, tested")
    dialog.accept()  # Save
    shot("14_wrong_account_save.png", "Save after the failed test")
    dialog.reject()
    accounts.close()

    session.close()
    (out / "walk.json").write_text(json.dumps(record, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
