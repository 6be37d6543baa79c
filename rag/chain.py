"""The answer chain: rewrite follow-ups, retrieve, select, then the named steps around the
model call (``rag.steps``), streamed as typed events (``rag.events``).

Generation is the only slow stage, so everything before it is decided and shown first: the
sources and the sentences that best answer the question reach the reader within about a
second, and a question the guards abstain on never waits for the model at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable

from rag.answer import Answer, StepRecord
from rag.citations import CitationChecker, may_be_refusal, refuses
from rag.config import Settings
from rag.events import Event, Evidence, Quote, Retrieved, Stage, Token
from rag.evidence import EvidenceWeights, select_evidence
from rag.fence import one_line
from rag.instructions import separate_question
from rag.prompting import answer_inputs, answer_prompt, rewrite_prompt
from rag.prompts import NOT_IN_ARTICLES, prompt_hash
from rag.retrieval.context import Source, build_sources, pick_context
from rag.retrieval.filters import Filters
from rag.retrieval.followup import Conversation, retrieve_follow_up
from rag.retrieval.planner import as_date
from rag.retrieval.retriever import NewsRetriever, Retrieval
from rag.steps import Steps, default_steps

HISTORY_TURNS = 3


def normalise_history(history: Sequence[Any] | None) -> list[tuple[str, str]]:
    """History as (role, text) pairs from message dicts, LangChain messages, (q, a) tuples or
    earlier ``Answer`` objects."""
    turns: list[tuple[str, str]] = []
    for item in history or []:
        if hasattr(item, "cited_article_ids") and hasattr(item, "question"):  # an Answer
            turns += [("user", str(item.question)), ("assistant", str(item.text))]
        elif isinstance(item, dict):
            turns.append((str(item.get("role", "user")), str(item.get("content", ""))))
        elif isinstance(item, tuple | list) and len(item) == 2:
            turns += [("user", str(item[0])), ("assistant", str(item[1] or ""))]
        else:
            role = getattr(item, "type", "user")
            turns.append(("user" if role == "human" else "assistant", str(item.content)))
    return [(r, t) for r, t in turns if t.strip()]


@dataclass
class Prepared:
    """One question as it is being answered: everything decided before generation, then the
    draft and the record of each step."""

    question: str
    query: str
    as_of: date
    filters: Filters
    sources: list[Source] = field(default_factory=list)
    closest: list[dict[str, Any]] = field(default_factory=list)
    abstain_reason: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    retrieval: Retrieval | None = None  # the plan and every ranked hit, before selection
    read: list[dict[str, Any]] = field(default_factory=list)  # the first prompt's sources
    evidence: list[Quote] = field(default_factory=list)
    trace: list[StepRecord] = field(default_factory=list)
    draft: str = ""  # what the checks read: the model's draft, or a recovery's reply
    written: str = ""  # what the model itself last wrote
    reread: bool = False  # the draft comes from a second reading of one source
    also_read: list[dict[str, Any]] = field(default_factory=list)
    refusal_reason: str | None = None  # why a check turned the draft into an abstention
    instructions_only: bool = False  # the question asked for something other than news
    news: str = ""  # the question as asked, less any instructions around it (not rewritten)
    # what passages and evidence are chosen for: the query, and a follow-up's own words
    reading: str = ""


class _Clock:
    """Seconds since the question came, and when the first text was shown."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first_shown: float | None = None

    def __call__(self) -> float:
        return round(time.perf_counter() - self.started, 4)

    def shown(self) -> None:
        if self.first_shown is None:
            self.first_shown = self()


class AnswerChain:
    """Builds answers for one index; the chat model is passed per call."""

    def __init__(
        self,
        retriever: NewsRetriever,
        embedder: Embeddings,
        settings: Settings,
        checker: CitationChecker | None = None,
        steps: Steps | None = None,
    ) -> None:
        self.retriever = retriever
        self.embedder = embedder
        self.settings = settings
        self.checker = checker or CitationChecker(
            embedder,
            threshold=settings.support_threshold,
            clause_threshold=settings.clause_threshold,
            clause_floor=settings.clause_floor,
        )
        self.steps = steps or default_steps(settings)
        self.prompt_hash = prompt_hash("answer", "examples", "question", "rewrite")
        self._answer_prompt = answer_prompt()
        self._rewrite_prompt = rewrite_prompt()

    # -- stages ---------------------------------------------------------------------------
    def generator(self, model: BaseChatModel) -> Runnable:
        """The LCEL generation chain: prompt | model | text."""
        return self._answer_prompt | model | StrOutputParser()

    def rewrite(self, question: str, history: list[tuple[str, str]], model: BaseChatModel) -> str:
        """A follow-up made standalone, using the last few turns of the conversation."""
        recent = history[-2 * HISTORY_TURNS :]
        lines = [
            f"{'User' if role == 'user' else 'Assistant'}: {one_line(text)[:400]}"
            for role, text in recent
        ]
        lines.append(f"User: {one_line(question)}")
        for_slot = getattr(model, "for_slot", None)
        if callable(for_slot):  # the embedded model: keep the answer context's prompt cache
            model = for_slot("rewrite")
        chain = self._rewrite_prompt | model | StrOutputParser()
        out = chain.invoke({"conversation": "\n".join(lines)}).strip().strip('"').strip()
        first_line = out.splitlines()[0].strip() if out else ""
        return first_line.removeprefix("Standalone question:").strip() or question

    def prepare(
        self,
        question: str,
        history: Sequence[Any] | None,
        as_of: date | datetime | str | None,
        filters: Filters,
        model: BaseChatModel | None,
    ) -> Prepared:
        """Rewrite, retrieve, select and excerpt the sources, then run the guards (which may
        set ``abstain_reason``). No answer is generated here."""
        t0 = time.perf_counter()
        asked = separate_question(question)  # instructions around a question are not asked
        news = asked.question or question
        turns = normalise_history(history)
        standalone = self.rewrite(news, turns, model) if turns and model else news
        t1 = time.perf_counter()
        day = as_date(as_of)
        if turns:
            conversation = Conversation.from_history(history)
            k = self.settings.candidates
            result = retrieve_follow_up(
                self.retriever,
                standalone,
                news,
                conversation,
                k,
                day,
                filters,
                self.settings.followup_cited_weight,
            )
        else:
            result = self.retriever.retrieve(
                standalone, k=self.settings.candidates, as_of=day, filters=filters
            )
        t2 = time.perf_counter()
        chosen = pick_context(
            result.hits,
            self.settings.top_k,
            self.settings.per_article_cap,
            self.settings.context_ratio,
            result.leaders,
        )
        # A rewrite can lose the follow-up's own words ("How much of that goes live in 2026?"
        # made "What percentage…"): passages are excerpted for both.
        reading = standalone if standalone == news else f"{standalone} {news}"
        sources = build_sources(
            reading,
            chosen,
            self.embedder,
            self.settings.passage_chars,
            self.settings.context_chars,
            self.settings.lead_bonus,
        )
        t3 = time.perf_counter()
        prep = Prepared(
            question=question,
            query=standalone,
            reading=reading,
            as_of=day or datetime.now(UTC).date(),
            filters=result.plan.filters,
            sources=sources,
            closest=self._closest(result.hits),
            timings={"rewrite": t1 - t0, "retrieve": t2 - t1, "select": t3 - t2},
            retrieval=result,
            read=[s.to_dict() for s in sources],
            instructions_only=asked.instructions_only,
            news=news,
        )
        for guard in self.steps.guards:
            record = guard(prep, self)
            prep.trace.append(record)
            if record.decision == "abstain":
                prep.abstain_reason = str(record.detail["reason"])
                break
        prep.timings["guards"] = time.perf_counter() - t3
        return prep

    @staticmethod
    def _closest(hits: Sequence[Any], n: int = 5) -> list[dict[str, Any]]:
        seen: set[str] = set()
        out: list[dict[str, Any]] = []
        for h in hits:
            if h.article_id in seen:
                continue
            seen.add(h.article_id)
            out.append(
                {
                    "article_id": h.article_id,
                    "chunk_id": h.chunk_id,
                    "title": h.title,
                    "source": h.source,
                    "url": h.url,
                    "published_at": h.published_at,
                    "passage": h.text,
                    "start": h.start,
                    "end": h.end,
                    "score": round(h.score, 4),
                    "similarity": round(h.similarity, 4),
                }
            )
            if len(out) == n:
                break
        return out

    # -- answers --------------------------------------------------------------------------
    def stream(
        self,
        question: str,
        model: BaseChatModel,
        model_name: str,
        history: Sequence[Any] | None = None,
        as_of: date | datetime | str | None = None,
        filters: Filters | None = None,
        lock: threading.Lock | None = None,
    ) -> Iterator[Event]:
        """Yield ``Stage``, ``Retrieved``, ``Evidence`` and ``Token`` events as the answer is
        made, then the checked ``Answer`` (see ``rag.events``)."""
        clock = _Clock()
        lock = lock or threading.Lock()
        with lock:
            yield Stage("rewrite" if history else "search", elapsed=clock())
            prep = self.prepare(question, history, as_of, filters or Filters(), model)
            plan = {"query": prep.query, "as_of": prep.as_of.isoformat()}
            plan["filters"] = prep.filters.to_dict()
            if prep.abstain_reason:
                prep.timings["retrieved"] = clock()
                yield Retrieved(**plan, sources=prep.closest, abstaining=True, elapsed=clock())
                yield self._abstention(prep, model_name, clock, prep.abstain_reason)
                return
            prep.timings["retrieved"] = clock()
            yield Retrieved(**plan, sources=prep.read, elapsed=clock())
            prep.evidence = self.evidence(prep)
            prep.timings["evidence"] = clock()
            yield Evidence(prep.evidence, elapsed=clock())
            articles = len({s.hit.article_id for s in prep.sources})
            yield Stage("read", f"{articles} article{'s' * (articles != 1)}", clock())
            t_gen = time.perf_counter()
            prep.draft = yield from self.generate(model, prep, prep.sources, clock)
            prep.written = prep.draft
            prep.timings["generate"] = time.perf_counter() - t_gen
            if refuses(prep.draft):
                yield from self._recover(model, prep, clock)
            if refuses(prep.draft) and clock.first_shown is None:
                clock.shown()
                yield Token(NOT_IN_ARTICLES)
            prep.timings["first_token"] = clock.first_shown
            yield Stage("check", elapsed=clock())
        yield self._finish(prep, model_name, clock)

    def recheck(self, prep: Prepared, draft: str, model_name: str = "") -> Answer:
        """The answer the checks, and the recoveries that need no model, make of ``draft``
        written for ``prep``: what a change to them does to a recorded draft, with no model
        call (``evals.recheck``)."""
        prep.evidence = self.evidence(prep)
        prep.draft = prep.written = draft
        return self._finish(prep, model_name, _Clock())

    def evidence(self, prep: Prepared) -> list[Quote]:
        """The sentences of the prepared sources that best answer the question."""
        weights = EvidenceWeights(kind_bonus=self.settings.evidence_kind_bonus)
        return select_evidence(prep.reading or prep.query, prep.sources, self.embedder, weights)

    def _recover(self, model: BaseChatModel, prep: Prepared, clock: _Clock) -> Iterator[Event]:
        """Run the recoveries in order until one replaces the refusal."""
        for recovery in self.steps.recoveries:
            yield Stage("recover", recovery.name, clock())
            t0 = time.perf_counter()
            record, draft = yield from _shown(recovery(self, model, prep, prep.draft), clock)
            prep.timings[recovery.name] = time.perf_counter() - t0
            prep.trace.append(record)
            if draft is not None:
                prep.draft = draft
                prep.written = draft if recovery.uses_model else prep.written
                prep.reread = recovery.name == "second_reading"
                return

    def generate(
        self,
        model: BaseChatModel,
        prep: Prepared,
        sources: Sequence[Source],
        clock: _Clock | None = None,
    ) -> Iterator[Token]:
        """Stream one draft over ``sources``; returns the whole draft. Text that may still turn
        out to be the refusal is held back, so a refusal that a recovery replaces is never
        shown."""
        inputs = answer_inputs(sources, prep.as_of, prep.query)
        pieces: list[str] = []
        held: str | None = ""
        for piece in self.generator(model).stream(inputs):
            pieces.append(piece)
            if held is None:
                yield _token(piece, clock)
                continue
            held += piece
            if not may_be_refusal(held):
                yield _token(held, clock)
                held = None
        draft = "".join(pieces)
        if held and not refuses(draft):  # a short answer that looked like a refusal's start
            yield _token(held, clock)
        return draft

    def _check(self, prep: Prepared):
        checked = None
        for check in self.steps.checks:
            checked, record = check(self, prep, checked)
            prep.trace.append(record)
        assert checked is not None, "the check steps must start with the cite-check"
        return checked

    def _finish(self, prep: Prepared, model_name: str, clock: _Clock) -> Answer:
        t0 = time.perf_counter()
        checked = self._check(prep)
        if checked.refused and prep.refusal_reason:
            # A draft the checks turned down is a refusal too: the recoveries that need no
            # model call may still find the answer among the sources.
            for recovery in self.steps.recoveries:
                if recovery.uses_model:
                    continue
                record, draft = _drain(recovery(self, None, prep, prep.draft))
                prep.trace.append(record)
                if draft is not None:
                    prep.draft, prep.refusal_reason = draft, None
                    checked = self._check(prep)
                    break
        prep.timings["check"] = time.perf_counter() - t0
        if checked.refused:
            reason = prep.refusal_reason or "the model found no answer in the sources"
            return self._abstention(prep, model_name, clock, reason, quote=True)
        return self._answer(
            prep,
            model_name,
            clock,
            text=checked.text,
            abstained=False,
            citations=checked.citations,
            sources=[s.to_dict() for s in prep.sources],
            sentences=checked.sentences,
            dropped_citations=checked.dropped,
            pruned_citations=checked.pruned,
            also_read=prep.also_read,
        )

    def _abstention(
        self, prep: Prepared, model_name: str, clock: _Clock, reason: str, quote: bool = False
    ) -> Answer:
        """An abstention listing the closest articles; after a refusal over relevant sources,
        with the quotation that comes closest to an answer (never presented as one)."""
        closest = None
        if quote and prep.evidence:
            best = prep.evidence[0]
            source = next((s for s in prep.read if s["n"] == best.n), None)
            if source is not None:
                closest = {**asdict(best), **_card(source)}
        return self._answer(
            prep,
            model_name,
            clock,
            text=NOT_IN_ARTICLES,
            abstained=True,
            sources=prep.closest,
            abstain_reason=reason,
            closest_quote=closest,
        )

    def _answer(self, prep: Prepared, model_name: str, clock: _Clock, **fields: Any) -> Answer:
        """An Answer with what every answer records: model, prompt hash, timings, plan, trace."""
        prep.timings["total"] = clock()
        return Answer(
            question=prep.question,
            model=model_name,
            embed_model=self.settings.embed_model,
            prompt_hash=self.prompt_hash,
            timings={k: round(v, 4) for k, v in prep.timings.items() if v is not None},
            query=prep.query,
            filters=prep.filters.to_dict(),
            draft=prep.written or prep.draft,
            read=prep.read,
            evidence=[asdict(q) for q in prep.evidence],
            trace=prep.trace,
            **fields,
        )


def _card(source: dict[str, Any]) -> dict[str, Any]:
    keys = ("article_id", "chunk_id", "title", "source", "url", "published_at")
    return {k: source.get(k) for k in keys}


def _token(text: str, clock: _Clock | None) -> Token:
    if clock is not None:
        clock.shown()
    return Token(text)


def _drain(steps: Iterator[Token]) -> Any:
    """Run a recovery to its end, its tokens unshown (the answer replaces them); returns
    what it returns."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value


def _shown(steps: Iterator[Token], clock: _Clock) -> Iterator[Token]:
    """Pass a recovery's tokens through, marking when the first text was shown; returns what
    the recovery returns."""
    while True:
        try:
            token = next(steps)
        except StopIteration as stop:
            return stop.value
        clock.shown()
        yield token
