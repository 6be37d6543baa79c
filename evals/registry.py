"""The one list of eval metrics: name, how it aggregates, which direction is better, what it means.

``aggregate`` computes every metric from this list, ``check_thresholds`` knows metric names and
directions from it, the run report and ``byline eval compare`` label and order their tables by
it, and the metrics reference in evals/README.md is generated from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from evals import metrics as M
from evals.metric import Metric, Records, format_value
from evals.registry_answers import answer_metrics

RANK_DEPTH = 10  # article ids kept per ranking; hit@k / recall@k for k = 1..10
HEADLINE_K = (1, 3, 5, 10)

GROUPS = {
    "counts": "Counts",
    "retrieval": "Retrieval (over questions with gold articles; rankings of distinct articles)",
    "context": "The prompt's context (what the model is shown)",
    "answers": "Answers",
    "citations": "Citations",
    "abstention": "Abstention",
    "latency": "Latency (seconds)",
}


def _share(values: Any) -> float | None:
    return M.mean(float(v) for v in values)


def _ranking_metrics() -> Iterator[Metric]:
    for prefix, key, whose in (
        ("", "ranking", "the answer chain's retriever"),
        ("search_", "search_ranking", "plain hybrid search"),
    ):
        for k in HEADLINE_K:
            yield Metric(
                f"{prefix}hit_at_{k}",
                "retrieval",
                "higher",
                "share",
                f"share of questions with a gold article in the top {k} of {whose}",
                lambda rs, key=key, k=k: M.mean(
                    M.hit_at_k(r[key], r["gold_ids"], k) for r in rs.with_gold
                ),
                headline=(k == 5) if prefix else k in (1, 5, 10),
            )
            yield Metric(
                f"{prefix}recall_at_{k}",
                "retrieval",
                "higher",
                "share",
                f"mean share of a question's gold articles in the top {k} of {whose}",
                lambda rs, key=key, k=k: M.mean(
                    M.recall_at_k(r[key], r["gold_ids"], k) for r in rs.with_gold
                ),
                headline=not prefix and k == 10,
            )
        yield Metric(
            f"{prefix}mrr",
            "retrieval",
            "higher",
            "share",
            f"mean 1 / rank of the first gold article in {whose} (0 when none is in the top "
            f"{RANK_DEPTH})",
            lambda rs, key=key: M.mean(
                M.reciprocal_rank(r[key], r["gold_ids"]) for r in rs.with_gold
            ),
            headline=not prefix,
        )


def _count(name: str, description: str, subset: str) -> Metric:
    return Metric(
        name, "counts", "neither", "count", description, lambda rs: len(getattr(rs, subset))
    )


def _p(name: str, field: str, q: int, subset: str, description: str, headline: bool) -> Metric:
    return Metric(
        name,
        "latency",
        "lower",
        "seconds",
        description,
        lambda rs: M.percentile((r.get(field) for r in getattr(rs, subset)), q),
        headline=headline,
    )


def _metrics() -> Iterator[Metric]:
    yield _count("n_items", "questions in the run", "all")
    yield Metric(
        "n_errors",
        "counts",
        "lower",
        "count",
        "questions whose evaluation failed (see their `error`)",
        lambda rs: len(rs.all) - len(rs.ok),
    )
    yield Metric(
        "n_answerable",
        "counts",
        "neither",
        "count",
        "answerable questions",
        lambda rs: sum(1 for r in rs.all if r["answerable"]),
    )
    yield Metric(
        "n_unanswerable",
        "counts",
        "neither",
        "count",
        "unanswerable questions (the right reply is an abstention)",
        lambda rs: sum(1 for r in rs.all if not r["answerable"]),
    )
    yield _count(
        "n_with_gold", "questions with gold articles (the retrieval metrics' base)", "with_gold"
    )
    yield from _ranking_metrics()

    # the prompt's context
    yield Metric(
        "context_hit",
        "context",
        "higher",
        "share",
        "share of questions with a gold article among the articles put in the prompt",
        lambda rs: M.mean(
            M.hit_at_k(r["context_ids"], r["gold_ids"], len(r["context_ids"])) for r in rs.ctx
        ),
    )
    yield Metric(
        "context_recall",
        "context",
        "higher",
        "share",
        "mean share of a question's gold articles put in the prompt",
        lambda rs: M.mean(
            M.recall_at_k(r["context_ids"], r["gold_ids"], len(r["context_ids"])) for r in rs.ctx
        ),
        headline=True,
    )
    yield Metric(
        "answer_in_context",
        "context",
        "higher",
        "share",
        "share of answerable, non-yes/no questions whose gold answer appears (normalised "
        "containment) in the passages the model read: the ceiling for the model. After a "
        "refusal these are the passages it read, second reading included",
        lambda rs: _share(
            r["answer_in_context"] for r in rs.ok if r.get("answer_in_context") is not None
        ),
        headline=True,
    )
    yield Metric(
        "answer_in_evidence",
        "context",
        "higher",
        "share",
        "share of answerable, non-yes/no questions whose gold answer appears in the evidence "
        "quotes (the up to three verbatim sentences shown while the model reads)",
        lambda rs: _share(
            r["answer_in_evidence"] for r in rs.ok if r.get("answer_in_evidence") is not None
        ),
        headline=True,
    )
    yield Metric(
        "context_chars_p50",
        "context",
        "neither",
        "chars",
        "median characters of passage text in the prompt (prompt length drives time to first token)",
        lambda rs: M.percentile((r.get("context_chars") for r in rs.ok), 50),
        headline=True,
    )
    yield Metric(
        "refused_with_answer_in_context",
        "context",
        "lower",
        "share",
        "of the questions whose gold answer was in the prompt, the share the model still "
        "refused (over-caution)",
        lambda rs: _share(
            r["abstained"] for r in rs.answered if r.get("answer_in_context") is True
        ),
        needs_answers=True,
    )
    yield Metric(
        "pre_abstention_recall",
        "context",
        "higher",
        "share",
        "unanswerable questions abstained on before the model (relevance threshold, outlet "
        "and name checks); measured in retrieval-only runs",
        lambda rs: rs.pre_abstention["abstention_recall"] if rs.pre else None,
        headline=True,
    )
    yield Metric(
        "pre_false_abstention_rate",
        "context",
        "lower",
        "share",
        "answerable questions abstained on before the model; measured in retrieval-only runs",
        lambda rs: rs.pre_abstention["false_abstention_rate"] if rs.pre else None,
        headline=True,
    )

    yield from answer_metrics()

    # latency
    yield _p(
        "retrieval_p50", "retrieve_seconds", 50, "ok", "median time of the chain's retrieval", True
    )
    yield _p("retrieval_p95", "retrieve_seconds", 95, "ok", "95th percentile of the same", False)
    yield _p(
        "ttft_p50", "ttft", 50, "answered", "median time to the first streamed text piece", True
    )
    yield _p("ttft_p95", "ttft", 95, "answered", "95th percentile of the same", True)
    yield _p(
        "latency_total_p50",
        "seconds",
        50,
        "answered",
        "median time of the whole streamed answer",
        True,
    )
    yield _p("latency_total_p95", "seconds", 95, "answered", "95th percentile of the same", True)


METRICS: dict[str, Metric] = {m.name: m for m in _metrics()}

#: Per-stage latencies, one pair per stage an answer reports (rewrite, retrieve, select,
#: guards, retrieved, evidence, generate, the recoveries, first_token, check):
#: ``latency_<stage>_p50`` / ``_p95``.
STAGE_PREFIX = "latency_"
STAGE_DESCRIPTION = (
    "`latency_<stage>_p50` / `_p95`: median and 95th percentile of each stage the answer "
    "reports: rewrite, retrieve, select, guards, `retrieved` and `evidence` (when the sources and "
    "the quotes were shown), generate, `doubted_refusal` and `second_reading` (the recoveries), "
    "first_token, check"
)

HEADLINE = tuple(name for name, m in METRICS.items() if m.headline)


def show(name: str, value: Any) -> str:
    """``value`` of the metric ``name`` formatted for a table by the metric's kind."""
    metric = lookup(name)
    return format_value(value, metric.kind if metric else None)


def lookup(name: str) -> Metric | None:
    """The registered metric of that name; a per-stage latency gets a generic entry."""
    if name in METRICS:
        return METRICS[name]
    if name.startswith(STAGE_PREFIX) and name.endswith(("_p50", "_p95")):
        return Metric(name, "latency", "lower", "seconds", STAGE_DESCRIPTION, lambda rs: None)
    return None


__all__ = ["HEADLINE", "METRICS", "Metric", "Records", "format_value", "lookup", "show"]
