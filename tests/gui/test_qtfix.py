"""The PySide6 6.12.0 reference leak on ``True`` is neutralised by ``blobsync.gui.qtfix``.

Without the fix every ``emit()``/``disconnect()`` from Python drops one reference to
``True`` and the process aborts ("bool_dealloc") after a few thousand signals.
"""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QObject, Signal

import blobsync.gui  # noqa: F401  (applies the fix)
from blobsync.gui import qtfix

pytestmark = [pytest.mark.gui]


class Emitter(QObject):
    changed = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[object] = []

    def record(self, value: object) -> None:
        self.seen.append(value)


def test_emit_and_disconnect_keep_true_alive() -> None:
    emitter = Emitter()
    emitter.changed.connect(emitter.record)
    before = sys.getrefcount(True)
    for i in range(5000):
        emitter.changed.emit(i)
    for _ in range(200):
        emitter.changed.disconnect(emitter.record)
        emitter.changed.connect(emitter.record)
    # 5,200 calls: the bug would lose 5,200 references; allow a few held by pytest
    assert abs(sys.getrefcount(True) - before) < 5
    assert emitter.changed.disconnect(emitter.record) is True
    emitter.changed.connect(emitter.record)
    assert emitter.seen == list(range(5000))
    assert emitter.changed.emit(1) is True


def test_fix_applied_only_where_needed() -> None:
    if sys.version_info >= (3, 12):
        assert qtfix.PATCHED == []
    assert qtfix.apply() == []  # idempotent
