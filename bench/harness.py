"""Running the contenders as child processes, timing them and reading their peak RSS.

Each run is one child process under ``/usr/bin/time``: wall time around it, peak memory
(max RSS) and CPU time as ``time`` reads them from ``wait4`` for that process alone.
The account key only travels in child environments; AzCopy cannot read a SAS from the
environment, so its container SAS URL is on its command line and masked in the log.

Contenders: BlobSync (the CLI of this checkout), optionally ``blobsync-before`` (the
CLI of an earlier commit, unpacked by ``git archive``, for before/after in one run),
rclone 1.75 ``sync`` and ``bisync``, and AzCopy 10.32 ``sync``. rclone and AzCopy are
the pinned binaries ``bench/run.sh`` installs under ``.bench-tools/`` (gitignored).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from blobsync.core.app.emulator import Azurite

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
#: Where bench/run.sh installs the pinned peers (override with BLOBSYNC_BENCH_TOOLS).
BENCH_TOOLS = Path(os.environ.get("BLOBSYNC_BENCH_TOOLS", REPO / ".bench-tools"))
RCLONE = BENCH_TOOLS / "rclone-venv" / "bin" / "rclone"
AZCOPY = (
    BENCH_TOOLS
    / "azcopy"
    / "node_modules"
    / "@azure-tools"
    / "azcopy-linux"
    / "dist"
    / "bin"
    / "azcopy_linux_amd64"
)
RCLONE_VERSION = "1.75.2"
AZCOPY_VERSION = "10.32.2"

#: The contenders in the order of the first round; later rounds rotate it.
TOOLS = ("blobsync", "rclone", "rclone-bisync", "azcopy")
#: The peers BlobSync is measured against (the best of them per workload).
PEERS = ("rclone", "rclone-bisync", "azcopy")
BASELINE = "blobsync-before"
SDK_THREADS = 16
TIME = "/usr/bin/time"
_SIG_RE = re.compile(r"(?i)(sig=)[^&\s\"']+")


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
            _SIG_RE.sub(
                r"\1REDACTED",
                f"$ {' '.join(cmd)}\n{output}\n-> rc={proc.returncode} {seconds:.2f}s rss={rss_mb:.0f}MB cpu={cpu_s:.2f}s\n",
            )
        )
    return Run(seconds, rss_mb, proc.returncode, output, cpu_s)


class Contenders:
    """Commands and environments for BlobSync's CLI, rclone 1.75 (sync, bisync) and
    AzCopy 10.32 (sync); the SDK (bench.sdk_ceiling) only fills containers."""

    def __init__(
        self,
        azurite: Azurite,
        work: Path,
        workers: int | None = None,
        baseline: Path | None = None,
    ) -> None:
        self.azurite = azurite
        self.work = work
        self.workers = workers
        #: A folder holding ``blobsync/core`` of an earlier commit (``blobsync-before``).
        self.baseline = baseline
        self._bisynced: set[tuple[str, str]] = set()
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("RCLONE_", "AZURE_", "AZCOPY_"))
        }
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
            "AZCOPY_LOG_LOCATION": str(work / "azcopy-logs"),
            "AZCOPY_JOB_PLAN_LOCATION": str(work / "azcopy-plans"),
        }
        self.tools = list(TOOLS) + ([BASELINE] if baseline is not None else [])

    def _sas_url(self, container: str) -> str:
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        creds = self.azurite.credentials
        sas = generate_container_sas(
            "devstoreaccount1",
            container,
            account_key=creds.secret,
            permission=ContainerSasPermissions(
                read=True, add=True, create=True, write=True, delete=True, list=True
            ),
            expiry=datetime.now(UTC) + timedelta(hours=6),
        )
        return f"{self.azurite.blob_endpoint}/{container}?{sas}"

    def _blobsync(self, tool: str, op: str, local: Path, container: str) -> list[str]:
        cmd = [sys.executable, "-m", "blobsync.core.cli", "sync", str(local), container, "--json"]
        if op == "pull":
            cmd += ["--mode", "download"]
        workers = tool.removeprefix("blobsync-w") if tool.startswith("blobsync-w") else self.workers
        if workers:
            cmd += ["--workers", str(workers)]
        return cmd

    def command(self, tool: str, op: str, local: Path, container: str) -> list[str]:
        """``op``: ``push`` (folder -> container), ``pull`` (container -> empty folder) or
        ``big`` (push of a folder holding one large file)."""
        if tool.startswith("blobsync"):
            return self._blobsync(tool, op, local, container)
        if tool == "rclone":
            src, dst = (
                (f"az:{container}", str(local)) if op == "pull" else (str(local), f"az:{container}")
            )
            return [str(RCLONE), "sync", src, dst]
        if tool == "rclone-bisync":
            key = (str(local), container)
            cmd = [str(RCLONE), "bisync", str(local), f"az:{container}"]
            cmd += ["--workdir", str(self.work / "bisync-state")]
            if key not in self._bisynced:  # a first two-way run (no listings yet)
                cmd.append("--resync")
            return cmd
        if tool == "azcopy":
            url = self._sas_url(container)
            src, dst, direction = (
                (url, str(local), "BlobLocal") if op == "pull" else (str(local), url, "LocalBlob")
            )
            return [
                str(AZCOPY),
                "sync",
                src,
                dst,
                f"--from-to={direction}",
                "--delete-destination=true",
            ]
        if tool == "sdk":
            target = str(local)
            if op == "big":
                target = str(sorted(local.iterdir())[0])
            return [
                sys.executable,
                "-m",
                "bench.sdk_ceiling",
                op,
                target,
                container,
                "--threads",
                str(SDK_THREADS),
            ]
        raise ValueError(tool)

    def env_for(self, tool: str) -> dict[str, str]:
        if tool == BASELINE and self.baseline is not None:
            return {**self.env, "PYTHONPATH": str(self.baseline)}
        return self.env

    def run(self, tool: str, op: str, local: Path, container: str, log: Path) -> Run:
        """Run one contender once. Raises BenchError if it fails."""
        if tool in ("azcopy", "rclone-bisync") and op == "pull":
            local.mkdir(parents=True, exist_ok=True)  # they sync into an existing folder
        run = run_child(self.command(tool, op, local, container), self.env_for(tool), log)
        if run.code != 0:
            raise BenchError(
                f"{tool} {op} {container} exited with {run.code}: "
                + _SIG_RE.sub(r"\1REDACTED", run.output[-400:])
            )
        if tool == "rclone-bisync":
            self._bisynced.add((str(local), container))
        return run


def unpack_baseline(ref: str, into: Path) -> Path:
    """``core/`` of git ``ref`` as ``into/blobsync/core`` (a PYTHONPATH entry that wins
    over the editable install). Raises BenchError if git fails."""
    pkg = into / "blobsync"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""Baseline copy for the benchmark."""\n')
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref, "core"], capture_output=True, check=False
    )
    if archive.returncode != 0:
        raise BenchError(f"git archive {ref} failed: {archive.stderr.decode(errors='replace')}")
    subprocess.run(["tar", "-x", "-C", str(pkg)], input=archive.stdout, check=True)
    return into


def tool_versions() -> dict[str, str]:
    """Versions of everything that shapes the figures."""
    from importlib.metadata import version

    from blobsync.core.app.emulator import find_azurite

    versions = {"Python": sys.version.split()[0]}
    for package in ("azure-storage-blob", "azure-core", "blobsync"):
        versions[package] = version(package)
    rclone = subprocess.run([str(RCLONE), "version"], capture_output=True, text=True, check=False)
    versions["rclone"] = rclone.stdout.splitlines()[0] if rclone.stdout else "?"
    azcopy = subprocess.run([str(AZCOPY), "--version"], capture_output=True, text=True, check=False)
    versions["AzCopy"] = azcopy.stdout.strip() or "?"
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
