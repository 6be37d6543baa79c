"""The unit retrieval hands around: one chunk with its article's metadata and its scores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rag.store import StoredChunk

HIT_KEYS = ("article_id", "chunk_id", "title", "source", "url", "published_at", "score", "text")


@dataclass
class Hit:
    """A retrieved passage. ``score`` is the final ranking score; ``similarity`` is cosine."""

    article_id: str
    chunk_id: str
    title: str
    source: str
    url: str
    published_at: str | None
    score: float
    text: str
    start: int = 0
    end: int = 0
    chunk_index: int = 0
    authors: str = ""
    published_ts: int | None = None
    similarity: float = 0.0
    signals: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_stored(cls, chunk: StoredChunk, score: float = 0.0) -> Hit:
        m = chunk.metadata
        return cls(
            article_id=str(m.get("article_id", chunk.id.rsplit(":", 1)[0])),
            chunk_id=chunk.id,
            title=str(m.get("title", "")),
            source=str(m.get("source", "")),
            url=str(m.get("url", "")),
            published_at=m.get("published_at"),
            score=score,
            text=chunk.text,
            start=int(m.get("start", 0)),
            end=int(m.get("end", 0)),
            chunk_index=int(m.get("chunk_index", 0)),
            authors=str(m.get("authors", "")),
            published_ts=m.get("published_ts"),
            similarity=chunk.similarity or 0.0,
        )

    def to_dict(self) -> dict[str, Any]:
        """The public JSON shape of a search hit."""
        return {k: (round(self.score, 6) if k == "score" else getattr(self, k)) for k in HIT_KEYS}
