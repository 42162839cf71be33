"""Reliability suite plumbing: the LONG profile (``-m long``) is deselected unless the
marker expression asks for it, and the figures the suite exercised (seeds, operations,
syncs, races, crash points, faults, hostile inputs, files lost) are printed at the end."""

from __future__ import annotations

import pytest

from .harness import FIGURES


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "long" in (config.option.markexpr or ""):
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("long") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    order = [
        "seeds_memory",
        "seeds_azurite",
        "operations",
        "syncs",
        "races",
        "crash_points",
        "crash_runs",
        "faults_injected",
        "hostile_inputs",
        "planner_examples",
        "files_lost",
    ]
    for key in order + sorted(set(FIGURES) - set(order)):
        if key in FIGURES or key == "files_lost":
            terminalreporter.write_line(f"{key:>18}: {FIGURES[key]}")
