"""Benchmark: how soon does a save on machine A reach machine B's folder, and what does
watching cost while nothing happens?

Starts its own Azurite (with its ``--debug`` request log), then runs two "machines" on
one container: two LiveSync loops (the same code as ``blobsync watch``), two folders,
two state databases, each with its own store, at the app's defaults (2 s debounce, full
check every 300 s).

1. Change beacon on (read every 5 s): 20 saves on A, each timed until B has it.
2. Today's behaviour without the beacon: the same saves with the beacon off, so B only
   finds them at its full check. At the default 300 s that takes up to an hour and a
   half for 20 saves, so it runs at ``--baseline-interval`` (30 s) and the latency is
   also given scaled to 300 s (B waits a uniform share of the interval). Saves land at
   random phases of B's reads or checks (a uniform pause of up to one period first).
3. Idle cost per pair, counted request by request in Azurite's log: beacon reads while
   active (every 5 s) and while idle (every 30 s; the idle threshold is shortened for
   the measurement), the requests of one no-change full check, extrapolated per hour.

    .venv/bin/python bench/beacon.py [--saves 20] [--baseline-interval 30] [--quick]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

_ARRIVED = re.compile(
    r" ([0-9a-f-]{36}) info: BlobStorageContextMiddleware: RequestMethod=(\w+) RequestURL=(\S+)"
)
_ANSWERED = re.compile(r" ([0-9a-f-]{36}) info: EndMiddleware: End response\. .*?StatusCode=(\d+)")


def wire(log: Path, container: str, offset: int) -> list[tuple[str, str, str, int]]:
    """(method, blob, query, status) of every request to ``container`` logged after
    byte ``offset`` of Azurite's debug log."""
    time.sleep(0.5)  # Azurite writes its log asynchronously
    with open(log, "rb") as fh:
        fh.seek(offset)
        text = fh.read().decode("utf-8", "replace")
    arrived: dict[str, tuple[str, str]] = {}
    status: dict[str, int] = {}
    for line in text.splitlines():
        if m := _ARRIVED.search(line):
            arrived[m.group(1)] = (m.group(2), m.group(3))
        elif m := _ANSWERED.search(line):
            status[m.group(1)] = int(m.group(2))
    out = []
    for rid, (method, url) in arrived.items():
        split = urlsplit(url)
        parts = split.path.split("/", 3)
        if len(parts) > 2 and parts[2] == container:
            blob = unquote(parts[3]) if len(parts) > 3 else ""
            out.append((method, blob, split.query, status.get(rid, 0)))
    return out


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
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
        self.uploads: list[float] = []  # when runs that uploaded finished (monotonic)
        self.downloads: list[float] = []  # how long runs that downloaded took


def machine(
    azurite: Any, container: str, work: Path, name: str, *, interval_s: float, beacon: bool
) -> Machine:
    from blobsync.core import events as ev
    from blobsync.core.app.live import LiveSync
    from blobsync.core.engine import SyncEngine, SyncOptions
    from blobsync.core.remote.azure import open_store

    root = work / f"{name}-{uuid.uuid4().hex[:6]}"
    root.mkdir()
    holder: list[Machine] = []

    def sink(event: ev.Event) -> None:
        if isinstance(event, ev.SyncFinished) and holder:
            if event.result.uploaded:
                holder[0].uploads.append(time.monotonic())
            if event.result.downloaded:
                holder[0].downloads.append(event.result.duration_s)

    engine = SyncEngine(
        root, open_store(azurite.credentials, container), root.with_suffix(".db"), sink
    )
    live = LiveSync(
        engine,
        SyncOptions(workers=4, beacon=beacon),
        interval_s=interval_s,
        beacon_s=5.0 if beacon else None,
    )
    holder.append(Machine(live, root))
    live.start()
    wait_for(lambda: live.stats.syncs >= 1, 30)
    return holder[0]


def latencies(
    a: Machine, b: Machine, saves: int, rng: random.Random, period: float
) -> list[tuple[float, float, float]]:
    """(save -> in B's folder, save -> A's upload finished, B's sync time) per save.

    B's reads (or full checks) run every ``period`` from the end of its last sync, so
    each save waits a uniform share of one period first: it lands at a random phase.
    """
    out: list[tuple[float, float, float]] = []
    timeout = 2 * period + 60
    for i in range(saves):
        time.sleep(rng.uniform(0.0, period))
        path = a.root / "notes" / f"save-{i:02d}.txt"
        path.parent.mkdir(exist_ok=True)
        text = f"save {i} {uuid.uuid4().hex}"
        ups, downs = len(a.uploads), len(b.downloads)
        start = time.monotonic()
        path.write_text(text)
        target = b.root / "notes" / path.name
        if not wait_for(lambda t=target, x=text: t.is_file() and t.read_text() == x, timeout):
            raise SystemExit(f"save {i} did not reach B within {timeout:.0f} s")
        arrived = time.monotonic() - start
        wait_for(lambda n=downs: len(b.downloads) > n, 10)  # B's run reports its time
        up = a.uploads[ups] - start if len(a.uploads) > ups else float("nan")
        down = b.downloads[downs] if len(b.downloads) > downs else 0.0
        out.append((arrived, up, down))
        print(f"  save {i + 1:2d}: {arrived:6.2f} s", file=sys.stderr, flush=True)
    return out


def stop(*machines: Machine) -> None:
    for m in machines:
        m.live.stop()
        m.live.engine.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--baseline-interval", type=float, default=30.0, metavar="SECONDS")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds per idle measurement")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="5 saves, 10 s baseline, 20 s idle")
    args = parser.parse_args(argv)
    if args.quick:
        args.saves, args.baseline_interval, args.idle = 5, 10.0, 20.0

    from blobsync.core.app.emulator import Azurite
    from blobsync.core.app.schedule import (
        BEACON_IDLE_INTERVAL_S,
        DEFAULT_BEACON_INTERVAL_S,
        DEFAULT_DEBOUNCE_S,
        DEFAULT_INTERVAL_S,
    )
    from blobsync.core.engine import SyncEngine
    from blobsync.core.remote.azure import open_store
    from blobsync.core.remote.base import BEACON_BLOB

    work = Path(tempfile.mkdtemp(prefix="blobsync-bench-beacon-"))
    log = work / "debug.log"
    rng = random.Random(args.seed)
    with Azurite(location=work / "data", debug_log=log) as azurite:
        # 1. the beacon, at the defaults
        container = "beacon-" + uuid.uuid4().hex[:8]
        print("beacon on:", file=sys.stderr)
        a = machine(azurite, container, work, "a", interval_s=DEFAULT_INTERVAL_S, beacon=True)
        b = machine(azurite, container, work, "b", interval_s=DEFAULT_INTERVAL_S, beacon=True)
        try:
            with_beacon = latencies(a, b, args.saves, rng, DEFAULT_BEACON_INTERVAL_S)
            by_beacon = b.live.stats.triggered_by_beacon
        finally:
            stop(a, b)

        # 2. today's behaviour: full checks only
        container = "interval-" + uuid.uuid4().hex[:8]
        print(f"beacon off, full check every {args.baseline_interval:g} s:", file=sys.stderr)
        kw = {"interval_s": args.baseline_interval, "beacon": False}
        a = machine(azurite, container, work, "a", **kw)  # type: ignore[arg-type]
        b = machine(azurite, container, work, "b", **kw)  # type: ignore[arg-type]
        try:
            without = latencies(a, b, args.saves, rng, args.baseline_interval)
        finally:
            stop(a, b)

        # 3. idle cost of one pair: reads while active and idle, one no-change full check
        container = "idle-" + uuid.uuid4().hex[:8]
        seed = work / "seed"
        seed.mkdir()
        (seed / "file.txt").write_text("something, so that there is a beacon")
        SyncEngine(seed, open_store(azurite.credentials, container), work / "seed.db").sync()
        a = machine(azurite, container, work, "a", interval_s=DEFAULT_INTERVAL_S, beacon=True)
        try:
            time.sleep(1.0)
            offset = log.stat().st_size
            time.sleep(args.idle)
            active = wire(log, container, offset)
            a.live.live.beacon.idle_after_s = 0.0  # idle now (10 quiet minutes, shortened)
            time.sleep(BEACON_IDLE_INTERVAL_S + 1)  # the first read at the idle pace
            offset = log.stat().st_size
            time.sleep(max(args.idle, 2 * BEACON_IDLE_INTERVAL_S))
            idle_s = max(args.idle, 2 * BEACON_IDLE_INTERVAL_S)
            idle = wire(log, container, offset)
            a.live.live.beacon.idle_after_s = 600.0
            offset = log.stat().st_size
            polls = a.live.stats.triggered_by_poll
            a.live.sync_now()  # a full check with nothing to do
            wait_for(lambda: a.live.stats.syncs > polls + 1, 30)
            time.sleep(1.0)
            check = wire(log, container, offset)
        finally:
            stop(a)

    def reads(requests: list[tuple[str, str, str, int]]) -> list[int]:
        return [s for m, blob, _q, s in requests if m == "GET" and blob == BEACON_BLOB]

    active_reads, idle_reads = reads(active), reads(idle)
    check_requests = [r for r in check if not (r[0] == "GET" and r[1] == BEACON_BLOB)]
    writes = [r for r in active + idle + check if r[0] in ("PUT", "DELETE")]
    per_check = len(check_requests) + 1  # the full check's own requests + the read after it
    checks_per_hour = 3600 / DEFAULT_INTERVAL_S
    active_h = len(active_reads) / args.idle * 3600 + checks_per_hour * per_check
    idle_h = len(idle_reads) / idle_s * 3600 + checks_per_hour * per_check
    # Without the beacon, B finds a save at its next full check: the wait between A's
    # upload and B's sync starting is a uniform share of the interval, so it scales.
    scale = DEFAULT_INTERVAL_S / args.baseline_interval
    scaled = [up + (arrived - up - down) * scale + down for arrived, up, down in without]

    def stats(values: list[float]) -> str:
        return f"median {statistics.median(values):6.2f} s, worst {max(values):6.2f} s"

    beacon_b = [arrived for arrived, _up, _down in with_beacon]
    beacon_up = [up for _arrived, up, _down in with_beacon if up == up]
    base_b = [arrived for arrived, _up, _down in without]

    print(
        f"\nA to B over {args.saves} saves (debounce {DEFAULT_DEBOUNCE_S:g} s, "
        f"full check every {DEFAULT_INTERVAL_S:g} s):"
    )
    print(
        f"  change beacon (read every {DEFAULT_BEACON_INTERVAL_S:g} s): {stats(beacon_b)}"
        f"  [{by_beacon} of B's syncs woken by the beacon]"
    )
    if beacon_up:
        print(f"    of which save -> A's upload finished:  {stats(beacon_up)}")
    print(f"  full checks only, every {args.baseline_interval:g} s:  {stats(base_b)}")
    # B finds a save at its next full check: the wait scales with the interval.
    print(
        f"  full checks only, every {DEFAULT_INTERVAL_S:g} s (today's default; the wait "
        f"scaled from the {args.baseline_interval:g} s run): {stats(scaled)}"
    )
    print("\nWatching one idle pair (counted in Azurite's debug log):")
    print(
        f"  active: {len(active_reads)} beacon reads in {args.idle:g} s "
        f"({sum(1 for s in active_reads if s == 304)} answered 304, no body)"
    )
    print(
        f"  idle:   {len(idle_reads)} beacon reads in {idle_s:g} s "
        f"({sum(1 for s in idle_reads if s == 304)} answered 304)"
    )
    kinds = ", ".join(
        f"{m} {b or '(container)'}{'?' + q if q else ''}" for m, b, q, _s in check_requests
    )
    print(f"  one no-change full check: {len(check_requests)} requests ({kinds}), then 1 read")
    print(f"  writes while idle: {len(writes)}")
    print(
        f"  per hour per pair: {active_h:.0f} requests while active, {idle_h:.0f} while idle "
        f"(of which {checks_per_hour * per_check:.0f} are the full checks every "
        f"{DEFAULT_INTERVAL_S:g} s, which run without the beacon too)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
