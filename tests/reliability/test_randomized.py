"""Seeded randomized multi-client runs: two engines on two folders sharing one container,
plus a raw client writing behind their backs. Random creates, edits (often of the same
size), deletes, renames, same-file races on both sides, and races *during* a sync (a
hook on the store lets another client write or delete the very blob, or the user edit
or delete the very file, just before the engine acts on it; an upload's file changes
while it is read), interleaved with syncs. After a quiet phase every invariant of
:mod:`tests.reliability.harness` is checked.

Restores and undos are operations too: an engine puts back a random kept version of a
random file (from either side's bin), or undoes one of its recent runs; whatever they
replace must land in a bin, so "no version lost" counts the bins as places.

Profiles: FAST (default run) — many seeds against MemoryStore, a couple of dozen against
Azurite through the recording proxy (which also proves every blob write carried its
condition); LONG (``-m long``) — hundreds of seeds on both. ``RELIABILITY_SEED=N`` runs
one seed. Every failure names its seed.
"""

from __future__ import annotations

import os
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from blobsync.core import events as ev
from blobsync.core.credentials import from_key
from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.errors import ItemError, SafetyStop
from blobsync.core.names import is_reserved
from blobsync.core.remote.azure import AzureBlobStore, BoundedRetryPolicy
from blobsync.core.remote.memory import MemoryStore

from .faults import FaultProxy, HookedStore
from .harness import (
    Ledger,
    LocalActor,
    MemoryView,
    RemoteActor,
    SdkView,
    check_confined,
    check_converged,
    check_idle,
    check_no_version_lost,
    count,
    local_bins,
    seeded,
    seeds,
    settle,
    tree,
)

DIRS = ["", "d1/", "d1/d2/", "e/"]
FILES = ["f0.txt", "f1.txt", "f2", "g.md"]
POOL = [d + f for d in DIRS for f in FILES]


@dataclass
class Stats:
    ops: int = 0
    syncs: int = 0
    races: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class Model:
    """One seeded run: actors, engines, and the random schedule."""

    def __init__(
        self,
        seed: int,
        base: Path,
        make_store: Callable[[str], Any],
        view: Any,
        wire_writes: Callable[[], int],
        workers: int,
        describe: Callable[[int], str] = lambda _n: "",
    ) -> None:
        self.describe = describe
        self.seed = seed
        self.rng = random.Random(seed)
        self.hook_rng = random.Random(seed * 7919 + 1)
        self.lock = threading.RLock()
        self.ledger = Ledger()
        self.sandbox = base / "sandbox"
        roots = [self.sandbox / "a", self.sandbox / "b"]
        for root in roots:
            root.mkdir(parents=True)
        self.locals = [
            LocalActor(root, self.ledger, name) for root, name in zip(roots, "AB", strict=True)
        ]
        self.remote = RemoteActor(view, self.ledger)
        self.stores = [HookedStore(make_store(name)) for name in "AB"]
        self.engines = [
            SyncEngine(root, store, base / f"state-{name}.sqlite3", self._events(name))
            for root, store, name in zip(roots, self.stores, "AB", strict=True)
        ]
        self.workers = workers
        self.wire_writes = wire_writes
        self.stats = Stats()
        self.n = 0
        self.dirty: dict[str, set[str]] = {"A": set(), "B": set(), "R": set()}

    def _events(self, name: str) -> Callable[[object], None]:
        def sink(event: object) -> None:
            if isinstance(event, (ev.ItemFinished, ev.IssueRaised)):
                self.ledger.note(f"{name} engine: {event}")

        return sink

    # ---- content ------------------------------------------------------------------

    def content(self, who: str) -> tuple[bytes, str]:
        self.n += 1
        label = f"s{self.seed}-{self.n}-{who}"
        # Often the same size as other contents: size alone must not hide a change.
        pad = self.rng.choice([0, 0, 8, 24]) if self.rng.random() < 0.6 else self.rng.randint(0, 60)
        body = f"{label:<20}|" + "x" * pad + "\n"
        return body.encode(), label

    def options(self, engine: SyncEngine) -> SyncOptions:
        name = "A" if engine is self.engines[0] else "B"
        return SyncOptions(workers=self.workers, hostname=f"host{name}")

    def _note(self, kind: str) -> None:
        self.stats.ops += 1
        self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + 1

    def _touch(self, side: str, rel: str) -> None:
        if any(rel in paths for other, paths in self.dirty.items() if other != side):
            self.stats.races += 1
        self.dirty[side].add(rel)

    # ---- operations -----------------------------------------------------------------

    def local_op(self, i: int) -> None:
        actor = self.locals[i]
        side = "AB"[i]
        files = [f for f in actor.files() if not f.startswith(".blobsync-")]
        roll = self.rng.random()
        if roll < 0.35 or not files:
            free = [p for p in POOL if p not in files]
            if not free:
                return
            rel = self.rng.choice(free)
            data, label = self.content(side)
            actor.write(rel, data, label)
            self._note("create")
        elif roll < 0.7:
            rel = self.rng.choice(files)
            data, label = self.content(side)
            actor.write(rel, data, label)
            self._note("edit")
        elif roll < 0.82:
            rel = self.rng.choice(files)
            actor.delete(rel)
            self._note("delete")
        elif roll < 0.87:
            # A folder rename: every file in it moves (pairs of remote copy + delete).
            src, dst = self.rng.choice(
                [
                    ("d1", "e/d3"),
                    ("e", "e4"),
                    ("d1/d2", "d5"),
                    ("e4", "e"),
                    ("d5", "d1/d2"),
                    ("e/d3", "d1"),
                ]
            )
            if not (actor.root / src).is_dir() or (actor.root / dst).exists():
                return
            (actor.root / dst).parent.mkdir(parents=True, exist_ok=True)
            os.rename(actor.root / src, actor.root / dst)
            self._note("rename_folder")
            for moved in actor.files():
                if moved.startswith(dst + "/"):
                    self._touch(side, moved)
            return
        else:
            rel = self.rng.choice(files)
            free = [p for p in POOL if p not in files]
            if not free:
                return
            dst = self.rng.choice(free)
            actor.rename(rel, dst)
            self._note("rename")
            self._touch(side, dst)
        self._touch(side, rel)

    def remote_op(self) -> None:
        files = self.remote.files()
        roll = self.rng.random()
        if roll < 0.4 or not files:
            rel = self.rng.choice(POOL)
            data, label = self.content("R")
            self.remote.write(rel, data, label)
            self._note("raw_put")
        elif roll < 0.8:
            rel = self.rng.choice(files)
            data, label = self.content("R")
            self.remote.write(rel, data, label)
            self._note("raw_edit")
        else:
            rel = self.rng.choice(files)
            self.remote.delete(rel)
            self._note("raw_delete")
        self._touch("R", rel)

    def same_file_race(self) -> None:
        """Two sides change one path before either syncs."""
        candidates = sorted(set(self.locals[0].files()) | set(self.remote.files())) or POOL
        rel = self.rng.choice(candidates)
        sides = self.rng.sample(["A", "B", "R"], 2)
        for side in sides:
            data, label = self.content(side)
            if side == "R":
                self.remote.write(rel, data, label)
            else:
                actor = self.locals["AB".index(side)]
                if self.rng.random() < 0.2 and actor.read(rel) is not None:
                    actor.delete(rel)
                else:
                    actor.write(rel, data, label)
        self.stats.races += 1
        self._note("same_file_race")

    def arm_hooks(self, i: int) -> None:
        """During the next sync of engine ``i``, other clients may act on the very item."""
        store = self.stores[i]
        actor = self.locals[i]
        budget = [self.rng.randint(1, 2)]
        rng = self.hook_rng

        def before(op: str, name: str) -> None:
            if not name or op == "list" or is_reserved(name):
                return  # nobody else writes into BlobSync's own space
            with self.lock:
                if budget[0] <= 0 or rng.random() > 0.5:
                    return
                budget[0] -= 1
                roll = rng.random()
                if roll < 0.35:
                    data, label = self.content("R")
                    self.remote.write(name, data, label)
                elif roll < 0.5:
                    self.remote.delete(name)
                elif roll < 0.85:
                    data, label = self.content("AB"[i])
                    try:
                        actor.write(name, data, label)
                    except (NotADirectoryError, IsADirectoryError, FileExistsError):
                        return  # a folder is in the way: the user could not save either
                else:
                    actor.delete(name)
                self.stats.races += 1

        def during_upload(name: str) -> Callable[[], None] | None:
            with self.lock:
                if budget[0] <= 0 or rng.random() > 0.3:
                    return None
                budget[0] -= 1
                self.stats.races += 1

            def change() -> None:
                with self.lock:
                    data, label = self.content("AB"[i])
                    if (actor.root / name).exists():
                        actor.write(name, data + b"changed while uploading\n", label)

            return change

        store.before = before
        store.during_upload = during_upload

    def restore_op(self, i: int) -> None:
        """The user of engine ``i`` restores a random kept version of a random file."""
        engine = self.engines[i]
        versions = engine.versions(remote=self.rng.random() < 0.6)
        if not versions:
            return
        version = self.rng.choice(versions)
        self.ledger.note(f"--- restore {'AB'[i]} {version.rel_path} from {version.source}")
        if self.rng.random() < 0.4:
            self.arm_hooks(i)  # other clients act on the very item while it is restored
        try:
            result = engine.restore(version.rel_path, version, self.options(engine))
        except ItemError as exc:
            self.ledger.note(f"restore refused: {exc.message}")
            return
        except SafetyStop:
            self._confirm(engine)
            return
        finally:
            self.disarm()
        self._after_recovery(i, result.restored)
        self._note("restore")
        count("restores")

    def undo_op(self, i: int) -> None:
        """The user of engine ``i`` undoes one of its recent runs."""
        engine = self.engines[i]
        runs = engine.history.runs(pair=engine.pair_id, limit=5)
        if not runs:
            return
        run = self.rng.choice(runs)
        self.ledger.note(f"--- undo {'AB'[i]} run {run.run_id} ({run.kind}, {run.changes} changes)")
        if self.rng.random() < 0.4:
            self.arm_hooks(i)
        try:
            result = engine.undo(run.run_id, self.options(engine))
        except SafetyStop:
            self._confirm(engine)
            return
        finally:
            self.disarm()
        count("undo_issues", len(result.issues))
        count("undos")
        count("undone_items", len(result.restored) + len(result.removed))
        self._after_recovery(i, result.restored)
        self._note("undo")

    def _confirm(self, engine: SyncEngine) -> None:
        """A valve stopped the sync a restore or an undo started: the user confirms, as
        the message asks (as :meth:`sync` does)."""
        self.disarm()
        count("safety_stops")
        engine.sync(replace(self.options(engine), allow_mass_delete=True))

    def _after_recovery(self, i: int, restored: list[str]) -> None:
        """What a restore or an undo put back is wanted again (the user asked for it)."""
        actor = self.locals[i]
        for rel in restored:
            data = actor.read(rel)
            if data is not None:
                self.ledger.wrote(data, f"restored {rel}")
        self.stats.syncs += 1
        self.dirty["AB"[i]].clear()
        self.dirty["R"].clear()

    def disarm(self) -> None:
        for store in self.stores:
            store.before = None
            store.during_upload = None

    def sync(self, i: int, racing: bool) -> None:
        if racing:
            self.arm_hooks(i)
        engine = self.engines[i]
        self.ledger.note(f"--- sync {'AB'[i]} racing={racing}")
        try:
            engine.sync(self.options(engine))
        except SafetyStop:
            # A valve (emptied folder, mass delete) stopped it: the user confirms, as the
            # message asks, and nothing may have changed meanwhile.
            self.disarm()
            count("safety_stops")
            engine.sync(replace(self.options(engine), allow_mass_delete=True))
        finally:
            self.disarm()
        self.ledger.note(f"--- synced {'AB'[i]}")
        self.stats.syncs += 1
        self.dirty["AB"[i]].clear()
        self.dirty["R"].clear()

    # ---- the run ----------------------------------------------------------------------

    def run(self, steps: int) -> Stats:
        for _ in range(steps):
            roll = self.rng.random()
            if roll < 0.25:
                self.local_op(0)
            elif roll < 0.45:
                self.local_op(1)
            elif roll < 0.6:
                self.remote_op()
            elif roll < 0.67:
                self.same_file_race()
            elif roll < 0.71:
                self.restore_op(self.rng.randrange(2))
            elif roll < 0.74:
                self.undo_op(self.rng.randrange(2))
            else:
                self.sync(self.rng.randrange(2), racing=self.rng.random() < 0.4)
        # Quiet phase: nobody writes; one sync each first, where the user confirms a valve
        # that stops (a folder emptied by its last deletion); then the engines settle and
        # an idle round writes nothing.
        for i in range(len(self.engines)):
            self.sync(i, racing=False)
        self.stats.syncs += settle(self.engines, self.options)
        check_idle(self.engines, self.options, self.wire_writes, self.describe)
        self.stats.syncs += 2
        self.check()
        return self.stats

    def check(self) -> None:
        remote = self.remote.view.contents()
        roots = [a.root for a in self.locals]
        check_converged(roots, remote, self.engines)
        check_no_version_lost(
            self.ledger,
            [tree(root) for root in roots]
            + [{n: d for n, (d, _e) in remote.items()}, self.remote.view.bin_contents()]
            + [local_bins(self.engines)],
        )
        check_confined(self.sandbox, {"a", "b"})

    def close(self) -> None:
        for engine in self.engines:
            engine.close()


def _record(stats: Stats, backend: str) -> None:
    count(f"seeds_{backend}")
    count("operations", stats.ops)
    count("syncs", stats.syncs)
    count("races", stats.races)


# ---- MemoryStore: many seeds quickly -------------------------------------------------------


def run_memory(seed: int, base: Path, steps: int = 40, workers: int = 1) -> Stats:
    shared = MemoryStore("shared", page_size=3)
    with seeded(seed, "memory"):
        model = Model(
            seed, base, lambda _name: shared, MemoryView(shared), lambda: shared.writes, workers
        )
        try:
            stats = model.run(steps)
        except BaseException:
            trace = base / "trace.txt"
            trace.write_text("\n".join(model.ledger.trace))
            print(f"\ntrace of seed {seed}: {trace}")
            raise
        finally:
            model.close()
    _record(stats, "memory")
    return stats


def test_randomized_memory_fast(tmp_path: Path) -> None:
    for seed in seeds(range(1, 101)):
        run_memory(seed, tmp_path / f"s{seed}", workers=1 if seed % 4 else 4)


@pytest.mark.long
@pytest.mark.timeout(3600)
def test_randomized_memory_long(tmp_path: Path) -> None:
    total = Stats()
    chosen = seeds(range(1000, 1600))
    for seed in chosen:
        s = run_memory(seed, tmp_path / f"s{seed}", steps=80, workers=1 if seed % 3 else 4)
        total.ops += s.ops
        total.syncs += s.syncs
        total.races += s.races
    print(
        f"\nmemory LONG: seeds={len(chosen)} ops={total.ops} syncs={total.syncs} races={total.races}"
    )


# ---- Azurite: the real thing, through the recording proxy ----------------------------------


def run_azurite(
    azurite: Any, seed: int, base: Path, container: str, steps: int, workers: int
) -> Stats:
    from azure.storage.blob import BlobServiceClient

    proxy = FaultProxy(azurite.port)
    sdk = BlobServiceClient.from_connection_string(azurite.connection_string)
    cc = sdk.get_container_client(container)
    cc.create_container()
    creds = from_key(proxy.endpoint, azurite.credentials.secret)

    def make_store(_name: str) -> AzureBlobStore:
        store = AzureBlobStore(
            creds, container, retry_policy=BoundedRetryPolicy(status_backoffs=(0.05, 0.1))
        )
        store.page_size = 4  # listings of several pages
        store.single_shot_max = 40  # longer contents go in staged blocks
        store.min_block_size = 16
        return store

    try:
        with seeded(seed, "azurite"):

            def describe(n: int) -> str:
                writes = [
                    f"{r.method} {r.path} -> {r.status}" for r in proxy.requests if r.is_write
                ]
                return "; ".join(writes[-n:])

            model = Model(seed, base, make_store, SdkView(cc), proxy.writes, workers, describe)
            try:
                stats = model.run(steps)
            finally:
                model.close()
            unconditional = proxy.unconditional_blob_writes()
            assert not unconditional, f"blob writes without a condition: {unconditional}"
    finally:
        proxy.close()
        sdk.close()
    _record(stats, "azurite")
    return stats


@pytest.mark.azurite
@pytest.mark.slow
def test_randomized_azurite_fast(azurite: Any, tmp_path: Path) -> None:
    for seed in seeds(range(1, 21)):
        run_azurite(
            azurite,
            seed,
            tmp_path / f"s{seed}",
            f"rnd{seed}x{uuid.uuid4().hex[:12]}",
            30,
            1 if seed % 3 else 4,
        )


@pytest.mark.azurite
@pytest.mark.long
@pytest.mark.timeout(7200)
def test_randomized_azurite_long(azurite: Any, tmp_path: Path) -> None:
    total = Stats()
    chosen = seeds(range(5000, 5200))
    for seed in chosen:
        name = f"rndl{seed}x{uuid.uuid4().hex[:12]}"
        s = run_azurite(azurite, seed, tmp_path / f"s{seed}", name, 60, 1 if seed % 3 else 4)
        total.ops += s.ops
        total.syncs += s.syncs
        total.races += s.races
    print(
        f"\nazurite LONG: seeds={len(chosen)} ops={total.ops} syncs={total.syncs} races={total.races}"
    )
