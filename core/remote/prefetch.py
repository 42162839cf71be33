"""Run a listing ahead of its consumer on a background thread.

The engine consumes the remote listing while it scans the folder, reads the snapshot
and plans; the listing itself mostly waits for the service (building a 5,000-blob
page takes Azurite longer than parsing it takes us). :func:`prefetched` lets the next
page be requested and parsed while the engine works on the current one. Entries come
out in the same order; an exception raised by the listing is raised to the consumer
at the same point of the stream (after every entry that preceded it), so a failed
listing is never mistaken for a short one. Closing the iterator early (or dropping it)
stops the thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

#: Entries handed over per queue item (a queue operation per entry would cost more
#: than the overlap gains).
CHUNK = 256
#: Chunks buffered ahead: bounds memory to about DEPTH * CHUNK entries.
DEPTH = 64

_DONE = object()


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetched(source: Iterator[T], chunk: int = CHUNK, depth: int = DEPTH) -> Iterator[T]:
    """Yield the items of ``source``, produced by a daemon thread up to ``depth`` chunks
    ahead. Raises whatever ``source`` raised, where it raised it."""
    handoff: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        batch: list[T] = []
        try:
            for item in source:
                batch.append(item)
                if len(batch) >= chunk:
                    if not put(batch):
                        return
                    batch = []
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            if batch and not put(batch):
                return
            put(_Failure(exc))
            return
        finally:
            if stop.is_set():
                close = getattr(source, "close", None)
                if close is not None:
                    close()
        if batch and not put(batch):
            return
        put(_DONE)

    worker = threading.Thread(target=produce, name="blobsync-listing", daemon=True)
    worker.start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield from item  # type: ignore[misc]
    finally:
        stop.set()
