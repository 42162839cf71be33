"""Is this machine running on battery? (The change beacon is read less often then.)

Linux: the kernel's power-supply class (https://www.kernel.org/doc/html/latest/power/power_supply_class.html):
on battery when a ``Battery`` supply is present and discharging, or every ``Mains`` /
``USB`` supply reports ``online`` 0. Elsewhere ``psutil.sensors_battery()`` when psutil
is installed. A machine with no battery, or one that cannot be read, is never "on
battery". Answers are cached for a minute (the live loop asks every second).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

SYSFS = Path("/sys/class/power_supply")
CACHE_S = 60.0


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return ""


def on_battery_linux(root: Path = SYSFS) -> bool:
    """From the power-supply class under ``root``."""
    try:
        supplies = list(root.iterdir())
    except OSError:
        return False
    batteries = [s for s in supplies if _read(s / "type") == "Battery"]
    if not batteries:
        return False
    if any(_read(b / "status") == "Discharging" for b in batteries):
        return True
    mains = [s for s in supplies if _read(s / "type") in ("Mains", "USB")]
    return bool(mains) and all(_read(m / "online") == "0" for m in mains)


def _on_battery_psutil() -> bool:
    try:
        import psutil  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        return False
    try:
        battery = psutil.sensors_battery()
    except (AttributeError, OSError, RuntimeError):
        return False
    return battery is not None and not battery.power_plugged


def on_battery() -> bool:
    """This machine, now (uncached)."""
    if SYSFS.is_dir():
        return on_battery_linux()
    return _on_battery_psutil()


class PowerState:
    """``on_battery()`` cached for ``CACHE_S`` (injectable probe and clock for tests)."""

    def __init__(
        self,
        probe: Callable[[], bool] = on_battery,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe
        self._clock = clock
        self._value = False
        self._at: float | None = None

    def on_battery(self) -> bool:
        now = self._clock()
        if self._at is None or now - self._at >= CACHE_S:
            self._value, self._at = self._probe(), now
        return self._value
