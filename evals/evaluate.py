"""Everything measured for one question: rankings, then (unless retrieval-only) the answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evals import metrics as M
from evals.answers import answer_fields, stream_answer
from evals.datasets import EvalItem
from evals.probe import context, names_absent_from_index, prepare, rankings
from evals.scoring import score_answer

JudgeFn = Callable[[EvalItem, str], bool | None]


def evaluate_item(
    byline: Any,
    item: EvalItem,
    retrieval_only: bool = False,
    judge: JudgeFn | None = None,
) -> dict[str, Any]:
    """One question's JSON-ready record; a failure is recorded in ``error``, never raised."""
    rec: dict[str, Any] = {
        "id": item.id,
        "type": item.type,
        "question": item.question,
        "as_of": item.as_of,
        "answerable": item.answerable,
        "gold_answer": item.answer,
        "aliases": item.aliases,
        "gold_ids": item.gold_ids,
        "error": None,
    }
    prep = None
    try:
        if retrieval_only:  # one retrieval serves both the ranking and the context
            prep = prepare(byline, item)
        rec.update(rankings(byline, item, prep))
    except Exception as exc:
        rec["error"] = f"retrieval: {type(exc).__name__}: {exc}"
        return rec
    rec["hit_at_5"] = M.hit_at_k(rec["ranking"], item.gold_ids, 5)
    rec["reciprocal_rank"] = M.reciprocal_rank(rec["ranking"], item.gold_ids)
    if retrieval_only:
        rec.update(context(prep, item))
        return rec
    try:
        answer, ttft, wall = stream_answer(byline, item)
    except Exception as exc:
        rec["error"] = f"answer: {type(exc).__name__}: {exc}"
        return rec
    rec.update(answer_fields(byline, item, answer))
    rec["ttft"], rec["seconds"] = ttft, wall
    score_answer(rec, item)
    if item.answerable and rec["abstained"]:
        rec["names_absent_from_index"] = names_absent_from_index(byline, item.question)
    if judge is not None and item.answerable and not rec["abstained"]:
        rec["judge_correct"] = judge(item, rec["response"])
    return rec
