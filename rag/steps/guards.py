"""Guards: cheap reasons to abstain before the model is asked at all.

A small model shown passages about something else tends to answer anyway; each guard looks
at what retrieval found and may decide that the articles cannot answer, and says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.answer import StepRecord
from rag.steps.coverage import missing_outlets, unmatched_names

if TYPE_CHECKING:
    from rag.chain import AnswerChain, Prepared


def _record(name: str, reason: str | None, **detail: object) -> StepRecord:
    if reason:
        detail["reason"] = reason
    return StepRecord("guard", name, "abstain" if reason else "pass", dict(detail))


@dataclass
class InstructionsOnly:
    """The question asks the model to do something (say a word, drop its rules) and asks
    nothing about the news: there is nothing to look up (``rag.instructions``)."""

    name: str = "instructions_only"

    def __call__(self, prep: Prepared, chain: AnswerChain) -> StepRecord:
        reason = "the question holds instructions only, nothing to look up"
        return _record(self.name, reason if prep.instructions_only else None)


@dataclass
class NoPassages:
    """Nothing was retrieved (an empty index slice, or filters that match nothing)."""

    name: str = "no_passages"

    def __call__(self, prep: Prepared, chain: AnswerChain) -> StepRecord:
        return _record(self.name, None if prep.sources else "no passages matched")


@dataclass
class AbsentOutlets:
    """The question names an outlet ("a Bloomberg report") the index holds no article from."""

    enabled: bool = True
    name: str = "absent_outlets"

    def __call__(self, prep: Prepared, chain: AnswerChain) -> StepRecord:
        if not self.enabled:
            return StepRecord("guard", self.name, "skipped")
        absent = missing_outlets(prep.query, chain.retriever.publishers)
        reason = "the index holds no articles from " + ", ".join(absent) if absent else None
        return _record(self.name, reason, outlets=absent)


@dataclass
class UnmatchedNames:
    """The question names someone or something no retrieved article mentions."""

    enabled: bool = True
    name: str = "unmatched_names"

    def __call__(self, prep: Prepared, chain: AnswerChain) -> StepRecord:
        if not self.enabled:
            return StepRecord("guard", self.name, "skipped")
        hits = prep.retrieval.hits if prep.retrieval is not None else []
        names = unmatched_names(
            prep.query,
            chain.retriever.publishers,
            hits,
            chain.retriever.searcher.store.article_texts,
        )
        reason = "no retrieved article mentions " + ", ".join(names) if names else None
        return _record(self.name, reason, names=names)


@dataclass
class RelevanceFloor:
    """The best passage is not relevant enough to the whole question (cosine similarity; a
    clause leader's similarity is to its clause only, so it does not count). ``calibrated``
    is False for an embedder the floor was never measured for: its record says so."""

    threshold: float
    calibrated: bool = True
    name: str = "relevance_floor"

    def __call__(self, prep: Prepared, chain: AnswerChain) -> StepRecord:
        best = max(
            (s.hit.similarity for s in prep.sources if not s.hit.signals.get("part_only")),
            default=0.0,
        )
        reason = (
            f"best passage relevance {best:.2f} is below the threshold {self.threshold:.2f}"
            if best < self.threshold
            else None
        )
        return _record(
            self.name,
            reason,
            best=round(best, 4),
            threshold=self.threshold,
            calibrated=self.calibrated,
        )
