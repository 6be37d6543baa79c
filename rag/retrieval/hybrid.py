"""Hybrid search: dense (Chroma) and lexical (BM25) candidates fused by reciprocal rank."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.lexical import LexicalIndex
from rag.retrieval.filters import Filters
from rag.retrieval.fusion import reciprocal_rank_fusion
from rag.retrieval.hits import Hit
from rag.store import ChunkStore, where_clause


class HybridSearcher:
    """Ranks chunks for a query; every hit carries its cosine similarity for calibration."""

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embeddings,
        lexical: Callable[[], LexicalIndex],
        candidates: int = 40,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.lexical = lexical
        self.candidates = candidates

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[Hit]:
        """Top ``k`` hits by fused rank; ``signals`` records each side's rank for re-ranking."""
        filters = filters or Filters()
        qvec = self.embedder.embed_query(query)
        where = where_clause(filters.sources, filters.since_ts, filters.until_ts)
        dense = self.store.query(qvec, self.candidates, where)
        lexical = self.lexical().search(
            query,
            self.candidates,
            list(filters.sources) or None,
            filters.since_ts,
            filters.until_ts,
        )
        dense_ids = [c.id for c in dense]
        lex_ids = [cid for cid, _ in lexical]
        fused = reciprocal_rank_fusion([dense_ids, lex_ids])
        order = sorted(fused, key=lambda cid: -fused[cid])[: max(k, 1)]

        by_id = {c.id: Hit.from_stored(c) for c in dense}
        missing = [cid for cid in order if cid not in by_id]
        if missing:
            q = np.asarray(qvec, dtype=np.float32)
            for chunk in self.store.get(missing, with_embeddings=True):
                emb = np.asarray(chunk.metadata.pop("_embedding"), dtype=np.float32)
                hit = Hit.from_stored(chunk)
                hit.similarity = float(emb @ q / ((np.linalg.norm(emb) * np.linalg.norm(q)) or 1))
                by_id[chunk.id] = hit
        dense_rank = {cid: r for r, cid in enumerate(dense_ids, start=1)}
        lex_rank = {cid: r for r, (cid, _) in enumerate(lexical, start=1)}
        lex_score = dict(lexical)
        hits: list[Hit] = []
        for cid in order:
            hit = by_id.get(cid)
            if hit is None:  # the lexical index is a generation behind a crashed ingest
                continue
            hit.score = fused[cid]
            hit.signals = {
                "dense_rank": float(dense_rank.get(cid, 0)),
                "lexical_rank": float(lex_rank.get(cid, 0)),
                "bm25": lex_score.get(cid, 0.0),
                "rrf": fused[cid],
            }
            hits.append(hit)
        return hits
