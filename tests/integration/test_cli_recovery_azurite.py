"""``blobsync history`` and ``blobsync undo`` end to end: the real command (subprocess)
on two "machines" (each its own XDG dirs: settings, state, history, installation id)
sharing one Azurite container. A folder deleted on B is undone on A: back on A, in the
container, and on B after its next sync."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from blobsync.core.app.emulator import Azurite

from .test_cli import blob_names

pytestmark = pytest.mark.azurite


class Machine:
    def __init__(self, name: str, tmp_path: Path, azurite: Azurite) -> None:
        self.name = name
        self.folder = tmp_path / f"folder-{name}"
        self.folder.mkdir()
        home = tmp_path / f"home-{name}"
        self.env = dict(os.environ)
        self.env["AZURE_STORAGE_CONNECTION_STRING"] = azurite.connection_string
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            self.env[var] = str(home / var.lower())
        assert self.run("config", "machine-name", name).returncode == 0

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "blobsync.core.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    def on(self, container: str, command: str, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(command, str(self.folder), container, *args)

    def sync(self, container: str) -> None:
        proc = self.on(container, "sync")
        assert proc.returncode == 0, proc.stderr

    def files(self) -> dict[str, str]:
        return {
            p.relative_to(self.folder).as_posix(): p.read_text()
            for p in sorted(self.folder.rglob("*"))
            if p.is_file()
        }


def test_history_names_the_deleting_machine_and_undo_brings_a_folder_back_everywhere(
    azurite: Azurite, container_name: str, tmp_path: Path
) -> None:
    a, b = Machine("laptop-a", tmp_path, azurite), Machine("desk-b", tmp_path, azurite)
    for rel in ("docs/plan.md", "docs/notes.txt", "one.txt", "two.txt", "three.txt"):
        path = a.folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"text of {rel}")
    a.sync(container_name)
    b.sync(container_name)
    for rel in ("docs/plan.md", "docs/notes.txt"):
        (b.folder / rel).unlink()
    (b.folder / "docs").rmdir()
    b.sync(container_name)
    a.sync(container_name)
    assert not (a.folder / "docs").exists()
    assert blob_names(azurite, container_name) == ["one.txt", "three.txt", "two.txt"]

    listed = a.on(container_name, "history", "--kind", "deletions", "--json")
    assert listed.returncode == 0, listed.stderr
    history: dict[str, Any] = json.loads(listed.stdout)
    changes = history["changes"]
    assert sorted(c["path"] for c in changes) == ["docs/notes.txt", "docs/plan.md"]
    assert {c["words"] for c in changes} == {"Deleted here: deleted on desk-b"}
    run_id = changes[0]["run_id"]
    assert [(r["run_id"], r["machine"]) for r in history["runs"]] == [(run_id, "laptop-a")]
    text = a.on(container_name, "history")
    assert text.returncode == 0 and "Deleted here: deleted on desk-b  docs/plan.md" in text.stdout

    dry = a.on(container_name, "undo", run_id, "--dry-run")
    assert (dry.returncode, dry.stdout) == (0, "2 files would be put back\n"), dry.stderr
    assert not (a.folder / "docs").exists()
    assert blob_names(azurite, container_name) == ["one.txt", "three.txt", "two.txt"]

    undo = a.on(container_name, "undo", run_id, "--json")
    assert undo.returncode == 0, undo.stderr
    result = json.loads(undo.stdout)
    assert sorted(result["restored"]) == ["docs/notes.txt", "docs/plan.md"]
    assert result["issues"] == [] and result["sync"]["uploaded"] == 2
    assert a.files()["docs/plan.md"] == "text of docs/plan.md"
    assert blob_names(azurite, container_name) == [
        "docs/notes.txt",
        "docs/plan.md",
        "one.txt",
        "three.txt",
        "two.txt",
    ]
    b.sync(container_name)
    assert b.files() == a.files()
    again = json.loads(a.on(container_name, "history", "--limit", "1", "--json").stdout)
    assert (again["runs"][0]["kind"], again["runs"][0]["undoes"]) == ("undo", run_id)
