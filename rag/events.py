"""What ``Byline.stream`` yields, in order: what was found, what it says, the model's words,
then the checked answer.

Retrieval and selection take about a second; the embedded model then reads for many more. The
first two events let a reader see the sources and the sentences that best answer the question
while the model is still reading. ``Stage`` events in between name the step under way, so a
page or a terminal can say what it is waiting for.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rag.answer import Answer


@dataclass
class Stage:
    """A step has started: ``rewrite``, ``search``, ``read``, ``write``, ``recover`` or
    ``check``; ``detail`` says more ("4 articles"). ``elapsed`` counts from the question."""

    name: str
    detail: str = ""
    elapsed: float = 0.0


@dataclass
class Retrieved:
    """The plan and the sources the model will read (each a dict with ``n``, ``article_id``,
    ``chunk_id``, ``title``, ``source``, ``published_at``, ``url``, ``passage``, ``start``,
    ``end``). When Byline abstains before generation, ``sources`` are the closest articles and
    ``abstaining`` is True."""

    query: str
    as_of: str
    filters: dict[str, Any]
    sources: list[dict[str, Any]]
    abstaining: bool = False
    elapsed: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Quote:
    """A sentence copied verbatim from source ``n``: ``text == passage[start - passage_start :
    end - passage_start]``; ``start``/``end`` are offsets into the article text."""

    n: int
    text: str
    start: int
    end: int
    score: float = 0.0


@dataclass
class Evidence:
    """Up to three verbatim sentences from the sources that best answer the question. A
    quotation to read while the model writes, never the answer itself."""

    quotes: list[Quote] = field(default_factory=list)
    elapsed: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Token:
    """Text as the model writes it (text that may still turn into a refusal is held back)."""

    text: str


#: Every event ``Byline.stream`` can yield.
Event = Stage | Retrieved | Evidence | Token | Answer
