"""BlobSync's desktop app (PySide6): a client of the engine facade in ``blobsync.core``.

``app.py`` starts it, ``controller.py`` owns the settings and one ``bridge.py`` (engine on
a QThread) per folder pair; the windows only talk to the controller.
"""
