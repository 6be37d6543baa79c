"""What a question gets before the model writes: rankings, the prompt's context, abstention.

Everything here runs the chain's own retrieval and context selection without the chat model,
so retrieval-only runs measure the prompt cheaply, and answer runs can see what the model read.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from evals import metrics as M
from evals.datasets import EvalItem
from evals.registry import RANK_DEPTH
from evals.scoring import answer_in_context

SEARCH_CHUNKS = 40  # chunks asked of search to fill RANK_DEPTH distinct articles


def _as_date(value: str | None) -> date | None:
    from rag.dates import parse_day

    return parse_day(value, "as-of")


def prepare(byline: Any, item: EvalItem) -> Any:
    """The chain's preparation of the question (retrieval, selection, pre-model abstention),
    without the model; None for an index without the answer chain."""
    chain = getattr(byline, "chain", None)
    if not callable(chain):
        return None
    from rag.retrieval.filters import Filters

    built = chain()
    prep = built.prepare(item.question, item.history or None, item.as_of, Filters(), None)
    if prep.abstain_reason is None:  # the quotes the page would show while the model reads
        prep.evidence = built.evidence(prep)
    return prep


def rankings(byline: Any, item: EvalItem, prep: Any = None) -> dict[str, Any]:
    """The chain's retriever ranking (planned, soft filters, re-ranked) and plain search's.
    With ``prep`` (the chain's own preparation of this question) its retrieval is reused."""
    as_of = _as_date(item.as_of)
    out: dict[str, Any] = {"ranking": [], "search_ranking": [], "plan": None}
    t0 = time.perf_counter()
    plan_query, plan_filters = item.question, None
    retriever = getattr(byline, "retriever", None)
    result = getattr(prep, "retrieval", None)
    if result is None and callable(retriever):
        depth = getattr(byline.settings, "candidates", SEARCH_CHUNKS)  # as the chain asks
        result = retriever().retrieve(item.question, k=depth, as_of=as_of)
    if result is not None:
        out["ranking"] = M.dedupe(h.article_id for h in result.hits)[:RANK_DEPTH]
        plan_query, plan_filters = result.plan.query, result.plan.filters
        out["plan"] = {
            "query": plan_query,
            "filters": plan_filters.to_dict(),
            "parts": [part for part, _ in result.plan.parts],
            "leader_ids": M.dedupe(h.article_id for h in result.leaders),
        }
    out["retrieve_seconds"] = (
        prep.timings["retrieve"] if prep is not None else time.perf_counter() - t0
    )
    t1 = time.perf_counter()
    hits = byline.search(plan_query, k=SEARCH_CHUNKS, filters=plan_filters)
    if not hits and plan_filters is not None:  # a hard filter that matched nothing
        hits = byline.search(plan_query, k=SEARCH_CHUNKS)
    out["search_seconds"] = time.perf_counter() - t1
    out["search_ranking"] = M.dedupe(h.article_id for h in hits)[:RANK_DEPTH]
    if result is None:  # an index without the news retriever: search is the ranking
        out["ranking"] = out["search_ranking"]
        out["retrieve_seconds"] = out["search_seconds"]
    return out


def context(prep: Any, item: EvalItem) -> dict[str, Any]:
    """What the chain would put in the prompt, and whether it would abstain before the model:
    measured without the model, so context settings can be compared cheaply."""
    if prep is None:
        return {}
    passages = [s.passage for s in prep.sources]
    quotes = [q.text for q in getattr(prep, "evidence", None) or []]
    return {
        "answer_in_evidence": answer_in_context(item, quotes),
        "context_ids": M.dedupe(s.hit.article_id for s in prep.sources),
        "context_chars": sum(len(p) for p in passages),
        "answer_in_context": answer_in_context(item, passages),
        "abstained_before_model": prep.abstain_reason is not None,
        "abstain_reason": prep.abstain_reason,
    }


def names_absent_from_index(byline: Any, question: str) -> list[str] | None:
    """Names in the question that no indexed article contains anywhere: a false abstention on
    such a name is the corpus lacking the evidence, not the retrieval missing it. None when the
    index cannot be asked."""
    lexical = getattr(byline, "lexical", None)
    manifest = getattr(byline, "manifest", None)
    if not callable(lexical) or manifest is None:
        return None
    from rag.steps.coverage import names_absent

    return names_absent(question, list(manifest.publishers()), lexical().has_term)
