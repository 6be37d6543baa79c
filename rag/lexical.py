"""The lexical side of hybrid search: BM25 over the same chunks as Chroma.

Names, numbers and dates are what news questions turn on and what dense models blur.

The index grows instead of being rebuilt: each ingest batch appends a segment of term counts
and tombstones the chunks it replaces or removes, so its cost follows what changed. Scores use
the statistics of every live chunk in every segment (document frequency, chunk count, average
length), so a grown index ranks and scores exactly as a fresh build of the same chunks would.
Segments are merged when there are too many (or on demand), dropping tombstoned chunks. Each
change is published by atomically replacing one small pointer file that names the segments and
their tombstone files; readers reload when its generation moves. See
docs/decisions/0101-growing-bm25.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from rag.lexical_segment import LexicalDoc, Segment

__all__ = ["LexicalDoc", "LexicalIndex", "docs_from_chunks", "tokenize_query"]

POINTER = "lexical.json"
FOLDER = "lexical"
FORMAT = 2
# bm25s's defaults (Lucene's BM25 variant), kept so scores match what the index gave before.
K1 = 1.5
B = 0.75


def tokenize_query(text: str) -> list[str]:
    """The same lower-casing and stop-word removal as the corpus side."""
    return bm25s.tokenize(text, stopwords="en", return_ids=False, show_progress=False)[0]


def docs_from_chunks(chunks: Iterable[Any]) -> Iterable[LexicalDoc]:
    """Lexical documents for stored chunks (``StoredChunk``): title line, then the passage."""
    for c in chunks:
        yield LexicalDoc(
            c.id,
            f"{c.metadata.get('title', '')}\n{c.text}",
            str(c.metadata.get("source", "")),
            c.metadata.get("published_ts"),
        )


def read_pointer(index_dir: Path) -> dict[str, Any] | None:
    """The published state (segments and tombstone files), or None when there is none."""
    try:
        return json.loads((index_dir / POINTER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def is_legacy(pointer: dict[str, Any] | None) -> bool:
    """Whether the pointer names a whole-corpus bm25s folder, the format before segments."""
    return pointer is not None and pointer.get("format") != FORMAT


class LexicalIndex:
    """BM25 over a set of segments, scored with whole-corpus statistics; filters by publisher
    and date. Immutable: a newer generation is a new object (sharing unchanged segments)."""

    def __init__(
        self, parts: Sequence[tuple[Segment, np.ndarray | None]], generation: int = 0
    ) -> None:
        self.generation = generation
        self._parts = list(parts)
        self._segments = [s for s, _ in self._parts]
        sizes = [len(s) for s in self._segments]
        self._offsets = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])
        lengths = [
            int(s.lengths.sum() if d is None else s.lengths[~d].sum()) for s, d in self._parts
        ]
        self._live = sum(len(s) - (0 if d is None else int(d.sum())) for s, d in self._parts)
        self._avg_len = sum(lengths) / self._live if self._live else 0.0
        sources: dict[str, int] = {}
        codes = [
            np.array([sources.setdefault(x, len(sources)) for x in s.sources], np.int32)[
                s.source_codes
            ]
            if len(s)
            else np.zeros(0, np.int32)
            for s in self._segments
        ]
        self._sources = sources
        self._source_codes = np.concatenate(codes) if codes else np.zeros(0, np.int32)
        self._ts = (
            np.concatenate([s.ts for s in self._segments])
            if self._segments
            else np.zeros(0, np.int64)
        )

    def __len__(self) -> int:
        """Live chunks."""
        return self._live

    @property
    def ids(self) -> list[str]:
        """The live chunk ids (tombstoned ones left out), for consistency checks."""
        out: list[str] = []
        for seg, dead in self._parts:
            out += [cid for k, cid in enumerate(seg.ids) if dead is None or not dead[k]]
        return out

    @property
    def segment_names(self) -> list[str]:
        return [s.name for s in self._segments]

    @classmethod
    def build(cls, docs: Iterable[LexicalDoc]) -> LexicalIndex:
        """An in-memory index of ``docs`` in one segment (what a full rebuild gives)."""
        docs = list(docs)
        return cls([(Segment.build("memory", docs), None)] if docs else [])

    @classmethod
    def load(cls, index_dir: Path, previous: LexicalIndex | None = None) -> LexicalIndex:
        """The published generation; segments ``previous`` already holds are reused."""
        for attempt in range(3):
            try:
                return cls._load(index_dir, previous)
            except FileNotFoundError:
                # A writer published and cleaned up between our reading the pointer and the
                # files it named: read the new pointer.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @classmethod
    def _load(cls, index_dir: Path, previous: LexicalIndex | None) -> LexicalIndex:
        pointer = read_pointer(index_dir)
        if pointer is None or is_legacy(pointer):
            return cls([])
        known = {s.name: s for s in previous._segments} if previous is not None else {}
        parts = []
        for entry in pointer["segments"]:
            folder = index_dir / FOLDER / entry["name"]
            seg = known.get(entry["name"]) or Segment.load(folder)
            dead = np.load(folder / entry["dead"]) if entry.get("dead") else None
            parts.append((seg, dead))
        return cls(parts, int(pointer["generation"]))

    def _term_postings(self, term: str) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """(segment number, live chunk positions, counts) for each segment holding ``term``."""
        found = []
        for n, (seg, dead) in enumerate(self._parts):
            hit = seg.postings(term)
            if hit is None:
                continue
            docs, tf = hit
            if dead is not None:
                keep = ~dead[docs]
                docs, tf = docs[keep], tf[keep]
            if len(docs):
                found.append((n, np.asarray(docs), np.asarray(tf)))
        return found

    def has_term(self, word: str) -> bool:
        """Whether any live chunk holds ``word`` (after the corpus side's tokenising)."""
        terms = tokenize_query(word)
        return bool(terms) and all(self._term_postings(t) for t in terms)

    def scores(self, query: str) -> dict[str, float]:
        """BM25 score of every chunk that holds a query term, by chunk id (for tests and checks)."""
        dense = self._dense_scores(tokenize_query(query))
        if dense is None:
            return {}
        return {self._chunk_id(int(g)): float(dense[g]) for g in np.flatnonzero(dense)}

    def _dense_scores(self, terms: list[str]) -> np.ndarray | None:
        if not terms or not self._live:
            return None
        where: list[np.ndarray] = []
        weight: list[np.ndarray] = []
        # Sorted, each term once and weighted by how often the query repeats it: every chunk's
        # sum is then added up in the same order however the chunks are split into segments.
        for term in sorted(set(terms)):
            postings = self._term_postings(term)
            df = sum(len(d) for _, d, _ in postings)
            if not df:
                continue
            idf = math.log(1 + (self._live - df + 0.5) / (df + 0.5)) * terms.count(term)
            for n, docs, tf in postings:
                seg = self._segments[n]
                tf = tf.astype(np.float64)
                norm = K1 * ((1 - B) + B * seg.lengths[docs] / self._avg_len)
                where.append(docs.astype(np.int64) + self._offsets[n])
                weight.append(idf * tf / (norm + tf))
        if not where:
            return None
        return np.bincount(
            np.concatenate(where), weights=np.concatenate(weight), minlength=self._offsets[-1]
        )

    def _chunk_id(self, g: int) -> str:
        n = int(np.searchsorted(self._offsets, g, side="right")) - 1
        return self._segments[n].ids[g - int(self._offsets[n])]

    def search(
        self,
        query: str,
        k: int,
        sources: list[str] | None = None,
        since_ts: int | None = None,
        until_ts: int | None = None,
    ) -> list[tuple[str, float]]:
        """Top ``k`` (chunk id, BM25 score) with a positive score that pass the filters; equal
        scores are ordered by chunk id, so the order does not depend on how segments lie."""
        dense = self._dense_scores(tokenize_query(query))
        if dense is None or k <= 0:
            return []
        cand = np.flatnonzero(dense > 0)
        if sources:
            codes = [self._sources[s] for s in sources if s in self._sources]
            cand = cand[np.isin(self._source_codes[cand], codes)]
        if since_ts is not None:
            cand = cand[self._ts[cand] >= since_ts]
        if until_ts is not None:
            ts = self._ts[cand]
            cand = cand[(ts <= until_ts) & (ts >= 0)]
        if cand.size == 0:
            return []
        score = dense[cand]
        if cand.size > k:
            # Everything tied with the k-th best stays in, so the tie-break below is complete.
            keep = score >= np.partition(score, cand.size - k)[cand.size - k]
            cand, score = cand[keep], score[keep]
        ranked = sorted(
            ((self._chunk_id(int(g)), float(s)) for g, s in zip(cand, score, strict=True)),
            key=lambda pair: (-pair[1], pair[0]),
        )
        return ranked[:k]
