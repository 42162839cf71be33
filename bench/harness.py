"""Running the contenders as child processes, timing them and reading their peak RSS.

Each run is one child process under ``/usr/bin/time``: wall time around it, peak memory
(max RSS) as ``time`` reads it from ``wait4`` for that process alone. Secrets only travel
in child environments (never on a command line, in a file or in the results).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from blobsync.core.app.emulator import Azurite

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

#: The contenders in the order of the first round; later rounds rotate it.
TOOLS = ("blobsync", "rclone", "rclone-tuned", "sdk")
#: BlobSync's parallel transfers in the benchmark (the CLI's default unless overridden).
RCLONE_TUNED = ["--transfers", "32", "--checkers", "32"]
SDK_THREADS = 16
TIME = "/usr/bin/time"


@dataclass
class Run:
    """One timed child process."""

    seconds: float
    rss_mb: float
    code: int
    output: str
    cpu_s: float = 0.0  # the contender's own CPU time (user + system)


class BenchError(Exception):
    """A contender failed or produced a wrong result; the run is not counted."""


def run_child(cmd: Sequence[str], env: dict[str, str], log: Path, timeout: float = 1800.0) -> Run:
    """Run ``cmd``, returning its wall time, peak RSS and output (also appended to ``log``).

    The peak comes from ``/usr/bin/time``, which forks the command itself: Linux carries
    a process's RSS high-water mark across fork + exec, so a child forked straight from
    this (large) Python process would report at least our own RSS.
    """
    rss_file = log.with_suffix(".rss")
    full = [TIME, "-f", "%M %U %S", "-o", str(rss_file), *cmd]
    started = time.perf_counter()
    proc = subprocess.run(
        full,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
        timeout=timeout,
        check=False,
    )
    seconds = time.perf_counter() - started
    output = proc.stdout.decode(errors="replace")
    try:
        rss_kb, user_s, sys_s = rss_file.read_text().split()[-3:]
        rss_mb, cpu_s = int(rss_kb) / 1024, float(user_s) + float(sys_s)
    except (OSError, ValueError):
        rss_mb = cpu_s = float("nan")
    rss_file.unlink(missing_ok=True)
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(
            f"$ {' '.join(cmd)}\n{output}\n-> rc={proc.returncode} {seconds:.2f}s rss={rss_mb:.0f}MB cpu={cpu_s:.2f}s\n"
        )
    return Run(seconds, rss_mb, proc.returncode, output, cpu_s)


class Contenders:
    """Commands and environments for BlobSync's CLI, rclone (two variants) and the SDK."""

    def __init__(self, azurite: Azurite, work: Path, workers: int | None = None) -> None:
        self.azurite = azurite
        self.work = work
        self.workers = workers
        base = {k: v for k, v in os.environ.items() if not k.startswith(("RCLONE_", "AZURE_"))}
        self.env = {
            **base,
            "AZURE_STORAGE_CONNECTION_STRING": azurite.connection_string,
            "XDG_DATA_HOME": str(work / "xdg-data"),
            "XDG_CONFIG_HOME": str(work / "xdg-config"),
            "XDG_STATE_HOME": str(work / "xdg-state"),
            "XDG_CACHE_HOME": str(work / "xdg-cache"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "RCLONE_CONFIG": "/dev/null",
            "RCLONE_CONFIG_AZ_TYPE": "azureblob",
            "RCLONE_CONFIG_AZ_USE_EMULATOR": "true",
            "RCLONE_CONFIG_AZ_ENDPOINT": azurite.blob_endpoint,
        }

    def command(self, tool: str, op: str, local: Path, container: str) -> list[str]:
        """``op``: ``push`` (folder -> container), ``pull`` (container -> empty folder) or
        ``big`` (push of a folder holding one large file)."""
        if tool == "blobsync" or tool.startswith("blobsync-w"):
            cmd = [str(VENV_BIN / "blobsync"), "sync", str(local), container, "--json"]
            if op == "pull":
                cmd += ["--mode", "download"]
            workers = tool.removeprefix("blobsync-w") if tool != "blobsync" else self.workers
            if workers:
                cmd += ["--workers", str(workers)]
            return cmd
        if tool.startswith("rclone"):
            extra = RCLONE_TUNED if tool == "rclone-tuned" else []
            src, dst = (
                (f"az:{container}", str(local)) if op == "pull" else (str(local), f"az:{container}")
            )
            return ["rclone", "sync", src, dst, *extra]
        if tool == "sdk":
            sdk_op = op
            target = str(local)
            if op == "big":
                files = sorted(local.iterdir())
                target = str(files[0])
            return [
                sys.executable,
                "-m",
                "bench.sdk_ceiling",
                sdk_op,
                target,
                container,
                "--threads",
                str(SDK_THREADS),
            ]
        raise ValueError(tool)

    def run(self, tool: str, op: str, local: Path, container: str, log: Path) -> Run:
        run = run_child(self.command(tool, op, local, container), self.env, log)
        if run.code != 0:
            raise BenchError(f"{tool} {op} {container} exited with {run.code}: {run.output[-400:]}")
        return run


def tool_versions() -> dict[str, str]:
    """Versions of everything that shapes the figures."""
    from importlib.metadata import version

    from blobsync.core.app.emulator import find_azurite

    versions = {"Python": sys.version.split()[0]}
    for package in ("azure-storage-blob", "azure-core", "blobsync"):
        versions[package] = version(package)
    rclone = subprocess.run(["rclone", "version"], capture_output=True, text=True, check=False)
    versions["rclone"] = rclone.stdout.splitlines()[0] if rclone.stdout else "?"
    entry = find_azurite()
    if entry is not None:
        pkg = entry.parents[3] / "package.json"
        import json

        versions["Azurite"] = json.loads(pkg.read_text())["version"]
    node = shutil.which("node")
    if node:
        versions["Node.js"] = subprocess.run(
            [node, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    return versions


def machine() -> list[str]:
    """A few lines describing this machine (CPU, memory, kernel)."""
    lines = []
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    for line in lscpu.splitlines():
        if line.split(":")[0].strip() in (
            "Architecture",
            "CPU(s)",
            "Model name",
            "Thread(s) per core",
            "CPU MHz",
            "L3 cache",
        ):
            lines.append(" ".join(line.split()))
    with open("/proc/meminfo", encoding="ascii") as fh:
        lines.append(" ".join(fh.readline().split()))
    lines.append("Kernel: " + " ".join(os.uname()[2:4]))
    return lines
