"""Work around a reference-count bug in PySide6 6.12.0 that crashes long-running apps.

Observed here (PySide6 6.12.0, CPython 3.11): ``SignalInstance.emit()`` and
``SignalInstance.disconnect()`` return ``True`` without adding the reference they hand
over, so every call from Python removes one reference from the ``True`` singleton.
After a few thousand emissions (or at interpreter exit, when the garbage collector
runs) CPython aborts with "Fatal Python error: bool_dealloc: deallocating True or
False". A GUI that emits signals for progress hits that within minutes; our test runs
hit it at exit (exit code 134). On Python 3.12+ ``True`` is immortal and the bug is
harmless.

:func:`apply` measures the leak once at import; only if it is there does it wrap the
two methods so each call gives back the missing reference. Imported (and applied) by
``blobsync.gui`` before anything else creates signals. ``tests/gui`` checks both the
bug's absence after the fix and that the wrapper still returns what PySide returns.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None

_applied = False


class _Probe(QObject):
    ping = Signal()

    def noop(self) -> None:
        pass


def _leaks(method: str) -> bool:
    """True if calling ``SignalInstance.<method>`` loses references to ``True``."""
    probe = _Probe()
    calls = 64
    before = sys.getrefcount(True)
    if method == "emit":
        for _ in range(calls):
            probe.ping.emit()
    else:
        for _ in range(calls):
            probe.ping.connect(probe.noop)
            probe.ping.disconnect(probe.noop)
    lost = before - sys.getrefcount(True)
    if lost > 0:
        for _ in range(lost):  # give back what the probe itself took
            _incref(True)
    return lost >= calls


def _wrap(original: Callable[..., Any]) -> Callable[..., Any]:
    def fixed(self: SignalInstance, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if result is True or result is False:
            _incref(result)  # the reference PySide forgot to add
        return result

    fixed.__name__ = original.__name__
    fixed.__doc__ = original.__doc__
    fixed.__wrapped__ = original  # type: ignore[attr-defined]
    return fixed


def apply() -> list[str]:
    """Patch the leaking methods (idempotent); returns the names patched."""
    global _applied
    if _applied or sys.version_info >= (3, 12):
        return []
    patched = []
    for name in ("emit", "disconnect"):
        if _leaks(name):
            setattr(SignalInstance, name, _wrap(getattr(SignalInstance, name)))
            patched.append(name)
    _applied = True
    return patched


PATCHED = apply()
