"""Benchmark: does the GUI stay responsive while it syncs, and how close does a
no-change re-sync in the running app come to the server's own floor?

Starts its own Azurite, creates N small files, builds the real window (controller,
bridge, pairs/progress/issues views) offscreen, presses Sync now and, while the engine
runs on its QThread, a 1 ms QTimer measures the gaps of the Qt event loop. Prints the
longest gap (target ≤ 50 ms), the 99th percentile, the sync time, how many progress
snapshots reached the GUI and what the cyclic garbage collector did meanwhile (a full
collection holds the GIL, so the window waits for it: count and longest).

Then ``--rounds`` times, alternating: the **listing floor** (the leanest List Blobs with
metadata Azurite can be asked: raw HTTP with a container SAS, every page read, nothing
parsed but the continuation marker) and a **no-change re-sync in the app** (Sync now
on the same pair, no process start-up). Target: re-sync ≤ 1.2x the floor with the
longest event-loop stall ≤ 50 ms. With ``--files`` above 20,000 the container is first
filled by the CLI (untimed; the app's first sync then only hashes and records).

    .venv/bin/python bench/gui_stall.py [--files 5000] [--size 2048] [--workers 4]
                                        [--rounds 3] [-v]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GUI_WORKERS = 4  # gui.controller.GUI_WORKERS (not imported: Qt must not load before setup)
CENSUS = False  # --census: also count what the first full collections of re-syncs walk
CENSUSES: list[Any] = []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--size", type=int, default=2048, help="bytes per file")
    parser.add_argument("--workers", type=int, default=GUI_WORKERS, help="default: the app's")
    parser.add_argument("--in-memory", action="store_true", help="Azurite without disk")
    parser.add_argument("--baseline", type=float, default=5.0, help="idle seconds measured first")
    parser.add_argument(
        "--compare-process", action="store_true", help="also time the CLI as a child process"
    )
    parser.add_argument("--no-resync", action="store_true", help="skip the no-change re-sync")
    parser.add_argument("--rounds", type=int, default=3, help="floor / re-sync rounds")
    parser.add_argument("--no-freeze", action="store_true", help="skip gc.freeze()")
    parser.add_argument(
        "--freeze-after-first",
        action="store_true",
        help="gc.freeze() again after the first sync (what it imported lives as long as the app)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="list the longest gaps")
    parser.add_argument(
        "--census", action="store_true", help="count what the collector walks after the runs"
    )
    args = parser.parse_args(argv)

    global CENSUS
    CENSUS = args.census
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    work = Path(tempfile.mkdtemp(prefix="blobsync-gui-stall-"))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        os.environ[var] = str(work / var.lower())

    from PySide6.QtWidgets import QApplication

    from blobsync.core.app.emulator import DEMO_ACCOUNT_NAME, Azurite, demo_account
    from blobsync.core.app.settings import AppConfig, PairConfig
    from blobsync.gui import controller as controller_module
    from blobsync.gui.controller import Controller
    from blobsync.gui.main_window import MainWindow

    root = work / "folder"
    folders = max(50, args.files // 100)
    for i in range(args.files):
        path = root / f"d{i % folders:04d}" / f"file{i:06d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(args.size))

    app = QApplication.instance() or QApplication(["gui_stall"])
    load_before = os.getloadavg()[0]
    with Azurite(in_memory=args.in_memory) as server:
        account = demo_account(server.port)
        container = "stall" + uuid.uuid4().hex[:8]
        if args.files > 20_000:
            prefill(server.connection_string, root, container, work)
        pair = PairConfig(str(root), DEMO_ACCOUNT_NAME, container)
        config = AppConfig(accounts={DEMO_ACCOUNT_NAME: account}, pairs=[pair])
        assert GUI_WORKERS == controller_module.GUI_WORKERS
        controller = Controller(config, schedule=False, workers=args.workers)
        window = MainWindow(controller)
        window.show()
        bridge = controller.bridge(pair.pair_id)
        assert bridge is not None
        if not args.no_freeze:
            gc.freeze()  # as run_app does once the window exists (see gui/app.py)
        # Let the window settle (first paint, engine thread start) before measuring.
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            app.processEvents()
        runs = [measure_idle(args.baseline)] if args.baseline > 0 else []
        runs.append(measure_sync(controller, pair.pair_id, bridge, "first sync"))
        if args.freeze_after_first:
            gc.freeze()
        floors: list[float] = []
        resyncs: list[Run] = []
        for _ in range(0 if args.no_resync else args.rounds):
            floors.append(listing_floor(server, container))
            resyncs.append(measure_sync(controller, pair.pair_id, bridge, "no-change re-sync"))
        runs += resyncs
        for found in CENSUSES:
            print(f"census at a full collection during a re-sync: {found.total()} objects")
            for name, count in found.most_common(12):
                print(f"  {count:9,} {name}")
        if args.census:
            from collections import Counter

            census = Counter(type(o).__name__ for o in gc.get_objects())
            print(f"census: {census.total()} tracked objects outside the frozen ones")
            for name, count in census.most_common(15):
                print(f"  {count:9,} {name}")
        if args.compare_process:
            runs.append(measure_cli_process(server.connection_string, root, args.workers))
        controller.shutdown()
        window.close()

    print(f"files: {args.files} x {args.size} B, workers: {args.workers}")
    print(
        f"load average (1 min) before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs (other processes steal the GUI's CPU too)"
    )
    worst = 0.0
    for run in runs:
        if run.name.startswith("idle"):
            gaps = sorted(run.gaps)
            print(
                f"--- {run.name}: longest gap {gaps[-1]:.1f} ms, p99 "
                f"{gaps[int(len(gaps) * 0.99)]:.1f} ms (what the machine's load alone costs)"
            )
            continue
        if run.name.startswith("engine in a separate process"):
            gaps = sorted(run.gaps)
            print(
                f"--- {run.name}: {args.files} files in {run.elapsed:.1f} s, longest gap "
                f"{gaps[-1]:.1f} ms, p99 {gaps[int(len(gaps) * 0.99)]:.1f} ms (same window, "
                "the CLI syncs to a new container: what the GIL sharing costs)"
            )
            continue
        if run.failure is not None or run.result is None:
            print(f"{run.name}: sync failed: {run.failure}", file=sys.stderr)
            return 1
        gaps = sorted(run.gaps)
        p99 = gaps[int(len(gaps) * 0.99)] if gaps else 0.0
        longest = gaps[-1] if gaps else 0.0
        worst = max(worst, longest)
        print(f"--- {run.name}: uploaded {run.result.uploaded}, skipped {run.result.skipped}")
        print(f"sync time: {run.elapsed:.1f} s ({args.files / run.elapsed:.0f} files/s)")
        print(
            f"event-loop ticks: {len(gaps)}, median gap {statistics.median(gaps):.2f} ms, "
            f"p99 {p99:.1f} ms; progress snapshots: {run.snapshots} "
            f"({run.snapshots / run.elapsed:.1f}/s)"
        )
        if args.verbose:
            for gap, at, phase in sorted(run.big, reverse=True)[:10]:
                print(f"  gap {gap:6.1f} ms at {at:6.2f} s ({phase})")
        full = [ms for gen, ms in run.collections if gen == 2]
        young = sum(ms for gen, ms in run.collections if gen < 2)
        print(
            f"garbage collector: {len(full)} full collections (longest "
            f"{max(full, default=0.0):.1f} ms, total {sum(full):.0f} ms), "
            f"{len(run.collections) - len(full)} young ones ({young:.0f} ms)"
        )
        print(f"longest event-loop stall: {longest:.1f} ms (target ≤ 50 ms)")
    if resyncs:
        floor = statistics.median(floors)
        app_s = statistics.median(r.elapsed for r in resyncs)
        stall = max(max(r.gaps, default=0.0) for r in resyncs)
        print(
            f"=== {args.files} files: listing floor {floor:.2f} s (rounds: "
            + ", ".join(f"{f:.2f}" for f in floors)
            + f"); app no-change re-sync {app_s:.2f} s (rounds: "
            + ", ".join(f"{r.elapsed:.2f}" for r in resyncs)
            + f"); ratio {app_s / floor:.2f}x (target ≤ 1.2x); longest stall {stall:.1f} ms "
            "(target ≤ 50 ms)"
        )
    return 0 if worst <= 50 else 2


@dataclass
class Run:
    name: str
    gaps: list[float] = field(default_factory=list)
    big: list[tuple[float, float, str]] = field(default_factory=list)  # (ms, at s, phase)
    snapshots: int = 0
    #: (generation, ms) of every collection the cyclic GC made during the run
    collections: list[tuple[int, float]] = field(default_factory=list)
    elapsed: float = 0.0
    result: Any = None
    failure: Any = None


def prefill(connection_string: str, root: Path, container: str, work: Path) -> None:
    """Upload the tree with the CLI (its own state, 16 workers), untimed."""
    import subprocess

    env = dict(
        os.environ,
        AZURE_STORAGE_CONNECTION_STRING=connection_string,
        XDG_DATA_HOME=str(work / "cli-data"),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "blobsync.core.cli", "sync", str(root), container, "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        check=True,
    )
    print(f"prefilled {container} with the CLI in {time.monotonic() - started:.0f} s")


def listing_floor(server: Any, container: str) -> float:
    """Seconds Azurite needs to answer the whole listing with metadata: raw HTTP on one
    kept-alive connection, a container SAS (no per-request signing), every page read,
    only the continuation marker looked at."""
    import http.client
    import re
    from datetime import UTC, datetime, timedelta
    from urllib.parse import quote, urlsplit

    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    sas = generate_container_sas(
        "devstoreaccount1",
        container,
        account_key=server.credentials.secret,
        permission=ContainerSasPermissions(list=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    split = urlsplit(server.blob_endpoint)
    conn = http.client.HTTPConnection(split.hostname, split.port, timeout=300)
    marker_re = re.compile(rb"<NextMarker>([^<]+)</NextMarker>")
    started = time.perf_counter()
    marker = b""
    while True:
        query = f"restype=container&comp=list&include=metadata&maxresults=5000&{sas}"
        if marker:
            query += "&marker=" + quote(marker.decode(), safe="")
        conn.request(
            "GET", f"{split.path}/{container}?{query}", headers={"x-ms-version": "2025-01-05"}
        )
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"listing floor: HTTP {response.status}: {body[:300]!r}")
        found = marker_re.search(body)
        if not found:
            break
        marker = found.group(1)
    conn.close()
    return time.perf_counter() - started


def measure_cli_process(connection_string: str, root: Path, workers: int) -> Run:
    """The same timer while ``blobsync sync`` runs as a child process (its own GIL)."""
    import subprocess

    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer

    run = Run("engine in a separate process")
    env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=connection_string)
    container = "proc" + uuid.uuid4().hex[:8]
    cmd = [sys.executable, "-m", "blobsync.core.cli", "sync", str(root), container]
    clock = QElapsedTimer()
    ticker = QTimer()
    ticker.setInterval(1)

    def tick() -> None:
        run.gaps.append(clock.nsecsElapsed() / 1e6)
        clock.restart()

    ticker.timeout.connect(tick)
    started = time.monotonic()
    child = subprocess.Popen(
        [*cmd, "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    loop = QEventLoop()
    poll = QTimer()
    poll.timeout.connect(lambda: child.poll() is not None and loop.quit())
    poll.start(50)
    clock.start()
    ticker.start()
    loop.exec()
    ticker.stop()
    run.elapsed = time.monotonic() - started
    return run


def measure_idle(seconds: float) -> Run:
    """The same 1 ms timer with nothing syncing: the baseline of this machine right now."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer

    run = Run(f"idle baseline, {seconds:.0f} s, no sync")
    clock = QElapsedTimer()
    ticker = QTimer()
    ticker.setInterval(1)

    def tick() -> None:
        run.gaps.append(clock.nsecsElapsed() / 1e6)
        clock.restart()

    ticker.timeout.connect(tick)
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    clock.start()
    ticker.start()
    loop.exec()
    ticker.stop()
    return run


def measure_sync(controller: Any, pair_id: str, bridge: Any, name: str) -> Run:
    """One Sync now inside the real Qt event loop while a 1 ms timer records its gaps."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer

    run = Run(name)
    status = controller.status(pair_id)
    status.last_result = status.failure = None
    clock = QElapsedTimer()
    ticker = QTimer()
    ticker.setInterval(1)
    started = time.monotonic()

    def tick() -> None:
        gap = clock.nsecsElapsed() / 1e6
        clock.restart()
        run.gaps.append(gap)
        if gap > 20:
            phase = bridge.tracker.snapshot().phase if status.syncing else "idle"
            run.big.append((gap, time.monotonic() - started, phase))

    def count(pid: str, _snap: object) -> None:
        if pid == pair_id:
            run.snapshots += 1

    began = [0.0]

    def collected(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            if CENSUS and info["generation"] == 2 and len(CENSUSES) < 3 and name != "first sync":
                from collections import Counter

                CENSUSES.append(Counter(type(o).__name__ for o in gc.get_objects()))
            began[0] = time.perf_counter()
        else:
            run.collections.append((info["generation"], (time.perf_counter() - began[0]) * 1e3))

    loop = QEventLoop()

    def check(_pair_id: str) -> None:
        if not status.syncing and (status.last_result or status.failure):
            loop.quit()

    ticker.timeout.connect(tick)
    controller.progress.connect(count)
    controller.pair_updated.connect(check)
    QTimer.singleShot(1_800_000, loop.quit)  # give up after 30 minutes
    clock.start()
    ticker.start()
    gc.callbacks.append(collected)
    controller.sync_now(pair_id)
    loop.exec()  # the real Qt event loop, as in the app
    run.elapsed = time.monotonic() - started
    gc.callbacks.remove(collected)
    ticker.stop()
    controller.progress.disconnect(count)
    controller.pair_updated.disconnect(check)
    run.result, run.failure = status.last_result, status.failure
    return run


if __name__ == "__main__":
    sys.exit(main())
