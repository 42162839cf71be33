"""Azurite's ``--debug`` log read as requests: what a client really sent, and the answer.

Each request is logged with an id on several lines: ``RequestMethod=GET
RequestURL=http://127.0.0.1/devstoreaccount1/c/name?...`` when it arrives and
``End response. ... StatusCode=304`` when it is answered.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

_ARRIVED = re.compile(
    r" ([0-9a-f-]{36}) info: BlobStorageContextMiddleware: RequestMethod=(\w+) RequestURL=(\S+)"
)
_ANSWERED = re.compile(r" ([0-9a-f-]{36}) info: EndMiddleware: End response\. .*?StatusCode=(\d+)")


@dataclass(frozen=True)
class Request:
    method: str
    container: str
    blob: str  # "" for container-level requests
    query: str
    status: int

    @property
    def is_write(self) -> bool:
        return self.method in ("PUT", "DELETE")

    @property
    def is_listing(self) -> bool:
        return not self.blob and "comp=list" in self.query


class AzuriteLog:
    """Requests logged after :meth:`mark`, for one container."""

    def __init__(self, path: Path, container: str) -> None:
        self.path = path
        self.container = container
        self._offset = 0

    def mark(self) -> None:
        """From now on (what was logged so far is ignored)."""
        self._offset = self.path.stat().st_size

    def requests(self, settle_s: float = 5.0) -> list[Request]:
        """Everything logged since :meth:`mark`; waits (at most ``settle_s``) until each
        answer is in the log too: Azurite writes the log asynchronously."""
        deadline = time.monotonic() + settle_s
        while True:
            found = self._read()
            if all(r.status for r in found) or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def _read(self) -> list[Request]:
        with open(self.path, "rb") as fh:
            fh.seek(self._offset)
            text = fh.read().decode("utf-8", "replace")
        arrived: dict[str, tuple[str, str]] = {}
        order: list[str] = []
        status: dict[str, int] = {}
        for line in text.splitlines():
            m = _ARRIVED.search(line)
            if m:
                arrived[m.group(1)] = (m.group(2), m.group(3))
                order.append(m.group(1))
                continue
            m = _ANSWERED.search(line)
            if m:
                status[m.group(1)] = int(m.group(2))
        out = []
        for rid in order:
            method, url = arrived[rid]
            split = urlsplit(url)
            parts = split.path.split("/", 3)  # "", account, container, blob
            container = parts[2] if len(parts) > 2 else ""
            if container != self.container:
                continue
            blob = unquote(parts[3]) if len(parts) > 3 else ""
            out.append(Request(method, container, blob, split.query, status.get(rid, 0)))
        return out
