"""The app survives PySide6 6.12.0's lost references on Python 3.11.

PySide6 6.12.0 drops a reference to ``True`` on every ``SignalInstance.emit()`` and to
``None`` on every void Qt call; without the counter-measure in ``blobsync/gui/__init__.py``
the interpreter aborts ("bool_dealloc" / "none_dealloc") after a few thousand calls.
A child process does far more than that and must exit cleanly.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.gui]

CHILD = """
import blobsync.gui  # the counter-measure
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QLabel

app = QApplication([])

class Emitter(QObject):
    changed = Signal(object)

    def __init__(self):
        super().__init__()
        self.count = 0

    def record(self, value):
        self.count += 1

emitter = Emitter()
emitter.changed.connect(emitter.record)
label = QLabel()
for i in range(30000):
    emitter.changed.emit(i)
    label.setText(str(i))
    label.setEnabled(i % 2 == 0)
for _ in range(2000):
    emitter.changed.disconnect(emitter.record)
    emitter.changed.connect(emitter.record)
assert emitter.count == 30000, emitter.count
print("ok")
"""


def test_many_signals_and_void_calls_do_not_abort() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, timeout=120, check=False
    )
    output = (child.stdout + child.stderr).decode(errors="replace")
    assert child.returncode == 0, output[-2000:]
    assert "ok" in output
