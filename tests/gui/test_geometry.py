"""The main window's size and place: a first size from the available screen area, the
user's size and position remembered, and a remembered place that no longer fits (a
smaller screen, a new scale factor) pulled back inside."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QGuiApplication

from blobsync.core.app.settings import AppConfig
from blobsync.gui.geometry import clamp, first_geometry, settings_file

pytestmark = pytest.mark.gui


def test_the_first_size_fits_the_available_area() -> None:
    laptop_150 = QRect(0, 0, 911, 567)  # 1366×850 at 150 %
    rect = first_geometry(laptop_150)
    assert laptop_150.contains(rect) and rect.height() <= 567 * 0.85 + 1
    big = QRect(0, 0, 2560, 1400)
    assert first_geometry(big).size() == QSize(960, 640)
    assert big.center() == first_geometry(big).center()


def test_clamp_moves_and_shrinks_into_the_screen() -> None:
    screen = QRect(0, 28, 1280, 772)
    assert clamp(QRect(1200, 700, 400, 300), screen) == QRect(880, 500, 400, 300)
    assert clamp(QRect(-50, -50, 3000, 2000), screen) == screen
    assert clamp(QRect(10, 40, 300, 200), screen) == QRect(10, 40, 300, 200)


def test_size_and_position_are_remembered_and_kept_on_screen(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    available = QGuiApplication.primaryScreen().availableGeometry()
    window = make_window(AppConfig(), save=lambda _c: None)
    qtbot.waitUntil(lambda: available.contains(window.frameGeometry()), timeout=2000)
    window.resize(720, 440)
    window.move(available.left() + 30, available.top() + 20)
    qtbot.wait(50)
    left_at = window.geometry()
    window.close()
    assert settings_file().exists()
    again = make_window(AppConfig(), save=lambda _c: None)
    qtbot.wait(50)
    assert again.size() == QSize(720, 440)
    # Same place (the offscreen platform's fake frame may shift it by a few pixels).
    assert abs(again.x() - left_at.x()) <= 8 and abs(again.y() - left_at.y()) <= 8
    # Remembered on a bigger screen: brought back inside this one.
    again.resize(available.width() + 400, available.height() + 300)
    again.move(available.right() - 50, available.bottom() - 50)
    again.close()
    third = make_window(AppConfig(), save=lambda _c: None)
    qtbot.waitUntil(lambda: available.contains(third.frameGeometry()), timeout=2000)
