"""Start-at-login: the freedesktop autostart entry."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from blobsync.core.app import autostart

pytestmark = pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="freedesktop only")


def test_enable_writes_a_valid_autostart_entry_and_disable_removes_it(tmp_path):
    assert not autostart.is_enabled()
    path = autostart.enable(["/opt/BlobSync/blobsync-gui", "--hidden"])
    assert path == tmp_path / "xdg-config" / "autostart" / "io.github.blobsync.BlobSync.desktop"
    text = path.read_text()
    assert "Exec=/opt/BlobSync/blobsync-gui --hidden" in text
    assert autostart.is_enabled()
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
    autostart.disable()
    assert not autostart.is_enabled() and not path.exists()


def test_default_command_starts_the_gui_module():
    cmd = autostart.default_command()
    assert cmd[-1] == "--hidden" and ("blobsync.gui" in cmd or getattr(sys, "frozen", False))
