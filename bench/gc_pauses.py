"""``python -m bench.gc_pauses``: the cyclic garbage collector during a no-change re-sync.

One engine in this process (no Qt), a private Azurite, N small files synced once
(untimed), then ``--runs`` no-change re-syncs. During each: every collection the
collector makes (``gc.callbacks``: generation and milliseconds), and
the longest gap of a thread sleeping 1 ms (what another thread, such as a GUI's, sees:
a collection holds the GIL for its whole length). ``gc.freeze()`` runs after the first
sync, as the app does after its start-up (``gui/app.py``), unless ``--no-freeze``.

``--census`` also counts, at the start of the first full collections of the first run,
the tracked objects by type (slow: it distorts that run's times; it shows what a full
collection walks). ``--keep DIR`` keeps Azurite's data, the folder and the state in DIR
so a second invocation skips the first sync.

    .venv/bin/python -m bench.gc_pauses [--files 100000] [--runs 3] [--census] [--keep DIR]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from blobsync.core.app.emulator import Azurite
from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.remote.azure import open_store

from . import trees


class Collections:
    """Every collection between :meth:`start` and :meth:`stop`."""

    def __init__(self, census: int = 0) -> None:
        self.seen: list[tuple[int, float, float]] = []  # (generation, start s, ms)
        self.census_left = census
        self.censuses: list[Counter[str]] = []
        self._t0 = 0.0
        self._began = 0.0
        self._on = False

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if not self._on:
            return
        now = time.perf_counter()
        if phase == "start":
            if info["generation"] == 2 and self.census_left > 0:
                self.census_left -= 1
                self.censuses.append(Counter(type(o).__name__ for o in gc.get_objects()))
                now = time.perf_counter()
            self._began = now
        else:
            self.seen.append(
                (info["generation"], self._began - self._t0, (now - self._began) * 1e3)
            )

    def start(self) -> None:
        self.seen = []
        self._t0 = time.perf_counter()
        self._on = True

    def stop(self) -> None:
        self._on = False


class Sleeper(threading.Thread):
    """Sleeps 1 ms in a loop and records the longest gaps it saw."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.gaps: list[tuple[float, float]] = []  # (ms, at s)
        self.running = True
        self.t0 = time.perf_counter()

    def run(self) -> None:
        last = time.perf_counter()
        while self.running:
            time.sleep(0.001)
            now = time.perf_counter()
            if now - last > 0.015:
                self.gaps.append(((now - last) * 1e3, last - self.t0))
            last = now


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.gc_pauses")
    p.add_argument("--files", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--census", action="store_true")
    p.add_argument("--no-freeze", action="store_true")
    p.add_argument("--keep", type=Path, help="keep Azurite, folder and state here")
    args = p.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="blobsync-gc-"))
    root = work / "folder"
    fresh = not (work / "done").exists()
    if fresh:
        trees.small_tree(root, args.files, max(50, args.files // 100), 1024, 4096)
    port_file = work / "port"
    port = int(port_file.read_text()) if port_file.exists() else 0
    with Azurite(location=work / "azurite", port=port) as server:
        port_file.write_text(str(server.port))
        engine = SyncEngine(
            root, open_store(server.credentials, "gcpauses"), work / "state.sqlite3"
        )
        try:
            if fresh:
                started = time.perf_counter()
                engine.sync(SyncOptions())
                (work / "done").write_text("")
                print(f"first sync of {args.files} files: {time.perf_counter() - started:.0f} s")
            engine.sync(SyncOptions())  # warm: imports, connections
            if not args.no_freeze:
                gc.freeze()
            print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            collections = Collections(census=3 if args.census else 0)
            gc.callbacks.append(collections)
            for n in range(args.runs):
                sleeper = Sleeper()
                sleeper.start()
                collections.start()
                started = time.perf_counter()
                result = engine.sync(SyncOptions())
                elapsed = time.perf_counter() - started
                collections.stop()
                sleeper.running = False
                sleeper.join()
                assert result.in_sync, result
                report(n + 1, elapsed, collections, sleeper)
            for census in collections.censuses:
                print("census at a full collection:", census.total(), "tracked objects")
                for name, count in census.most_common(12):
                    print(f"  {count:9,} {name}")
            gc.callbacks.remove(collections)
        finally:
            engine.close()
    return 0


def report(n: int, elapsed: float, collections: Collections, sleeper: Sleeper) -> None:
    by_gen: dict[int, list[float]] = {0: [], 1: [], 2: []}
    for gen, _at, ms in collections.seen:
        by_gen[gen].append(ms)
    longest = max((g for g, _ in sleeper.gaps), default=0.0)
    print(f"--- run {n}: {elapsed:.2f} s, longest sleeper gap {longest:.0f} ms")
    for gen, times in by_gen.items():
        if times:
            print(
                f"  gen {gen}: {len(times):4} collections, total {sum(times):7.1f} ms, "
                f"median {statistics.median(times):6.2f} ms, longest {max(times):6.1f} ms"
            )
    for ms, at in sorted(sleeper.gaps, reverse=True)[:5]:
        inside = [
            (g_ms, gen) for gen, g_at, g_ms in collections.seen if at <= g_at <= at + ms / 1e3
        ]
        what = "no collection inside"
        if inside:
            g_ms, gen = max(inside)
            what = f"longest collection inside: gen {gen}, {g_ms:.1f} ms"
        print(f"  gap {ms:6.1f} ms at {at:6.2f} s; {what}")


if __name__ == "__main__":
    raise SystemExit(main())
