"""Run one blocking call (test a connection, list or create containers) off the GUI thread.

The dialogs must never freeze while the network answers. The worker thread holds no Qt
object at all: it runs a plain function, puts the answer in a queue and pokes one
long-lived relay QObject, whose slot (in the GUI thread) hands the answer to the
callback. Two traps this avoids: a lambda connected to a worker-thread signal runs in
the worker thread, even with a queued connection, and a QObject wrapper whose last Python reference dies in
a worker thread is destroyed from that thread (PySide6 then defers the deletion to
the main thread, racing with ``deleteLater``). So ``fn`` must not capture widgets.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

#: ``on_done(result, error)``: exactly one of them is meaningful.
DoneCallback = Callable[[Any, BaseException | None], None]

_ids = itertools.count(1)


class _Relay(QObject):
    """Lives in the GUI thread for the whole process; delivers answers there."""

    poke = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.answers: queue.Queue[tuple[int, Any, BaseException | None]] = queue.Queue()
        self.pending: dict[int, tuple[QObject, DoneCallback]] = {}
        self.poke.connect(self._deliver)

    @Slot()
    def _deliver(self) -> None:
        while True:
            try:
                call_id, result, error = self.answers.get_nowait()
            except queue.Empty:
                return
            owner, on_done = self.pending.pop(call_id, (None, None))
            if owner is not None and on_done is not None and shiboken6.isValid(owner):
                on_done(result, error)


_relay: _Relay | None = None


def _get_relay() -> _Relay:
    global _relay
    if _relay is None:
        _relay = _Relay()
        app = QCoreApplication.instance()
        if app is not None:
            _relay.moveToThread(app.thread())
    return _relay


def run_in_background(fn: Callable[[], Any], on_done: DoneCallback, owner: QObject) -> int:
    """Start ``fn()`` on a worker thread; ``on_done(result, error)`` runs later in the GUI
    thread, unless ``owner`` (the dialog asking) was deleted meanwhile.

    ``fn`` must not reference Qt objects (see the module docstring). Returns a call id.
    """
    relay = _get_relay()
    call_id = next(_ids)
    relay.pending[call_id] = (owner, on_done)
    answers, poke = relay.answers, relay.poke

    def work() -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the GUI thread
            error = exc
        answers.put((call_id, result, error))
        poke.emit()

    threading.Thread(target=work, name="blobsync-gui-call", daemon=True).start()
    return call_id
