"""BlobSync's desktop app (PySide6): a client of the application layer in ``blobsync.core.app``.

``app.py`` starts it, ``controller.py`` wraps
the shared :class:`~blobsync.core.app.service.AppService` with one ``bridge.py`` (engine
on a QThread) per folder pair and the live loop (``live.py``); the windows only talk to
the controller.
"""
