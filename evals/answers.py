"""Reading a streamed ``Answer`` into an eval record: the one place that knows its fields.

Everything the runner measures about an answer (what the model read, what it cited, whether
it refused and what became of the refusal, timings) is taken from the ``Answer`` here, so a
change of the answer type touches this module only.
"""

from __future__ import annotations

import time
from typing import Any

from evals import metrics as M
from evals.datasets import EvalItem
from evals.scoring import answer_in_context


def stream_answer(byline: Any, item: EvalItem) -> tuple[Any, float | None, float]:
    """Stream the answer (with the item's earlier turns, for a follow-up); returns (Answer,
    seconds to the first token, total seconds)."""
    from rag.answer import Answer
    from rag.events import Token

    started = time.perf_counter()
    first: float | None = None
    final = None
    stream = getattr(byline, "stream", None)
    if stream is None:
        final = byline.ask(item.question, as_of=item.as_of)
    else:
        for piece in stream(item.question, history=item.history or None, as_of=item.as_of):
            if isinstance(piece, Answer):
                final = piece
            elif first is None and isinstance(piece, Token) and piece.text:
                first = time.perf_counter() - started
    if final is None:
        raise RuntimeError("the answer stream ended without an Answer")
    return final, first, time.perf_counter() - started


def what_the_model_read(answer: Any) -> tuple[list[str], list[str]]:
    """The articles and excerpts the model read: the prompt's sources (``Answer.read``) and,
    when it ran, the second reading's excerpt of the best one (from the trace)."""
    read = list(getattr(answer, "read", None) or [])
    ids = [s.get("article_id") or "" for s in read]
    passages = [s.get("passage") or "" for s in read]
    step = answer.step("second_reading") if hasattr(answer, "step") else None
    if step is not None and step.decision != "skipped" and step.detail.get("passage"):
        ids.append(step.detail.get("article_id") or "")
        passages.append(step.detail["passage"])
    return M.dedupe(i for i in ids if i), passages


def answer_fields(byline: Any, item: EvalItem, answer: Any) -> dict[str, Any]:
    """The record's answer fields: response, refusal handling, what the model read and cited."""
    sources = [s.get("article_id") for s in answer.sources if s.get("article_id")]
    # What the model read (nothing, when it abstained before being asked).
    context_ids, passages = what_the_model_read(answer) if answer.draft else ([], [])
    quotes = [q.get("text") or "" for q in getattr(answer, "evidence", None) or []]
    out = {
        "response": answer.text,
        "draft": answer.draft,
        "abstained": bool(answer.abstained),
        "abstain_reason": answer.abstain_reason,
        "focused": bool(answer.focused),
        "overruled": bool(answer.overruled),
        "refusal_probability": answer.refusal_probability,
        "model": answer.model,
        "prompt_hash": answer.prompt_hash,
        "context_ids": context_ids,
        "context_chars": sum(len(p) for p in passages),
        "answer_in_context": answer_in_context(item, passages),
        "answer_in_evidence": answer_in_context(item, quotes),
        "closest_ids": M.dedupe(sources) if answer.abstained else [],
        "cited_ids": list(answer.cited_article_ids),
        "model_cited_ids": M.dedupe(c.article_id for c in answer.citations if not c.attributed),
        "n_citations": len(answer.citations),
        "n_attributed": sum(1 for c in answer.citations if c.attributed),
        "sentences_supported": [bool(s.supported) for s in answer.sentences],
        "timings": dict(answer.timings),
    }
    from evals.trust import TRUST_TYPES

    if item.type in TRUST_TYPES and hasattr(answer, "to_dict"):
        shown = answer.to_dict()  # the trust metrics read the answer as the reader saw it
        out["answer"] = {k: shown[k] for k in ("text", "abstained", "citations", "read")}
        out["answer"]["sources"] = shown["read"]
    return out
