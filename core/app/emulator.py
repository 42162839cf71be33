"""Start and stop a local Azurite (the official Azure Storage emulator), blob service only.

Used by the app's out-of-the-box mode (no Azure account configured), by the test
suite and by the benchmarks. Azurite is the npm package pinned in
``packaging/azurite/package.json``; ``packaging/dev.sh`` installs it. We run node on
Azurite's entry point directly so the PID we hold is the server (``npx`` would
leave an orphan), always with ``--disableTelemetry`` (otherwise it takes minutes to
exit offline) and ``--skipApiVersionCheck`` (the SDK speaks a newer API version).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..credentials import AZURITE_ACCOUNT, AZURITE_KEY, Credentials, SecretKind, azurite
from ..errors import ConfigError
from .settings import AccountConfig

_ENTRY = Path("node_modules/azurite/dist/src/blob/main.js")


def _candidate_dirs() -> list[Path]:
    dirs = []
    env = os.environ.get("BLOBSYNC_AZURITE_DIR")
    if env:
        dirs.append(Path(env))
    # A source checkout: <checkout>/core/app/emulator.py -> <checkout>/packaging/azurite
    dirs.append(Path(__file__).resolve().parents[2] / "packaging" / "azurite")
    from platformdirs import user_data_dir

    dirs.append(Path(user_data_dir("blobsync")) / "azurite")
    return dirs


def find_azurite() -> Path | None:
    """The path of Azurite's blob entry point, or None if it is not installed."""
    for base in _candidate_dirs():
        entry = base / _ENTRY
        if entry.is_file():
            return entry
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Azurite:
    """A running Azurite blob service on loopback. Use as a context manager."""

    port: int = 0
    location: Path | None = None
    in_memory: bool = False
    debug_log: Path | None = None
    host: str = "127.0.0.1"
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _tmpdir: str | None = field(default=None, repr=False)

    @property
    def credentials(self) -> Credentials:
        return azurite(self.port, self.host)

    @property
    def blob_endpoint(self) -> str:
        return f"http://{self.host}:{self.port}/devstoreaccount1"

    @property
    def connection_string(self) -> str:
        creds = self.credentials
        return (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={creds.secret};BlobEndpoint={self.blob_endpoint};"
        )

    def start(self, timeout: float = 30.0) -> Azurite:
        """Start the server and wait until its port answers. Raises ConfigError."""
        entry = find_azurite()
        node = shutil.which("node")
        if entry is None or node is None:
            raise ConfigError(
                "Azurite is not installed; run 'bash packaging/dev.sh setup' "
                "(it needs Node.js and npm)."
            )
        if not self.port:
            self.port = free_port(self.host)
        if self.location is None and not self.in_memory:
            self._tmpdir = tempfile.mkdtemp(prefix="blobsync-azurite-")
            self.location = Path(self._tmpdir)
        args = [
            node,
            str(entry),
            "--blobHost",
            self.host,
            "--blobPort",
            str(self.port),
            "--silent",
            "--disableTelemetry",
            "--skipApiVersionCheck",
        ]
        if self.in_memory:
            args.append("--inMemoryPersistence")
        else:
            assert self.location is not None
            self.location.mkdir(parents=True, exist_ok=True)
            args += ["--location", str(self.location)]
        if self.debug_log is not None:
            args += ["--debug", str(self.debug_log)]
        self._proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ConfigError(f"Azurite exited at start (code {self._proc.returncode}).")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise ConfigError(f"Azurite did not open port {self.port} within {timeout:.0f} s.")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, wait a bounded time, then SIGKILL; remove the temp data dir."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> Azurite:
        if not self.running:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---- the app's demo account ------------------------------------------------------------

#: The account the app creates itself for its bundled Azurite (published key, nothing
#: in the keyring). Its URL is re-pointed at the emulator's current port on every start;
#: the pair identity (:func:`blobsync.core.app.pairs.account_identity`) does not change.
DEMO_ACCOUNT_NAME = "Local emulator (Azurite)"
DEMO_CONTAINER = "blobsync-demo"


def demo_account(port: int, host: str = "127.0.0.1") -> AccountConfig:
    """The app-managed emulator account for an Azurite on ``host:port``."""
    return AccountConfig(
        name=DEMO_ACCOUNT_NAME,
        account_url=f"http://{host}:{port}/{AZURITE_ACCOUNT}",
        account_name=AZURITE_ACCOUNT,
        kind=SecretKind.ACCOUNT_KEY,
        has_secret=False,
    )


def demo_connection_string(account_url: str) -> str:
    """A connection string for the demo account (a second machine or the CLI can use it:
    the key is Azurite's published development key, not a secret)."""
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};"
        f"AccountKey={AZURITE_KEY};BlobEndpoint={account_url};"
    )
