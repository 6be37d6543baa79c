"""The typed answer: what LLM text becomes before anything else sees it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Citation:
    """One numbered source that the answer cites, with the exact passage and its offsets.

    ``support`` is how well the passage supports the sentences citing it (0–1);
    ``attributed`` is True when the model gave no marker and the checker assigned this source.
    """

    n: int
    article_id: str
    chunk_id: str
    title: str
    source: str
    url: str
    published_at: str | None
    passage: str
    start: int
    end: int
    support: float = 0.0
    attributed: bool = False


@dataclass
class Sentence:
    """One sentence of the answer with the source numbers that back it."""

    text: str
    citations: list[int] = field(default_factory=list)
    support: float = 0.0
    supported: bool = True
    attributed: bool = False


@dataclass
class Answer:
    """A short answer whose claims cite their articles, or an abstention listing close articles."""

    question: str
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    model: str = ""
    embed_model: str = ""
    prompt_hash: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    query: str = ""
    filters: dict[str, Any] = field(default_factory=dict)
    abstain_reason: str | None = None
    draft: str = ""
    dropped_citations: list[int] = field(default_factory=list)
    pruned_citations: list[int] = field(default_factory=list)
    focused: bool = False  # refused over all sources, then answered from the best one read alone
    # The probability the model gave its refusal, when it refused and can report one; a refusal
    # under the ``overrule_refusal_below`` setting was replaced by its best cited answer.
    refusal_probability: float | None = None
    overruled: bool = False

    @property
    def cited_article_ids(self) -> list[str]:
        """Distinct cited articles, in citation order."""
        seen: list[str] = []
        for c in self.citations:
            if c.article_id not in seen:
                seen.append(c.article_id)
        return seen

    def to_dict(self) -> dict[str, Any]:
        """The public JSON shape (``byline ask --json``)."""
        return asdict(self)
