"""Follow-up questions keep their subject: retrieval uses the conversation, not only the
model's rewrite of it.

A small model's rewrite of "How many did it sell in the end?" can lose the subject. So beside
the rewritten question, the earlier question joined with the new one is searched too, and the
articles the previous answer cited are candidates again; the three rankings are fused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from rag.retrieval.filters import Filters
from rag.retrieval.fusion import reciprocal_rank_fusion
from rag.retrieval.hits import Hit
from rag.retrieval.retriever import NewsRetriever, Retrieval
from rag.store import where_clause

CITED_PASSAGES = 6  # passages of the previously cited articles taken as candidates


@dataclass
class Conversation:
    """What retrieval needs of the conversation so far: the previous question and the
    articles the previous answer cited."""

    previous_question: str = ""
    cited_articles: list[str] = field(default_factory=list)

    @classmethod
    def from_history(cls, history: Sequence[Any] | None) -> Conversation:
        """From history items: message dicts (an assistant turn may carry ``article_ids``),
        ``Answer`` objects, LangChain messages or (question, answer) pairs."""
        previous, cited = "", []
        for item in history or []:
            if hasattr(item, "cited_article_ids") and hasattr(item, "question"):
                previous, cited = str(item.question), list(item.cited_article_ids)
            elif isinstance(item, dict):
                if item.get("role", "user") == "user":
                    previous = str(item.get("content", ""))
                else:
                    cited = [str(a) for a in item.get("article_ids") or []]
            elif isinstance(item, tuple | list) and len(item) == 2:
                previous, cited = str(item[0]), []
            elif getattr(item, "type", "") == "human":
                previous = str(item.content)
        return cls(previous.strip(), cited)


def retrieve_follow_up(
    retriever: NewsRetriever,
    standalone: str,
    question: str,
    conversation: Conversation,
    k: int,
    as_of: date | None,
    filters: Filters,
    cited_weight: float = 0.5,
) -> Retrieval:
    """The rewritten question's retrieval, fused with the earlier question + this one, and
    with the passages of the previously cited articles that best match the rewrite (at
    ``cited_weight``: where the conversation was, not necessarily where it goes)."""
    main = retriever.retrieve(standalone, k=k, as_of=as_of, filters=filters)
    rankings: list[list[Hit]] = [main.hits]
    weights = [1.0]
    if conversation.previous_question:
        joined = f"{conversation.previous_question} {question}"
        rankings.append(retriever.retrieve(joined, k=k, as_of=as_of, filters=filters).hits)
        weights.append(1.0)
    if conversation.cited_articles:
        rankings.append(_cited_passages(retriever, standalone, conversation, as_of, filters))
        weights.append(cited_weight)
    if len(rankings) == 1:
        return main
    by_id: dict[str, Hit] = {}
    for ranking in rankings:
        for hit in ranking:
            by_id.setdefault(hit.chunk_id, hit)
    fused = reciprocal_rank_fusion([[h.chunk_id for h in r] for r in rankings], weights=weights)
    order = sorted(fused, key=lambda cid: -fused[cid])
    top = max((h.score for h in main.hits), default=1.0) or 1.0
    hits = []
    for cid in order:
        hit = by_id[cid]
        hit.signals["followup"] = round(fused[cid], 6)
        hit.score = top * fused[cid] / fused[order[0]]  # keeps the best score's scale
        hits.append(hit)
    return Retrieval(main.plan, hits, main.leaders)


def _cited_passages(
    retriever: NewsRetriever,
    query: str,
    conversation: Conversation,
    as_of: date | None,
    filters: Filters,
) -> list[Hit]:
    store = retriever.searcher.store
    until = filters.until_ts
    if until is None and as_of is not None:  # nothing published after the as-of day
        until = int(datetime.combine(as_of, time.max, tzinfo=UTC).timestamp())
    where = where_clause(filters.sources, filters.since_ts, until, conversation.cited_articles)
    vector = retriever.searcher.embedder.embed_query(query)
    return [Hit.from_stored(c) for c in store.query(vector, CITED_PASSAGES, where)]
