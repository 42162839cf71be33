"""The results table (medians, ratios, peak RSS) and ``bench/RESULTS.md``."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from .harness import TOOLS, Run

WORKLOADS = {
    "W1": "first upload, 5,000 files of 1–16 KiB in 50 folders",
    "W2": "no-change re-sync of W1",
    "W3": "one file changed in W1",
    "W4": "first upload of one 256 MiB file",
    "W5": "download of W1 into an empty folder",
    "W6": "no-change re-sync of 100,000 files",
}
#: Targets: the highest acceptable BlobSync/rclone ratio (both variants) and the
#: highest acceptable BlobSync/ceiling time ratio (1/0.9 = at least 90 % of its throughput).
RCLONE_TARGET = {"W1": 1.0, "W2": 0.75, "W3": 0.75, "W4": 1.0, "W5": 1.0, "W6": 1.0}
CEILING_TARGET = {"W1": 1 / 0.9, "W4": 1 / 0.9, "W5": 1 / 0.9}
W6_RSS_MB = 250
W7_BYTES = 300


@dataclass
class Results:
    runs: dict[str, dict[str, list[Run]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    w7: dict[str, float] | None = None
    w7_control: dict[str, float] | None = None

    def add(self, workload: str, tool: str, run: Run) -> None:
        self.runs.setdefault(workload, {}).setdefault(tool, []).append(run)

    def median(self, workload: str, tool: str) -> float | None:
        runs = self.runs.get(workload, {}).get(tool)
        return statistics.median(r.seconds for r in runs) if runs else None

    def cpu(self, workload: str, tool: str) -> float | None:
        runs = self.runs.get(workload, {}).get(tool)
        return statistics.median(r.cpu_s for r in runs) if runs else None

    def peak(self, workload: str, tool: str) -> float | None:
        runs = self.runs.get(workload, {}).get(tool)
        return max(r.rss_mb for r in runs) if runs else None


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
        for tool in ("rclone", "rclone-tuned"):
            other = res.median(w, tool)
            if bs is None or other is None:
                continue
            ratio = bs / other
            ok = ratio <= RCLONE_TARGET[w]
            lines.append(
                f"{w} vs {tool}: {ratio:.2f}× (target ≤ {RCLONE_TARGET[w]:.2f}×) — {'MET' if ok else 'MISSED'}"
            )
        ceiling = res.median(w, "sdk")
        if w in CEILING_TARGET and bs is not None and ceiling is not None:
            share = ceiling / bs
            ok = share >= 0.9
            lines.append(
                f"{w} vs SDK ceiling: {share:.0%} of its throughput (target ≥ 90 %) — {'MET' if ok else 'MISSED'}"
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
    """Markdown table of medians (seconds), ratios and peak RSS (MB)."""
    head = (
        "| workload | "
        + " | ".join(f"{t} s" for t in TOOLS)
        + " | BlobSync/rclone | BlobSync/rclone-tuned | BlobSync/ceiling | peak RSS MB ("
        + " / ".join(TOOLS)
        + ") | runs |"
    )
    lines = [head, "|" + "---|" * (len(TOOLS) + 6)]
    for w in WORKLOADS:
        if w not in res.runs:
            continue
        med = {t: res.median(w, t) for t in TOOLS}
        rss = " / ".join("–" if res.peak(w, t) is None else f"{res.peak(w, t):.0f}" for t in TOOLS)
        n = min((len(v) for v in res.runs[w].values()), default=0)
        lines.append(
            f"| {w} | "
            + " | ".join(_s(med[t]) for t in TOOLS)
            + f" | {_ratio(med['blobsync'], med['rclone'])} | {_ratio(med['blobsync'], med['rclone-tuned'])}"
            + f" | {_ratio(med['blobsync'], med['sdk'])} | {rss} | {n} |"
        )
    lines += ["", "Client CPU seconds (user + system of the contender's process, median):", ""]
    lines.append("| workload | " + " | ".join(TOOLS) + " |")
    lines.append("|" + "---|" * (len(TOOLS) + 1))
    for w in WORKLOADS:
        if w in res.runs:
            lines.append(f"| {w} | " + " | ".join(_s(res.cpu(w, t)) for t in TOOLS) + " |")
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


def markdown(res: Results, header: list[str], machine: list[str], versions: dict[str, str]) -> str:
    out = ["# Benchmark results", "", *header, "", "## Medians", ""]
    out += table(res)
    out += ["", "## Targets", ""] + [f"- {line}" for line in verdicts(res)]
    out += ["", "## Workloads", ""] + [f"- **{k}** {v}" for k, v in WORKLOADS.items()]
    out += ["- **W7** memory at scale: 1,000,000 local items, blobs and snapshot rows"]
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
