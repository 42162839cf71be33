"""Shared invariant checks and actors for the reliability suite.

The invariants (issue 6), each a function here so every test checks them the same way:

1. no version lost — :class:`Ledger` tracks every content any actor ever wrote (each one
   unique); an actor overwriting or deleting a content it *saw* discards it on purpose.
   At the end each remaining content must be somewhere: at its path or in a conflict
   copy, on either side (:func:`check_no_version_lost`);
2. no silent overwrite — every blob write on the wire carried If-Match/If-None-Match
   (:meth:`tests.reliability.faults.FaultProxy.unconditional_blob_writes`), local
   replaces are re-checked by the engine (exercised by the racing hooks);
3. convergence — after a quiet sync, folder == container == snapshot
   (:func:`check_converged`);
4. idempotence — a quiet re-sync performs zero writes (:func:`settle` then
   :func:`check_idle`);
5. crash safety — see ``test_crash.py`` (no partial file under a real name);
6. confinement — nothing appears in the sandbox next to the folders
   (:func:`check_confined`);
7. determinism — :func:`seeded` re-raises any failure with its seed and the command
   that replays it.

``FIGURES`` collects the numbers the issue asks for; ``conftest.py`` prints them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from blobsync.core.engine import SyncEngine, SyncOptions
from blobsync.core.local.scanner import TEMP_PREFIX
from blobsync.core.models import IssueKind, SyncResult
from blobsync.core.names import is_reserved

#: Figures reported at the end of the run (see conftest.py).
FIGURES: Counter[str] = Counter()
_FIG_LOCK = threading.Lock()


def count(name: str, n: int = 1) -> None:
    with _FIG_LOCK:
        FIGURES[name] += n


# ---- the ledger of versions ---------------------------------------------------------------


class Ledger:
    """Every content written by an actor, minus those an actor deliberately replaced."""

    def __init__(self) -> None:
        self.required: dict[bytes, str] = {}
        self.discarded = 0
        self._lock = threading.Lock()
        #: What every actor did, in order (printed when a run fails).
        self.trace: list[str] = []

    def note(self, line: str) -> None:
        with self._lock:
            self.trace.append(f"{threading.current_thread().name}: {line}")

    def wrote(self, content: bytes, label: str) -> None:
        with self._lock:
            self.required[content] = label

    def superseded(self, content: bytes | None) -> None:
        """An actor overwrote or deleted ``content`` after seeing it."""
        if content is None:
            return
        with self._lock:
            if self.required.pop(content, None) is not None:
                self.discarded += 1

    def lost(self, present: Iterable[bytes]) -> list[str]:
        seen = set(present)
        with self._lock:
            return sorted(label for content, label in self.required.items() if content not in seen)


# ---- actors -------------------------------------------------------------------------------


class LocalActor:
    """A user editing files in one folder; every change goes through the ledger."""

    def __init__(self, root: Path, ledger: Ledger, name: str) -> None:
        self.root = root
        self.ledger = ledger
        self.name = name

    def read(self, rel: str) -> bytes | None:
        try:
            return (self.root / rel).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def files(self) -> list[str]:
        return sorted(tree(self.root))

    def write(self, rel: str, data: bytes, label: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        old = self.read(rel)
        path.write_bytes(data)  # first: a write that fails supersedes nothing
        self.ledger.note(f"{self.name} write {rel} = {label} (was {_label(old)})")
        self.ledger.superseded(old)
        self.ledger.wrote(data, label)

    def delete(self, rel: str) -> None:
        old = self.read(rel)
        if old is None:
            return
        self.ledger.note(f"{self.name} delete {rel} (was {_label(old)})")
        self.ledger.superseded(old)
        (self.root / rel).unlink()

    def rename(self, src: str, dst: str) -> None:
        """Move ``src`` to a path that does not exist yet (nothing is superseded)."""
        target = self.root / dst
        assert not target.exists()
        target.parent.mkdir(parents=True, exist_ok=True)
        self.ledger.note(f"{self.name} rename {src} -> {dst}")
        os.rename(self.root / src, target)


class RemoteView(Protocol):
    """The container as another client sees it (raw SDK or MemoryStore hooks)."""

    def contents(self) -> dict[str, tuple[bytes, str]]: ...
    def read(self, name: str) -> bytes | None: ...
    def put(self, name: str, data: bytes) -> None: ...
    def delete(self, name: str) -> None: ...


class RemoteActor:
    """Another client writing to the container behind the engines' backs."""

    def __init__(self, view: RemoteView, ledger: Ledger) -> None:
        self.view = view
        self.ledger = ledger

    def files(self) -> list[str]:
        return sorted(self.view.contents())

    def write(self, name: str, data: bytes, label: str) -> None:
        old = self.view.read(name)
        self.ledger.note(f"R write {name} = {label} (was {_label(old)})")
        self.ledger.superseded(old)
        self.ledger.wrote(data, label)
        self.view.put(name, data)

    def delete(self, name: str) -> None:
        old = self.view.read(name)
        if old is None:
            return
        self.ledger.note(f"R delete {name} (was {_label(old)})")
        self.ledger.superseded(old)
        self.view.delete(name)


class MemoryView:
    """RemoteView over a MemoryStore (raw writes are not counted as engine writes)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def contents(self) -> dict[str, tuple[bytes, str]]:
        """The synced blobs (BlobSync's own ``.blobsync/`` space left out)."""
        out = {}
        for entry in self.store.list_blobs():
            if not is_reserved(entry.rel_path):
                out[entry.rel_path] = (self.store.content(entry.rel_path), entry.etag)
        return out

    def read(self, name: str) -> bytes | None:
        try:
            data: bytes = self.store.content(name)
            return data
        except Exception:
            return None

    def put(self, name: str, data: bytes) -> None:
        self.store.put_raw(name, data)

    def delete(self, name: str) -> None:
        with contextlib.suppress(Exception):
            self.store.remove_raw(name)


class SdkView:
    """RemoteView through the azure SDK straight to Azurite (not through any proxy)."""

    def __init__(self, container_client: Any) -> None:
        self.cc = container_client

    def contents(self) -> dict[str, tuple[bytes, str]]:
        """The synced blobs (BlobSync's own ``.blobsync/`` space left out)."""
        out = {}
        for blob in self.cc.list_blobs():
            if is_reserved(blob.name):
                continue
            data = self.cc.download_blob(blob.name).readall()
            out[blob.name] = (data, blob.etag)
        return out

    def read(self, name: str) -> bytes | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            data: bytes = self.cc.download_blob(name).readall()
            return data
        except ResourceNotFoundError:
            return None

    def put(self, name: str, data: bytes) -> None:
        self.cc.upload_blob(name, data, overwrite=True)

    def delete(self, name: str) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        with contextlib.suppress(ResourceNotFoundError):
            self.cc.delete_blob(name)


# ---- trees and checks ----------------------------------------------------------------------


def _label(data: bytes | None) -> str:
    return "-" if data is None else data.split(b"|", 1)[0].decode(errors="replace").strip()


def tree(root: Path) -> dict[str, bytes]:
    """Every regular file under ``root`` (relative POSIX path -> bytes)."""
    out: dict[str, bytes] = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            full = Path(dirpath) / name
            if full.is_symlink() or not full.is_file():
                continue
            out[full.relative_to(root).as_posix()] = full.read_bytes()
    return out


def md5(data: bytes) -> bytes:
    return hashlib.md5(data).digest()


def _unquote(etag: str) -> str:
    return etag.strip('"')


def check_converged(
    roots: list[Path], remote: dict[str, tuple[bytes, str]], engines: list[SyncEngine]
) -> None:
    """Folders == container == every engine's snapshot; no temp file left behind."""
    want = {name: data for name, (data, _etag) in remote.items()}
    for root in roots:
        have = tree(root)
        temps = [rel for rel in have if rel.rsplit("/", 1)[-1].startswith(TEMP_PREFIX)]
        assert not temps, f"temp files left in {root.name}: {temps}"
        if have != want:
            only_local = sorted(set(have) - set(want))
            only_remote = sorted(set(want) - set(have))
            differ = sorted(k for k in set(have) & set(want) if have[k] != want[k])
            raise AssertionError(
                f"{root.name} != container: only local {only_local}, only remote "
                f"{only_remote}, different {differ}"
            )
    for engine in engines:
        snap = {row.rel_path: row for row in engine.state.iter_snapshot()}
        assert sorted(snap) == sorted(want), (
            f"snapshot of {engine.local_root.name} != container: {sorted(set(snap) ^ set(want))}"
        )
        for name, (data, etag) in remote.items():
            row = snap[name]
            assert row.md5 == md5(data), f"snapshot md5 of {name} is stale"
            assert _unquote(row.etag) == _unquote(etag), f"snapshot etag of {name} is stale"
            st = os.lstat(engine.local_root / name)
            assert (row.size, row.mtime_ns) == (st.st_size, st.st_mtime_ns), (
                f"snapshot size/mtime of {name} is stale"
            )
        kinds = {issue.kind for issue in engine.pending_issues()}
        assert kinds <= {IssueKind.CONFLICT}, f"pending issues after a quiet sync: {kinds}"


def check_no_version_lost(ledger: Ledger, places: Iterable[dict[str, bytes]]) -> None:
    present: list[bytes] = []
    for place in places:
        present.extend(place.values())
    lost = ledger.lost(present)
    count("files_lost", len(lost))
    assert not lost, f"versions lost: {lost}"


def check_confined(sandbox: Path, allowed: set[str]) -> None:
    """Nothing but the sync folders appeared next to them."""
    extra = sorted(set(os.listdir(sandbox)) - allowed)
    assert not extra, f"written outside the sync folders: {extra}"


def settle(
    engines: list[SyncEngine], options: Callable[[SyncEngine], SyncOptions], max_rounds: int = 6
) -> int:
    """Sync every engine in turn until a whole round writes nothing; returns syncs run."""
    syncs = 0
    for _ in range(max_rounds):
        writes = 0
        for engine in engines:
            result = engine.sync(options(engine))
            syncs += 1
            writes += result.writes
        if writes == 0:
            return syncs
    raise AssertionError(f"no quiet round after {max_rounds} rounds: the engines do not converge")


def check_idle(
    engines: list[SyncEngine],
    options: Callable[[SyncEngine], SyncOptions],
    wire_writes: Callable[[], int],
    describe: Callable[[int], str] = lambda _n: "",
) -> list[SyncResult]:
    """One more round must perform zero writes, by the results and on the wire."""
    before = wire_writes()
    results = [engine.sync(options(engine)) for engine in engines]
    assert all(r.writes == 0 for r in results), [r.writes for r in results]
    extra = wire_writes() - before
    assert extra == 0, f"{extra} writes on an idle sync: {describe(extra)} {results}"
    return results


@contextlib.contextmanager
def seeded(seed: int, what: str) -> Iterator[None]:
    """Re-raise any failure with the seed that reproduces it."""
    try:
        yield
    except BaseException as exc:
        raise AssertionError(
            f"{what} failed for seed {seed}; reproduce with "
            f"RELIABILITY_SEED={seed} .venv/bin/pytest tests/reliability -m 'long or not long' "
            f"-k '{what}': {type(exc).__name__}: {exc}"
        ) from exc


def seeds(default: Iterable[int]) -> list[int]:
    """The seeds to run: ``RELIABILITY_SEED`` (``N`` or ``FIRST-LAST``) overrides ``default``."""
    chosen = os.environ.get("RELIABILITY_SEED", "").strip()
    if not chosen:
        return list(default)
    first, _, last = chosen.partition("-")
    return list(range(int(first), int(last or first) + 1))
