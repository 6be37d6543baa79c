"""Test doubles that ship with the library: a word-overlap embedder and a scripted chat model."""

from __future__ import annotations

import hashlib
import math
import re

from langchain_core.embeddings import Embeddings

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an and are as at be by for from has have in is it its of on or that the this to was were "
    "what which who will with did does do how when where why".split()
)


def words(text: str) -> list[str]:
    """Lower-case content words, the unit both test doubles reason in."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


class HashEmbeddings(Embeddings):
    """Deterministic bag-of-words vectors: cosine similarity follows word overlap.

    Counts what it embeds, so tests can assert that unchanged articles cost no embedding work.
    """

    def __init__(self, dimension: int = 512) -> None:
        self.dimension = dimension
        self.calls = 0
        self.texts_embedded = 0

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dimension
        for word in words(text):
            slot = int.from_bytes(hashlib.md5(word.encode()).digest()[:4], "little")
            vec[slot % self.dimension] += 1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        self.texts_embedded += len(texts)
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)
