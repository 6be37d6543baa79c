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
    # The source numbers the model saw this article under (``n`` is the number shown).
    read_as: list[int] = field(default_factory=list)


@dataclass
class Sentence:
    """One sentence of the answer with the source numbers that back it."""

    text: str
    citations: list[int] = field(default_factory=list)
    support: float = 0.0
    supported: bool = True
    attributed: bool = False


@dataclass
class StepRecord:
    """What one named step of the answer path did: ``kind`` is ``guard`` (may abstain before
    the model), ``recovery`` (acts on a refusal) or ``check`` (after the draft); ``decision``
    is what it concluded (``pass``, ``abstain``, ``replaced``, ``kept``, ``changed``,
    ``skipped``); ``detail`` holds its numbers."""

    kind: str
    name: str
    decision: str
    detail: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


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
    # Exactly what the model read for the draft: the sources of its prompt, in order, as
    # numbered there (``sources`` lists the closest articles instead when it abstains).
    read: list[dict[str, Any]] = field(default_factory=list)
    # The verbatim sentences shown while the model was reading (see ``rag.events.Evidence``).
    evidence: list[dict[str, Any]] = field(default_factory=list)
    # Sources the model cited whose passage does not back the sentence: never shown as sources.
    also_read: list[dict[str, Any]] = field(default_factory=list)
    # When the model refused with relevant passages in front of it: the sentence of them that
    # comes closest to an answer, offered as a quotation (the answer stays an abstention).
    closest_quote: dict[str, Any] | None = None
    trace: list[StepRecord] = field(default_factory=list)

    def step(self, name: str) -> StepRecord | None:
        """The trace record of the step called ``name``, if it ran."""
        return next((r for r in self.trace if r.name == name), None)

    def _replaced_by(self, name: str) -> bool:
        record = self.step(name)
        return record is not None and record.decision == "replaced"

    @property
    def focused(self) -> bool:
        """Refused over all sources, then answered from the best one read again alone."""
        return self._replaced_by("second_reading")

    @property
    def overruled(self) -> bool:
        """A refusal the model itself found unlikely, replaced by its cited answer."""
        return self._replaced_by("doubted_refusal")

    @property
    def refusal_probability(self) -> float | None:
        """How likely the model found its refusal, when it refused and could say."""
        record = self.step("doubted_refusal")
        return None if record is None else record.detail.get("probability")

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
        out = asdict(self)
        out.update(
            focused=self.focused,
            overruled=self.overruled,
            refusal_probability=self.refusal_probability,
        )
        return out
