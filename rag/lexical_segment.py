"""One immutable piece of the lexical index: term frequencies of a batch of chunks.

A segment keeps raw counts (term frequency per chunk, chunk lengths), not BM25 scores, so that
any set of segments can be scored with the statistics of the whole corpus: document frequency,
chunk count and average length are summed over the live chunks of all segments at query time.
Removed chunks are tombstoned in a ``dead`` mask beside the segment and dropped when it is
merged. See docs/decisions/0101-growing-bm25.md.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import bm25s
import numpy as np


@dataclass(frozen=True)
class LexicalDoc:
    """What the BM25 index needs to know about one chunk to filter and report it."""

    chunk_id: str
    text: str
    source: str
    published_ts: int | None


def tokenize_corpus(texts: Sequence[str]) -> tuple[list[list[int]], list[str]]:
    """Token ids per text and the vocabulary (id → term), with bm25s's English tokenising."""
    tokens = bm25s.tokenize(list(texts), stopwords="en", return_ids=True, show_progress=False)
    # bm25s numbers terms in first-seen order, so the dict's order is the id order.
    return tokens.ids, list(tokens.vocab)


class Segment:
    """Postings (term → chunks holding it, with counts) and per-chunk metadata of some chunks."""

    def __init__(
        self,
        name: str,
        ids: list[str],
        vocab: list[str],
        ptr: np.ndarray,
        docs: np.ndarray,
        tf: np.ndarray,
        lengths: np.ndarray,
        ts: np.ndarray,
        sources: list[str],
        source_codes: np.ndarray,
    ) -> None:
        self.name = name
        self.ids = ids
        self.vocab = vocab
        self.ptr = ptr
        self.docs = docs
        self.tf = tf
        self.lengths = lengths
        self.ts = ts
        self.sources = sources
        self.source_codes = source_codes
        self._terms: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def terms(self) -> dict[str, int]:
        """Term → row of the postings, built on first use."""
        if self._terms is None:
            self._terms = {t: i for i, t in enumerate(self.vocab)}
        return self._terms

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(chunk positions, term counts) for ``term``, or None when no chunk here has it."""
        row = self.terms.get(term)
        if row is None:
            return None
        lo, hi = int(self.ptr[row]), int(self.ptr[row + 1])
        return self.docs[lo:hi], self.tf[lo:hi]

    # -- building ---------------------------------------------------------------------------
    @classmethod
    def build(cls, name: str, docs: Sequence[LexicalDoc]) -> Segment:
        """Count the terms of ``docs``, all at once in numpy rather than chunk by chunk."""
        token_ids, vocab = tokenize_corpus([d.text for d in docs])
        n = len(docs)
        lengths = np.fromiter((len(t) for t in token_ids), dtype=np.int32, count=n)
        flat = np.fromiter(chain.from_iterable(token_ids), dtype=np.int64, count=int(lengths.sum()))
        owner = np.repeat(np.arange(n, dtype=np.int64), lengths)
        pairs, counts = np.unique(flat * n + owner, return_counts=True)  # sorted by term, chunk
        terms, positions = pairs // max(n, 1), pairs % max(n, 1)
        sources = sorted({d.source for d in docs})
        code = {s: i for i, s in enumerate(sources)}
        return cls(
            name,
            [d.chunk_id for d in docs],
            vocab,
            _pointers(terms, len(vocab)),
            positions.astype(np.int32),
            counts.astype(np.uint16),
            lengths,
            np.array([-1 if d.published_ts is None else d.published_ts for d in docs], np.int64),
            sources,
            np.array([code[d.source] for d in docs], dtype=np.int32),
        )

    @classmethod
    def merge(cls, name: str, parts: Sequence[tuple[Segment, np.ndarray | None]]) -> Segment:
        """One segment holding the live chunks of ``parts`` (segment, dead mask or None)."""
        vocab: dict[str, int] = {}
        sources: dict[str, int] = {}
        terms, positions, tfs = [], [], []
        ids: list[str] = []
        lengths, ts, codes = [], [], []
        offset = 0
        for seg, dead in parts:
            live = np.ones(len(seg), dtype=bool) if dead is None else ~dead
            renumber = np.cumsum(live, dtype=np.int64) - 1 + offset
            term_map = np.array([vocab.setdefault(t, len(vocab)) for t in seg.vocab], np.int64)
            source_map = np.array(
                [sources.setdefault(s, len(sources)) for s in seg.sources], np.int32
            )
            row_of = np.repeat(term_map, np.diff(seg.ptr))
            keep = live[seg.docs]
            terms.append(row_of[keep])
            positions.append(renumber[seg.docs[keep]])
            tfs.append(np.asarray(seg.tf)[keep])
            ids.extend(i for i, alive in zip(seg.ids, live, strict=True) if alive)
            lengths.append(seg.lengths[live])
            ts.append(seg.ts[live])
            codes.append(source_map[seg.source_codes[live]])
            offset += int(live.sum())
        term = np.concatenate(terms) if terms else np.zeros(0, np.int64)
        pos = np.concatenate(positions) if positions else np.zeros(0, np.int64)
        tf = np.concatenate(tfs) if tfs else np.zeros(0, np.uint16)
        # Terms left only in removed chunks are dropped, so the vocabulary does not grow forever.
        used = np.bincount(term, minlength=len(vocab)) > 0
        new_row = np.cumsum(used) - 1
        order = np.lexsort((pos, term))
        words = list(vocab)
        return cls(
            name,
            ids,
            [w for w, u in zip(words, used, strict=True) if u],
            _pointers(new_row[term[order]], int(used.sum())),
            pos[order].astype(np.int32),
            tf[order].astype(np.uint16),
            np.concatenate(lengths).astype(np.int32) if lengths else np.zeros(0, np.int32),
            np.concatenate(ts).astype(np.int64) if ts else np.zeros(0, np.int64),
            list(sources),
            np.concatenate(codes).astype(np.int32) if codes else np.zeros(0, np.int32),
        )

    # -- files ------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Write the segment's files into a new ``folder`` (never rewritten afterwards)."""
        folder.mkdir(parents=True, exist_ok=False)
        for key in ("ptr", "docs", "tf", "lengths", "ts", "source_codes"):
            _save_array(folder / f"{key}.npy", getattr(self, key))
        meta = {"ids": self.ids, "vocab": self.vocab, "sources": self.sources}
        write_synced(folder / "meta.json", json.dumps(meta).encode("utf-8"))

    @classmethod
    def load(cls, folder: Path) -> Segment:
        """Read a saved segment; the postings are memory-mapped, so only what queries touch
        is read into memory."""
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))

        def arr(key: str, mmap: bool = False) -> np.ndarray:
            return np.load(folder / f"{key}.npy", mmap_mode="r" if mmap else None)

        return cls(
            folder.name,
            meta["ids"],
            meta["vocab"],
            arr("ptr"),
            arr("docs", mmap=True),
            arr("tf", mmap=True),
            arr("lengths"),
            arr("ts"),
            meta["sources"],
            arr("source_codes"),
        )


def _pointers(sorted_rows: np.ndarray, rows: int) -> np.ndarray:
    """CSR row pointers for postings sorted by row."""
    ptr = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(sorted_rows, minlength=rows), out=ptr[1:])
    return ptr


def _save_array(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as fh:
        np.save(fh, np.ascontiguousarray(array))
        fh.flush()
        os.fsync(fh.fileno())


def write_synced(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` and flush it to disk before returning."""
    with path.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def save_dead(path: Path, dead: np.ndarray) -> None:
    """Write a tombstone mask (one flag per chunk of a segment)."""
    _save_array(path, dead.astype(bool))
