"""Crash at every step: a real sync runs in a subprocess (``crash_runner.py``, the engine
the CLI runs) and dies abruptly (``os._exit``, the same as SIGKILL for us: no cleanup,
no flush) at each named crash point of the engine; the suite also kills it with SIGKILL
at random moments. Right after the kill: no partial file is visible under a real name,
no blob holds a partial content, and the snapshot records only completed work. Then
the next run finishes the job: every invariant holds and the outcome is the one the
uninterrupted run would have reached.

One scenario exercises every action kind at once: new and edited files on each side,
deletions on each side, a conflict, a rename on each side, and a large file edited
locally (uploaded in staged blocks).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from blobsync.core.crashpoints import CRASH_POINTS, RESTORE_CRASH_POINTS
from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.engine.beacon import parse_beacon
from blobsync.core.engine.state import StateDB
from blobsync.core.local.scanner import TEMP_PREFIX
from blobsync.core.remote.base import BEACON_BLOB

from . import crash_runner
from .harness import (
    Ledger,
    LocalActor,
    RemoteActor,
    SdkView,
    check_confined,
    check_converged,
    check_idle,
    check_no_version_lost,
    count,
    md5,
    settle,
    tree,
)

pytestmark = [pytest.mark.azurite, pytest.mark.slow]

RUNNER = Path(crash_runner.__file__)
#: Points inside the Azure store (present once the store has them).
STORE_POINTS = ("mid_block_upload",)


def _store_has(point: str) -> bool:
    from blobsync.core.remote.azure import store as azure_store

    return f'"{point}"' in Path(azure_store.__file__).read_text()


ALL_POINTS = list(dict.fromkeys([*CRASH_POINTS, *(p for p in STORE_POINTS if _store_has(p))]))


def body(label: str, size: int = 0) -> bytes:
    head = f"{label}|".encode()
    return head + (b"." * max(0, size - len(head))) + b"\n"


class Scenario:
    """A folder and a container that agree, then changes on both sides."""

    def __init__(self, azurite: Any, base: Path, container: str) -> None:
        self.azurite = azurite
        self.sandbox = base / "sandbox"
        self.root = self.sandbox / "folder"
        self.root.mkdir(parents=True)
        self.state = base / "state.sqlite3"
        self.container = container
        self.sdk = BlobServiceClient.from_connection_string(azurite.connection_string)
        self.cc = self.sdk.get_container_client(container)
        self.ledger = Ledger()
        self.local = LocalActor(self.root, self.ledger, "L")
        self.remote = RemoteActor(SdkView(self.cc), self.ledger)
        self.known: set[bytes] = set()  # every content that ever existed anywhere

    def engine(self) -> SyncEngine:
        return SyncEngine(
            self.root,
            crash_runner.make_store(self.container, self.azurite.connection_string),
            self.state,
        )

    def _w(self, rel: str, data: bytes) -> None:
        self.known.add(data)
        self.local.write(rel, data, rel)

    def _r(self, name: str, data: bytes) -> None:
        self.known.add(data)
        self.remote.write(name, data, name)

    def prepare(self) -> None:
        big = crash_runner.SINGLE_SHOT_MAX * 2 + 5
        for rel in (
            "keep.txt",
            "up_edit.txt",
            "down_edit.txt",
            "del_local.txt",
            "del_remote.txt",
            "conflict.txt",
            "dir/ren_local_src.txt",
            "ren_remote_src.txt",
        ):
            self._w(rel, body(f"v1 {rel}"))
        self._w("big.bin", body("v1 big", big))
        engine = self.engine()
        try:
            first = engine.sync(SyncOptions(workers=4))
            assert first.in_sync, first.issues
        finally:
            engine.close()
        # Changes on both sides, as the crashed run will find them.
        self._w("up_edit.txt", body("v2 up_edit (local)"))
        self._w("big.bin", body("v2 big (local)", big + 3))
        self._w("new_local.txt", body("new local"))
        self.local.delete("del_local.txt")
        self._w("conflict.txt", body("v2 conflict (ours, local)"))
        self.local.rename("dir/ren_local_src.txt", "dir2/ren_local_dst.txt")
        self._r("down_edit.txt", body("v2 down_edit (remote)"))
        self._r("new_remote.txt", body("new remote"))
        self.remote.delete("del_remote.txt")
        self._r("conflict.txt", body("v2 conflict (theirs, remote)"))
        # A rename by another client: server-side copy keeps Content-MD5, then delete.
        src = self.cc.get_blob_client("ren_remote_src.txt")
        dst = self.cc.get_blob_client("ren_remote_dst.txt")
        dst.start_copy_from_url(src.url)
        for _ in range(50):
            if dst.get_blob_properties().copy.status in (None, "success"):
                break
            time.sleep(0.1)
        src.delete_blob()
        state = StateDB(self.state)
        try:
            self.pre_rows = {row.rel_path: row for row in state.iter_snapshot()}
        finally:
            state.close()

    def run(
        self, crash_at: str | None, timeout: float = 120, restore: str = ""
    ) -> subprocess.Popen[str]:
        env = dict(os.environ)
        env.pop("RUNNER_RESTORE", None)
        if restore:
            env["RUNNER_RESTORE"] = restore
        env["AZURE_STORAGE_CONNECTION_STRING"] = self.azurite.connection_string
        env.pop("BLOBSYNC_CRASH_AT", None)
        if crash_at:
            env["BLOBSYNC_CRASH_AT"] = crash_at
        return subprocess.Popen(
            [sys.executable, str(RUNNER), str(self.root), self.container, str(self.state), "4"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )

    # ---- right after the kill ----------------------------------------------------------

    def _quiet_server(self) -> None:
        """Requests the killed process had already sent are still served: wait until
        two listings in a row agree before judging the container."""
        last = None
        for _ in range(40):
            now = sorted((b.name, b.etag) for b in self.cc.list_blobs())
            if now == last:
                return
            last = now
            time.sleep(0.25)

    def check_after_crash(self) -> None:
        self._quiet_server()
        local = tree(self.root)
        for rel, data in local.items():
            if rel.rsplit("/", 1)[-1].startswith(TEMP_PREFIX):
                continue  # hidden, removed by the next run
            assert data in self.known, f"partial or unknown content visible at {rel}"
        blobs = {b.name: b for b in self.cc.list_blobs()}
        contents = {name: self.cc.download_blob(name).readall() for name in blobs}
        for name, data in contents.items():
            if name == BEACON_BLOB:  # the change beacon: whole, and one of ours
                assert parse_beacon(data) is not None, f"garbled change beacon: {data!r}"
                continue
            assert data in self.known, f"partial or unknown content in blob {name}"
        state = StateDB(self.state)
        try:
            for row in state.iter_snapshot():
                assert any(md5(k) == row.md5 for k in self.known), (
                    f"snapshot of {row.rel_path}: unknown md5"
                )
                blob = blobs.get(row.rel_path)
                if blob is not None and blob.etag.strip('"') == row.etag.strip('"'):
                    assert md5(contents[row.rel_path]) == row.md5, (
                        f"snapshot ahead of blob {row.rel_path}"
                    )
                else:  # not ahead: exactly the row it was before the run
                    assert self.pre_rows.get(row.rel_path) == row, (
                        f"snapshot of {row.rel_path} records work that was not done"
                    )
                path = self.root / row.rel_path
                if path.is_file():
                    st = path.stat()
                    if (st.st_size, st.st_mtime_ns) == (row.size, row.mtime_ns):
                        assert md5(path.read_bytes()) == row.md5, (
                            f"snapshot claims {row.rel_path} is synced but the file differs"
                        )
        finally:
            state.close()

    # ---- after the next runs ------------------------------------------------------------

    def check_finished(self) -> None:
        engine = self.engine()
        opts = lambda _e: SyncOptions(workers=4)  # noqa: E731
        try:
            settle([engine], opts)
            check_idle([engine], opts, self._wire_writes)
            remote = SdkView(self.cc).contents()
            check_converged([self.root], remote, [engine])
        finally:
            engine.close()
        local = tree(self.root)
        check_no_version_lost(self.ledger, [local])
        check_confined(self.sandbox, {"folder"})
        names = set(local)
        gone = {"del_local.txt", "del_remote.txt", "dir/ren_local_src.txt", "ren_remote_src.txt"}
        assert not names & gone, f"interrupted deletions/renames were undone: {names & gone}"
        assert local["up_edit.txt"] == body("v2 up_edit (local)")
        assert local["down_edit.txt"] == body("v2 down_edit (remote)")
        assert local["conflict.txt"] == body("v2 conflict (theirs, remote)")
        copies = [n for n in names if n.startswith("conflict (conflict from")]
        assert copies and all(local[c] == body("v2 conflict (ours, local)") for c in copies)
        assert local["dir2/ren_local_dst.txt"] == body("v1 dir/ren_local_src.txt")
        assert local["ren_remote_dst.txt"] == body("v1 ren_remote_src.txt")
        assert local["new_remote.txt"] == body("new remote")
        assert local["new_local.txt"] == body("new local")

    def _wire_writes(self) -> int:
        """PUT/DELETE requests Azurite has logged so far (its ``--debug`` log)."""
        text = self.azurite.debug_log.read_text(errors="replace")
        return text.count("RequestMethod=PUT") + text.count("RequestMethod=DELETE")

    def close(self) -> None:
        self.sdk.close()


@pytest.fixture
def scenario(azurite: Any, tmp_path: Path) -> Iterator[Scenario]:
    s = Scenario(azurite, tmp_path, "crash" + uuid.uuid4().hex[:16])
    s.cc.create_container()
    s.prepare()
    yield s
    s.close()


@pytest.mark.parametrize("point", ALL_POINTS)
def test_crash_at_named_point_then_next_run_finishes(scenario: Scenario, point: str) -> None:
    proc = scenario.run(point)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 137, (
        f"crash point {point} was not reached (rc {proc.returncode}): {out} {err[-2000:]}"
    )
    count("crash_points")
    count("crash_runs")
    scenario.check_after_crash()
    scenario.check_finished()


def test_no_crash_point_left_untested() -> None:
    """Every point the engine names is in the list the test above kills at."""
    import re

    from blobsync.core.engine import executor, recovery
    from blobsync.core.engine import facade as engine_mod
    from blobsync.core.local import versions
    from blobsync.core.remote.azure import store as azure_blob

    modules = (executor, engine_mod, recovery, versions, azure_blob)
    sources = "".join(Path(m.__file__).read_text() for m in modules if m.__file__)
    named = set(re.findall(r'crash_point\("([a-z_]+)"\)', sources))
    assert named <= set(ALL_POINTS) | set(RESTORE_CRASH_POINTS), named - set(ALL_POINTS)
    print(f"\ncrash points covered: {len(ALL_POINTS)}: {', '.join(ALL_POINTS)}")


@pytest.mark.parametrize("trial", range(3))
def test_sigkill_at_random_moments(scenario: Scenario, trial: int) -> None:
    """Timing-based kills: SIGKILL somewhere inside a real run, then the next run."""
    rng = random.Random(trial)
    proc = scenario.run(None)
    time.sleep(rng.uniform(0.8, 2.5))  # interpreter start ~1 s, then the sync itself
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    count("crash_runs")
    scenario.check_after_crash()
    scenario.check_finished()


@pytest.mark.parametrize(
    ("point", "source"),
    [("restore_after_keep", "local"), ("restore_after_copy", "container")],
)
def test_crash_during_a_restore_then_next_run_finishes(
    azurite: Any, tmp_path: Path, point: str, source: str
) -> None:
    """A restore killed after its first step: every file old or new, nothing lost, and
    the next sync converges (the restore's kept copies stay in the bins)."""
    s = Scenario(azurite, tmp_path, "crashr" + uuid.uuid4().hex[:16])
    s.cc.create_container()
    try:
        s._w("doc.txt", body("v1 doc"))
        s._w("other.txt", body("other"))
        engine = s.engine()
        try:
            engine.sync(SyncOptions(workers=2))
            if source == "local":  # a download replaces v1 here: v1 to the versions folder
                s._r("doc.txt", body("v2 doc"))
            else:  # an upload replaces the blob v1: v1 to the container's bin
                s._w("doc.txt", body("v2 doc"))
            engine.sync(SyncOptions(workers=2))
        finally:
            engine.close()
        assert (s.root / "doc.txt").read_bytes() == body("v2 doc")
        state = StateDB(s.state)
        try:
            s.pre_rows = {row.rel_path: row for row in state.iter_snapshot()}
        finally:
            state.close()
        proc = s.run(point, restore=f"{source}:doc.txt")
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 137, (
            f"{point} not reached (rc {proc.returncode}): {out} {err[-2000:]}"
        )
        count("crash_runs")
        s.check_after_crash()
        assert (s.root / "doc.txt").read_bytes() in (body("v1 doc"), body("v2 doc"))
        engine = s.engine()
        opts = lambda _e: SyncOptions(workers=2)  # noqa: E731
        try:
            settle([engine], opts)
            check_idle([engine], opts, s._wire_writes)
            check_converged([s.root], SdkView(s.cc).contents(), [engine])
            kept = {v.md5 for v in engine.versions("doc.txt")}
        finally:
            engine.close()
        # both versions still exist: one at the path, the other in a bin
        current = md5((s.root / "doc.txt").read_bytes())
        assert {md5(body("v1 doc")), md5(body("v2 doc"))} <= kept | {current}
        check_confined(s.sandbox, {"folder"})
    finally:
        s.close()
