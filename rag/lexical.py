"""The lexical side of hybrid search: a BM25 index (bm25s) over the same chunks as Chroma.

Names, numbers and dates are what news questions turn on and what dense models blur.
The index is rebuilt after each ingest that changes anything and swapped in atomically.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np

POINTER = "lexical.json"


@dataclass(frozen=True)
class LexicalDoc:
    """What the BM25 index needs to know about one chunk to filter and report it."""

    chunk_id: str
    text: str
    source: str
    published_ts: int | None


def tokenize_query(text: str) -> list[str]:
    """The same lower-casing and stop-word removal as the corpus side."""
    return bm25s.tokenize(text, stopwords="en", return_ids=False, show_progress=False)[0]


class LexicalIndex:
    """BM25 scores for every chunk, with metadata arrays for filtering by publisher and date."""

    def __init__(
        self, bm25: bm25s.BM25 | None, ids: list[str], sources: list[str], ts: list[int]
    ) -> None:
        self._bm25 = bm25
        self.ids = ids
        self._sources = np.array(sources, dtype=object)
        self._ts = np.array(ts, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, docs: list[LexicalDoc]) -> LexicalIndex:
        if not docs:
            return cls(None, [], [], [])
        tokens = bm25s.tokenize([d.text for d in docs], stopwords="en", show_progress=False)
        bm25 = bm25s.BM25()
        bm25.index(tokens, show_progress=False)
        ts = [d.published_ts if d.published_ts is not None else -1 for d in docs]
        return cls(bm25, [d.chunk_id for d in docs], [d.source for d in docs], ts)

    def save(self, index_dir: Path, generation: int) -> None:
        """Write a new generation folder, then switch the pointer file atomically."""
        folder = index_dir / f"lexical-{generation}"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        if self._bm25 is not None:
            self._bm25.save(str(folder / "bm25"))
        meta = {"ids": self.ids, "sources": self._sources.tolist(), "ts": self._ts.tolist()}
        (folder / "chunks.json").write_text(json.dumps(meta), encoding="utf-8")
        tmp = index_dir / (POINTER + ".tmp")
        tmp.write_text(json.dumps({"folder": folder.name}), encoding="utf-8")
        os.replace(tmp, index_dir / POINTER)
        for old in index_dir.glob("lexical-*"):
            if old.is_dir() and old.name != folder.name:
                shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, index_dir: Path) -> LexicalIndex:
        pointer = index_dir / POINTER
        if not pointer.is_file():
            return cls(None, [], [], [])
        folder = index_dir / json.loads(pointer.read_text(encoding="utf-8"))["folder"]
        meta = json.loads((folder / "chunks.json").read_text(encoding="utf-8"))
        bm25 = bm25s.BM25.load(str(folder / "bm25")) if meta["ids"] else None
        return cls(bm25, meta["ids"], meta["sources"], meta["ts"])

    def has_term(self, word: str) -> bool:
        """Whether any indexed chunk holds ``word`` (after the corpus side's tokenising)."""
        terms = tokenize_query(word)
        vocab = self._bm25.vocab_dict if self._bm25 is not None else {}
        return bool(terms) and all(t in vocab for t in terms)

    def search(
        self,
        query: str,
        k: int,
        sources: list[str] | None = None,
        since_ts: int | None = None,
        until_ts: int | None = None,
    ) -> list[tuple[str, float]]:
        """Top ``k`` (chunk id, BM25 score) with a positive score that pass the filters."""
        if self._bm25 is None:
            return []
        terms = tokenize_query(query)
        if not terms:
            return []
        scores = np.asarray(self._bm25.get_scores(terms), dtype=np.float64)
        mask = scores > 0
        if sources:
            mask &= np.isin(self._sources, sources)
        if since_ts is not None:
            mask &= self._ts >= since_ts
        if until_ts is not None:
            mask &= (self._ts <= until_ts) & (self._ts >= 0)
        candidates = np.flatnonzero(mask)
        if candidates.size == 0:
            return []
        top = candidates[np.argsort(-scores[candidates], kind="stable")[:k]]
        return [(self.ids[i], float(scores[i])) for i in top]
