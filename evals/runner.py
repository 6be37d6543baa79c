"""Run an eval set against a Byline index: one record per question, then the aggregate.

``run_suite(items, byline, ...)`` takes a built ``Byline`` (tests inject one with the hash
embedder and the scripted chat model) and returns per-item records plus the aggregate metrics.
The stages live in their own modules: ``selection`` (which questions), ``corpus`` (the index
and sampled corpora), ``gold`` (gold-id repair), ``evaluate`` (one question: ``probe`` before
the model, ``answers`` reading the answer, ``scoring``), ``aggregate`` (metrics from the
``registry``), ``checkpoint`` (resumable records), ``results`` (provenance and result.json),
``thresholds`` and ``band`` (the CI gates).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.aggregate import aggregate, curves, per_type
from evals.checkpoint import CheckpointWriter, load_checkpoint
from evals.datasets import EvalItem
from evals.evaluate import JudgeFn, evaluate_item
from evals.gold import resolve_gold
from evals.scoring import score_answer


@dataclass
class RunResult:
    """A finished run: records in the items' order, and what was computed from them."""

    records: list[dict[str, Any]]
    aggregate: dict[str, Any]
    per_type: dict[str, dict[str, Any]]
    curves: dict[str, list[float | None]]
    gold_check: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def run_suite(
    items: Sequence[EvalItem],
    byline: Any,
    *,
    retrieval_only: bool = False,
    judge: JudgeFn | None = None,
    jobs: int = 1,
    progress: bool | None = None,
    check_gold: bool = True,
    checkpoint: Path | None = None,
) -> RunResult:
    """Evaluate ``items`` against a built, ingested ``byline``; records keep the items' order.

    With ``checkpoint`` (a JSONL file), each finished record is appended to it as it completes,
    and records already in it (from an interrupted run, same question ids) are reused, so a
    long run picks up where it stopped; their answers are scored again with the current
    metrics, so resuming a finished run re-scores it without asking the model anything."""
    from tqdm.auto import tqdm

    started = time.perf_counter()
    gold_check = resolve_gold(items, byline) if check_gold else {}
    done = load_checkpoint(checkpoint, answers=not retrieval_only) if checkpoint else {}
    todo = [item for item in items if item.id not in done]
    for item in items:
        if item.id in done and not retrieval_only:
            score_answer(done[item.id], item)
    bar = tqdm(
        total=len(items),
        initial=len(items) - len(todo),
        desc="retrieval" if retrieval_only else "answers",
        unit="q",
        disable=None if progress is None else not progress,
    )
    sink = CheckpointWriter(checkpoint)

    def one(item: EvalItem) -> dict[str, Any]:
        rec = evaluate_item(byline, item, retrieval_only, judge)
        sink.write(rec)
        bar.update(1)
        return rec

    try:
        if jobs > 1:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                fresh = list(pool.map(one, todo))
        else:
            fresh = [one(item) for item in todo]
    finally:
        bar.close()
        sink.close()
    by_id = {**done, **{r["id"]: r for r in fresh}}
    records = [by_id[item.id] for item in items]
    agg = aggregate(records, retrieval_only)
    trust = [(i, r["answer"]) for i, r in zip(items, records, strict=True) if r.get("answer")]
    if trust:  # the trust behaviours, scored on the answers as the reader saw them
        from evals.trust import trust_summary

        agg["trust"] = trust_summary([i for i, _ in trust], [r for _, r in trust])
    return RunResult(
        records=records,
        aggregate=agg,
        per_type=per_type(records),
        curves=curves(records),
        gold_check=gold_check,
        seconds=time.perf_counter() - started,
    )
