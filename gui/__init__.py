"""BlobSync's desktop app (PySide6): a client of the engine facade in ``blobsync.core``.

``app.py`` starts it, ``controller.py`` owns the settings and one ``bridge.py`` (engine on
a QThread) per folder pair; the windows only talk to the controller.
"""

# Before anything emits a signal: PySide6 6.12.0 leaks references to True (see qtfix).
from . import qtfix as _qtfix  # noqa: F401
