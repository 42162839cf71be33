"""The results tables (medians, ratio to the best peer, client CPU, peak RSS, the raw
transfer ceiling) and ``bench/RESULTS.md``."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from .harness import BASELINE, PEERS, TOOLS, Run

WORKLOADS = {
    "W1": "first upload, 5,000 files of 1–16 KiB in 50 folders",
    "W2": "no-change re-sync of W1",
    "W3": "one file changed in W1",
    "W4": "first upload of one 256 MiB file",
    "W4d": "download of that 256 MiB file into an empty folder",
    "W5": "download of W1 into an empty folder",
    "W6": "no-change re-sync of 100,000 files",
}
#: Targets: the highest acceptable BlobSync / best-peer ratio.
PEER_TARGET = {"W1": 1.0, "W2": 0.75, "W3": 0.75, "W4": 1.0, "W4d": 1.0, "W5": 1.0, "W6": 1.0}
#: Workloads that must reach 90 % of the raw transfer ceiling (``ceiling`` key).
CEILING_TARGET = {"W4": "up", "W4d": "down"}
W6_RSS_MB = 250
W7_BYTES = 300


@dataclass
class Ceiling:
    """The fastest raw transfer measured for one direction, and the whole grid."""

    direction: str
    best_config: str
    seconds: float  # median wall time of the best configuration's child process
    transfer_s: float  # median in-process transfer time of the same
    cpu_s: float
    grid: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)


@dataclass
class Results:
    runs: dict[str, dict[str, list[Run]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    loads: list[str] = field(default_factory=list)
    ceilings: dict[str, Ceiling] = field(default_factory=dict)
    w7: dict[str, float] | None = None
    w7_control: dict[str, float] | None = None

    def add(self, workload: str, tool: str, run: Run) -> None:
        self.runs.setdefault(workload, {}).setdefault(tool, []).append(run)

    def tools(self) -> list[str]:
        seen = {t for by_tool in self.runs.values() for t in by_tool}
        return [t for t in (*TOOLS, BASELINE) if t in seen] + sorted(seen - set(TOOLS) - {BASELINE})

    def median(self, workload: str, tool: str) -> float | None:
        runs = self.runs.get(workload, {}).get(tool)
        return statistics.median(r.seconds for r in runs) if runs else None

    def cpu(self, workload: str, tool: str) -> float | None:
        runs = self.runs.get(workload, {}).get(tool)
        return statistics.median(r.cpu_s for r in runs) if runs else None

    def peak(self, workload: str, tool: str) -> float | None:
        runs = self.runs.get(workload, {}).get(tool)
        return max(r.rss_mb for r in runs) if runs else None

    def spread(self, workload: str, tool: str) -> float | None:
        """(max - min) / median of the runs: how noisy the figure is."""
        runs = self.runs.get(workload, {}).get(tool)
        if not runs or len(runs) < 2:
            return None
        values = [r.seconds for r in runs]
        return (max(values) - min(values)) / statistics.median(values)

    def best_peer(self, workload: str) -> tuple[str, float] | None:
        found = [(t, m) for t in PEERS if (m := self.median(workload, t)) is not None]
        return min(found, key=lambda tm: tm[1]) if found else None


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "–" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


def verdicts(res: Results) -> list[str]:
    """One line per target: met or missed, with the figure."""
    lines = []
    for w in WORKLOADS:
        if w not in res.runs:
            continue
        bs = res.median(w, "blobsync")
        best = res.best_peer(w)
        if bs is not None and best is not None:
            ratio = bs / best[1]
            ok = ratio <= PEER_TARGET[w]
            lines.append(
                f"{w} vs the best peer ({best[0]}): {ratio:.2f}× (target ≤ {PEER_TARGET[w]:.2f}×) — {'MET' if ok else 'MISSED'}"
            )
        direction = CEILING_TARGET.get(w)
        ceiling = res.ceilings.get(direction) if direction else None
        if bs is not None and ceiling is not None:
            share = ceiling.seconds / bs
            lines.append(
                f"{w} vs the raw {direction} ceiling ({ceiling.best_config}, {ceiling.seconds:.2f} s as a process): "
                f"{share:.0%} of its throughput (target ≥ 90 %) — {'MET' if share >= 0.9 else 'MISSED'}"
            )
        if w == "W6":
            rss = res.peak(w, "blobsync")
            if rss is not None:
                lines.append(
                    f"W6 peak RSS: {rss:.0f} MB (target ≤ {W6_RSS_MB} MB) — {'MET' if rss <= W6_RSS_MB else 'MISSED'}"
                )
    if res.w7 is not None:
        b = res.w7["bytes_per_item"]
        lines.append(
            f"W7: {b:.0f} bytes per item above baseline (target ≤ {W7_BYTES}) — {'MET' if b <= W7_BYTES else 'MISSED'}"
        )
    return lines


def table(res: Results) -> list[str]:
    """Markdown tables: wall medians with ratios, client CPU, peak RSS, spread, ceiling."""
    tools = res.tools()
    has_before = BASELINE in tools
    head = "| workload | " + " | ".join(f"{t} s" for t in tools) + " | best peer | BlobSync / best"
    head += " | before / best |" if has_before else " |"
    lines = [head, "|" + "---|" * (len(tools) + 3 + has_before)]
    for w in WORKLOADS:
        if w not in res.runs:
            continue
        best = res.best_peer(w)
        best_s = best[1] if best else None
        row = f"| {w} | " + " | ".join(_s(res.median(w, t)) for t in tools)
        row += f" | {best[0] if best else '–'} | **{_ratio(res.median(w, 'blobsync'), best_s)}**"
        if has_before:
            row += f" | {_ratio(res.median(w, BASELINE), best_s)}"
        lines.append(row + " |")
    sections = (
        ("Client CPU seconds (user + system of the contender's process, median):", res.cpu),
        ("Peak RSS MB (maximum over the runs):", res.peak),
        (
            "Spread of the wall times ((max − min) / median; above ~0.3 the median is noise-bound):",
            res.spread,
        ),
    )
    for title, value in sections:
        lines += ["", title, "", "| workload | " + " | ".join(tools) + " |"]
        lines.append("|" + "---|" * (len(tools) + 1))
        for w in WORKLOADS:
            if w in res.runs:
                cells = []
                for t in tools:
                    v = value(w, t)
                    cells.append(
                        "–" if v is None else (f"{v:.0f}" if value == res.peak else f"{v:.2f}")
                    )
                lines.append(f"| {w} | " + " | ".join(cells) + " |")
    if res.ceilings:
        lines += [
            "",
            "Raw transfer ceiling, 256 MiB (SDK, no hashing, no conditions, no state; "
            "wall = the child process, transfer = inside it; medians):",
            "",
        ]
        lines += [
            "| direction | configuration | wall s | transfer s | client CPU s |",
            "|---|---|---|---|---|",
        ]
        for c in res.ceilings.values():
            lines.append(
                f"| {c.direction} | {c.best_config} | {c.seconds:.2f} | {c.transfer_s:.2f} | {c.cpu_s:.2f} |"
            )
        for c in res.ceilings.values():
            lines += ["", f"Grid, {c.direction} (wall s, one run each unless repeated):", ""]
            lines.append(
                " · ".join(
                    f"{cfg} {statistics.median(x[0] for x in runs):.2f}"
                    for cfg, runs in sorted(
                        c.grid.items(), key=lambda kv: statistics.median(x[0] for x in kv[1])
                    )
                )
            )
    if res.w7 is not None:
        w7 = res.w7
        lines.append("")
        lines.append(
            f"W7 (engine only, {int(w7['items']):,} items a side, all in sync): baseline {w7['baseline_mb']:.0f} MB, "
            f"peak {w7['peak_mb']:.0f} MB → **{w7['bytes_per_item']:.0f} bytes per item**, {w7['seconds']:.1f} s"
        )
        if res.w7_control is not None:
            c = res.w7_control
            lines.append(
                f"(control: the three generated streams alone, no engine: {c['bytes_per_item']:.0f} bytes per item, {c['seconds']:.1f} s)"
            )
    return lines


#: RESULTS.md below this line is written by hand (how to read the runs, profiles, the
#: misses and why, the app, the recycle bins): a full run rewrites what is above it and
#: keeps it (:func:`with_kept_part`).
HAND_WRITTEN = "<!-- Written by hand below this line: python -m bench keeps it. -->"


def with_kept_part(generated: str, previous: str | None) -> str:
    """``generated`` followed by the hand-written part of ``previous`` (from the
    :data:`HAND_WRITTEN` line on), if it has one."""
    if previous is None or HAND_WRITTEN not in previous:
        return generated
    return generated.rstrip("\n") + "\n\n" + previous[previous.index(HAND_WRITTEN) :]


def markdown(res: Results, header: list[str], machine: list[str], versions: dict[str, str]) -> str:
    out = ["# Benchmark results", "", *header, "", "## Medians", ""]
    out += table(res)
    out += ["", "## Targets", ""] + [f"- {line}" for line in verdicts(res)]
    out += ["", "## Workloads", ""] + [f"- **{k}** {v}" for k, v in WORKLOADS.items()]
    out += ["- **W7** memory at scale: 1,000,000 local items, blobs and snapshot rows"]
    if res.loads:
        out += ["", "## Machine load during the run (`uptime`)", ""] + [f"- {x}" for x in res.loads]
    if res.notes:
        out += ["", "## Notes", ""] + [f"- {n}" for n in res.notes]
    out += [
        "",
        "## Machine",
        "",
        "```",
        *machine,
        *(f"{k}: {v}" for k, v in versions.items()),
        "```",
        "",
    ]
    return "\n".join(out)
