"""Merge the three sorted streams (snapshot, local scan, remote listing) item by item.

Streaming keeps memory flat at any scale. Each stream must be in code-point order;
if one is not (a server that sorts differently), :class:`OutOfOrder` is raised and the
engine falls back to sorting in memory — a mis-merge could look like a deletion, so
we never guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar

from ..models import LocalEntry, RemoteEntry, SnapshotEntry


class _Keyed(Protocol):
    @property
    def rel_path(self) -> str: ...


K = TypeVar("K", bound=_Keyed)


class OutOfOrder(Exception):
    """A stream was not sorted by ``rel_path``."""


_END = "\U0010ffff" * 2  # sorts after any real path


def _checked(stream: Iterable[K], name: str) -> Iterator[K]:
    last: str | None = None
    for item in stream:
        key = item.rel_path
        if last is not None and key <= last:
            raise OutOfOrder(f"{name} stream not sorted at {key!r}")
        last = key
        yield item


def merge3(
    snapshot: Iterable[SnapshotEntry],
    local: Iterable[LocalEntry],
    remote: Iterable[RemoteEntry],
) -> Iterator[tuple[str, SnapshotEntry | None, LocalEntry | None, RemoteEntry | None]]:
    """Yield ``(rel_path, snap, local, remote)`` for every path present in any stream."""
    s_it = _checked(snapshot, "snapshot")
    l_it = _checked(local, "local")
    r_it = _checked(remote, "remote")
    s = next(s_it, None)
    lo = next(l_it, None)
    r = next(r_it, None)
    while s is not None or lo is not None or r is not None:
        key = min(
            s.rel_path if s is not None else _END,
            lo.rel_path if lo is not None else _END,
            r.rel_path if r is not None else _END,
        )
        cs = s if s is not None and s.rel_path == key else None
        cl = lo if lo is not None and lo.rel_path == key else None
        cr = r if r is not None and r.rel_path == key else None
        yield key, cs, cl, cr
        if cs is not None:
            s = next(s_it, None)
        if cl is not None:
            lo = next(l_it, None)
        if cr is not None:
            r = next(r_it, None)
