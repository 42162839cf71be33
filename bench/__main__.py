"""``python -m bench``: BlobSync vs rclone 1.75 (sync, bisync) vs AzCopy 10.32 on a local
Azurite, with the raw transfer ceiling for one 256 MiB blob.

Usage (from the checkout; ``bash bench/run.sh`` first installs the pinned peers and Azurite)::

    python -m bench [--quick] [--only W1,W2,...] [--runs N] [--in-memory] [--workers N]
                    [--baseline GIT_REF] [--no-ceiling]

Starts its own Azurite on loopback (on disk unless ``--in-memory``), builds
deterministic trees in a temp dir, runs the contenders **alternating** (the order
rotates every round), each run on a fresh container, and prints one table of medians
with ratios to the best peer, client CPU and peak RSS; a full run (not ``--quick``,
not ``--only``) also writes ``bench/RESULTS.md``. ``--baseline REF`` adds the CLI of an
earlier commit as ``blobsync-before`` (before/after from one run). The machine load
(``uptime``) is recorded at every round. Everything it made is removed at the end.
These are figures, not tests: nothing here fails on a time; it fails only if a
contender errs or its result is wrong (counts are checked after each run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from azure.storage.blob import ContainerClient

from blobsync.core.app.emulator import Azurite

from . import trees
from .harness import (
    AZCOPY,
    RCLONE,
    BenchError,
    Contenders,
    Run,
    machine,
    run_child,
    tool_versions,
    unpack_baseline,
)
from .report import Ceiling, Results, markdown, table, verdicts, with_kept_part

MiB = 1024 * 1024


@dataclass
class Scale:
    files: int = 5000
    folders: int = 50
    big_bytes: int = 256 * MiB
    w6_files: int = 100_000
    w7_items: int = 1_000_000
    runs: int = 3


QUICK = Scale(files=300, folders=10, big_bytes=32 * MiB, w6_files=3000, w7_items=50_000, runs=1)


def say(line: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {line}", flush=True)


def rotated(tools: list[str], round_no: int) -> list[str]:
    k = round_no % len(tools)
    return tools[k:] + tools[:k]


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


#: The raw-ceiling grid: block sizes (MiB; 0 = one request) x requests in flight.
#: Seconds W4's file is left to settle before the rounds (see ``Bench.big``).
SETTLE_S = 11
CEILING_BLOCKS = (4, 8, 16, 32, 64)
CEILING_THREADS = (2, 4, 8, 16)


class Bench:
    def __init__(
        self, args: argparse.Namespace, scale: Scale, azurite: Azurite, work: Path
    ) -> None:
        self.args = args
        self.scale = scale
        self.azurite = azurite
        self.work = work
        self.only = set(args.only.split(",")) if args.only else None
        baseline = None
        if args.baseline:
            baseline = unpack_baseline(args.baseline, work / "baseline")
        self.tools = Contenders(azurite, work, args.workers, baseline)
        self.res = Results()
        self.log = work / "bench.log"
        self.seq = 0

    def wanted(self, *workloads: str) -> bool:
        return self.only is None or bool(self.only.intersection(workloads))

    def container(self, name: str) -> ContainerClient:
        return ContainerClient.from_connection_string(self.azurite.connection_string, name)

    def create(self, name: str) -> str:
        """Create the container first, for every contender alike (bisync and AzCopy
        need it to exist)."""
        with self.container(name) as c:
            c.create_container()
        return name

    def round_start(self, section: str, round_no: int) -> None:
        line = f"{section} round {round_no + 1}: {uptime()}"
        self.res.loads.append(line)
        say(line)

    def fresh_name(self, prefix: str, tool: str) -> str:
        self.seq += 1
        return f"{prefix}-{tool}-{self.seq}".replace("_", "-").lower()

    def count_blobs(self, name: str) -> dict[str, int]:
        """The container's files: BlobSync's own ``.blobsync/`` blobs (the change beacon,
        the recycle bin) are not the user's files."""
        with self.container(name) as c:
            return {b.name: b.size for b in c.list_blobs() if not b.name.startswith(".blobsync/")}

    def drop(self, name: str) -> None:
        with self.container(name) as c:
            c.delete_container()

    def timed(
        self, workload: str, tool: str, op: str, local: Path, container: str, record: bool = True
    ) -> Run:
        run = self.tools.run(tool, op, local, container, self.log)
        if record and self.wanted(workload):
            self.res.add(workload, tool, run)
        say(
            f"{workload} {tool:<12} {run.seconds:7.2f} s  {run.rss_mb:6.0f} MB  cpu {run.cpu_s:6.2f} s"
        )
        return run

    # ---- W1, W2, W3, W5 ------------------------------------------------------------

    def sweep(self, counts: list[int]) -> None:
        """BlobSync's W1/W2/W5 at several worker counts, alternating (sets the default)."""
        src = self.work / "w1-tree"
        trees.small_tree(src, self.scale.files, self.scale.folders, 1024, 16 * 1024)
        names = [f"blobsync-w{n}" for n in counts]
        for r in range(self.scale.runs):
            for tool in names[r % len(names) :] + names[: r % len(names)]:
                local = self.work / f"w1-{tool}"
                shutil.copytree(src, local)
                name = self.fresh_name("sweep", tool)
                try:
                    self.timed("W1", tool, "push", local, name)
                    self.timed("W2", tool, "push", local, name)
                    self.timed("W5", tool, "pull", self.work / f"w5-{tool}", name)
                finally:
                    shutil.rmtree(local, ignore_errors=True)
                    shutil.rmtree(self.work / f"w5-{tool}", ignore_errors=True)
                    self.drop(name)
        for w in ("W1", "W2", "W5"):
            cells = []
            for tool in names:
                runs = self.res.runs.get(w, {}).get(tool, [])
                med = statistics.median(x.seconds for x in runs) if runs else float("nan")
                cpu = statistics.median(x.cpu_s for x in runs) if runs else float("nan")
                cells.append(f"{tool}: {med:.2f} s (cpu {cpu:.2f} s)")
            say(f"sweep {w}: " + "; ".join(cells))

    def small(self) -> None:
        src = self.work / "w1-tree"
        total = trees.small_tree(src, self.scale.files, self.scale.folders, 1024, 16 * 1024)
        say(f"tree: {self.scale.files} files, {total / MiB:.1f} MiB")
        for r in range(self.scale.runs):
            self.round_start("W1-W5", r)
            for tool in rotated(self.tools.tools, r):
                local = self.work / f"w1-{tool}"
                shutil.copytree(src, local)  # copytree keeps mtimes
                name = self.create(self.fresh_name("w1", tool))
                try:
                    self.timed("W1", tool, "push", local, name)
                    listed = self.count_blobs(name)
                    if len(listed) != self.scale.files:
                        raise BenchError(
                            f"{tool}: {len(listed)} blobs after W1, expected {self.scale.files}"
                        )
                    if self.wanted("W2", "W3"):
                        self.timed("W2", tool, "push", local, name)
                    if self.wanted("W3"):
                        rel = trees.change_one(local)
                        self.timed("W3", tool, "push", local, name)
                        size = (local / rel).stat().st_size
                        if self.count_blobs(name).get(rel) != size:
                            raise BenchError(f"{tool}: the changed file was not uploaded in W3")
                    if self.wanted("W5"):
                        target = self.work / f"w5-{tool}"
                        self.timed("W5", tool, "pull", target, name)
                        got = sum(len(files) for _, _, files in os.walk(target))
                        if got != self.scale.files:
                            raise BenchError(
                                f"{tool}: {got} files after W5, expected {self.scale.files}"
                            )
                        shutil.rmtree(target)
                finally:
                    shutil.rmtree(local, ignore_errors=True)
                    self.drop(name)

    # ---- W4 ------------------------------------------------------------------------

    def big(self) -> None:
        src = self.work / "w4-tree"
        trees.big_file(src / "big.bin", self.scale.big_bytes)
        # As a file that was already in the folder: BlobSync hashes a large file whose
        # inode changed in the last 10 s before sending it (executor.SETTLED_NS), one
        # unchanged for longer while it sends it. Its mtime is old already; this lets
        # its ctime age too, so every round measures the same path.
        time.sleep(SETTLE_S)
        for r in range(self.scale.runs):
            self.round_start("W4", r)
            for tool in rotated(self.tools.tools, r):
                name = self.create(self.fresh_name("w4", tool))
                down = self.work / f"w4d-{tool}"
                try:
                    self.timed("W4", tool, "big", src, name)
                    if self.count_blobs(name).get("big.bin") != self.scale.big_bytes:
                        raise BenchError(f"{tool}: big.bin missing or wrong size after W4")
                    if self.wanted("W4d"):
                        self.timed("W4d", tool, "pull", down, name)
                        if (down / "big.bin").stat().st_size != self.scale.big_bytes:
                            raise BenchError(f"{tool}: big.bin wrong size after W4d")
                finally:
                    self.drop(name)
                    shutil.rmtree(down, ignore_errors=True)
                    shutil.rmtree(self.work / "xdg-data", ignore_errors=True)
        shutil.rmtree(src)

    # ---- the raw ceiling -----------------------------------------------------------

    def ceiling(self) -> None:
        """The whole grid once (alternating directions), then the best configuration of
        each direction ``runs`` times more; its median is the ceiling."""
        src = self.work / "ceiling" / "big.bin"
        trees.big_file(src, self.scale.big_bytes)
        name = self.create("ceiling")
        out = self.work / "ceiling" / "down.bin"
        py = sys.executable
        grid = {"up": {}, "down": {}}  # type: dict[str, dict[str, list[tuple[float, float, float]]]]

        def one(direction: str, block: int, threads: int) -> tuple[float, float, float]:
            cmd = [py, "-m", "bench.raw_ceiling", direction]
            cmd += [str(src), name] if direction == "up" else ["big.bin", name, str(out)]
            cmd += ["--block", str(block), "--threads", str(threads)]
            run = run_child(cmd, self.tools.env, self.log)
            if run.code != 0:
                raise BenchError(f"raw ceiling {direction} failed: {run.output[-400:]}")
            inner = json.loads(run.output.strip().splitlines()[-1])["transfer_s"]
            label = "one request" if block == 0 else f"{block} MiB x {threads}"
            grid[direction].setdefault(label, []).append((run.seconds, inner, run.cpu_s))
            say(
                f"ceiling {direction:<4} {label:<14} {run.seconds:6.2f} s (transfer {inner:.2f} s, cpu {run.cpu_s:.2f} s)"
            )
            return run.seconds, inner, run.cpu_s

        configs = [(0, 1)] + [(b, t) for b in CEILING_BLOCKS for t in CEILING_THREADS]
        if self.args.quick:
            configs = [(0, 1), (8, 4), (16, 8)]
        self.round_start("ceiling grid", 0)
        one("up", *configs[0])  # the blob the downloads read
        for block, threads in configs:
            for direction in ("down", "up"):
                one(direction, block, threads)
        for direction in ("up", "down"):
            best = min(
                grid[direction], key=lambda k: statistics.median(x[0] for x in grid[direction][k])
            )
            block, threads = (
                (0, 1) if best == "one request" else (int(best.split()[0]), int(best.split()[-1]))
            )
            for _ in range(max(0, self.scale.runs - 1)):
                one(direction, block, threads)
            runs = grid[direction][best]
            self.res.ceilings[direction] = Ceiling(
                direction,
                best,
                statistics.median(x[0] for x in runs),
                statistics.median(x[1] for x in runs),
                statistics.median(x[2] for x in runs),
                grid[direction],
            )
        self.drop(name)
        shutil.rmtree(src.parent)

    # ---- W6 ------------------------------------------------------------------------

    def w6(self) -> None:
        src = self.work / "w6-tree"
        n = self.scale.w6_files
        trees.small_tree(src, n, max(1, n // 100), 256, 4096, seed=6)
        name = "w6-all"
        fill = run_child(self.tools.command("sdk", "push", src, name), self.tools.env, self.log)
        if fill.code != 0 or len(self.count_blobs(name)) != n:
            raise BenchError("W6: filling the container with the SDK failed")
        say(
            f"W6 filled {n} blobs with the SDK in {fill.seconds:.1f} s ({n / fill.seconds:.0f} blobs/s)"
        )
        self.res.notes.append(
            f"W6 setup: {n:,} blobs uploaded by the SDK ceiling (16 threads) in {fill.seconds:.0f} s "
            f"({n / fill.seconds:.0f} blobs/s); then one untimed run of BlobSync (builds its snapshot, "
            "hashing every file) and of each peer (bisync: --resync); the timed runs are all no-change runs on "
            "the same container (no run writes anything)."
        )
        for tool in self.tools.tools:
            warm = self.timed("W6-first", tool, "push", src, name, record=False)
            if tool == "blobsync":
                summary = json.loads(warm.output.strip().splitlines()[-1])
                say(
                    f"W6 BlobSync first run (snapshot build): {warm.seconds:.1f} s, uploaded {summary.get('uploaded')}"
                )
                self.res.notes.append(
                    f"W6 BlobSync first run against the filled container (hash + record {n:,} files): {warm.seconds:.1f} s, peak {warm.rss_mb:.0f} MB."
                )
        for r in range(self.scale.runs):
            self.round_start("W6", r)
            for tool in rotated(self.tools.tools, r):
                self.timed("W6", tool, "push", src, name)
        self.drop(name)
        shutil.rmtree(src)

    # ---- W7 ------------------------------------------------------------------------

    def w7(self) -> None:
        db = self.work / "w7" / "state.sqlite3"
        db.parent.mkdir()
        n = self.scale.w7_items
        py = sys.executable
        built = run_child(
            [py, "-m", "bench.w7_memory", "build", str(db), str(n)], self.tools.env, self.log
        )
        if built.code:
            raise BenchError("W7: building the snapshot failed")
        for op in ("control", "measure"):
            run = run_child(
                [py, "-m", "bench.w7_memory", op, str(db), str(n)], self.tools.env, self.log
            )
            if run.code:
                raise BenchError(f"W7 {op} failed: {run.output[-400:]}")
            data = json.loads(run.output.strip().splitlines()[-1])
            if op == "measure":
                if data["changed"]:
                    raise BenchError("W7: the in-sync comparison planned changes")
                self.res.w7 = data
            else:
                self.res.w7_control = data
            say(
                f"W7 {op}: {data['bytes_per_item']:.0f} bytes/item, peak {data['peak_mb']:.0f} MB, {data['seconds']:.1f} s"
            )
        shutil.rmtree(db.parent)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    p.add_argument("--quick", action="store_true", help="small sizes, one run each (smoke test)")
    p.add_argument("--only", help="comma-separated workloads, e.g. W2,W3 (W1 runs as setup)")
    p.add_argument("--runs", type=int, help="runs per contender (default 3, quick 1)")
    p.add_argument("--in-memory", action="store_true", help="Azurite without disk persistence")
    p.add_argument("--workers", type=int, help="BlobSync --workers (default: the CLI's default)")
    p.add_argument(
        "--results",
        type=Path,
        help="write the Markdown here (default: bench/RESULTS.md for a full run)",
    )
    p.add_argument(
        "--sweep-workers", help="only time BlobSync at these worker counts, e.g. 4,8,16,32"
    )
    p.add_argument("--keep", action="store_true", help="keep the work dir (logs)")
    p.add_argument("--baseline", help="also run the CLI of this git ref as blobsync-before")
    p.add_argument("--no-ceiling", action="store_true", help="skip the raw-ceiling grid")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    scale = QUICK if args.quick else Scale()
    if args.runs:
        scale.runs = args.runs
    for tool in (str(RCLONE), str(AZCOPY), "node"):
        if shutil.which(tool) is None:
            print(
                f"bench: {tool} is not installed; run 'bash bench/run.sh' (it installs it)",
                file=sys.stderr,
            )
            return 2
    work = Path(tempfile.mkdtemp(prefix="blobsync-bench-"))
    started = time.monotonic()
    say(f"work dir {work}; Azurite {'in memory' if args.in_memory else 'on disk'}")
    try:
        with Azurite(
            in_memory=args.in_memory, location=None if args.in_memory else work / "azurite"
        ) as azurite:
            bench = Bench(args, scale, azurite, work)
            if args.sweep_workers:
                bench.sweep([int(n) for n in args.sweep_workers.split(",")])
            elif bench.wanted("W1", "W2", "W3", "W5"):
                bench.small()
            if bench.wanted("W4", "W4d") and not args.sweep_workers:
                bench.big()
            if bench.wanted("W4", "W4d") and not args.sweep_workers and not args.no_ceiling:
                bench.ceiling()
            if bench.wanted("W6") and not args.sweep_workers:
                bench.w6()
            if bench.wanted("W7") and not args.sweep_workers:
                bench.w7()
    except BenchError as exc:
        print(f"bench: {exc} (log: {work / 'bench.log'})", file=sys.stderr)
        return 1
    finally:
        elapsed = time.monotonic() - started
        if not args.keep and "bench" in locals() and bench.res.runs:
            pass
    res = bench.res
    if args.sweep_workers:
        shutil.rmtree(work, ignore_errors=True)
        return 0
    header = [
        f"Generated by `python -m bench{' --quick' if args.quick else ''}{' --in-memory' if args.in_memory else ''}` "
        f"on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} in {elapsed / 60:.1f} min. "
        f"Azurite {'in memory' if args.in_memory else 'on disk'} on loopback; {scale.runs} run(s) per contender, "
        "alternating, fresh container per run (W6: see notes). Times are wall seconds of the whole "
        "process (medians); peak RSS is the maximum over the runs. Peers with their defaults: "
        "`rclone` = rclone 1.75.2 `sync`, `rclone-bisync` = rclone 1.75.2 `bisync` (`--resync` on a "
        "first run), `azcopy` = AzCopy 10.32.2 `sync --delete-destination=true` with a container SAS. "
        "BlobSync runs with its defaults"
        + (f"; `blobsync-before` is the CLI of `{args.baseline}`" if args.baseline else "")
        + ".",
    ]
    print()
    print("\n".join(table(res)))
    print()
    print("\n".join(verdicts(res)))
    target = args.results
    if target is None and not args.quick and not args.only:
        target = Path(__file__).resolve().parent / "RESULTS.md"
    if target is not None:
        previous = target.read_text(encoding="utf-8") if target.exists() else None
        text = markdown(res, header, machine(), tool_versions())
        target.write_text(with_kept_part(text, previous), encoding="utf-8")
        say(f"wrote {target}")
    if args.keep:
        say(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
