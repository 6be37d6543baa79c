"""A run's aggregate metrics (from the registry), per question type, and hit@k / recall@k curves."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evals import metrics as M
from evals.registry import METRICS, RANK_DEPTH, Records


def aggregate(records: Sequence[dict[str, Any]], retrieval_only: bool = False) -> dict[str, Any]:
    """Every registered metric of the run (None when not measured), then per-stage latencies."""
    rs = Records(records, retrieval_only)
    agg: dict[str, Any] = {name: metric.value(rs) for name, metric in METRICS.items()}
    stages = M.latency_summary([r.get("timings") or {} for r in rs.answered])
    for key, value in stages.items():
        if key not in agg:
            agg[key] = value
    return agg


def curves(records: Sequence[dict[str, Any]]) -> dict[str, list[float | None]]:
    """hit@k and recall@k for k = 1..10, for the retriever's and plain search's rankings."""
    ok = [r for r in records if r.get("error") is None and r["gold_ids"]]
    out: dict[str, list[float | None]] = {}
    for name, key in (("", "ranking"), ("search_", "search_ranking")):
        out[f"{name}hit_at_k"] = [
            M.mean(M.hit_at_k(r[key], r["gold_ids"], k) for r in ok)
            for k in range(1, RANK_DEPTH + 1)
        ]
        out[f"{name}recall_at_k"] = [
            M.mean(M.recall_at_k(r[key], r["gold_ids"], k) for r in ok)
            for k in range(1, RANK_DEPTH + 1)
        ]
    return out


def per_type(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Headline metrics per question type."""
    types: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        types.setdefault(r["type"], []).append(r)
    out: dict[str, dict[str, Any]] = {}
    for kind, group in types.items():
        ok = [r for r in group if r.get("error") is None]
        gold = [r for r in ok if r["gold_ids"]]
        answered = [r for r in ok if "response" in r]
        out[kind] = {
            "n": len(group),
            "hit_at_5": M.mean(M.hit_at_k(r["ranking"], r["gold_ids"], 5) for r in gold),
            "mrr": M.mean(M.reciprocal_rank(r["ranking"], r["gold_ids"]) for r in gold),
            "correct": M.mean(float(r["crag"] == 1) for r in answered) if answered else None,
            "abstained": M.mean(float(r["abstained"]) for r in answered) if answered else None,
            "crag_score": M.mean(r["crag"] for r in answered) if answered else None,
        }
    return out
