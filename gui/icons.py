"""Loading BlobSync's icons from ``blobsync.resources/icons``, with a Qt fallback.

The SVGs live in ``resources/icons``; if one is missing (or the SVG plugin is absent)
we fall back to a QStyle standard icon so the app never shows an empty tray.
"""

from __future__ import annotations

from importlib import resources

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle

APP_ICON = "blobsync.svg"

_FALLBACK: dict[str, QStyle.StandardPixmap] = {
    "blobsync.svg": QStyle.StandardPixmap.SP_DriveNetIcon,
    "tray-idle.svg": QStyle.StandardPixmap.SP_DialogApplyButton,
    "tray-syncing.svg": QStyle.StandardPixmap.SP_BrowserReload,
    "tray-paused.svg": QStyle.StandardPixmap.SP_MediaPause,
    "tray-offline.svg": QStyle.StandardPixmap.SP_DriveNetIcon,
    "tray-error.svg": QStyle.StandardPixmap.SP_MessageBoxCritical,
    "tray-attention.svg": QStyle.StandardPixmap.SP_MessageBoxWarning,
}

_cache: dict[str, QIcon] = {}


def icon_path(name: str) -> str | None:
    """The file system path of a bundled icon, or None when it is not there."""
    try:
        ref = resources.files("blobsync.resources") / "icons" / name
    except ModuleNotFoundError:
        return None
    return str(ref) if ref.is_file() else None


def load_icon(name: str) -> QIcon:
    """The icon ``name`` (e.g. ``tray-idle.svg``); a standard icon if the file is missing."""
    cached = _cache.get(name)
    if cached is not None:
        return cached
    path = icon_path(name)
    icon = QIcon(path) if path else QIcon()
    if icon.isNull():
        style = QApplication.style()
        pixmap = _FALLBACK.get(name, QStyle.StandardPixmap.SP_FileIcon)
        icon = style.standardIcon(pixmap) if style is not None else QIcon()
    _cache[name] = icon
    return icon


def app_icon() -> QIcon:
    """BlobSync's application icon."""
    return load_icon(APP_ICON)
