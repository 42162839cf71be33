"""Shared fixtures: one Azurite per test session, a fresh container name per test,
isolated XDG dirs so nothing touches the real user's config."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

# Qt aborts without a display; Xvfb-based tests set DISPLAY and override this themselves.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from blobsync.core.app.emulator import Azurite


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """A real Azurite blob service on 127.0.0.1, started once per session.

    ``azurite.debug_log`` records every request (for counting writes).
    """
    base = tmp_path_factory.mktemp("azurite")
    server = Azurite(location=base / "data", debug_log=base / "debug.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def container_name() -> str:
    """A fresh, valid container name for one test."""
    return "t" + uuid.uuid4().hex[:20]


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point platformdirs (XDG) and HOME at the test's temp dir."""
    for var, sub in (
        ("XDG_CONFIG_HOME", "xdg-config"),
        ("XDG_DATA_HOME", "xdg-data"),
        ("XDG_CACHE_HOME", "xdg-cache"),
        ("XDG_STATE_HOME", "xdg-state"),
    ):
        target = tmp_path / sub
        target.mkdir(exist_ok=True)
        monkeypatch.setenv(var, str(target))
