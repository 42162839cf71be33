"""Where the main window goes: a first size from the screen it opens on, then the size
and position the user left it at, always kept inside the available screen area.

A fixed default size does not fit every screen: 960×640 at 150 % scaling is 1440×960
device pixels, taller than a 1366×768 laptop, pushing buttons off the screen. So the
first window takes at most :data:`FIRST_SHARE` of the available area (the screen minus
panels and docks, in Qt's device-independent pixels), and a remembered geometry is
clamped into the screen it lands on (a monitor unplugged since, a new scale factor).
The remembered geometry lives in ``window.ini`` beside settings.json (QSettings, INI
format): it is the GUI's alone, so it is not part of the shared settings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QPoint, QRect, QSettings, QSize
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget

from blobsync.core.app.settings import config_dir

PREFERRED = QSize(960, 640)
FIRST_SHARE = (0.9, 0.85)  # of the available width and height
_KEY = "main_window/geometry"


def first_geometry(available: QRect, preferred: QSize = PREFERRED) -> QRect:
    """The preferred size, shrunk to fit ``available``, centred on it."""
    width = min(preferred.width(), int(available.width() * FIRST_SHARE[0]))
    height = min(preferred.height(), int(available.height() * FIRST_SHARE[1]))
    rect = QRect(0, 0, width, height)
    rect.moveCenter(available.center())
    return rect


def clamp(rect: QRect, available: QRect) -> QRect:
    """``rect`` moved (and shrunk if need be) to lie inside ``available``."""
    width = min(rect.width(), available.width())
    height = min(rect.height(), available.height())
    left = min(max(rect.left(), available.left()), available.right() - width + 1)
    top = min(max(rect.top(), available.top()), available.bottom() - height + 1)
    return QRect(left, top, width, height)


def settings_file() -> Path:
    return config_dir() / "window.ini"


def _store() -> QSettings:
    return QSettings(str(settings_file()), QSettings.Format.IniFormat)


def _screen_for(widget: QWidget, point: QPoint | None = None) -> QScreen | None:
    if point is not None:
        screen = QGuiApplication.screenAt(point)
        if screen is not None:
            return screen
    return widget.screen() or QGuiApplication.primaryScreen()


def place(widget: QWidget) -> None:
    """Restore the remembered geometry, or size the first window from the screen;
    either way the window ends up inside the available screen area."""
    saved = _store().value(_KEY)
    if isinstance(saved, QByteArray) and not saved.isEmpty() and widget.restoreGeometry(saved):
        screen = _screen_for(widget, widget.geometry().center())
        if screen is not None:
            fit_inside(widget, screen.availableGeometry())
        return
    screen = _screen_for(widget)
    if screen is not None:
        rect = first_geometry(screen.availableGeometry())
        widget.resize(rect.size())
        widget.move(rect.topLeft())


def keep_on_screen(widget: QWidget) -> None:
    """After the window is shown (its frame is known then): keep it, frame included,
    inside the available area of the screen it is on."""
    screen = _screen_for(widget, widget.frameGeometry().center())
    if screen is not None:
        fit_inside(widget, screen.availableGeometry())


def fit_inside(widget: QWidget, available: QRect) -> None:
    """Move and shrink the window (frame included) into ``available``."""
    frame = widget.frameGeometry()
    extra = QSize(frame.width() - widget.width(), frame.height() - widget.height())
    inside = clamp(frame, available)
    if inside.size() != frame.size():
        widget.resize(inside.width() - extra.width(), inside.height() - extra.height())
    if inside.topLeft() != frame.topLeft():
        widget.move(inside.topLeft())


def remember(widget: QWidget) -> None:
    """Keep the window's size and position for the next start."""
    store = _store()
    store.setValue(_KEY, widget.saveGeometry())
    store.sync()
