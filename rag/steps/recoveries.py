"""Recoveries: what Byline does when the model says the articles don't say.

A 1.5B model often refuses with the answer in front of it. Each recovery may replace the
refusal with a reply that the cite-check accepts; the first one that does ends the search.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.output_parsers import StrOutputParser

from rag.answer import StepRecord
from rag.asked import Asked, asked_kind, focus_terms, gives_kind, names_all
from rag.citations import refuses
from rag.events import Token
from rag.evidence import holds_kind_asked
from rag.instructions import is_instruction
from rag.prompting import answer_messages
from rag.retrieval.context import build_sources, report_day
from rag.steps.changes import long_day, publisher_of
from rag.steps.coverage import names_missing_from

if TYPE_CHECKING:
    from rag.chain import AnswerChain, Prepared

#: What a recovery yields while it works, and what it returns: its record and the new draft
#: (None when the refusal stands).
Outcome = tuple[StepRecord, str | None]


@runtime_checkable
class ScoresReplies(Protocol):
    """A chat model that can say how likely it finds a given reply to a prompt, and can be
    asked for a reply that does not start a given way (the embedded model)."""

    def text_probability(self, messages: list[BaseMessage], text: str) -> float: ...


@dataclass
class DoubtedRefusal:
    """A refusal the model itself gives a probability under ``below`` is replaced by its best
    reply that does not start like the refusal, if every sentence of that reply is cited and
    backed by its passage. Models that cannot report probabilities keep their refusals."""

    below: float
    name: str = "doubted_refusal"
    uses_model: bool = True

    def __call__(
        self, chain: AnswerChain, model: BaseChatModel, prep: Prepared, draft: str
    ) -> Iterator[Token]:
        if self.below <= 0 or not isinstance(model, ScoresReplies):
            return StepRecord("recovery", self.name, "skipped"), None
        t0 = time.perf_counter()
        messages = answer_messages(prep.sources, prep.as_of, prep.query)
        probability = round(float(model.text_probability(messages, draft.strip())), 4)
        detail: dict[str, object] = {"probability": probability, "below": self.below}
        if probability >= self.below:
            return self._record("kept", detail, t0), None
        reply = StrOutputParser().invoke(model.invoke(messages, avoid_start=draft.strip()))
        detail["reply"] = reply
        if refuses(reply):
            return self._record("kept", detail, t0), None
        checked = chain.checker.check(reply, prep.sources)
        backed = bool(checked.sentences) and all(s.supported for s in checked.sentences)
        if not backed or checked.refused:
            return self._record("kept", detail, t0), None
        yield Token(reply)
        return self._record("replaced", detail, t0), reply

    def _record(self, decision: str, detail: dict, t0: float) -> StepRecord:
        return StepRecord(
            "recovery", self.name, decision, detail, round(time.perf_counter() - t0, 4)
        )


@dataclass
class SecondReading:
    """The best passage read again on its own, excerpted at up to ``chars``, when it is
    relevant enough (``similarity``): a small model shown four short excerpts sometimes misses
    an answer it finds in the best passage alone, or that the short excerpt cut off."""

    enabled: bool
    similarity: float
    chars: int
    lead_bonus: float = 0.0
    name: str = "second_reading"
    uses_model: bool = True

    def focus(self, chain: AnswerChain, prep: Prepared):
        """The source to read again, or None when there is none worth it."""
        if not self.enabled or len(prep.sources) < 2:
            return None
        best = prep.sources[0]
        if best.hit.similarity < self.similarity:
            return None
        if len(best.passage) >= min(self.chars, len(best.hit.text)):
            return best
        (longer,) = build_sources(
            prep.query, [best.hit], chain.embedder, self.chars, lead_bonus=self.lead_bonus
        )
        return longer

    def __call__(
        self, chain: AnswerChain, model: BaseChatModel, prep: Prepared, draft: str
    ) -> Iterator[Token]:
        focus = self.focus(chain, prep)
        if focus is None:
            return StepRecord("recovery", self.name, "skipped"), None
        t0 = time.perf_counter()
        second = yield from chain.generate(model, prep, [focus])
        detail = {
            "article_id": focus.hit.article_id,
            "chunk_id": focus.hit.chunk_id,
            "passage": focus.passage,
            "reply": second,
        }
        seconds = round(time.perf_counter() - t0, 4)
        if refuses(second):
            return StepRecord("recovery", self.name, "kept", detail, seconds), None
        prep.sources[0] = focus  # cite what the model read the second time
        return StepRecord("recovery", self.name, "replaced", detail, seconds), second


@dataclass
class QuotedEvidence:
    """When the model refuses while an ``Evidence`` quote plainly holds what was asked, that
    quote is the reply, verbatim, dated and cited, as the closest the articles come. Plainly:
    the quote holds the kind of thing asked for (a figure for "how much", a name for "which
    company", a currency amount for a price), every name of the question is in the quote or
    its headline, and so is every word naming what is asked ("net loss" in "What net loss
    did…"). A question that names nothing it asks about ("How much of that…?") gets none."""

    enabled: bool = True
    name: str = "quoted_evidence"
    uses_model: bool = False  # it also runs when the checks turn a draft down

    def __call__(
        self, chain: AnswerChain, model: BaseChatModel, prep: Prepared, draft: str
    ) -> Iterator[Token]:
        asked = Asked.of(prep.query)
        kind = asked.kind or asked_kind(prep.news)
        focus = asked.focus or focus_terms(prep.news)  # a rewrite may lose what was asked
        if not self.enabled or not focus or not prep.evidence:
            return StepRecord("recovery", self.name, "skipped"), None
        by_n = {s.n: s for s in prep.sources}
        publishers = chain.retriever.publishers
        tried: list[dict[str, object]] = []
        for quote in prep.evidence:
            source = by_n.get(quote.n)
            if source is None:
                continue
            why = None
            if is_instruction(quote.text):
                why = "an instruction"
            elif not (
                holds_kind_asked(quote.text, prep.query) or holds_kind_asked(quote.text, prep.news)
            ):
                why = "not the kind asked for"
            elif kind and not gives_kind(quote.text, kind):
                why = f"no {kind}"
            elif not names_all(focus, quote.text):
                why = "does not name what is asked"
            elif names_missing_from(prep.query, publishers, f"{source.hit.title} {quote.text}"):
                why = "a name of the question is missing"
            if why:
                tried.append({"n": quote.n, "why": why})
                continue
            reporter = publisher_of(source)
            day = report_day(source)
            when = f" on {long_day(day)}" if day else ""
            reply = f"The closest the articles come is {reporter}{when}: “{quote.text}” [{quote.n}]"
            yield Token(reply)
            detail = {"n": quote.n, "focus": focus, "passed_over": tried}
            return StepRecord("recovery", self.name, "replaced", detail), reply
        return StepRecord("recovery", self.name, "kept", {"focus": focus, "tried": tried}), None
