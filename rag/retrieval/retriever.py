"""Retrieval for one question: plan, search with soft filters, merge, re-rank.

Filters found in the question are soft: hits inside them get a boost, and an unfiltered search
always runs beside the filtered one, so a wrong guess at a date never leaves the answer empty.
Filters given by the caller are hard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.retrieval.filters import Filters
from rag.retrieval.hits import Hit
from rag.retrieval.hybrid import HybridSearcher
from rag.retrieval.planner import Plan, as_date, plan_query
from rag.retrieval.rerank import SignalReranker

RECENT_DAYS = 31
PART_K = 10  # candidates searched for each clause of a many-part question


@dataclass
class Retrieval:
    """The plan and the ranked hits for one question."""

    plan: Plan
    hits: list[Hit] = field(default_factory=list)
    # The best hit for each clause of the question (``plan.parts``), in clause order. A leader
    # that the whole-question ranking also found is that hit; one it did not find carries
    # ``signals["part_only"]`` and its similarity is to the clause, not to the question.
    leaders: list[Hit] = field(default_factory=list)


class NewsRetriever:
    """Plans a news question and returns re-ranked hits."""

    def __init__(
        self,
        searcher: HybridSearcher,
        publishers: Sequence[str],
        reranker: SignalReranker | None = None,
        latest: date | None = None,
    ) -> None:
        self.searcher = searcher
        self.publishers = list(publishers)
        self.reranker = reranker or SignalReranker()
        self.latest = latest

    def retrieve(
        self,
        question: str,
        k: int = 30,
        as_of: date | str | None = None,
        filters: Filters | None = None,
    ) -> Retrieval:
        given = filters or Filters()
        as_of = as_date(as_of)
        if as_of is not None and given.until is None:
            # Asked "as of" a day: nothing published later existed yet, so it cannot answer.
            given = replace(given, until=datetime.combine(as_of, time.max, tzinfo=UTC))
        plan = plan_query(question, as_of, self.publishers, given, latest=self.latest)
        searches: list[Filters] = [given]  # the caller's filters are always hard
        if plan.filters != given:
            searches.append(plan.filters)
        searches += [f for _, f in plan.subqueries]
        if as_of is not None and plan.filters.since is None:
            # News asked "as of" a day is usually about that month: search it on its own too,
            # so recent articles compete among themselves, not with years of archive.
            recent = datetime.combine(as_of - timedelta(days=RECENT_DAYS), time.min, tzinfo=UTC)
            searches.append(replace(plan.filters, since=recent))
        merged: dict[str, Hit] = {}
        for flt in searches:
            for hit in self.searcher.search(plan.query, k, flt):
                best = merged.get(hit.chunk_id)
                if best is None or hit.signals.get("rrf", 0) > best.signals.get("rrf", 0):
                    merged[hit.chunk_id] = hit
        hits = self.reranker.rerank(plan.query, list(merged.values()), plan.filters, as_of)
        return Retrieval(plan, hits, self._leaders(plan, merged, as_of))

    def _leaders(self, plan: Plan, merged: dict[str, Hit], as_of: date | None) -> list[Hit]:
        """Each clause of the question searched on its own (with the outlet and date it names):
        a question that describes three articles should put all three in front of the model."""
        leaders: list[Hit] = []
        for part, flt in plan.parts:
            found = self.searcher.search(part, PART_K, flt)
            if not found:
                continue
            top = self.reranker.rerank(part, found, flt, as_of)[0]
            if top.chunk_id in merged:
                top = merged[top.chunk_id]
            else:
                top.signals["part_only"] = 1.0
            leaders.append(top)
        return leaders


class BylineRetriever(BaseRetriever):
    """The news retriever behind LangChain's retriever interface, for reuse in other chains."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: NewsRetriever
    k: int = 6
    as_of: date | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        result = self.retriever.retrieve(query, k=max(self.k * 3, 20), as_of=self.as_of)
        return [
            Document(
                page_content=h.text,
                id=h.chunk_id,
                metadata={
                    "article_id": h.article_id,
                    "title": h.title,
                    "source": h.source,
                    "url": h.url,
                    "published_at": h.published_at,
                    "start": h.start,
                    "end": h.end,
                    "score": h.score,
                },
            )
            for h in result.hits[: self.k]
        ]
