"""Command-line demo behind ``bash packaging/dev.sh run`` when the desktop app cannot start.

Used while ``blobsync.gui.app`` does not exist yet, or when there is no display. It
starts a local Azurite (``blobsync.core.app.emulator``), fills a demo folder with a few
files if it is empty, and syncs it with the container ``blobsync-demo`` through the
``blobsync`` CLI. The connection string (it holds Azurite's public development key)
reaches the CLI only through its environment, never a file or the terminal.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from platformdirs import user_data_dir

from blobsync.core.app.emulator import Azurite, find_azurite

DEMO_CONTAINER = "blobsync-demo"
DEMO_FILES = {
    "hello.txt": "Hello from BlobSync.\n",
    "notes/readme.md": "# Demo\n\nFiles in this folder are kept in sync with a container.\n",
    "notes/todo.txt": "- edit a file\n- run the demo again\n",
}


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dev.sh run", description=__doc__)
    default_dir = Path(user_data_dir("blobsync")) / "demo-folder"
    parser.add_argument(
        "folder", nargs="?", type=Path, default=default_dir, help=f"default: {default_dir}"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run one demo sync; the exit code is the CLI's (1 if there is nothing to run)."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    if find_azurite() is None:
        print("Azurite is not installed: run 'bash packaging/dev.sh setup'.", file=sys.stderr)
        return 1
    if importlib.util.find_spec("blobsync.core.cli") is None:
        print(
            "Neither the desktop app (blobsync.gui.app) nor the CLI (blobsync.core.cli.commands) "
            "exists yet in this checkout: nothing to demonstrate.",
            file=sys.stderr,
        )
        return 1
    folder: Path = args.folder
    folder.mkdir(parents=True, exist_ok=True)
    if not any(folder.iterdir()):
        for rel, text in DEMO_FILES.items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    data_dir = Path(user_data_dir("blobsync")) / "azurite-data"
    with Azurite(location=data_dir) as server:
        print(f"Azurite (local Azure Storage emulator) listening on {server.blob_endpoint}")
        print(f"Syncing {folder} <-> container '{DEMO_CONTAINER}':", flush=True)
        env = dict(os.environ, AZURE_STORAGE_CONNECTION_STRING=server.connection_string)
        script = Path(sys.executable).with_name("blobsync")  # the console script
        runner = [str(script)] if script.exists() else [sys.executable, "-m", "blobsync.core.cli"]
        cmd = [*runner, "sync", str(folder), DEMO_CONTAINER]
        code = subprocess.call(cmd, env=env)
    print(f"Done (exit {code}). Edit files in {folder} and run the demo again.")
    return code


if __name__ == "__main__":
    sys.exit(main())
