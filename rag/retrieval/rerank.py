"""Re-ranking the fused candidates with signals news questions carry.

No package ships cross-encoder weights that load offline, so the default re-ranker is a
weighted sum of the fused rank, the dense similarity, how much of the question the title
covers, and whether the hit matches the date range and publishers found in the question.
A local cross-encoder can replace it (``reranker = "/path/to/model"``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from rag.lexical import tokenize_query
from rag.retrieval.filters import Filters
from rag.retrieval.hits import Hit


@dataclass(frozen=True)
class RerankWeights:
    """Weights of the default re-ranker (docs/decisions/0028-rerank-weights.md)."""

    rrf: float = 1.0
    similarity: float = 0.5
    title: float = 0.25
    date: float = 0.35
    source: float = 0.35
    recency: float = 0.3
    recency_days: float = 30.0


def _title_coverage(query_terms: set[str], title: str) -> float:
    if not query_terms or not title:
        return 0.0
    return len(query_terms & set(tokenize_query(title))) / len(query_terms)


def in_range(hit: Hit, filters: Filters) -> bool:
    if filters.since is None and filters.until is None:
        return False
    if hit.published_ts is None:
        return False
    lo = filters.since_ts if filters.since_ts is not None else -(2**62)
    hi = filters.until_ts if filters.until_ts is not None else 2**62
    return lo <= hit.published_ts <= hi


class SignalReranker:
    """The default re-ranker: explainable signals, each recorded on the hit."""

    def __init__(self, weights: RerankWeights | None = None) -> None:
        self.weights = weights or RerankWeights()

    def rerank(
        self, query: str, hits: Sequence[Hit], wanted: Filters, as_of: date | None = None
    ) -> list[Hit]:
        """Order ``hits`` by the weighted signals; with an as-of date, recent news ranks higher."""
        if not hits:
            return []
        w = self.weights
        as_of_ts = datetime.combine(as_of, time.max, tzinfo=UTC).timestamp() if as_of else None
        top_rrf = max(h.signals.get("rrf", h.score) for h in hits) or 1.0
        terms = set(tokenize_query(query))
        sources = {s.lower() for s in wanted.sources}
        for hit in hits:
            s = hit.signals
            s["title"] = _title_coverage(terms, hit.title)
            s["date_match"] = 1.0 if in_range(hit, wanted) else 0.0
            s["source_match"] = 1.0 if sources and hit.source.lower() in sources else 0.0
            s["recency"] = 0.0
            if as_of_ts is not None and hit.published_ts is not None:
                age_days = max(0.0, (as_of_ts - hit.published_ts) / 86400)
                s["recency"] = math.exp(-age_days / w.recency_days)
            hit.score = (
                w.rrf * s.get("rrf", 0.0) / top_rrf
                + w.similarity * hit.similarity
                + w.title * s["title"]
                + w.date * s["date_match"]
                + w.source * s["source_match"]
                + w.recency * s["recency"]
            )
        return sorted(hits, key=lambda h: -h.score)


class CrossEncoderReranker:
    """Re-rank with a local sentence-transformers cross-encoder (a folder on disk)."""

    def __init__(self, path: str) -> None:
        from sentence_transformers import CrossEncoder

        self.model = CrossEncoder(path, device="cpu")
        self.fallback = SignalReranker()

    def rerank(
        self, query: str, hits: Sequence[Hit], wanted: Filters, as_of: date | None = None
    ) -> list[Hit]:
        ranked = self.fallback.rerank(query, hits, wanted, as_of)
        if not ranked:
            return ranked
        scores = self.model.predict([(query, f"{h.title}\n{h.text}") for h in ranked])
        for hit, score in zip(ranked, scores, strict=True):
            hit.signals["cross_encoder"] = float(score)
            hit.score = float(score) + 0.5 * (
                hit.signals["date_match"] + hit.signals["source_match"]
            )
        return sorted(ranked, key=lambda h: -h.score)
