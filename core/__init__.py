"""BlobSync's core: pure Python, no Qt. Installed as ``blobsync.core``.

The folders name the layers, each importing only those above it in this list:

- ``core/*.py``: the vocabulary every layer speaks (models, events, errors, names,
  credentials, crash points);
- ``core/local/``: the folder (scanner, confined file operations, watcher);
- ``core/remote/``: the container (the store protocol, Azure, an in-memory store);
- ``core/engine/``: one sync run (facade, merge, planner, moves, executor, state);
- ``core/app/``: what both clients share (settings, secrets, accounts, pairs, live
  sync, pause, progress, logs, emulator, autostart);
- ``core/cli/``: the ``blobsync`` command, a thin client of ``core/app``.

The desktop app (``gui/``) is the other client of ``core/app``.
"""

__version__ = "0.1.0"
