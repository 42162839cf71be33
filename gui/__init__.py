"""BlobSync's desktop app (PySide6): a client of the engine facade in ``blobsync.core``.

``app.py`` starts it, ``controller.py`` owns the settings and one ``bridge.py`` (engine on
a QThread) per folder pair; the windows only talk to the controller.

PySide6 6.12.0 is built for Pythons where ``None``/``True``/``False`` are immortal
(3.12+): on 3.11 every void Qt call (``setText``, ``setEnabled``, ``processEvents``…)
returns ``None`` without adding a reference, and ``SignalInstance.emit`` does the same
with ``True``. Measured here: ``None`` starts with ~5,000 references, so a window that
updates its labels at 10 Hz aborts the interpreter ("none_dealloc") within a minute.
We give the three singletons 2**40 extra references — what CPython 3.12 does by making
them immortal — before any Qt call. They are never freed either way.
"""

import sys

if sys.version_info < (3, 12):
    import ctypes

    for _singleton in (None, True, False):
        # ob_refcnt is the first Py_ssize_t of every object in release builds.
        ctypes.c_ssize_t.from_address(id(_singleton)).value += 1 << 40
