"""Deterministic test trees: the same seed always gives the same names, sizes and bytes.

Content is pseudo-random (so nothing compresses or deduplicates) but cheap to make: one
random pool is sliced at seeded offsets. Modification times are fixed too, so repeated
generations look identical to every tool.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

#: A fixed mtime (2024-01-02T03:04:05.123456789Z) so every generated tree is identical.
FIXED_MTIME_NS = 1_704_164_645_123_456_789
_POOL_SIZE = 4 * 1024 * 1024


def _pool(seed: int) -> bytes:
    return random.Random(seed).randbytes(_POOL_SIZE)


def small_tree(
    root: Path, files: int, folders: int, min_size: int, max_size: int, seed: int = 1
) -> int:
    """``files`` files of ``min_size``..``max_size`` bytes spread over ``folders`` folders
    (``d000/f00000.bin``...). Returns the total size in bytes."""
    rng = random.Random(seed)
    pool = _pool(seed)
    total = 0
    for d in range(folders):
        (root / f"d{d:03d}").mkdir(parents=True, exist_ok=True)
    for i in range(files):
        size = rng.randint(min_size, max_size)
        offset = rng.randrange(0, _POOL_SIZE - size)
        path = root / f"d{i % folders:03d}" / f"f{i:06d}.bin"
        with open(path, "wb") as fh:
            fh.write(pool[offset : offset + size])
        os.utime(path, ns=(FIXED_MTIME_NS, FIXED_MTIME_NS))
        total += size
    return total


def big_file(path: Path, size: int, seed: int = 2) -> None:
    """One file of ``size`` bytes (random 4 MiB pool repeated with a per-chunk twist)."""
    pool = _pool(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        written = 0
        n = 0
        while written < size:
            chunk = n.to_bytes(8, "little") + pool[8 : min(_POOL_SIZE, size - written)]
            fh.write(chunk[: size - written])
            written += len(chunk[: size - written])
            n += 1
    os.utime(path, ns=(FIXED_MTIME_NS, FIXED_MTIME_NS))


def change_one(root: Path, seed: int = 3) -> str:
    """Rewrite one file of a small tree with new content, a new size and the current
    time as mtime (AzCopy's sync uploads only files newer than the blob's
    Last-Modified); returns its relative path."""
    rel = "d007/f000007.bin"
    path = root / rel
    if not path.exists():  # a tiny --quick tree
        rel = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.bin"))[0]
        path = root / rel
    data = random.Random(seed).randbytes(path.stat().st_size + 100)
    path.write_bytes(data)
    return rel
