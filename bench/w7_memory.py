"""W7: memory of the engine comparing 1,000,000 local items, 1,000,000 blobs and a
1,000,000-row snapshot (all in sync), run as a child process.

``build STATE N`` writes the snapshot rows into a real state database (on disk, as the
engine keeps it). ``measure STATE N`` runs a full ``SyncEngine.sync`` in which the local
scan and the remote listing are generators that make each entry on demand, so what
stays resident is the engine's own share, not a fake store's. It prints JSON: the RSS
just before the sync (baseline: interpreter + imports + open database), the peak RSS
(``VmHWM``), and bytes per item. ``control`` does the same with the three streams
merely iterated, to show the generators themselves cost nothing.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.engine.state import StateDB
from blobsync.core.local.scanner import ScanReport
from blobsync.core.models import LocalEntry, RemoteEntry, SyncMode
from blobsync.core.remote.base import WriteResult

MTIME_NS = 1_704_164_645_123_456_789


def _name(i: int) -> str:
    return f"folder{i // 1000:04d}/file-{i:07d}.dat"  # code-point order == numeric order


def _md5(i: int) -> bytes:
    return i.to_bytes(16, "big")


def _etag(i: int) -> str:
    return f'"0x8DC{i:012X}"'


def _size(i: int) -> int:
    return 1000 + i % 5000


def local_entries(n: int, report: ScanReport) -> Iterator[LocalEntry]:
    for i in range(n):
        report.files += 1
        yield LocalEntry(_name(i), _size(i), MTIME_NS, 1000 + i)


def remote_entries(n: int) -> Iterator[RemoteEntry]:
    for i in range(n):
        yield RemoteEntry(_name(i), _size(i), _etag(i), _md5(i), MTIME_NS)


class GeneratedStore:
    """A RemoteStore whose listing is generated on the fly; it takes no writes."""

    def __init__(self, n: int) -> None:
        self.container = "w7"
        self.hash_while_sending_min = 2**63  # it takes no writes
        self.n = n

    def container_exists(self) -> bool:
        return True

    def create_container(self) -> bool:
        return False

    def list_blobs(self) -> Iterator[RemoteEntry]:
        return remote_entries(self.n)

    def get_entry(self, blob_name: str) -> RemoteEntry | None:
        raise AssertionError("no-change run must not look up single blobs")

    def upload(self, *args: object, **kwargs: object) -> WriteResult:
        raise AssertionError("no-change run must not upload")

    def download(self, *args: object, **kwargs: object) -> int:
        raise AssertionError("no-change run must not download")

    def delete(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("no-change run must not delete")

    def copy(self, *args: object, **kwargs: object) -> WriteResult:
        raise AssertionError("no-change run must not copy")

    def list_meta(
        self, *args: object, **kwargs: object
    ) -> Iterator[tuple[RemoteEntry, dict[str, str]]]:
        raise AssertionError("no-change run must not list the bin")

    def protection(self, *args: object, **kwargs: object) -> object:
        raise AssertionError("no-change run must not ask for the account's protection")

    def list_versions(self, *args: object, **kwargs: object) -> list[object]:
        raise AssertionError("no-change run must not list versions")

    def close(self) -> None:
        pass


class GeneratedEngine(SyncEngine):
    """The real engine with the folder scan replaced by a generator of ``n`` entries."""

    n = 0

    def _scan(self, report: ScanReport, options: SyncOptions) -> Iterator[LocalEntry]:
        return local_entries(self.n, report)


def build(state_path: Path, n: int) -> None:
    StateDB(state_path).close()  # the engine's own schema
    conn = sqlite3.connect(state_path)
    rows = ((_name(i), _size(i), MTIME_NS, _md5(i), _etag(i)) for i in range(n))
    conn.executemany("INSERT INTO snapshot VALUES (?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()


def _status_kb(field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak) from /proc: unlike ``ru_maxrss``, VmHWM
    starts afresh at exec, so the parent's size does not leak in."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def measure(state_path: Path, n: int, control: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="blobsync-w7-") as root:
        store = GeneratedStore(n)
        GeneratedEngine.n = n
        engine = GeneratedEngine(root, store, state_path)  # type: ignore[arg-type]
        baseline = _status_kb("VmRSS")
        started = time.perf_counter()
        if control:
            report = ScanReport()
            count = sum(1 for _ in engine.state.iter_snapshot())
            count += sum(1 for _ in local_entries(n, report))
            count += sum(1 for _ in remote_entries(n))
            changed = 0
        else:
            result = engine.sync(SyncOptions(mode=SyncMode.TWO_WAY, workers=8))
            changed = result.uploaded + result.downloaded + len(result.issues)
            count = n
        seconds = time.perf_counter() - started
        peak = _status_kb("VmHWM")
        engine.close()
    return {
        "items": n,
        "seen": count,
        "changed": changed,
        "seconds": seconds,
        "baseline_mb": baseline / 1024,
        "peak_mb": peak / 1024,
        "bytes_per_item": (peak - baseline) * 1024 / n,
    }


def main(argv: list[str]) -> int:
    op, state_path, n = argv[0], Path(argv[1]), int(argv[2])
    if op == "build":
        build(state_path, n)
        return 0
    print(json.dumps(measure(state_path, n, control=op == "control")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
