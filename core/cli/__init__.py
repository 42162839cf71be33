"""The ``blobsync`` command: argument parsing and printing over :mod:`blobsync.core.app`.

``main`` is the console entry point (``blobsync = blobsync.core.cli:main``).
"""

from .commands import main

__all__ = ["main"]
