"""A small sync runner for crash tests, run as a subprocess:
``python crash_runner.py ROOT CONTAINER STATE_DB [WORKERS]`` with the connection string in
``AZURE_STORAGE_CONNECTION_STRING``; with ``RUNNER_RESTORE=SOURCE:PATH`` it restores the
newest version of PATH kept in SOURCE (``local`` or ``container``) instead. It is the
engine the CLI runs, with test knobs
turned so a small file already goes in staged blocks and listings come in several
pages. ``BLOBSYNC_CRASH_AT=<point>`` kills it at that point (exit code 137).
Prints the result's counters as one line of JSON.
"""

from __future__ import annotations

import json
import os
import sys

from blobsync.core.credentials import parse_connection_string
from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.remote.azure import AzureBlobStore, BoundedRetryPolicy

#: Contents above this size are uploaded in staged blocks of BLOCK bytes.
SINGLE_SHOT_MAX = 64 * 1024
BLOCK = 16 * 1024
PAGE = 3


def make_store(container: str, conn_str: str | None = None) -> AzureBlobStore:
    creds = parse_connection_string(conn_str or os.environ["AZURE_STORAGE_CONNECTION_STRING"])
    store = AzureBlobStore(
        creds, container, retry_policy=BoundedRetryPolicy(status_backoffs=(0.05, 0.1))
    )
    store.single_shot_max = SINGLE_SHOT_MAX
    store.min_block_size = BLOCK
    store.page_size = PAGE
    return store


def _drop_privileges(uid: int) -> None:
    """Become ``uid`` after everything is imported (the interpreter and the venv live
    where an unprivileged user may not read): the sync then meets real EACCES."""
    import codecs
    import fcntl  # noqa: F401 - imported lazily by the engine
    import hashlib  # noqa: F401
    import importlib
    import xml.etree.ElementTree  # noqa: F401

    # Imported lazily by the SDK on the first request, download and upload:
    for module in (
        "azure.core.rest._requests_basic",
        "azure.storage.blob._download",
        "azure.storage.blob._upload_helpers",
    ):
        importlib.import_module(module)

    for encoding in ("utf-8-sig", "idna", "ascii", "latin-1"):
        codecs.lookup(encoding)

    os.setgid(uid)
    os.setuid(uid)


def main(argv: list[str]) -> int:
    root, container, state = argv[:3]
    workers = int(argv[3]) if len(argv) > 3 else 4
    store = make_store(container)
    if os.environ.get("RUNNER_DROP_TO_UID"):
        store.container_exists()  # one request: the transport's lazy imports are done
        _drop_privileges(int(os.environ["RUNNER_DROP_TO_UID"]))
    engine = SyncEngine(root, store, state)
    options = SyncOptions(workers=workers, hostname="crashhost")
    try:
        restore = os.environ.get("RUNNER_RESTORE")  # "SOURCE:PATH": restore, then sync
        if restore:
            source, _, rel = restore.partition(":")
            version = next(v for v in engine.versions(rel) if v.source == source)
            result = engine.restore(rel, version, options).sync
            assert result is not None
        else:
            result = engine.sync(options)
    finally:
        engine.close()
    print(json.dumps({"writes": result.writes, "issues": len(result.issues)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
