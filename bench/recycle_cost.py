"""What the recycle bins and the history cost: BlobSync with ``keep_versions`` on
(the default) against off, on the 5,000-file workloads, in one process on a private
Azurite.

    .venv/bin/python -m bench.recycle_cost [--files 5000] [--runs 3] [--changed 100]

Workloads (each on a fresh container and folder, on and off alternating): W1 first
upload, W2 no-change re-sync, W3 one file changed, W3x ``--changed`` files changed, W3d
``--changed`` files deleted, W5 download into an empty folder (B, after A's W1). Printed:
median seconds, requests Azurite logged (by method) and bytes sent in request bodies.
Figures, not tests: nothing fails on a time.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from blobsync.core.app.emulator import Azurite
from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.remote.azure import open_store

from . import trees

_REQ = re.compile(r"RequestMethod=(\w+) RequestURL=\S*?/devstoreaccount1/([a-z0-9-]+)\S*")
_LEN = re.compile(r'"content-length":"(\d+)"')


class Log:
    def __init__(self, azurite: Azurite) -> None:
        assert azurite.debug_log is not None
        self.path = azurite.debug_log
        self.sdk_conn = azurite.connection_string

    def settle(self) -> int:
        """Azurite logs asynchronously: wait for a marker request to show."""
        from azure.storage.blob import BlobServiceClient

        marker = "mark" + os.urandom(6).hex()
        with BlobServiceClient.from_connection_string(self.sdk_conn) as sdk:
            sdk.get_container_client(marker).exists()
        for _ in range(600):
            if marker.encode() in self.path.read_bytes()[-200_000:]:
                return self.path.stat().st_size
            time.sleep(0.05)
        raise RuntimeError("Azurite's log did not catch up")

    def between(self, start: int, end: int, container: str) -> tuple[Counter[str], int]:
        with open(self.path, "rb") as fh:
            fh.seek(start)
            text = fh.read(end - start).decode("utf-8", "replace")
        methods: Counter[str] = Counter()
        body = 0
        for line in text.splitlines():
            m = _REQ.search(line)
            if m is None or m.group(2) != container or "BlobStorageContextMiddleware" not in line:
                continue
            methods[m.group(1)] += 1
            if m.group(1) == "PUT" and "x-ms-copy-source" not in line:
                n = _LEN.search(line)
                body += int(n.group(1)) if n else 0
        return methods, body


def one_round(
    azurite: Azurite, log: Log, base: Path, files: int, changed: int, keep: bool
) -> dict[str, tuple[float, Counter[str], int]]:
    container = ("on" if keep else "off") + os.urandom(8).hex()
    out: dict[str, tuple[float, Counter[str], int]] = {}
    roots = {n: base / n for n in "ab"}
    for root in roots.values():
        root.mkdir(parents=True)
    trees.small_tree(roots["a"], files, 50, 1024, 16 * 1024)
    engines = {
        n: SyncEngine(
            roots[n],
            open_store(azurite.credentials, container),
            base / f"state-{n}.sqlite3",
            versions_dir=base / f"versions-{n}",
        )
        for n in "ab"
    }
    opts = SyncOptions(keep_versions=keep, installation_id="ab" * 16)
    names = sorted(p.relative_to(roots["a"]).as_posix() for p in roots["a"].rglob("*.bin"))
    rng = random.Random(7)

    def measure(step: str, engine: str, change=lambda: None) -> None:
        change()
        start = log.settle()
        t0 = time.perf_counter()
        result = engines[engine].sync(opts)
        elapsed = time.perf_counter() - t0
        assert not result.issues, (step, result.issues[:3])
        methods, body = log.between(start, log.settle(), container)
        out[step] = (elapsed, methods, body)

    try:
        measure("W1 upload", "a")
        measure("W2 no change", "a")
        measure("W3 one changed", "a", lambda: trees.change_one(roots["a"]))
        some = rng.sample(names, changed)

        def edit() -> None:
            for rel in some:
                (roots["a"] / rel).write_bytes(os.urandom(2048))

        measure(f"W3x {changed} changed", "a", edit)

        def delete() -> None:
            for rel in some:
                (roots["a"] / rel).unlink()

        measure(f"W3d {changed} deleted", "a", delete)
        measure("W5 download", "b")
        measure("W2 no change (B)", "b")
    finally:
        for engine in engines.values():
            engine.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument("--in-memory", action="store_true", help="Azurite without disk")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="blobsync-recycle-bench-"))
    azurite = Azurite(
        location=None if args.in_memory else work / "data",
        in_memory=args.in_memory,
        debug_log=work / "debug.log",
    )
    azurite.start()
    log = Log(azurite)
    results: dict[bool, list[dict[str, tuple[float, Counter[str], int]]]] = {True: [], False: []}
    try:
        for run in range(args.runs):
            for keep in (True, False) if run % 2 == 0 else (False, True):
                base = work / f"r{run}-{keep}"
                results[keep].append(one_round(azurite, log, base, args.files, args.changed, keep))
                shutil.rmtree(base, ignore_errors=True)
                print(f"[recycle bench] run {run + 1} keep_versions={keep} done", flush=True)
    finally:
        azurite.stop()
        shutil.rmtree(work, ignore_errors=True)
    steps = list(results[True][0])
    where = "in memory" if args.in_memory else "on disk"
    print(f"\n{args.files} files of 1-16 KiB, median of {args.runs} runs each (Azurite {where})\n")
    print(
        "| workload | s off | s on | Δ s | requests off | requests on | body bytes off | body bytes on |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for step in steps:
        row = []
        for keep in (False, True):
            secs = statistics.median(r[step][0] for r in results[keep])
            methods = results[keep][0][step][1]
            body = results[keep][0][step][2]
            row.append((secs, methods, body))
        (s_off, m_off, b_off), (s_on, m_on, b_on) = row
        fmt = lambda m: " ".join(f"{k} {v}" for k, v in sorted(m.items()))  # noqa: E731
        print(
            f"| {step} | {s_off:.2f} | {s_on:.2f} | {s_on - s_off:+.2f} | {fmt(m_off)} | "
            f"{fmt(m_on)} | {b_off:,} | {b_on:,} |"
        )


if __name__ == "__main__":
    main()
