"""Run one blocking call (test a connection, list or create containers) off the GUI thread.

The dialogs must never freeze while the network answers. The result comes back through
a signal of a QObject that lives in the GUI thread, connected to one of its own methods,
so the callback runs in the GUI thread (a lambda connected to a worker-thread signal
would run in the worker: see FIELD_NOTES, Qt).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

#: ``on_done(result, error)``: exactly one of them is meaningful.
DoneCallback = Callable[[Any, BaseException | None], None]

_running: set[BackgroundCall] = set()


class BackgroundCall(QObject):
    """One call on a daemon thread; ``on_done`` runs later in the GUI thread."""

    finished = Signal(object, object)

    def __init__(self, fn: Callable[[], Any], on_done: DoneCallback, parent: QObject) -> None:
        super().__init__(parent)
        self._fn = fn
        self._on_done = on_done
        self._cancelled = False
        self.finished.connect(self._deliver)
        parent.destroyed.connect(self._forget)
        self._thread = threading.Thread(target=self._run, name="blobsync-gui-call", daemon=True)

    def start(self) -> BackgroundCall:
        _running.add(self)
        self._thread.start()
        return self

    def _run(self) -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = self._fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the GUI thread
            error = exc
        try:
            self.finished.emit(result, error)
        except RuntimeError:
            pass  # the dialog was closed and deleted meanwhile: nobody to tell

    @Slot(object, object)
    def _deliver(self, result: Any, error: BaseException | None) -> None:
        _running.discard(self)
        if not self._cancelled:
            self._on_done(result, error)
        self.deleteLater()

    @Slot()
    def _forget(self) -> None:
        self._cancelled = True
        _running.discard(self)


def run_in_background(fn: Callable[[], Any], on_done: DoneCallback, parent: QObject) -> BackgroundCall:
    """Start ``fn()`` on a worker thread; call ``on_done(result, error)`` in the GUI thread."""
    return BackgroundCall(fn, on_done, parent).start()


def busy() -> bool:
    """True while any background call has not delivered its answer (for tests)."""
    return bool(_running)
