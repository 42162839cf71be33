"""The PyInstaller bundle works for someone with no Python: build it (or use the one in
``$BLOBSYNC_BUNDLE_DIR``), then run its two executables from a clean environment
(``env -i``-style: no venv, no PYTHONPATH, PATH=/usr/bin:/bin) against Azurite.

Building takes about 1.5 minutes on 2 cores. ``bash packaging/pyinstaller/build.sh --test``
builds into dist/ and runs this file on that bundle; ``-m "not bundle"`` leaves it out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import tomllib
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from blobsync.core.app.emulator import Azurite, find_azurite
from blobsync.core.credentials import AZURITE_KEY
from blobsync.core.remote.base import BEACON_BLOB

pytestmark = [pytest.mark.slow, pytest.mark.bundle, pytest.mark.azurite]

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
RUN_TIMEOUT = 120


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """The bundle folder (``.../BlobSync``), built once per module unless given."""
    given = os.environ.get("BLOBSYNC_BUNDLE_DIR")
    if given:
        path = Path(given)
        assert (path / "blobsync-gui").is_file(), f"no bundle in {path}"
        return path
    base = tmp_path_factory.mktemp("pyinstaller")
    env = {
        **os.environ,
        "BLOBSYNC_DIST_DIR": str(base / "dist"),
        "BLOBSYNC_BUILD_DIR": str(base / "work"),
    }
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(ROOT / "packaging" / "pyinstaller" / "build.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    took = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    path = base / "dist" / "BlobSync"
    size = subprocess.run(["du", "-sh", str(path)], capture_output=True, text=True).stdout
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print(f"\n[bundle] built in {took:.0f} s, size {size.split()[0]}")
    return path


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """What a desktop session would minimally give a program: no venv, no Python vars."""
    return {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        **extra,
    }


def run(argv: list[str | Path], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def filled_container(azurite: Azurite, container_name: str) -> str:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = service.create_container(container_name)
    container.upload_blob("one.txt", b"1")
    container.upload_blob("two/three.txt", b"333")
    return container_name


# ---- layout -------------------------------------------------------------------------------


def test_layout_two_executables_and_only_the_qt_parts_we_use(bundle: Path) -> None:
    for name in ("blobsync-gui", "blobsync", "install-desktop.sh"):
        assert os.access(bundle / name, os.X_OK), f"{name} missing or not executable"
    internal = bundle / "_internal"
    icons = internal / "blobsync" / "resources" / "icons"
    assert (icons / "blobsync.svg").is_file()
    assert (icons / "png" / "blobsync-256.png").is_file()
    assert (internal / "blobsync" / "resources" / "io.github.blobsync.BlobSync.desktop").is_file()

    plugins = internal / "PySide6" / "Qt" / "plugins"
    found = {p.relative_to(plugins).as_posix() for p in plugins.rglob("*.so")}
    for needed in (
        "platforms/libqxcb.so",
        "platforms/libqoffscreen.so",
        "platforms/libqwayland.so",
        "imageformats/libqsvg.so",
        "iconengines/libqsvgicon.so",
    ):
        assert needed in found
    kinds = {entry.split("/")[0] for entry in found}
    assert kinds <= {
        "platforms",
        "imageformats",
        "iconengines",
        "platformthemes",
        "platforminputcontexts",
        "xcbglintegrations",
        "wayland-shell-integration",
        "wayland-decoration-client",
    }, kinds
    assert {e.split("/")[1] for e in found if e.startswith("imageformats/")} == {"libqsvg.so"}

    names = {p.name for p in internal.rglob("*") if p.is_file() or p.is_symlink()}
    for unwanted in ("libQt6Qml.so.6", "libQt6Quick.so.6", "libQt6Pdf.so.6", "libgtk-3.so.0"):
        assert unwanted not in names, f"{unwanted} should not be bundled"
    dangling = [p for p in internal.rglob("*") if p.is_symlink() and not p.exists()]
    assert not dangling, dangling


# ---- running it from a clean environment --------------------------------------------------


def test_version(bundle: Path, home: Path, tmp_path: Path) -> None:
    for exe in ("blobsync-gui", "blobsync"):
        result = run([bundle / exe, "--version"], clean_env(home), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"blobsync {VERSION}"


def test_self_check_against_azurite(
    bundle: Path, home: Path, tmp_path: Path, azurite: Azurite, filled_container: str
) -> None:
    env = clean_env(home, AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string)
    started = time.monotonic()
    result = run(
        [bundle / "blobsync-gui", "--self-check", "--container", filled_container],
        env,
        cwd=tmp_path,
    )
    took = time.monotonic() - started
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert ", bundled)" in out  # the frozen interpreter, not a venv
    assert "platform 'offscreen'" in out
    assert "7 SVG icons render" in out
    assert "MainWindow opened and painted" in out
    assert f"'{filled_container}': 2 blob(s), 4 bytes" in out
    assert "Self-check passed" in out
    assert AZURITE_KEY not in out + result.stderr
    assert took < 60


def test_self_check_failure_is_one_sentence_and_non_zero(
    bundle: Path, home: Path, tmp_path: Path, azurite: Azurite
) -> None:
    wrong_key = "V3JvbmdLZXlXcm9uZ0tleVdyb25nS2V5V3JvbmdLZXk="
    conn = azurite.connection_string.replace(AZURITE_KEY, wrong_key)
    result = run(
        [bundle / "blobsync-gui", "--self-check"],
        clean_env(home, AZURE_STORAGE_CONNECTION_STRING=conn),
        cwd=tmp_path,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("Self-check FAILED: Authentication failed")
    assert wrong_key not in result.stdout + result.stderr


def test_self_check_with_its_own_azurite(bundle: Path, home: Path, tmp_path: Path) -> None:
    entry = find_azurite()
    node = shutil.which("node")
    if entry is None or node is None:
        pytest.skip("Azurite/node not installed (bash packaging/dev.sh setup)")
    azurite_dir = entry.parents[5]  # <dir>/node_modules/azurite/dist/src/blob/main.js
    env = clean_env(
        home,
        BLOBSYNC_AZURITE_DIR=str(azurite_dir),
        PATH=f"{Path(node).parent}:/usr/bin:/bin",
    )
    result = run([bundle / "blobsync-gui", "--self-check", "--azurite"], env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "azurite      started on port" in result.stdout


def test_cli_syncs_a_folder(
    bundle: Path, home: Path, tmp_path: Path, azurite: Azurite, container_name: str
) -> None:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    container = service.create_container(container_name)
    local = tmp_path / "folder"
    (local / "sub").mkdir(parents=True)
    (local / "a.txt").write_bytes(b"alpha")
    (local / "sub" / "b.txt").write_bytes(b"beta")

    env = clean_env(home, AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string)
    result = run([bundle / "blobsync", "sync", local, container_name], env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    blobs = {b.name: b.size for b in container.list_blobs()}
    assert blobs.pop(BEACON_BLOB) > 0  # the change beacon the run rewrote for other machines
    assert blobs == {"a.txt": 5, "sub/b.txt": 4}
    assert container.download_blob("sub/b.txt").readall() == b"beta"
    assert AZURITE_KEY not in result.stdout + result.stderr


def test_secret_service_keyring_backend_is_bundled(
    bundle: Path, home: Path, tmp_path: Path, azurite: Azurite
) -> None:
    runner = shutil.which("dbus-run-session")
    daemon = shutil.which("gnome-keyring-daemon")
    if runner is None or daemon is None:
        pytest.skip("dbus-run-session / gnome-keyring-daemon not installed")
    env = clean_env(home, AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string)
    # Unlock a fresh login keyring with a throwaway password (stdin only), then self-check.
    script = (
        f'"{daemon}" --unlock --components=secrets >/dev/null && '
        f'exec "{bundle / "blobsync-gui"}" --self-check'
    )
    result = subprocess.run(
        [runner, "--", "sh", "-c", script],
        input="throwaway-test-password",
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    keyring_line = next(line for line in result.stdout.splitlines() if "keyring" in line)
    assert "backend SecretService.Keyring" in keyring_line, keyring_line
