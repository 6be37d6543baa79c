"""The answer-side entries of the metrics registry: answers, citations and abstention."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from evals import metrics as M
from evals.metric import Metric


def _share(values: Any) -> float | None:
    return M.mean(float(v) for v in values)


def answer_metrics() -> Iterator[Metric]:
    """Metrics of the answers themselves; most need a run that asked the model."""
    # answers
    yield Metric(
        "accuracy",
        "answers",
        "higher",
        "share",
        "share of answerable questions answered correctly (an abstention is not correct): "
        "normalised containment of the gold answer or an alias; yes/no gold by the "
        "response's polarity",
        lambda rs: _share(r["correct"] for r in rs.ans_gold),
        needs_answers=True,
        headline=True,
    )
    yield Metric(
        "answered_accuracy",
        "answers",
        "higher",
        "share",
        "the same over the answerable questions not abstained on",
        lambda rs: _share(r["correct"] for r in rs.not_abstained),
        needs_answers=True,
    )
    yield Metric(
        "choice_accuracy",
        "answers",
        "higher",
        "share",
        "for questions asked with answer choices (RealTime QA quizzes), the share whose answer "
        "picks the gold choice by its distinguishing words; more lenient than accuracy",
        lambda rs: _share(
            r["choice_correct"] for r in rs.ans_gold if r.get("choice_correct") is not None
        ),
        needs_answers=True,
        headline=True,
    )
    yield Metric(
        "token_f1",
        "answers",
        "higher",
        "share",
        "best SQuAD-style token F1 against the answer and its aliases (low for full sentences "
        "by nature; for comparing runs)",
        lambda rs: M.mean(r["token_f1"] for r in rs.ans_gold),
        needs_answers=True,
        headline=True,
    )
    yield Metric(
        "judge_accuracy",
        "answers",
        "higher",
        "share",
        "with `--judge SPEC`, the share of answered questions an LLM judge grades CORRECT",
        lambda rs: (
            M.mean(
                float(r["judge_correct"]) if r.get("judge_correct") is not None else None
                for r in rs.not_abstained
            )
            if any("judge_correct" in r for r in rs.answered)
            else None
        ),
        needs_answers=True,
        headline=True,
    )
    yield Metric(
        "overruled",
        "answers",
        "neither",
        "count",
        "refusals the model gave a low probability, replaced by its cited answer",
        lambda rs: sum(1 for r in rs.answered if r.get("overruled")),
        needs_answers=True,
        headline=True,
    )
    yield Metric(
        "overruled_correct",
        "answers",
        "higher",
        "count",
        "of those replacements, the correct ones",
        lambda rs: sum(1 for r in rs.answered if r.get("overruled") and r["correct"]),
        needs_answers=True,
        headline=True,
    )
    yield Metric(
        "crag_score",
        "answers",
        "higher",
        "score",
        "mean of +1 correct, 0 abstained, -1 wrong; on an unanswerable question an abstention "
        "is correct (+1) and any answer wrong (-1)",
        lambda rs: M.mean(r["crag"] for r in rs.answered),
        needs_answers=True,
        headline=True,
    )

    # citations
    yield Metric(
        "citation_precision",
        "citations",
        "higher",
        "share",
        "share of the cited articles that are gold (answered, not abstained, with gold)",
        lambda rs: M.mean(M.citation_precision(r["cited_ids"], r["gold_ids"]) for r in rs.with_ctx),
        headline=True,
    )
    yield Metric(
        "citation_recall",
        "citations",
        "higher",
        "share",
        "share of the gold articles cited",
        lambda rs: M.mean(M.citation_recall(r["cited_ids"], r["gold_ids"]) for r in rs.with_ctx),
        headline=True,
    )
    yield Metric(
        "model_citation_precision",
        "citations",
        "higher",
        "share",
        "citation precision of the markers the model wrote itself (not those the checker attributed)",
        lambda rs: M.mean(
            M.citation_precision(r["model_cited_ids"], r["gold_ids"]) for r in rs.with_ctx
        ),
    )
    yield Metric(
        "model_citation_recall",
        "citations",
        "higher",
        "share",
        "citation recall of the markers the model wrote itself",
        lambda rs: M.mean(
            M.citation_recall(r["model_cited_ids"], r["gold_ids"]) for r in rs.with_ctx
        ),
    )
    yield Metric(
        "attributed_share",
        "citations",
        "neither",
        "share",
        "share of citations the cite-checker attributed (the model gave no marker)",
        lambda rs: (
            sum(r["n_attributed"] for r in rs.answered) / sum(r["n_citations"] for r in rs.answered)
            if sum(r["n_citations"] for r in rs.answered)
            else None
        ),
    )
    yield Metric(
        "support_rate",
        "citations",
        "higher",
        "share",
        "share of answer sentences the cite-checker marked as supported by their sources",
        lambda rs: M.mean(
            M.support_rate(r["sentences_supported"]) for r in rs.answered if not r["abstained"]
        ),
        headline=True,
    )

    # abstention
    yield Metric(
        "abstention_rate",
        "abstention",
        "neither",
        "share",
        "share of answered questions abstained on",
        lambda rs: _share(r["abstained"] for r in rs.answered),
        needs_answers=True,
    )
    for name, better, text in (
        (
            "abstention_precision",
            "higher",
            "abstentions on unanswerable questions / all abstentions",
        ),
        (
            "abstention_recall",
            "higher",
            "unanswerable questions abstained on / unanswerable questions",
        ),
        (
            "false_abstention_rate",
            "lower",
            "answerable questions abstained on / answerable questions",
        ),
    ):
        yield Metric(
            name,
            "abstention",
            better,
            "share",
            text,
            lambda rs, name=name: rs.abstention[name],
            needs_answers=True,
            headline=True,
        )
    yield Metric(
        "false_abstentions",
        "abstention",
        "lower",
        "count",
        "the count of abstentions on answerable questions",
        lambda rs: sum(1 for r in rs.ans_gold if r["abstained"]),
        needs_answers=True,
        headline=True,
    )
    yield Metric(
        "false_abstentions_name_absent",
        "abstention",
        "neither",
        "count",
        "of those, the ones on a question naming something no indexed article contains (the "
        "corpus lacks the evidence; each record lists them under `names_absent_from_index`)",
        lambda rs: sum(
            1 for r in rs.ans_gold if r["abstained"] and r.get("names_absent_from_index")
        ),
        needs_answers=True,
        headline=True,
    )
