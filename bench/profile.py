"""``python -m bench.profile WORKLOAD``: run one BlobSync workload under py-spy on a
private Azurite and print its top functions (the profile behind the engine
changes recorded in RESULTS.md).

WORKLOAD is W1 (first upload), W2 (no change), W3 (one file changed), W4 (one big
file) or W5 (download). Setup steps run unprofiled; only the measured step is sampled.
Output goes to ``--out`` (default: a temp dir, printed).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from blobsync.core.app.emulator import Azurite

from . import trees
from .harness import Contenders, run_child

MiB = 1024 * 1024


def summarize(raw: Path, top: int = 30) -> None:
    """Print the functions with the most samples, inclusive and self (all threads)."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [
            f.split(" (")[0] + " (" + f.split(" (")[-1].split("/")[-1] for f in stack.split(";")[1:]
        ]
        if not frames:
            continue
        total += count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count
    print(f"{total} samples (all threads)")
    for title, table in (("inclusive", inclusive), ("self", own)):
        print(f"-- top {top} {title}")
        for frame, count in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
            print(f"{100 * count / total:6.1f}%  {frame}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile")
    p.add_argument("workload", choices=["W1", "W2", "W3", "W4", "W5"])
    p.add_argument("--files", type=int, default=5000)
    p.add_argument("--big-mib", type=int, default=256)
    p.add_argument("--workers", type=int)
    p.add_argument("--out", type=Path)
    p.add_argument("--in-memory", action="store_true")
    args = p.parse_args(argv)
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    work = Path(tempfile.mkdtemp(prefix="blobsync-profile-"))
    out = args.out or work / "profile"
    out.mkdir(parents=True, exist_ok=True)
    with Azurite(in_memory=args.in_memory, location=None if args.in_memory else work / "az") as az:
        tools = Contenders(az, work, args.workers)
        log = work / "profile.log"
        local = work / "tree"
        if args.workload == "W4":
            trees.big_file(local / "big.bin", args.big_mib * MiB)
        else:
            trees.small_tree(local, args.files, max(1, args.files // 100), 1024, 16 * 1024)
        op = {"W4": "big", "W5": "pull"}.get(args.workload, "push")
        if args.workload in ("W2", "W3", "W5"):
            run_child(tools.command("blobsync", "push", local, "prof"), tools.env, log)
        if args.workload == "W3":
            trees.change_one(local)
        target = work / "down" if args.workload == "W5" else local
        cmd = tools.command("blobsync", op, target, "prof")
        raw = out / f"{args.workload}.txt"
        subprocess.run(
            [py_spy, "record", "-r", "250", "--gil", "-f", "raw", "-o", str(raw), "--", *cmd],
            env=tools.env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    summarize(raw)
    print(f"collapsed stacks: {raw}")
    shutil.rmtree(work / "tree", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
