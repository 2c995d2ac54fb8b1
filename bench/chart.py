"""Draw bench/results/results.png from results.json (runs in the peers' environment, which has
matplotlib: ``bench/.peers/venv/bin/python -m bench.chart bench/results/results.json``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ORDER = ("ours", "dtdb", "procrastinate", "raw", "raw10")
COLOURS = {
    "ours": "#2b7a3d",
    "dtdb": "#9a9a9a",
    "procrastinate": "#c77c2a",
    "raw": "#3b6ea8",
    "raw10": "#8fb3de",
}


def main(path: str) -> None:
    results = json.loads(Path(path).read_text())
    names = results["systems"]
    systems = [key for key in ORDER if key in names]
    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5))
    fig.suptitle(
        "Job queues on one PostgreSQL, one run, same machine "
        f"({results['meta'].get('cores')} cores, {results['meta'].get('date')})"
    )

    ax = axes[0][0]
    drain = results.get("drain", {})
    counts = list(next(iter(drain.values()), {}).keys()) if drain else []
    width = 0.8 / max(1, len(systems))
    for index, key in enumerate(systems):
        values = [drain.get(key, {}).get(c, {}).get("jobs_per_second") or 0 for c in counts]
        xs = [i + index * width for i in range(len(counts))]
        bars = ax.bar(xs, values, width, label=names[key], color=COLOURS[key])
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.set_xticks([i + width * (len(systems) - 1) / 2 for i in range(len(counts))])
    ax.set_xticklabels([f"{c} process{'es' if c != '1' else ''}" for c in counts])
    ax.set_title("Drain 'noop' jobs (jobs/s, higher is better)")
    ax.legend(fontsize=8)

    ax = axes[0][1]
    io = results.get("io", {})
    keys = [k for k in systems if k in io]
    bars = ax.bar(
        [names[k] for k in keys],
        [io[k]["jobs_per_second"] for k in keys],
        color=[COLOURS[k] for k in keys],
    )
    ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_title("I/O-bound: 200 ms HTTP call, 1 process (jobs/s)")

    ax = axes[1][0]
    latency = results.get("latency", {})
    keys = [k for k in systems if k in latency]
    xs = range(len(keys))
    if not keys:
        ax.set_visible(False)
    p50 = [latency[k]["p50_ms"] for k in keys]
    p99 = [latency[k]["p99_ms"] for k in keys]
    bars = ax.bar([x - 0.2 for x in xs], p50, 0.4, label="p50", color="#555")
    ax.bar_label(bars, fmt="%.1f", fontsize=8)
    bars = ax.bar([x + 0.2 for x in xs], p99, 0.4, label="p99", color="#bbb")
    ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_xticks(list(xs))
    ax.set_xticklabels([names[k] for k in keys])
    if keys:
        ax.set_yscale("log")
    ax.set_title("Latency, commit to start (ms, log scale, lower is better)")
    ax.legend(fontsize=8)

    ax = axes[1][1]
    steps = results.get("claim") or []
    if steps:
        ax.plot(
            [s["rows"] for s in steps],
            [s["execution_ms"] for s in steps],
            marker="o",
            label="execution in PostgreSQL",
            color=COLOURS["ours"],
        )
        ax.plot(
            [s["rows"] for s in steps],
            [s["median_ms"] for s in steps],
            marker="s",
            label="claim() call incl. commit, median",
            color="#777",
        )
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
    ax.set_title("Our claim of 10 jobs as the table grows (ms)")
    ax.set_xlabel("jobs in the table")

    fig.tight_layout()
    fig.savefig(Path(path).with_name("results.png"), dpi=110)


if __name__ == "__main__":
    main(sys.argv[1])
