"""What filter rules and paths inside a container cost, printed beside their references.

``python -m bench.filters [--files N] [--rounds N] [--azurite] [--skip-prefix] [--in-memory]``

F1  a no-change re-sync of 100,000 files with 20 patterns (plus the built-in list)
    against the same re-sync with no rules at all. Reference: at most 5 % more. The
    store is the in-memory one (so the denominator is the engine's own work, the
    strictest comparison); ``--azurite`` repeats it against Azurite, where the listing
    adds the same time to both sides.
F2  a no-change re-sync of a pair on a path holding 5,000 blobs, in a container that
    holds 100,000 others, against a pair on a container holding only those 5,000.
    Reference: as fast (ratio about 1.00). Also shown: one listing of the whole big
    container, which is what filtering on the client side would cost every run.

F3  nested ignore files when there are none: the same no-change re-sync of 100,000
    files (20 patterns, the built-in list and a root ``.blobsyncignore``) as shipped,
    the scan noting folders that hold a ``.blobsyncignore``, against a run that is not
    told about nested files at all (the engine as it was before them). Reference: no
    measurable difference (within 1-2 %, the noise of these rounds). Also printed:
    ``PathFilter.excluded`` alone over the tree's 100,000 names.

The engine runs in this process (wall and CPU seconds, CPU over all threads); the two
contenders of each figure alternate round by round, the order flipping every round, so
load from other sessions on the shared cores falls on both alike; the 1-minute load
average is printed with every round. Every timed run must write nothing; the patterns
match none of the tree's files, so both sides of F1 do the same work apart from matching.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from azure.storage.blob import ContainerClient

from blobsync.core.app.emulator import Azurite
from blobsync.core.engine import SyncEngine, SyncOptions, facade, filtering
from blobsync.core.filters import IGNORE_FILE, FilterRules, PathFilter
from blobsync.core.remote.azure import open_store
from blobsync.core.remote.base import RemoteStore
from blobsync.core.remote.memory import MemoryStore
from blobsync.core.remote.prefixed import at_prefix

from . import trees

#: 20 patterns of the kinds people write (none matches the generated tree).
PATTERNS = (
    "*.log", "build/", "node_modules/", "*.o", "/dist", "docs/**/*.pdf", "!keep.log",
    "cache-*", "**/tmp/", "*.pyc", "__pycache__/", ".git/", "*.bak", "*~", "coverage/",
    "*.class", "target/", ".idea/", ".vscode/", "*.iso",
)  # fmt: skip
WITH_PATTERNS = FilterRules(patterns=PATTERNS, use_defaults=True, use_ignore_file=True)
NO_RULES = FilterRules.nothing()


def say(line: str) -> None:
    print(f"[filters {time.strftime('%H:%M:%S')}] {line}", flush=True)


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def timed_sync(engine: SyncEngine, rules: FilterRules) -> tuple[float, float]:
    """(wall s, CPU s) of one no-change run; raises if it wrote anything."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = engine.sync(SyncOptions(workers=16, filters=rules))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if result.writes or result.issues:
        raise SystemExit(f"a no-change run wrote {result.writes} / issues {result.issues[:3]}")
    return wall, cpu


def alternate(
    rounds: int, contenders: dict[str, Callable[[], tuple[float, float]]]
) -> dict[str, list[tuple[float, float]]]:
    names = list(contenders)
    runs: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    for r in range(rounds):
        order = names if r % 2 == 0 else names[::-1]
        for name in order:
            wall, cpu = contenders[name]()
            runs[name].append((wall, cpu))
            say(f"round {r + 1}: {name:<28} {wall:7.2f} s  cpu {cpu:6.2f} s  ({load()})")
    return runs


def medians(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(w for w, _c in runs), statistics.median(c for _w, c in runs)


def report(title: str, runs: dict[str, list[tuple[float, float]]], reference: str) -> None:
    (base_name, base), (name, other) = list(runs.items())
    bw, bc = medians(base)
    ow, oc = medians(other)
    print(f"\n{title}")
    print(f"  {base_name:<30} wall {bw:7.2f} s   cpu {bc:7.2f} s")
    print(f"  {name:<30} wall {ow:7.2f} s   cpu {oc:7.2f} s")
    # Paired: each round's ratio, then the median (robust to load that drifts over time).
    pw = statistics.median(o[0] / b[0] for o, b in zip(other, base, strict=True))
    pc = statistics.median(o[1] / b[1] for o, b in zip(other, base, strict=True))
    print(f"  ratio of medians               wall {ow / bw:6.3f}×   cpu {oc / bc:6.3f}×")
    print(f"  median of paired ratios        wall {pw:6.3f}×   cpu {pc:6.3f}×   "
          f"(reference: {reference})\n", flush=True)  # fmt: skip


# ---- F1 ----------------------------------------------------------------------------------


def f1(work: Path, files: int, rounds: int, store: RemoteStore, label: str) -> None:
    slug = label.replace(" ", "-").lower()
    root = work / f"f1-{slug}"
    if not root.exists():
        total = trees.small_tree(root, files, max(1, files // 1000), 16, 256)
        say(f"F1 tree: {files:,} files in {max(1, files // 1000)} folders, {total / 1e6:.1f} MB")
    engine = SyncEngine(root, store, work / f"f1-{slug}.sqlite3")
    try:
        started = time.perf_counter()
        first = engine.sync(SyncOptions(workers=16, filters=NO_RULES))
        say(
            f"F1 ({label}) first sync: {first.uploaded:,} uploaded in {time.perf_counter() - started:.1f} s"
        )
        timed_sync(engine, NO_RULES)  # warm: the first no-change run after an upload
        runs = alternate(
            rounds,
            {
                "no rules": lambda: timed_sync(engine, NO_RULES),
                "20 patterns + built-in list": lambda: timed_sync(engine, WITH_PATTERNS),
            },
        )
        probe = engine.sync(SyncOptions(workers=16, filters=WITH_PATTERNS, dry_run=True))
        assert probe.excluded.total == 0, probe.excluded  # same work on both sides
        report(
            f"F1 ({label}): no-change re-sync of {files:,} files",
            runs,
            "at most 1.05×",
        )
    finally:
        engine.close()


# ---- F3 ----------------------------------------------------------------------------------


def _without_nested(*args: Any, **kwargs: Any) -> Any:
    """The run's filter as the engine built it before nested ignore files existed."""
    run_filter, issues = _BUILD_RUN_FILTER(*args, **kwargs)
    run_filter.nested = filtering.NestedFiles(None, None, False, True)
    return run_filter, issues


_BUILD_RUN_FILTER = facade.build_run_filter


def timed_sync_without_nested(engine: SyncEngine, rules: FilterRules) -> tuple[float, float]:
    facade.build_run_filter = _without_nested
    try:
        return timed_sync(engine, rules)
    finally:
        facade.build_run_filter = _BUILD_RUN_FILTER


def f3(work: Path, files: int, rounds: int) -> None:
    root = work / "f3"
    total = trees.small_tree(root, files, max(1, files // 1000), 16, 256)
    (root / IGNORE_FILE).write_text("*.tmp\n# the root's file: read in both runs\n")
    say(f"F3 tree: {files:,} files in {max(1, files // 1000)} folders, {total / 1e6:.1f} MB")
    engine = SyncEngine(root, MemoryStore("f3"), work / "f3.sqlite3")
    try:
        engine.sync(SyncOptions(workers=16, filters=WITH_PATTERNS))
        timed_sync(engine, WITH_PATTERNS)  # warm
        runs = alternate(
            rounds,
            {
                "not told about nested files": lambda: timed_sync_without_nested(
                    engine, WITH_PATTERNS
                ),
                "reading nested files (none)": lambda: timed_sync(engine, WITH_PATTERNS),
            },
        )
        report(f"F3: no-change re-sync of {files:,} files, no nested ignore file", runs, "1.00×")
    finally:
        engine.close()
    names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.bin"))
    path_filter = PathFilter(WITH_PATTERNS, ["*.tmp"])
    started = time.process_time()
    hits = sum(path_filter.excluded(n) is not None for n in names)
    spent = time.process_time() - started
    say(f"F3 PathFilter.excluded alone: {spent / len(names) * 1e6:.2f} µs per path ({hits} hits)")


# ---- F2 ----------------------------------------------------------------------------------


def fill(container: ContainerClient, count: int, prefix: str) -> float:
    """``count`` one-byte blobs named ``prefix``NNN/NNNNNN, 16 at a time. Returns seconds."""
    started = time.perf_counter()

    def put(i: int) -> None:
        container.upload_blob(f"{prefix}{i // 1000:03d}/{i:06d}", b"x", overwrite=True)

    with ThreadPoolExecutor(16) as pool:
        for done, _ in enumerate(pool.map(put, range(count)), start=1):
            if done % 20_000 == 0:
                say(f"F2 filling: {done:,} of {count:,} others ({load()})")
    return time.perf_counter() - started


def f2(work: Path, azurite: Azurite, rounds: int, others: int, files: int = 5000) -> None:
    big = ContainerClient.from_connection_string(azurite.connection_string, "f2-big")
    small = ContainerClient.from_connection_string(azurite.connection_string, "f2-small")
    big.create_container()
    small.create_container()
    half = others // 2
    seconds = fill(big, half, "a-others/") + fill(big, others - half, "z-others/")
    say(f"F2: {others:,} other blobs uploaded in {seconds:.0f} s")
    src = work / "f2-tree"
    trees.small_tree(src, files, 50, 512, 4096)
    shutil.copytree(src, work / "f2-prefix")
    shutil.copytree(src, work / "f2-small")
    creds = azurite.credentials
    in_big = SyncEngine(
        work / "f2-prefix", at_prefix(open_store(creds, "f2-big"), "m/proj/"), work / "f2p.db"
    )
    alone = SyncEngine(work / "f2-small", open_store(creds, "f2-small"), work / "f2s.db")
    try:
        for engine in (in_big, alone):
            first = engine.sync(SyncOptions(workers=16, filters=NO_RULES))
            assert first.uploaded == files, first
            timed_sync(engine, NO_RULES)
        store = open_store(creds, "f2-big")
        started = time.perf_counter()
        total = sum(1 for _ in store.list_blobs())
        whole = time.perf_counter() - started
        store.close()
        say(f"F2: one listing of the whole big container ({total:,} blobs): {whole:.2f} s")
        runs = alternate(
            rounds,
            {
                f"container of {files:,} only": lambda: timed_sync(alone, NO_RULES),
                f"path of {files:,} among {others:,}": lambda: timed_sync(in_big, NO_RULES),
            },
        )
        report(
            f"F2: no-change re-sync of a pair of {files:,} blobs",
            runs,
            f"about 1.00×; listing all {total:,} blobs instead: {whole:.2f} s per run",
        )
    finally:
        in_big.close()
        alone.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.filters")
    parser.add_argument("--files", type=int, default=100_000, help="F1 tree size")
    parser.add_argument("--others", type=int, default=100_000, help="F2 blobs outside the path")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--azurite", action="store_true", help="F1 against Azurite too")
    parser.add_argument("--skip-prefix", action="store_true", help="leave F2 out")
    parser.add_argument("--skip-memory", action="store_true", help="leave F1 in memory out")
    parser.add_argument("--in-memory", action="store_true", help="Azurite without a disk")
    parser.add_argument("--only-nested", action="store_true", help="F3 alone")
    args = parser.parse_args(argv)
    say(f"{os.cpu_count()} cores, {load()}, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="blobsync-bench-filters-") as tmp:
        work = Path(tmp)
        f3(work, args.files, args.rounds)
        if args.only_nested:
            return 0
        if not args.skip_memory:
            f1(work, args.files, args.rounds, MemoryStore("f1"), "in-memory store")
        if args.azurite or not args.skip_prefix:
            with Azurite(location=None, in_memory=args.in_memory) as azurite:
                if args.azurite:
                    store = open_store(azurite.credentials, "f1-azurite")
                    f1(work, args.files, args.rounds, store, "Azurite")
                if not args.skip_prefix:
                    f2(work, azurite, args.rounds, args.others)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
