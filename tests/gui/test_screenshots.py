"""Screenshots of the real windows under Xvfb, with a system tray from ``trayer``.

This test starts ``Xvfb :N -screen 0 1280x800x24`` and ``trayer`` itself, then runs
``screenshot_script.py`` in a child process with ``DISPLAY=:N QT_QPA_PLATFORM=xcb``
(Qt's platform is chosen per process; this pytest process stays offscreen). The child
uses its own Azurite. Each PNG must exist, have the size the child recorded, not be
blank, and show no secret. The pictures stay in the test's temporary folder: a test run
leaves the checkout clean. ``bash packaging/dev.sh screenshots`` runs this test with
``BLOBSYNC_SCREENSHOTS_DIR=docs/screenshots`` to refresh the committed copies.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QImage

from blobsync.core.credentials import AZURITE_KEY

pytestmark = [pytest.mark.gui, pytest.mark.xvfb, pytest.mark.slow]

SCRIPT = Path(__file__).with_name("screenshot_script.py")
#: Where to copy the pictures after a passing run (unset: nowhere).
COPY_TO_ENV = "BLOBSYNC_SCREENSHOTS_DIR"
SCREEN = (1280, 800)
SHOTS = (
    "main_window.png",
    "account_dialog.png",
    "account_dialog_entra.png",
    "permission_check.png",
    "pair_dialog.png",
    "progress.png",
    "issues.png",
    "conflict_center.png",
    "archived.png",
    "preview.png",
    "not_finished.png",
    "deletion_review.png",
    "folder_missing.png",
    "accounts.png",
    "activity.png",
    "undo_dialog.png",
    "settings.png",
    "tray_menu.png",
    "selective_sync.png",
    "patterns_editor.png",
    "path_picker.png",
)


def _free_display() -> int:
    for number in range(90, 190):
        if (
            not Path(f"/tmp/.X{number}-lock").exists()
            and not Path(f"/tmp/.X11-unix/X{number}").exists()
        ):
            return number
    raise RuntimeError("no free X display number between :90 and :189")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture
def xdisplay(tmp_path: Path) -> Iterator[str]:
    """A private Xvfb with trayer running on it; yields the DISPLAY value."""
    with _xvfb(tmp_path, SCREEN) as display:
        yield display


@contextlib.contextmanager
def _xvfb(tmp_path: Path, screen: tuple[int, int]) -> Iterator[str]:
    """Xvfb with a ``screen`` (width, height) and trayer on it; yields DISPLAY."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    number = _free_display()
    display = f":{number}"
    log = (tmp_path / "xvfb.log").open("wb")
    xvfb = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", f"{screen[0]}x{screen[1]}x24", "-nolisten", "tcp"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    procs = [xvfb]
    try:
        socket = Path(f"/tmp/.X11-unix/X{number}")
        deadline = time.monotonic() + 15
        while not socket.exists():
            if xvfb.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Xvfb did not start: {(tmp_path / 'xvfb.log').read_text()[-500:]}")
            time.sleep(0.05)
        if shutil.which("trayer") is not None:
            env = {**os.environ, "DISPLAY": display}
            procs.append(
                subprocess.Popen(
                    ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request",
                     "--height", "28", "--transparent", "false", "--tint", "0x404040"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )  # fmt: skip
        yield display
    finally:
        for proc in reversed(procs):
            _stop(proc)
        log.close()


def _colours(image: QImage) -> Counter[int]:
    """Pixel colours of a downscaled copy (enough to tell a blank image)."""
    small = image.scaledToWidth(min(320, image.width()))
    return Counter(
        small.pixel(x, y) for y in range(0, small.height(), 2) for x in range(small.width())
    )


def check_filter_shots(manifest: dict[str, Any]) -> None:
    """The "what syncs" pictures show what they are meant to (screenshot_filters.py)."""
    tree = manifest["selective_sync.png"]["tree"]
    assert ["photos", "partial", "on this computer and in the container"] in tree
    assert ["  2019", "unchecked", "on this computer"] in tree
    assert ["  2018", "checked", "in the container"] in tree
    assert ["node_modules", "unchecked", "left out by the pattern node_modules/"] in tree
    assert ["build", "unchecked", "left out by the pattern build/"] in tree
    assert manifest["selective_sync.png"]["excluded_folders"] == ["photos/2019"]
    assert "Left out: 1 folder (photos/2019)." in manifest["selective_sync.png"]["texts"]
    patterns = manifest["patterns_editor.png"]["texts"]
    assert any(t.startswith("These rules leave out 9 files in this folder") for t in patterns)
    assert any(t.startswith("Line 3 is not used: 'report[9-0].pdf'") for t in patterns)
    assert "Leave out the usual junk files of operating systems and editors" in patterns
    picker = manifest["path_picker.png"]
    assert "Syncs with: projects/team/alpha" in picker["texts"]
    assert picker["tree"] == [
        "projects (the whole container)",
        "  laptop",
        "  team",
        "    alpha",
        "    beta",
        "    gamma  (new)",
    ]


def test_screenshots(xdisplay: str, tmp_path: Path, qapp) -> None:  # type: ignore[no-untyped-def]
    # Only a missing Xvfb skips (see the fixture); `packaging/dev.sh` installs both.
    assert shutil.which("trayer") is not None, "trayer is not installed (apt-get install trayer)"
    out = tmp_path / "shots"
    env = {
        **os.environ,
        "DISPLAY": xdisplay,
        "QT_QPA_PLATFORM": "xcb",
        "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "HOME": str(tmp_path / "home"),
    }
    env.pop("WAYLAND_DISPLAY", None)
    (tmp_path / "home").mkdir()
    child = subprocess.run(
        [sys.executable, str(SCRIPT), str(out)],
        env=env,
        capture_output=True,
        timeout=240,
        check=False,
    )
    output = (child.stdout + child.stderr).decode(errors="replace")
    assert child.returncode == 0, output[-3000:]
    assert AZURITE_KEY not in output

    manifest = json.loads((out / "manifest.json").read_text())
    assert sorted(manifest) == sorted(SHOTS)
    for name in SHOTS:
        image = QImage(str(out / name))
        assert not image.isNull(), name
        expected = tuple(manifest[name]["size"])
        assert (image.width(), image.height()) == expected, name
        assert image.width() >= 400 and image.height() >= 150, name
        colours = _colours(image)
        dominant_share = colours.most_common(1)[0][1] / sum(colours.values())
        assert len(colours) >= 12 and dominant_share < 0.95, (name, len(colours))
        for text in manifest[name]["texts"]:
            assert AZURITE_KEY not in text and "AccountKey=" not in text, (name, text)
            assert "sig=" not in text, (name, text)

    assert (SCREEN[0], SCREEN[1]) == tuple(manifest["tray_menu.png"]["size"])
    assert manifest["account_dialog.png"]["secret_masked"] is True
    tray_texts = manifest["tray_menu.png"]["texts"]
    assert {"Sync now", "Pause", "Open BlobSync", "Quit"} <= set(tray_texts)
    assert any("need attention" in text for text in tray_texts)
    pair_texts = manifest["pair_dialog.png"]["texts"]
    assert "A container name may only use lowercase letters." in pair_texts
    assert "photos" in pair_texts
    issues_texts = manifest["issues.png"]["texts"]
    assert "notes.txt" in issues_texts and "Keep mine" in issues_texts
    progress_texts = " ".join(manifest["progress.png"]["texts"])
    assert "Uploading" in progress_texts and "Cancel" in progress_texts
    entra_texts = " ".join(manifest["account_dialog_entra.png"]["texts"])
    assert "Sign in with Microsoft (Entra ID)" in entra_texts
    assert "https://microsoft.com/devicelogin" in entra_texts and "H7KQ-2MWX" in entra_texts
    permission_texts = " ".join(manifest["permission_check.png"]["texts"])
    assert manifest["permission_check.png"]["secret_masked"] is True
    assert "delete ✗" in permission_texts and "may not delete in 'shared-photos'" in (
        permission_texts
    )
    center = manifest["conflict_center.png"]["texts"]
    preview = " ".join(manifest["preview.png"]["texts"])
    assert "A sync would make" in preview and "draft.txt" in preview
    assert "Left out by the filter rules: 2 items (2 by the built-in list)." in preview
    assert "Changed on my-laptop (this computer)" in center and "Changed on office-pc" in center
    assert "-2026-01,power,84" in center and "+2026-02,internet,35" in center
    assert "Open both" in center and "Take theirs" in center
    archived_texts = manifest["archived.png"]["texts"]
    assert "archive/scans-2018.zip" in archived_texts and "Rehydrate…" in archived_texts
    assert "Archived in the container — not synced" in archived_texts
    check_filter_shots(manifest)
    unfinished = " ".join(manifest["not_finished.png"]["texts"])
    assert "Not finished — " in unfinished and "changes waiting" in unfinished
    assert (
        "stopped before the end" in unfinished and "Up to date" not in unfinished.split("Photos")[0]
    )
    review = manifest["deletion_review.png"]["texts"]
    assert "Restore the files from the container" in review and "Leave it paused" in review
    assert any(t.startswith("Delete 46 files in the container") for t in review)
    missing = manifest["folder_missing.png"]["texts"]
    assert "Locate…" in missing and "Remove pair" in missing and "Folder missing" in missing
    accounts = manifest["accounts.png"]["texts"]
    assert "Copy connection string" in accounts and "OS keyring" in accounts
    assert any("Connection works" in t for t in accounts)
    activity = manifest["activity.png"]["texts"]
    assert "Deleted here: deleted on office-pc" in activity
    assert "Downloaded: changed on office-pc" in activity and "Activity" in activity
    undo = " ".join(manifest["undo_dialog.png"]["texts"])
    assert "2 files would be put back" in undo and "2 files would be taken away" in undo
    assert "letters/landlord.txt — Deleted here: deleted on office-pc" in undo
    settings = manifest["settings.png"]["texts"]
    assert "my-laptop" in settings and "30 days" in settings
    assert "Recent changes" in tray_texts and "All activity…" in tray_texts

    target = os.environ.get(COPY_TO_ENV)
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for name in SHOTS:
            shutil.copyfile(out / name, Path(target) / name)


LAPTOP = (1366, 850)
SCALE_SHOTS = {"1": "scale_100.png", "1.5": "scale_150.png", "2": "scale_200.png"}


@pytest.mark.parametrize("factor", list(SCALE_SHOTS))
def test_the_first_window_fits_the_screen_at_every_scale_factor(
    tmp_path: Path, factor: str, qapp
) -> None:  # type: ignore[no-untyped-def]
    png, data = tmp_path / SCALE_SHOTS[factor], tmp_path / "scale.json"
    with _xvfb(tmp_path, LAPTOP) as display:
        env = {
            **os.environ,
            "DISPLAY": display,
            "QT_QPA_PLATFORM": "xcb",
            "QT_SCALE_FACTOR": factor,
            "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_STATE_HOME": str(tmp_path / "state"),
        }
        env.pop("WAYLAND_DISPLAY", None)
        child = subprocess.run(
            [sys.executable, str(SCRIPT.with_name("scale_script.py")), str(png), str(data)],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
    assert child.returncode == 0, (child.stdout + child.stderr).decode(errors="replace")[-3000:]
    manifest = json.loads(data.read_text())
    ax, ay, aw, ah = manifest["available"]
    fx, fy, fw, fh = manifest["frame"]
    assert ax <= fx and ay <= fy and fx + fw <= ax + aw and fy + fh <= ay + ah, manifest
    buttons = manifest["buttons"]
    for name in ("removePairButton", "cancelButton", "syncNowButton", "addPairButton"):
        bx, by, bw, bh = buttons[name]["rect"]
        assert ax <= bx and ay <= by and bx + bw <= ax + aw and by + bh <= ay + ah, (name, manifest)
    assert buttons["cancelButton"]["enabled"]
    image = QImage(str(png))
    assert (image.width(), image.height()) == LAPTOP
    target = os.environ.get(COPY_TO_ENV)
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, Path(target) / SCALE_SHOTS[factor])
