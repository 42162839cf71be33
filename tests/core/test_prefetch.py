"""The listing prefetcher keeps order, re-raises failures in place and stops its thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from blobsync.core.errors import ListingError
from blobsync.core.remote.prefetch import prefetched


def _threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "blobsync-listing")


def test_same_items_in_the_same_order() -> None:
    assert list(prefetched(iter(range(10_007)), chunk=100, depth=3)) == list(range(10_007))
    assert list(prefetched(iter([]))) == []


def test_a_failure_comes_after_every_item_before_it() -> None:
    def listing() -> Iterator[int]:
        yield from range(250)
        raise ListingError("page 2 failed")

    it = prefetched(listing(), chunk=100)
    seen = [next(it) for _ in range(250)]
    assert seen == list(range(250))
    with pytest.raises(ListingError, match="page 2 failed"):
        next(it)


def test_runs_ahead_of_a_slow_consumer() -> None:
    produced: list[int] = []

    def listing() -> Iterator[int]:
        for i in range(1000):
            produced.append(i)
            yield i

    it = prefetched(listing(), chunk=10, depth=5)
    assert next(it) == 0
    deadline = time.monotonic() + 5
    while len(produced) < 60 and time.monotonic() < deadline:
        time.sleep(0.01)
    # bounded: the queue (5 chunks) + the chunk being handed over + one being filled
    time.sleep(0.2)
    assert 50 <= len(produced) <= 80
    assert list(it) == list(range(1, 1000))


def test_closing_early_stops_the_thread_and_the_source() -> None:
    closed = threading.Event()

    def listing() -> Iterator[int]:
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    before = _threads()
    it = prefetched(listing(), chunk=10, depth=2)
    assert next(it) == 0
    it.close()
    assert closed.wait(5)
    deadline = time.monotonic() + 5
    while _threads() > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _threads() == before
