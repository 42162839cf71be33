"""Bandwidth limits: one token bucket per direction, shared by all transfer threads.

Readers/writers wrap the file objects the store reads from or writes to; each call
takes tokens for the bytes it moves and sleeps when the bucket is empty, so the
average rate stays at the limit whatever the chunk sizes.
"""

from __future__ import annotations

import threading
import time
from typing import BinaryIO


class TokenBucket:
    """``rate`` bytes per second, with a burst of one second's worth (at least 64 KiB)."""

    def __init__(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.capacity = max(self.rate, 64 * 1024.0)
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self, nbytes: int) -> None:
        """Block until ``nbytes`` may pass."""
        while nbytes > 0:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
                self._stamp = now
                chunk = min(nbytes, int(self.capacity))
                if self._tokens >= chunk:
                    self._tokens -= chunk
                    nbytes -= chunk
                    continue
                wait = (chunk - self._tokens) / self.rate
            time.sleep(wait)


class ThrottledReader:
    """A read-only file wrapper that paces ``read`` through a bucket."""

    def __init__(self, fh: BinaryIO, bucket: TokenBucket) -> None:
        self._fh = fh
        self._bucket = bucket

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self._bucket.take(len(data))
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def fileno(self) -> int:
        return self._fh.fileno()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._fh.seekable()


class ThrottledWriter:
    """A write-only wrapper that paces ``write`` through a bucket."""

    def __init__(self, sink: BinaryIO, bucket: TokenBucket) -> None:
        self._sink = sink
        self._bucket = bucket

    def write(self, data: bytes) -> int:
        self._bucket.take(len(data))
        return self._sink.write(data)
