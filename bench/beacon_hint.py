"""Benchmark: a save on machine A reaching machine B in a big container, with the change
beacon's hint (B syncs only the saved-in folder) and without it (B lists everything,
what a beacon without a hint always made it do).

Starts its own Azurite (on disk, loopback), fills one container with ``--blobs`` other
files (20,000 by default, in 200 folders, uploaded once from a seed folder that both
machines' folders start as a copy of, so their first syncs only hash and record),
then runs two "machines": two LiveSync loops (the code ``blobsync watch`` runs; the app
drives the same LivePair) at the app's defaults (2 s debounce, beacon read every 5 s,
full check every 300 s). Each save lands at a random phase of B's reads (a uniform
pause of up to 5 s first), in ``notes/``.

- hint on: the shipped behaviour; B's run is a targeted one (``SyncResult.scope``).
- hint off: the same loops, but B's engine ignores the hint (its ``scope_hook``
  unset), so each beacon wakes a full sync, as before the hint existed.

Printed per case: save -> in B's folder (median, worst), A's part (save -> A's run
done: debounce plus A's own full run, which lists everything either way) and B's sync.

    .venv/bin/python bench/beacon_hint.py [--blobs 20000] [--saves 10] [--seed 16]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

FOLDERS = 200
BEACON_S = 5.0


def wait_for(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


class Machine:
    def __init__(self, live: Any, root: Path) -> None:
        self.live = live
        self.root = root
        self.finished: list[tuple[float, Any]] = []  # (monotonic end, SyncResult)


def machine(azurite: Any, container: str, root: Path, *, hint: bool) -> Machine:
    from blobsync.core import events as ev
    from blobsync.core.app.live import LiveSync
    from blobsync.core.engine import SyncEngine, SyncOptions
    from blobsync.core.remote.azure import open_store

    holder: list[Machine] = []

    def sink(event: ev.Event) -> None:
        if isinstance(event, ev.SyncFinished) and holder:
            holder[0].finished.append((time.monotonic(), event.result))

    engine = SyncEngine(
        root, open_store(azurite.credentials, container), root.with_suffix(".db"), sink
    )
    live = LiveSync(engine, SyncOptions(workers=16), interval_s=300.0, beacon_s=BEACON_S)
    if not hint:
        engine.scope_hook = None  # every beacon wakes a full sync (before the hint)
    m = Machine(live, root)
    holder.append(m)
    live.start()
    if not wait_for(lambda: live.stats.syncs >= 1 and not live.live.running, 1800):
        raise SystemExit(f"{root.name}: the first sync did not finish")
    return m


def run_case(
    azurite: Any, work: Path, seed: Path, container: str, hint: bool, saves: int, rng: Any
) -> list[tuple[float, float, float, bool]]:
    """(save -> in B, save -> A's run done, B's sync time, B's run targeted) per save."""
    roots = []
    for name in ("a", "b"):
        root = work / f"{name}-{'hint' if hint else 'full'}"
        shutil.copytree(seed, root)
        roots.append(root)
    a = machine(azurite, container, roots[0], hint=True)
    b = machine(azurite, container, roots[1], hint=hint)
    out = []
    try:
        time.sleep(2.5)  # the watcher drops events on files its own first sync touched
        for i in range(saves):
            time.sleep(rng.uniform(0.0, BEACON_S))
            rel = f"notes/{'hint' if hint else 'full'}-{i:02d}.txt"
            text = f"save {i} {uuid.uuid4().hex}"
            a_runs, b_runs = len(a.finished), len(b.finished)
            start = time.monotonic()
            path = a.root / rel
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
            target = b.root / rel
            if not wait_for(lambda t=target, x=text: t.is_file() and t.read_text() == x, 120):
                raise SystemExit(f"save {i} did not reach B within 120 s")
            arrived = time.monotonic() - start
            wait_for(lambda n=b_runs: len(b.finished) > n, 30)
            a_done = a.finished[a_runs][0] - start if len(a.finished) > a_runs else float("nan")
            result = b.finished[-1][1]
            out.append((arrived, a_done, result.duration_s, result.scope is not None))
            print(
                f"  save {i + 1:2d}: {arrived:6.2f} s (B's run {result.duration_s:5.2f} s, "
                f"{'targeted' if result.scope is not None else 'full'})",
                file=sys.stderr,
                flush=True,
            )
    finally:
        for m in (a, b):
            m.live.stop()
            m.live.engine.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blobs", type=int, default=20_000)
    parser.add_argument("--saves", type=int, default=10)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args(argv)

    from blobsync.core.app.emulator import Azurite
    from blobsync.core.engine import SyncEngine, SyncOptions
    from blobsync.core.remote.azure import open_store

    work = Path(tempfile.mkdtemp(prefix="blobsync-bench-hint-"))
    rng = random.Random(args.seed)
    try:
        with Azurite(location=work / "data") as azurite:
            container = "hint-" + uuid.uuid4().hex[:8]
            seed = work / "seed"
            for n in range(args.blobs):
                path = seed / f"d{n % FOLDERS:03d}" / f"f{n:06d}.txt"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(f"other file {n}")
            (seed / "notes").mkdir()
            began = time.monotonic()
            engine = SyncEngine(seed, open_store(azurite.credentials, container), work / "s.db")
            engine.sync(SyncOptions(workers=32))
            engine.close()
            print(
                f"seeded {args.blobs:,} blobs in {time.monotonic() - began:.0f} s", file=sys.stderr
            )
            results = {}
            for hint in (True, False):
                print(f"hint {'on' if hint else 'off'}:", file=sys.stderr)
                results[hint] = run_case(azurite, work, seed, container, hint, args.saves, rng)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def stats(values: list[float]) -> str:
        return f"median {statistics.median(values):6.2f} s, worst {max(values):6.2f} s"

    print(
        f"\nA to B, {args.saves} saves each, container of {args.blobs:,} other blobs "
        f"(debounce 2 s, beacon read every {BEACON_S:g} s):"
    )
    for hint, label in ((True, "hint on (targeted)"), (False, "hint off (full sync)")):
        rows = results[hint]
        targeted = sum(1 for r in rows if r[3])
        print(f"  {label:22} save -> B: {stats([r[0] for r in rows])}")
        print(f"  {'':22} A's part:  {stats([r[1] for r in rows if r[1] == r[1]])}")
        print(
            f"  {'':22} B's sync:  {stats([r[2] for r in rows])}  "
            f"[{targeted} of {len(rows)} targeted]"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
