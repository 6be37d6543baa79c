"""The scale benchmark's plot: first-ingest seconds per 1,000 chunks against the index's size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evals.report import pyplot


def run_name(result: dict[str, Any]) -> str:
    """A run's corpus for a legend: its target size, or the real corpus it ingested."""
    if result.get("corpus", "synthetic") != "synthetic":
        return f"{result['corpus']} corpus"
    return f"{result['target_chunks']:,}-chunk run"


def plot_ingest(results: list[dict[str, Any]], path: Path) -> Path:
    """One line per run (store and target size): the cost of each stretch of the first ingest
    as the index grew, and a marker for the run's average over its whole first ingest."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    colours = {"embedded": "tab:blue", "server": "tab:orange"}
    for r in results:
        colour = colours.get(r["store"], "tab:gray")
        curve = r.get("ingest_curve") or []
        if curve:
            ax.plot(
                [p["chunks"] for p in curve],
                [p["seconds_per_1000_chunks"] for p in curve],
                color=colour,
                alpha=0.6,
                label=f"{r['store']}, {run_name(r)}",
            )
        if r["seconds_per_1000_chunks"] is not None:  # None: a kept index, nothing left to do
            ax.scatter([r["chunks"]], [r["seconds_per_1000_chunks"]], color=colour, marker="o")
    ax.set_xscale("log")
    ax.set_xlabel("chunks in the index")
    ax.set_ylabel("first ingest, s per 1,000 chunks")
    embedders = sorted({r.get("embedder", "hash") for r in results})
    ax.set_title(f"Ingest cost as the archive grows ({' / '.join(embedders)} embedder)")
    ax.grid(True, alpha=0.3)
    if any(r.get("ingest_curve") for r in results):
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
