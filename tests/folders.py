"""Writing files into a test's folder and reading a folder back as a dict: the two
helpers nearly every engine test needs. Importable as ``folders`` because ``tests/`` is
on ``sys.path`` (the root conftest)."""

from __future__ import annotations

import os
from pathlib import Path


def write(root: Path, rel: str, data: bytes | str, mtime_ns: int | None = None) -> Path:
    """``data`` at ``root/rel`` (folders made as needed), with ``mtime_ns`` if given."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root``: relative POSIX path -> content."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            full = Path(dirpath) / name
            out[full.relative_to(root).as_posix()] = full.read_bytes()
    return out
