"""Choosing what the model reads: a few passages from several articles, trimmed to the point.

The embedded model reads prompts at tens of tokens per second, so every sentence in the
prompt costs time to first token. Each chosen chunk is cut down to the window of consecutive
sentences that best matches the question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.lexical import tokenize_query
from rag.retrieval.hits import Hit
from rag.sentences import sentence_spans

# Sentences of an article's opening that count as its lead (the first is often a dateline).
LEAD_SENTENCES = 2


@dataclass
class Source:
    """A numbered source in the prompt: its hit and the excerpt the model sees."""

    n: int
    hit: Hit
    passage: str
    start: int  # offsets of ``passage`` in the article text
    end: int

    def to_dict(self) -> dict[str, Any]:
        h = self.hit
        return {
            "n": self.n,
            "article_id": h.article_id,
            "chunk_id": h.chunk_id,
            "title": h.title,
            "source": h.source,
            "url": h.url,
            "published_at": h.published_at,
            "passage": self.passage,
            "start": self.start,
            "end": self.end,
            "chunk_text": h.text,
            "chunk_start": h.start,
            "score": round(h.score, 4),
            "similarity": round(h.similarity, 4),
        }


def report_day(source: Source) -> date | None:
    """The day the source's article was published, or None when it is undated."""
    try:
        return date.fromisoformat((source.hit.published_at or "")[:10])
    except ValueError:
        return None


def pick_diverse(
    hits: Sequence[Hit], top_k: int, per_article_cap: int, min_ratio: float = 0.0
) -> list[Hit]:
    """The best hits in rank order, at most ``per_article_cap`` from any one article, and none
    scoring under ``min_ratio`` of the best (a weak fourth passage only costs prompt time)."""
    chosen: list[Hit] = []
    per_article: dict[str, int] = {}
    floor = hits[0].score * min_ratio if hits and hits[0].score > 0 else float("-inf")
    for hit in hits:
        if hit.score < floor:
            break
        if per_article.get(hit.article_id, 0) >= per_article_cap:
            continue
        per_article[hit.article_id] = per_article.get(hit.article_id, 0) + 1
        chosen.append(hit)
        if len(chosen) == top_k:
            break
    return chosen


def pick_context(
    hits: Sequence[Hit],
    top_k: int,
    per_article_cap: int,
    min_ratio: float = 0.0,
    leaders: Sequence[Hit] = (),
) -> list[Hit]:
    """``pick_diverse`` for a question that describes several articles: after the best hit
    overall come the clause leaders (each clause's best passage, best-ranked first), then the
    rest in rank order. On the MultiHop-RAG dev queries this puts 0.82 of the gold articles in
    front of the model against 0.80 by rank alone, with the same number of passages."""
    if not leaders or not hits:
        return pick_diverse(hits, top_k, per_article_cap, min_ratio)
    rank = {h.chunk_id: i for i, h in enumerate(hits)}
    ordered = sorted(leaders, key=lambda h: rank.get(h.chunk_id, len(hits)))
    chosen: list[Hit] = []
    per_article: dict[str, int] = {}

    def take(hit: Hit) -> None:
        if len(chosen) == top_k or per_article.get(hit.article_id, 0) >= per_article_cap:
            return
        if any(c.chunk_id == hit.chunk_id for c in chosen):
            return
        per_article[hit.article_id] = per_article.get(hit.article_id, 0) + 1
        chosen.append(hit)

    for hit in [hits[0], *ordered]:  # a clause leader is not held to the score floor
        take(hit)
    floor = hits[0].score * min_ratio if hits[0].score > 0 else float("-inf")
    for hit in hits:
        if hit.score < floor:
            break
        take(hit)
    return chosen


def _best_window(scores: list[float], lengths: list[int], budget: int) -> tuple[int, int]:
    """Grow a window of sentences from the best one, taking the better neighbour each time."""
    best = int(np.argmax(scores))
    lo, hi, used = best, best + 1, lengths[best]
    while True:
        left = scores[lo - 1] if lo > 0 and used + lengths[lo - 1] <= budget else None
        right = scores[hi] if hi < len(scores) and used + lengths[hi] <= budget else None
        if left is None and right is None:
            return lo, hi
        if right is None or (left is not None and left > right):
            lo -= 1
            used += lengths[lo]
        else:
            used += lengths[hi]
            hi += 1


def build_sources(
    question: str,
    hits: Sequence[Hit],
    embedder: Embeddings,
    max_passage_chars: int = 450,
    total_chars: int | None = None,
    lead_bonus: float = 0.0,
) -> list[Source]:
    """Number the chosen hits 1..n and trim each to its most relevant sentences.

    Each passage gets at most ``max_passage_chars``; with ``total_chars`` the passages together
    stay within that budget too: each takes an equal share of what is left, in rank order, so
    characters a short passage does not use go to the ones after it. In an article's opening
    chunk the first ``LEAD_SENTENCES`` sentences score ``lead_bonus`` more: a news lead states
    the key fact, often in other words than the question's."""
    budgets = [max_passage_chars] * len(hits)
    if total_chars is not None and hits:
        budgets = [min(max_passage_chars, total_chars // len(hits))] * len(hits)
    spans_per_hit = [sentence_spans(h.text) or [(0, len(h.text))] for h in hits]
    # Sentence vectors of every hit longer than its first share, in one embedding call. A share
    # can also shrink (an earlier passage's best sentence was longer than its share); a hit that
    # then needs trimming gets its vectors on demand.
    long = [i for i, h in enumerate(hits) if len(h.text) > budgets[i]]
    sentence_vectors: dict[int, np.ndarray] = {}
    query: list[np.ndarray] = []

    def embed(indices: list[int]) -> None:
        texts = [hits[i].text[a:b] for i in indices for a, b in spans_per_hit[i]]
        lead = [] if query else [question]
        vectors = np.asarray(embedder.embed_documents([*lead, *texts]), dtype=np.float32)
        if lead:
            query.append(vectors[0])
        offset = len(lead)
        for i in indices:
            n = len(spans_per_hit[i])
            sentence_vectors[i] = vectors[offset : offset + n]
            offset += n

    if long:
        embed(long)
    terms = set(tokenize_query(question))
    sources: list[Source] = []
    left = total_chars
    for i, hit in enumerate(hits):
        budget = max_passage_chars
        if left is not None:
            budget = min(max_passage_chars, max(0, left) // (len(hits) - i))
        a, b = 0, len(hit.text)
        if len(hit.text) > budget:
            if i not in sentence_vectors:
                embed([i])
            spans = spans_per_hit[i]
            sims = sentence_vectors[i] @ query[0]
            scores = []
            for k, ((s, e), sim) in enumerate(zip(spans, sims, strict=True)):
                words = set(tokenize_query(hit.text[s:e]))
                overlap = len(words & terms) / len(terms) if terms else 0.0
                lead = lead_bonus if hit.chunk_index == 0 and k < LEAD_SENTENCES else 0.0
                scores.append(float(sim) + overlap + lead)
            lo, hi = _best_window(scores, [e - s for s, e in spans], budget)
            a, b = spans[lo][0], spans[hi - 1][1]
        passage = hit.text[a:b]
        if left is not None:
            left -= len(passage)
        sources.append(Source(len(sources) + 1, hit, passage, hit.start + a, hit.start + b))
    return sources
