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
from evals.probe import read_before_refusing
from evals.scoring import answer_in_context


def stream_answer(byline: Any, item: EvalItem) -> tuple[Any, float | None, float]:
    """Stream the answer; returns (Answer, seconds to the first text piece, total seconds)."""
    from rag.answer import Answer

    started = time.perf_counter()
    first: float | None = None
    final = None
    stream = getattr(byline, "stream", None)
    if stream is None:
        final = byline.ask(item.question, as_of=item.as_of)
    else:
        for piece in stream(item.question, as_of=item.as_of):
            if isinstance(piece, Answer):
                final = piece
            elif first is None and piece:
                first = time.perf_counter() - started
    if final is None:
        raise RuntimeError("the answer stream ended without an Answer")
    return final, first, time.perf_counter() - started


def answer_fields(byline: Any, item: EvalItem, answer: Any) -> dict[str, Any]:
    """The record's answer fields: response, refusal handling, what the model read and cited."""
    sources = [s.get("article_id") for s in answer.sources if s.get("article_id")]
    # What the model read: an abstention's sources are the closest articles, not a prompt.
    context_ids = [] if answer.abstained else M.dedupe(sources)
    passages = [] if answer.abstained else [s.get("passage") or "" for s in answer.sources]
    if answer.abstained and answer.draft:  # the model refused, having read the prompt's sources
        read = read_before_refusing(byline, item)
        context_ids, passages = read if read is not None else ([], [])
    return {
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
        "closest_ids": M.dedupe(sources) if answer.abstained else [],
        "cited_ids": list(answer.cited_article_ids),
        "model_cited_ids": M.dedupe(c.article_id for c in answer.citations if not c.attributed),
        "n_citations": len(answer.citations),
        "n_attributed": sum(1 for c in answer.citations if c.attributed),
        "sentences_supported": [bool(s.supported) for s in answer.sentences],
        "timings": dict(answer.timings),
    }
