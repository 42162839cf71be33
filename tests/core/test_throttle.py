"""Bandwidth limits: the token bucket never lets more than its rate through."""

from __future__ import annotations

import io
import time

import pytest

from blobsync.core.engine.throttle import ThrottledReader, ThrottledWriter, TokenBucket


def test_reader_is_paced_to_the_rate():
    bucket = TokenBucket(256 * 1024)  # burst = 256 KiB
    reader = ThrottledReader(io.BytesIO(b"x" * (768 * 1024)), bucket)
    start = time.monotonic()
    while reader.read(64 * 1024):
        pass
    # 768 KiB at 256 KiB/s with a 256 KiB burst cannot take less than 2 s.
    assert time.monotonic() - start >= 1.9


def test_writer_passes_data_through():
    sink = io.BytesIO()
    ThrottledWriter(sink, TokenBucket(10 * 1024 * 1024)).write(b"abc")
    assert sink.getvalue() == b"abc"


def test_rate_must_be_positive():
    with pytest.raises(ValueError):
        TokenBucket(0)
