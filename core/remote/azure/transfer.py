"""Request bodies for uploads: a rewindable reader of exactly ``size`` bytes of a file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from ...errors import (
    Cancelled,
)
from ..base import CancelToken, ProgressCallback


class ExactReader:
    """Exactly ``size`` bytes of ``source`` from its current position, for a streamed
    Put Blob: more is cut, less is padded with zeros, so the request is always
    well-formed and a file that changed while it was read fails the service's
    Content-MD5 check (nothing is written). Rewindable for the retry policy; reports
    progress once per byte even when a retry re-reads; checks ``cancel`` on each read.
    """

    def __init__(
        self,
        source: BinaryIO,
        size: int,
        progress: ProgressCallback | None,
        cancel: CancelToken | None,
    ) -> None:
        self._source = source
        self._start = source.tell()
        self._size = size
        self._pos = 0
        self._reported = 0
        self._progress = progress
        self._cancel = cancel

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(256 * 1024):
            yield chunk

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = min(max(0, base + offset), self._size)
        self._source.seek(self._start + self._pos)
        return self._pos

    def reread(self) -> bytes:
        """The whole content again, in memory (only for a rare fallback)."""
        self.seek(0)
        return self.read()

    def read(self, n: int = -1) -> bytes:
        if self._cancel is not None and self._cancel.cancelled:
            raise Cancelled("The upload was cancelled.")
        left = self._size - self._pos
        if n < 0 or n > left:
            n = left
        data = self._source.read(n) if n else b""
        if len(data) < n:  # the file shrank: pad, the MD5 check will refuse it
            data += bytes(n - len(data))
        self._pos += n
        if self._progress is not None and self._pos > self._reported:
            self._progress(self._pos - self._reported)
            self._reported = self._pos
        return data
