"""The Markdown report of an eval run, with its plots (matplotlib, Agg backend: no display)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evals.registry import HEADLINE, format_value, show

PLOTS = {
    "by_type": "by_type.png",
    "latency": "latency.png",
    "recall": "recall_at_k.png",
}


def pyplot():  # noqa: ANN201 - matplotlib is imported lazily and headless
    """matplotlib.pyplot on the Agg backend (no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_by_type(doc: dict[str, Any], path: Path) -> None:
    """Per-question-type accuracy (answer runs) or hit@5 (retrieval-only runs)."""
    plt = pyplot()
    types = doc["per_type"]
    answer_run = any(v.get("correct") is not None for v in types.values())
    key = "correct" if answer_run else "hit_at_5"
    names = [n for n in sorted(types) if types[n].get(key) is not None]  # no gold: no hit@5
    values = [types[n][key] for n in names]
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(names) + 2), 3.6))
    bars = ax.bar(names, values, color="#3b6ea5")
    for bar, n in zip(bars, names, strict=True):
        ax.annotate(
            f"{bar.get_height():.2f}\n(n={types[n]['n']})",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_ylim(0, 1.18)
    ax.set_ylabel("share correct" if answer_run else "hit@5")
    ax.set_title(
        "Correct by question type (abstaining counts as correct when unanswerable)"
        if answer_run
        else "Retrieval hit@5 by question type",
        fontsize=10,
    )
    ax.tick_params(axis="x", labelrotation=20, labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latency(doc: dict[str, Any], path: Path) -> None:
    """Histogram of answer time and time to first token, or of retrieval time."""
    plt = pyplot()
    items = [r for r in doc["items"] if r.get("error") is None]
    series: list[tuple[str, list[float]]] = []
    totals = [r["seconds"] for r in items if r.get("seconds") is not None]
    if totals:
        series.append(("full answer", totals))
        firsts = [r["ttft"] for r in items if r.get("ttft") is not None]
        if firsts:
            series.append(("first token", firsts))
    else:
        series.append(
            ("retrieval", [r["retrieve_seconds"] for r in items if "retrieve_seconds" in r])
        )
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for label, values in series:
        if values:
            ax.hist(values, bins=min(30, max(5, len(values) // 3)), alpha=0.6, label=label)
    ax.set_xlabel("seconds")
    ax.set_ylabel("questions")
    ax.set_title("Latency distribution", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_recall(doc: dict[str, Any], path: Path) -> None:
    """recall@k and hit@k for k = 1..10, for the answer chain's retriever and plain search."""
    plt = pyplot()
    c = doc["curves"]
    ks = list(range(1, len(c["recall_at_k"]) + 1))
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for key, label, style in (
        ("recall_at_k", "recall@k (retriever)", "-o"),
        ("hit_at_k", "hit@k (retriever)", "-s"),
        ("search_recall_at_k", "recall@k (plain search)", "--o"),
        ("search_hit_at_k", "hit@k (plain search)", "--s"),
    ):
        values = [v if v is not None else float("nan") for v in c.get(key, [])]
        if values:
            ax.plot(ks, values, style, label=label, markersize=4)
    ax.set_xticks(ks)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("k (articles)")
    ax.set_title("Gold articles retrieved in the top k", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _misses(doc: dict[str, Any], limit: int = 15) -> list[tuple[str, ...]]:
    rows = []
    for r in doc["items"]:
        if r.get("error"):
            rows.append((r["id"], r["type"], "error", r["error"][:120]))
        elif "response" in r and r["crag"] != 1:
            what = "abstained" if r["abstained"] else "wrong"
            text = " ".join(str(r["response"]).split())[:120].replace("|", "/")
            rows.append((r["id"], r["type"], what, text))
        elif "response" not in r and r.get("gold_ids") and r.get("hit_at_5") == 0.0:
            rows.append((r["id"], r["type"], "gold not in top 5", r["question"][:120]))
        if len(rows) == limit:
            break
    return rows


def write_report(doc: dict[str, Any], run_dir: Path) -> Path:
    """Plots next to ``report.md``; returns the report's path."""
    plot_by_type(doc, run_dir / PLOTS["by_type"])
    plot_latency(doc, run_dir / PLOTS["latency"])
    plot_recall(doc, run_dir / PLOTS["recall"])
    agg = doc["aggregate"]
    ds = doc["dataset"]
    models = doc["models"]
    lines = [
        f"# Eval report: {doc['suite']}",
        "",
        _table(
            [
                ("date", doc["date"]),
                ("git commit", doc["git_commit"]),
                ("dataset", f"`{ds['path']}` ({ds['format']}, sha256 {ds['sha256'][:12]}…)"),
                ("items", f"{agg['n_items']} ({agg['n_unanswerable']} unanswerable)"),
                ("corpus", ", ".join(f"`{p}`" for p in doc["corpus"])),
                ("embedder", str(models.get("embed_model"))),
                (
                    "chat model",
                    ", ".join(models.get("answer_models") or []) or "— (retrieval only)",
                ),
                ("judge", str(models.get("judge") or "off")),
                ("prompt hash", str(doc.get("prompt_hash") or "—")),
                ("mode", "retrieval only" if doc["options"]["retrieval_only"] else "full answers"),
            ],
            ("", ""),
        ),
        "",
        "## Headline metrics",
        "",
        _table(
            [(k, show(k, agg.get(k))) for k in HEADLINE if agg.get(k) is not None],
            ("metric", "value"),
        ),
        "",
        "## By question type",
        "",
        _table(
            [
                (
                    kind,
                    str(v["n"]),
                    format_value(v["hit_at_5"]),
                    format_value(v["mrr"]),
                    format_value(v["correct"]),
                    format_value(v["abstained"]),
                    format_value(v["crag_score"]),
                )
                for kind, v in sorted(doc["per_type"].items())
            ],
            ("type", "n", "hit@5", "MRR", "correct", "abstained", "CRAG"),
        ),
        "",
        f"![by type]({PLOTS['by_type']})",
        "",
        "## Retrieval",
        "",
        f"![recall at k]({PLOTS['recall']})",
        "",
        "## Latency",
        "",
        f"![latency]({PLOTS['latency']})",
        "",
    ]
    gold = doc.get("gold_check") or {}
    if gold.get("missing"):
        lines += [
            f"**Warning:** {len(gold['missing'])} gold article id(s) are not in the index "
            "(their questions cannot score on retrieval).",
            "",
        ]
    misses = _misses(doc)
    if misses:
        lines += ["## First misses", "", _table(misses, ("id", "type", "what", "detail")), ""]
    lines += [
        "All metrics of the run are in `result.json` (`aggregate`), with every item's record.",
        "",
    ]
    path = run_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def headline_table(agg: dict[str, Any]) -> str:
    """The headline metrics the run measured, as a plain-text table for the terminal."""
    rows = [(k, show(k, agg.get(k))) for k in HEADLINE if agg.get(k) is not None]
    width = max((len(k) for k, _ in rows), default=10)
    lines = [f"{'metric'.ljust(width)}  value", f"{'-' * width}  -----"]
    lines += [f"{k.ljust(width)}  {v}" for k, v in rows]
    return "\n".join(lines)
