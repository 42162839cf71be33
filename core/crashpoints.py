"""Test-only crash points: ``BLOBSYNC_CRASH_AT=<name>`` kills the process at that point.

A leaf module (imports nothing of ours) so that the engine and the stores can both
call :func:`crash_point` without importing each other. ``tests/reliability/test_crash.py``
kills a real sync at every point listed in :data:`CRASH_POINTS` and checks that every
file is old or new, never partial, and that the snapshot never claims what is not there.
"""

from __future__ import annotations

import os

CRASH_ENV = "BLOBSYNC_CRASH_AT"
#: Every named point.
CRASH_POINTS = (
    "after_listing",
    "before_upload",
    "after_upload_before_record",
    "mid_download",
    "before_replace",
    "after_replace_before_record",
    "after_remote_delete_before_record",
    "after_local_delete_before_record",
    "conflict_after_link",
    "conflict_before_copy_upload",
    "move_remote_after_copy",
    "move_local_after_link",
    "mid_block_upload",  # in remote/azure/store.py: blocks staged, not committed
    # inside a batch of downloads (engine/batch.py): temp files durable, none renamed;
    # all renamed, renames not yet flushed; all durable, nothing recorded. With several
    # files in a batch, after_replace_before_record is "some renamed, the rest not".
    "batch_after_flush_before_replace",
    "batch_after_replace_before_flush",
    "batch_after_flush_before_record",
    "local_bin_after_record",  # in local/versions.py: record written, file not yet kept
    "remote_bin_after_copy",  # the blob copied into the container bin, not yet replaced
)
#: Points of a restore (engine/recovery.py), killed by test_crash's restore test.
RESTORE_CRASH_POINTS = (
    "restore_after_keep",  # the current file kept in the versions folder, not yet replaced
    "restore_after_copy",  # a kept version copied back over the blob, not yet synced
)


def crash_point(name: str) -> None:
    """Die abruptly at the named point when the test hook asks for it."""
    if os.environ.get(CRASH_ENV) == name:
        os._exit(137)
