"""bench/RESULTS.md: a full benchmark run rewrites the generated figures at the top and
keeps what was written by hand below the marker line (it used to be overwritten whole,
and the reading of the runs had to be merged back by hand)."""

from __future__ import annotations

from bench.report import HAND_WRITTEN, with_kept_part


def test_a_full_run_keeps_the_hand_written_part() -> None:
    previous = f"# Benchmark results\n\nold figures\n\n{HAND_WRITTEN}\n\n## How to read\n\nmine\n"
    out = with_kept_part("# Benchmark results\n\nnew figures\n", previous)
    assert (
        out == f"# Benchmark results\n\nnew figures\n\n{HAND_WRITTEN}\n\n## How to read\n\nmine\n"
    )
    assert with_kept_part(out.split(HAND_WRITTEN)[0], out) == out  # stable run after run


def test_without_a_marker_only_the_figures_are_written() -> None:
    assert with_kept_part("# new\n", None) == "# new\n"
    assert with_kept_part("# new\n", "# old, all generated\n") == "# new\n"


def test_the_checked_in_results_have_the_marker() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "bench" / "RESULTS.md").read_text("utf-8")
    assert text.count(HAND_WRITTEN) == 1
