"""BlobSync's sync engine: pure Python, no Qt.

Installed as ``blobsync.core``. The GUI and the CLI are two clients of the facade in
:mod:`blobsync.core.engine`; everything here speaks in the dataclasses of
:mod:`blobsync.core.models` and reports through the typed events of
:mod:`blobsync.core.events`.
"""

__version__ = "0.1.0"
