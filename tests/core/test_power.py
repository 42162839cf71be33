"""On battery, the change beacon is read at the idle interval (core/app/power.py)."""

from __future__ import annotations

from pathlib import Path

from blobsync.core.app.beacon import BeaconWatch
from blobsync.core.app.power import PowerState, on_battery_linux


def supply(root: Path, name: str, **fields: str) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    for key, value in fields.items():
        (folder / key).write_text(value + "\n")


def test_the_kernels_power_supplies_are_read(tmp_path: Path) -> None:
    desktop = tmp_path / "desktop"
    supply(desktop, "AC", type="Mains", online="1")
    assert on_battery_linux(desktop) is False  # no battery at all
    laptop = tmp_path / "laptop"
    supply(laptop, "AC", type="Mains", online="1")
    supply(laptop, "BAT0", type="Battery", status="Charging")
    assert on_battery_linux(laptop) is False
    (laptop / "AC" / "online").write_text("0\n")
    assert on_battery_linux(laptop) is True
    unplugged = tmp_path / "unplugged"
    supply(unplugged, "BAT0", type="Battery", status="Discharging")
    assert on_battery_linux(unplugged) is True
    assert on_battery_linux(tmp_path / "absent") is False


def test_on_battery_the_beacon_is_read_at_the_idle_interval() -> None:
    battery = [False]
    watch = BeaconWatch(5.0, 30.0, 600.0, now=0.0, on_battery=lambda: battery[0])
    assert watch.current_interval(1.0) == 5.0
    battery[0] = True
    assert watch.current_interval(1.0) == 30.0


def test_the_power_state_is_cached_for_a_minute() -> None:
    calls: list[int] = []
    now = [0.0]
    state = PowerState(probe=lambda: bool(calls.append(1)) or True, clock=lambda: now[0])
    assert state.on_battery() and state.on_battery() and len(calls) == 1
    now[0] = 61.0
    assert state.on_battery() and len(calls) == 2
