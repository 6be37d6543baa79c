"""Scores of one record against its question's gold answers (plain functions of the record).

Kept apart from reading the answer, so a resumed run can score saved records again with the
current metrics without asking the model anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evals import metrics as M
from evals.datasets import EvalItem


def answer_in_context(item: EvalItem, passages: Sequence[str]) -> bool | None:
    """Whether the gold answer appears in the passages the model is shown (normalised
    containment); None for unanswerable and yes/no items, where the text cannot say."""
    if not item.answerable or not item.answers or M.yes_no_gold(item.answers[0]) is not None:
        return None
    return M.is_correct(" ".join(passages), item.answers)


def score_answer(rec: dict[str, Any], item: EvalItem) -> None:
    """Correctness, token F1 and CRAG of the record's response against the item's answers.
    Records a resumed run reuses are scored again, so a finished run resumed is re-scored with
    the current metrics and answers."""
    abstained = bool(rec["abstained"])
    correct = not abstained and item.answerable and M.is_correct(rec["response"], item.answers)
    rec["correct"] = bool(correct)
    rec["token_f1"] = M.token_f1(rec["response"], item.answers) if item.answerable else None
    rec["crag"] = M.crag_score(item.answerable, abstained, bool(correct))
    choices, gold = item.extra.get("choices") or [], item.extra.get("answer_index")
    if choices and gold is None and item.answer in choices:
        gold = choices.index(item.answer)
    rec["choice_correct"] = (
        not abstained and M.choice_match(rec["response"], choices, gold)
        if choices and gold is not None
        else None
    )
