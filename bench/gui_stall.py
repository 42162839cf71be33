"""Benchmark: does the GUI stay responsive while it syncs 5,000 files?

Starts its own Azurite, creates N small files, builds the real window (controller,
bridge, pairs/progress/issues views) offscreen, presses Sync now and, while the engine
runs on its QThread, a 1 ms QTimer measures the gaps of the Qt event loop. Prints the
longest gap (target ≤ 50 ms), the 99th percentile, the sync time and how many progress
snapshots reached the GUI.

    .venv/bin/python bench/gui_stall.py [--files 5000] [--size 2048] [--workers 8]
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
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--size", type=int, default=2048, help="bytes per file")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--in-memory", action="store_true", help="Azurite without disk")
    parser.add_argument("--no-freeze", action="store_true", help="skip gc.freeze()")
    parser.add_argument("-v", "--verbose", action="store_true", help="list the longest gaps")
    args = parser.parse_args(argv)

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    work = Path(tempfile.mkdtemp(prefix="blobsync-gui-stall-"))
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        os.environ[var] = str(work / var.lower())

    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    import blobsync.gui  # noqa: F401  (PySide workarounds before any Qt call)
    from blobsync.core.config import AccountConfig, AppConfig, PairConfig
    from blobsync.core.credentials import SecretKind
    from blobsync.core.emulator import Azurite
    from blobsync.gui.controller import DEMO_ACCOUNT_NAME, Controller
    from blobsync.gui.main_window import MainWindow

    root = work / "folder"
    for i in range(args.files):
        path = root / f"d{i % 50:02d}" / f"file{i:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(args.size))

    app = QApplication.instance() or QApplication(["gui_stall"])
    load_before = os.getloadavg()[0]
    with Azurite(in_memory=args.in_memory) as server:
        account = AccountConfig(
            DEMO_ACCOUNT_NAME, server.blob_endpoint, "devstoreaccount1", SecretKind.ACCOUNT_KEY
        )
        container = "stall" + uuid.uuid4().hex[:8]
        pair = PairConfig(str(root), DEMO_ACCOUNT_NAME, container)
        config = AppConfig(accounts={DEMO_ACCOUNT_NAME: account}, pairs=[pair])
        controller = Controller(config, schedule=False, workers=args.workers)
        window = MainWindow(controller)
        window.show()
        snapshots = 0

        def count(_pair_id: str, _snap: object) -> None:
            nonlocal snapshots
            snapshots += 1

        controller.progress.connect(count)
        gaps: list[float] = []
        clock = QElapsedTimer()
        ticker = QTimer()
        ticker.setInterval(1)

        big: list[tuple[float, float, str]] = []  # (gap ms, at s, phase)
        bridge = controller.bridge(pair.pair_id)
        assert bridge is not None

        def tick() -> None:
            gap = clock.nsecsElapsed() / 1e6
            clock.restart()
            gaps.append(gap)
            if gap > 20:
                phase = bridge.tracker.snapshot().phase if status.syncing else "idle"
                big.append((gap, time.monotonic() - started, phase))

        ticker.timeout.connect(tick)
        if not args.no_freeze:
            gc.freeze()  # as run_app does once the window exists (see gui/app.py)
        # Let the window settle (first paint, engine thread start) before measuring.
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            app.processEvents()
        status = controller.status(pair.pair_id)
        started = time.monotonic()
        clock.start()
        ticker.start()
        loop = QEventLoop()

        def check(_pair_id: str) -> None:
            if not status.syncing and (status.last_result or status.failure):
                loop.quit()

        controller.pair_updated.connect(check)
        QTimer.singleShot(1_800_000, loop.quit)  # give up after 30 minutes
        controller.sync_now(pair.pair_id)
        loop.exec()  # the real Qt event loop, as in the app
        elapsed = time.monotonic() - started
        ticker.stop()
        result, failure = status.last_result, status.failure
        controller.shutdown()
        window.close()

    if failure is not None or result is None:
        print(f"sync failed: {failure}", file=sys.stderr)
        return 1
    gaps.sort()
    p99 = gaps[int(len(gaps) * 0.99)] if gaps else 0.0
    print(f"files: {args.files} x {args.size} B, workers: {args.workers}")
    print(
        f"load average (1 min) before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs (other processes steal the GUI's CPU too)"
    )
    print(f"uploaded: {result.uploaded}, skipped: {result.skipped}")
    print(f"sync time: {elapsed:.1f} s ({args.files / elapsed:.0f} files/s)")
    print(
        f"event-loop ticks: {len(gaps)}, median gap {statistics.median(gaps):.2f} ms, "
        f"p99 {p99:.1f} ms"
    )
    print(f"progress snapshots delivered: {snapshots} ({snapshots / elapsed:.1f}/s)")
    if args.verbose:
        for gap, at, phase in sorted(big, reverse=True)[:15]:
            print(f"  gap {gap:6.1f} ms at {at:6.2f} s ({phase})")
    longest = gaps[-1] if gaps else 0.0
    print(f"longest event-loop stall: {longest:.1f} ms (target ≤ 50 ms)")
    return 0 if longest <= 50 else 2


if __name__ == "__main__":
    sys.exit(main())
