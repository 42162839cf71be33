"""Start BlobSync at login.

Linux/BSD: a freedesktop autostart entry in ``$XDG_CONFIG_HOME/autostart``.
Windows: a value under ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``.
macOS: a LaunchAgent plist in ``~/Library/LaunchAgents`` (loaded at next login).
"""

from __future__ import annotations

import os
import plistlib
import shlex
import sys
from pathlib import Path

APP_ID = "io.github.blobsync.BlobSync"


def _xdg_autostart_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autostart" / f"{APP_ID}.desktop"


def _mac_plist() -> Path:
    return Path.home() / "Library" / "LaunchAgents" / f"{APP_ID}.plist"


def default_command() -> list[str]:
    """How to start the GUI hidden in the tray from this installation."""
    exe = Path(sys.executable)
    if getattr(sys, "frozen", False):  # a PyInstaller bundle
        return [str(exe), "--hidden"]
    return [str(exe), "-m", "blobsync.gui", "--hidden"]


def is_enabled() -> bool:
    """True if BlobSync is set to start at login."""
    if sys.platform == "win32":
        import winreg

        try:
            with winreg.OpenKey(
                winreg.HKEY_CURRENT_USER, r"Software\Microsoft\Windows\CurrentVersion\Run"
            ) as key:
                winreg.QueryValueEx(key, "BlobSync")
                return True
        except OSError:
            return False
    if sys.platform == "darwin":
        return _mac_plist().exists()
    return _xdg_autostart_file().exists()


def enable(command: list[str] | None = None) -> Path | None:
    """Start at login with ``command`` (default: this installation's GUI, hidden in the tray).

    Returns the file written (None on Windows, where it is a registry value).
    """
    command = command or default_command()
    if sys.platform == "win32":
        import subprocess
        import winreg

        with winreg.OpenKey(
            winreg.HKEY_CURRENT_USER,
            r"Software\Microsoft\Windows\CurrentVersion\Run",
            0,
            winreg.KEY_SET_VALUE,
        ) as key:
            winreg.SetValueEx(key, "BlobSync", 0, winreg.REG_SZ, subprocess.list2cmdline(command))
        return None
    if sys.platform == "darwin":
        path = _mac_plist()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(
            plistlib.dumps({"Label": APP_ID, "ProgramArguments": command, "RunAtLoad": True})
        )
        return path
    path = _xdg_autostart_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=BlobSync\n"
        "Comment=Keep folders in sync with Azure Blob Storage\n"
        f"Exec={shlex.join(command)}\n"
        f"Icon={APP_ID}\n"
        "X-GNOME-Autostart-enabled=true\n"
        "Terminal=false\n",
        encoding="utf-8",
    )
    return path


def disable() -> None:
    """Do not start at login any more."""
    if sys.platform == "win32":
        import winreg

        try:
            with winreg.OpenKey(
                winreg.HKEY_CURRENT_USER,
                r"Software\Microsoft\Windows\CurrentVersion\Run",
                0,
                winreg.KEY_SET_VALUE,
            ) as key:
                winreg.DeleteValue(key, "BlobSync")
        except OSError:
            pass
        return
    path = _mac_plist() if sys.platform == "darwin" else _xdg_autostart_file()
    path.unlink(missing_ok=True)
