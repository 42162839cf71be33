"""Desktop integration files: validators accept them, install-desktop.sh puts every file
where the XDG specs say, and the icons are what render_icons.py makes from the SVGs."""

from __future__ import annotations

import configparser
import os
import shutil
import struct
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "resources"
ICONS = RESOURCES / "icons"
APP_ID = "io.github.blobsync.BlobSync"
DESKTOP = RESOURCES / f"{APP_ID}.desktop"
METAINFO = RESOURCES / f"{APP_ID}.metainfo.xml"
INSTALL = ROOT / "packaging" / "linux" / "install-desktop.sh"
APP_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
TRAY_STATES = ("idle", "syncing", "paused", "offline", "error", "attention")
TRAY_SIZES = (16, 22, 24, 32, 48, 64)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def desktop_entry(path: Path) -> dict[str, str]:
    parser = configparser.RawConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    return dict(parser["Desktop Entry"])


def exec_argv(value: str) -> list[str]:
    """Split an Exec value the way the Desktop Entry spec says a launcher must."""
    # 1. string unescaping (\\ \s \n \t \r), 2. quoting rules, 3. %% -> %.
    unescaped = []
    i = 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            unescaped.append(
                {"s": " ", "n": "\n", "t": "\t", "r": "\r"}.get(value[i + 1], value[i + 1])
            )
            i += 2
        else:
            unescaped.append(value[i])
            i += 1
    text = "".join(unescaped)
    args: list[str] = []
    current: list[str] = []
    quoted = False
    i = 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\":
                assert i + 1 < len(text) and text[i + 1] in '"`$\\', f"bad escape in {value!r}"
                current.append(text[i + 1])
                i += 2
                continue
            assert ch not in "`$", f"unescaped {ch!r} inside quotes in {value!r}"
            if ch == '"':
                quoted = False
            else:
                current.append(ch)
        elif ch == '"':
            quoted = True
        elif ch == " ":
            if current:
                args.append("".join(current))
                current = []
        else:
            current.append(ch)
        i += 1
    assert not quoted, "unterminated quote in Exec"
    if current:
        args.append("".join(current))
    return [a.replace("%%", "%") for a in args]


# ---- validators ---------------------------------------------------------------------------


def test_desktop_file_validates() -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate is not installed (Debian: desktop-file-utils)")
    result = subprocess.run([tool, str(DESKTOP)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout.lower(), result.stdout


def test_metainfo_validates() -> None:
    tool = shutil.which("appstreamcli")
    if tool is None:
        pytest.skip("appstreamcli is not installed (Debian: appstream)")
    result = subprocess.run(
        [tool, "validate", "--no-net", str(METAINFO)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_names_agree_across_files() -> None:
    entry = desktop_entry(DESKTOP)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert entry["Exec"] in pyproject["project"]["gui-scripts"]
    assert entry["Icon"] == APP_ID
    assert entry["Categories"].rstrip(";").split(";") == ["Network", "FileTransfer", "Utility"]
    metainfo = METAINFO.read_text(encoding="utf-8")
    assert f"<id>{APP_ID}</id>" in metainfo
    assert f'<launchable type="desktop-id">{DESKTOP.name}</launchable>' in metainfo
    assert f'<release version="{pyproject["project"]["version"]}"' in metainfo


# ---- install-desktop.sh -------------------------------------------------------------------


def fake_launcher(folder: Path, name: str = "blobsync-gui") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    launcher = folder / name
    launcher.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    launcher.chmod(0o755)
    return launcher


def run_install(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(INSTALL), *args], env=env, capture_output=True, text=True, check=False
    )


def expected_paths(data_home: Path) -> list[Path]:
    paths = [
        data_home / "applications" / f"{APP_ID}.desktop",
        data_home / "metainfo" / f"{APP_ID}.metainfo.xml",
        data_home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg",
    ]
    paths += [
        data_home / "icons" / "hicolor" / f"{n}x{n}" / "apps" / f"{APP_ID}.png" for n in APP_SIZES
    ]
    return paths


def test_install_puts_every_file_in_place_and_uninstall_removes_them(tmp_path: Path) -> None:
    data_home = tmp_path / "data"
    launcher = fake_launcher(tmp_path / "bundle")
    env = {**os.environ, "XDG_DATA_HOME": str(data_home)}

    result = run_install("--exec", str(launcher), env=env)
    assert result.returncode == 0, result.stderr

    for path in expected_paths(data_home):
        assert path.is_file(), f"{path} was not installed"
    for n in APP_SIZES:
        installed = data_home / "icons" / "hicolor" / f"{n}x{n}" / "apps" / f"{APP_ID}.png"
        assert png_size(installed.read_bytes()) == (n, n)
        assert installed.read_bytes() == (ICONS / "png" / f"blobsync-{n}.png").read_bytes()
    installed_desktop = data_home / "applications" / f"{APP_ID}.desktop"
    entry = desktop_entry(installed_desktop)
    assert exec_argv(entry["Exec"]) == [str(launcher)]
    assert entry["TryExec"] == str(launcher)
    assert entry["Icon"] == APP_ID
    # Everything but Exec/TryExec is the resource file unchanged.
    source = desktop_entry(DESKTOP)
    assert {k: v for k, v in entry.items() if "Exec" not in k} == {
        k: v for k, v in source.items() if "Exec" not in k
    }
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(
            ["desktop-file-validate", str(installed_desktop)], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout

    result = run_install("--uninstall", env=env)
    assert result.returncode == 0, result.stderr
    for path in expected_paths(data_home):
        assert not path.exists(), f"{path} survived --uninstall"


def test_exec_with_spaces_and_special_characters_round_trips(tmp_path: Path) -> None:
    launcher = fake_launcher(tmp_path / 'My Apps "$HOME" `x` 100%', "blobsync\\gui")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    result = run_install("--exec", str(launcher), env=env)
    assert result.returncode == 0, result.stderr
    installed = tmp_path / "data" / "applications" / f"{APP_ID}.desktop"
    assert exec_argv(desktop_entry(installed)["Exec"]) == [str(launcher)]
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(
            ["desktop-file-validate", str(installed)], capture_output=True, text=True
        )
        assert check.returncode == 0, check.stdout


def test_default_data_home_is_home_local_share_and_relative_xdg_is_ignored(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    launcher = fake_launcher(tmp_path / "bin")
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": "relative/dir"}
    result = run_install("--exec", str(launcher), env=env)
    assert result.returncode == 0, result.stderr
    for path in expected_paths(home / ".local" / "share"):
        assert path.is_file(), f"{path} was not installed"
    assert not (tmp_path / "relative").exists()


def test_launcher_is_found_on_path_and_missing_launcher_fails(tmp_path: Path) -> None:
    data_home = tmp_path / "data"
    bin_dir = tmp_path / "bin"
    launcher = fake_launcher(bin_dir)
    # A copy of the script outside the checkout, so checkout candidates do not apply.
    script = tmp_path / "elsewhere" / "install-desktop.sh"
    script.parent.mkdir()
    shutil.copy2(INSTALL, script)
    base_env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(data_home)}

    env = {**base_env, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    result = subprocess.run(
        ["bash", str(script), "--resources", str(RESOURCES)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    entry = desktop_entry(data_home / "applications" / f"{APP_ID}.desktop")
    assert exec_argv(entry["Exec"]) == [str(launcher)]

    env = {**base_env, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        ["bash", str(script), "--resources", str(RESOURCES)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "cannot find blobsync-gui" in result.stderr


# ---- icons --------------------------------------------------------------------------------


def test_every_icon_size_exists() -> None:
    assert (ICONS / "blobsync.svg").is_file()
    for n in APP_SIZES:
        assert png_size((ICONS / "png" / f"blobsync-{n}.png").read_bytes()) == (n, n)
    for state in TRAY_STATES:
        assert (ICONS / f"tray-{state}.svg").is_file()
        for n in TRAY_SIZES:
            assert png_size((ICONS / "png" / f"tray-{state}-{n}.png").read_bytes()) == (n, n)


def test_ico_and_icns_hold_the_expected_sizes() -> None:
    ico = (ICONS / "blobsync.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind) == (0, 1)
    sizes = []
    for i in range(count):
        width, _h, _c, _r, _p, _bpp, length, offset = struct.unpack(
            "<BBBBHHII", ico[6 + 16 * i : 22 + 16 * i]
        )
        side = width or 256
        assert png_size(ico[offset : offset + length]) == (side, side)
        sizes.append(side)
    assert sizes == [16, 24, 32, 48, 64, 128, 256]

    icns = (ICONS / "blobsync.icns").read_bytes()
    assert icns[:4] == b"icns"
    assert struct.unpack(">I", icns[4:8])[0] == len(icns)
    found = {}
    pos = 8
    while pos < len(icns):
        kind_b, length = icns[pos : pos + 4], struct.unpack(">I", icns[pos + 4 : pos + 8])[0]
        found[kind_b] = png_size(icns[pos + 8 : pos + length])
        pos += length
    assert found == {
        b"icp4": (16, 16),
        b"icp5": (32, 32),
        b"icp6": (64, 64),
        b"ic07": (128, 128),
        b"ic08": (256, 256),
        b"ic09": (512, 512),
    }


@pytest.mark.gui
def test_generated_icons_are_reproduced_exactly_from_the_svgs() -> None:
    # A subprocess: the renderer makes its own QGuiApplication.
    result = subprocess.run(
        [sys.executable, str(ICONS / "render_icons.py"), "--check"],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.gui
def test_tray_states_look_different_at_22_px(qapp: object) -> None:
    from PySide6.QtGui import QImage

    colours = {}
    for state in TRAY_STATES:
        image = QImage(str(ICONS / "png" / f"tray-{state}-22.png"))
        assert not image.isNull()
        # The cloud's body colour, left of the glyph.
        colour = image.pixelColor(5, 15)
        assert colour.alpha() == 255, f"tray-{state}: the cloud does not fill the icon"
        colours[state] = (colour.red(), colour.green(), colour.blue())
    assert len(set(colours.values())) == len(TRAY_STATES), colours
