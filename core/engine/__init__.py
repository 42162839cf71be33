"""The sync engine: one run of one folder pair, from listing to the recorded snapshot.

Clients (``core/app``, ``core/cli``, the desktop app) use only the facade
re-exported here; the modules behind it are the pipeline's phases::

    scan (local/scanner) ─┐
    list (remote store) ──┼─ merge3 ─ plan_item ─ pair_moves ─ valves ─ Executor ─ StateDB
    snapshot (state) ─────┘  (merge)  (planner)   (moves)      (facade) (executor)  (state)
                                                                         │
                                    keeping: old versions to the bins, changes to history

Restore and undo (``recovery``) put kept versions back, then run one ordinary sync.

This package never imports ``core.app``, ``core.cli`` or any GUI code
(``tests/test_architecture.py`` checks it).
"""

from .facade import RunRecord, SyncEngine, SyncOptions
from .history import Change, ChangeKind, History, Run, RunKind
from .recovery import ConflictSides, FileVersion, RecoveryResult, SideInfo, VersionSource
from .resolution import Resolution
from .scope import SyncScope

__all__ = [
    "Change",
    "ChangeKind",
    "ConflictSides",
    "FileVersion",
    "History",
    "RecoveryResult",
    "Resolution",
    "Run",
    "RunKind",
    "RunRecord",
    "SideInfo",
    "SyncEngine",
    "SyncOptions",
    "SyncScope",
    "VersionSource",
]
