"""The main window's menu bar and keyboard shortcuts, and the Help actions behind it.

- **File**: Add folder… (Ctrl+N), Accounts…, Settings… (Ctrl+,), Quit (Ctrl+Q);
- **Sync**: Sync now (Ctrl+S, the selected pair), Preview, Sync all, Pause / Resume
  everything (Ctrl+P), Refresh (F5: re-read every pair's state);
- **Help**: Open log folder, Report a problem… (copies a redacted diagnostics text,
  :func:`blobsync.core.app.diagnostics.diagnostics_text`), About BlobSync (version and
  licences).

Anything that opens a folder says so when no file manager could (``opener`` returns
False on a desktop without one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import QUrl, qVersion
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox

from blobsync.core import __version__
from blobsync.core.app.diagnostics import diagnostics_text
from blobsync.core.app.logs import log_dir

if TYPE_CHECKING:
    from .main_window import MainWindow

#: Opens a URL (a folder) in the desktop's handler; False when nothing could.
UrlOpener = Callable[[QUrl], bool]

LICENCES = (
    "BlobSync is free software under the MIT licence.",
    "It uses Qt and PySide6 (LGPL v3), the Azure SDK for Python (MIT), keyring (MIT), "
    "platformdirs (MIT), watchdog (Apache 2.0) and tqdm (MPL 2.0 and MIT); the bundled "
    "local storage emulator is Azurite (MIT).",
)


def open_folder(window: MainWindow, folder: str, what: str) -> bool:
    """Open ``folder`` in the file manager, or say on the banner that none could."""
    if window.url_opener(QUrl.fromLocalFile(folder)):
        return True
    window.show_banner(
        f"No file manager could open {what}. It is at {folder}.",
        "Copy the path",
        lambda: QApplication.clipboard().setText(folder),
    )
    return False


@dataclass
class MenuActions:
    """The menu actions the window updates or tests trigger."""

    add_folder: QAction
    settings: QAction
    quit: QAction
    sync_now: QAction
    pause: QAction
    refresh: QAction
    open_log: QAction
    report: QAction
    about: QAction


def build_menus(window: MainWindow) -> MenuActions:
    """The menu bar of ``window``."""
    ctl = window.controller
    bar = window.menuBar()

    def action(
        menu_text: str,
        slot: Callable[[], object],
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
    ) -> QAction:
        act = QAction(menu_text, window)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(lambda _checked=False: slot())
        return act

    acts = MenuActions(
        add_folder=action("&Add folder…", window.add_pair, "Ctrl+N"),
        settings=action("&Settings…", window.edit_settings, "Ctrl+,"),
        quit=action("&Quit", QApplication.quit, "Ctrl+Q"),
        sync_now=action("&Sync now", window.sync_selected, "Ctrl+S"),
        pause=action("&Pause everything", window.toggle_pause, "Ctrl+P"),
        refresh=action("&Refresh", window.refresh, "F5"),
        open_log=action("Open &log folder", lambda: open_log_folder(window)),
        report=action("&Report a problem…", lambda: report_problem(window)),
        about=action("&About BlobSync", lambda: show_about(window)),
    )
    file_menu = bar.addMenu("&File")
    file_menu.addAction(acts.add_folder)
    file_menu.addAction(action("A&ccounts…", window.show_accounts))
    file_menu.addAction(acts.settings)
    file_menu.addSeparator()
    file_menu.addAction(acts.quit)
    sync_menu = bar.addMenu("&Sync")
    sync_menu.addAction(acts.sync_now)
    sync_menu.addAction(action("Pre&view", window.pairs_view.preview_selected))
    sync_menu.addAction(action("Sync &all", ctl.sync_all))
    sync_menu.addAction(acts.pause)
    sync_menu.addSeparator()
    sync_menu.addAction(acts.refresh)
    help_menu = bar.addMenu("&Help")
    help_menu.addAction(acts.open_log)
    help_menu.addAction(acts.report)
    help_menu.addSeparator()
    help_menu.addAction(acts.about)
    return acts


def open_log_folder(window: MainWindow) -> bool:
    folder = log_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        pass
    return open_folder(window, str(folder), "the log folder")


def report_problem(window: MainWindow) -> str:
    """Copy the redacted diagnostics to the clipboard and say so; returns the text."""
    text = diagnostics_text(
        window.controller.service, extra=[f"Qt {qVersion()}, PySide6 {pyside_version}"]
    )
    QApplication.clipboard().setText(text)
    window.show_banner(
        "A description of this computer's BlobSync set-up and the end of its log (no "
        "secrets) was copied to the clipboard: paste it into your report."
    )
    return text


def show_about(window: MainWindow) -> QMessageBox:
    box = QMessageBox(window)
    box.setObjectName("aboutBox")
    box.setWindowTitle("About BlobSync")
    box.setIcon(QMessageBox.Icon.Information)
    box.setText(f"<b>BlobSync {__version__}</b><br>Keeps folders in sync with Azure Blob Storage.")
    box.setInformativeText(
        "\n\n".join(LICENCES) + f"\n\nQt {qVersion()}, PySide6 {pyside_version}."
    )
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    box.open()
    return box


def default_opener(url: QUrl) -> bool:
    return bool(QDesktopServices.openUrl(url))
