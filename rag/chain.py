"""The answer chain: rewrite follow-ups, retrieve, select, generate (LCEL), cite-check.

Generation is the only slow stage, so everything before it is decided first: a question whose
best passage is not relevant enough is abstained on without calling the model at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable

from rag.answer import Answer
from rag.chunking import chunk_id
from rag.citations import CitationChecker, may_be_refusal, refuses
from rag.config import Settings
from rag.fence import one_line
from rag.instructions import for_prompt, separate_question
from rag.prompts import NOT_IN_ARTICLES, load_examples, load_prompt, prompt_hash
from rag.retrieval.context import Source, build_sources, pick_context, with_leads
from rag.retrieval.coverage import missing_outlets, unmatched_names
from rag.retrieval.filters import Filters
from rag.retrieval.hits import Hit
from rag.retrieval.planner import as_date
from rag.retrieval.retriever import NewsRetriever, Retrieval

HISTORY_TURNS = 3


_ROLES = {"user": "human", "assistant": "ai"}


def _literal(text: str) -> str:
    """Text for a prompt template that has no variables in it."""
    return text.replace("{", "{{").replace("}", "}}")


def format_sources(sources: Sequence[Source]) -> str:
    """The numbered, fenced sources as the model sees them."""
    blocks = []
    for s in sources:
        h = s.hit
        day = (h.published_at or "")[:10] or "undated"
        title = one_line(for_prompt(h.title or "(untitled)"))
        publisher = one_line(for_prompt(h.source or "unknown publisher"))
        blocks.append(
            f'<source id="{s.n}">\n{title} ({publisher}, {day})\n{for_prompt(s.passage)}\n</source>'
        )
    return "\n".join(blocks)


def answer_prompt() -> ChatPromptTemplate:
    """The answer prompt: rules, worked examples as earlier turns, then sources and question."""
    return ChatPromptTemplate.from_messages(
        [("system", load_prompt("answer"))]
        + [(_ROLES[role], _literal(text)) for role, text in load_examples()]
        + [("human", load_prompt("question"))]
    )


def warm_up(model: BaseChatModel) -> None:
    """Have the model read the fixed start of every answer prompt (rules and worked examples)
    and write one token, so an embedded model's prompt cache holds that start before the
    first question comes."""
    *fixed, _ = answer_prompt().format_messages(sources="", as_of="", question="")
    model.invoke([*fixed, HumanMessage(".")], max_tokens=1)


def normalise_history(history: Sequence[Any] | None) -> list[tuple[str, str]]:
    """History as (role, text) pairs from message dicts, LangChain messages or (q, a) tuples."""
    turns: list[tuple[str, str]] = []
    for item in history or []:
        if isinstance(item, dict):
            turns.append((str(item.get("role", "user")), str(item.get("content", ""))))
        elif isinstance(item, tuple | list) and len(item) == 2:
            turns += [("user", str(item[0])), ("assistant", str(item[1] or ""))]
        else:
            role = getattr(item, "type", "user")
            turns.append(("user" if role == "human" else "assistant", str(item.content)))
    return [(r, t) for r, t in turns if t.strip()]


@dataclass
class Prepared:
    """Everything decided before generation."""

    question: str
    query: str
    as_of: date
    filters: Filters
    sources: list[Source] = field(default_factory=list)
    closest: list[dict[str, Any]] = field(default_factory=list)
    abstain_reason: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    retrieval: Retrieval | None = None  # the plan and every ranked hit, before selection
    focused: bool = False  # answered on a second reading of the best passage alone
    overruled: bool = False  # a refusal the model gave a low probability, replaced (_overrule)
    refusal_probability: float | None = None


class _FirstShown:
    """When the first text was shown, counted from ``started``."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.at: float | None = None

    def mark(self) -> None:
        if self.at is None:
            self.at = time.perf_counter() - self.started


class AnswerChain:
    """Builds answers for one index; the chat model is passed per call."""

    def __init__(
        self,
        retriever: NewsRetriever,
        embedder: Embeddings,
        settings: Settings,
        checker: CitationChecker | None = None,
    ) -> None:
        self.retriever = retriever
        self.embedder = embedder
        self.settings = settings
        self.checker = checker or CitationChecker(embedder)
        self.prompt_hash = prompt_hash("answer", "examples", "question", "rewrite")
        self._answer_prompt = answer_prompt()
        self._rewrite_prompt = ChatPromptTemplate.from_messages(
            [("system", load_prompt("rewrite")), ("human", "{conversation}")]
        )

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
        model: BaseChatModel,
    ) -> Prepared:
        t0 = time.perf_counter()
        asked = separate_question(question)  # instructions around a question are not asked
        news = asked.question or question
        turns = normalise_history(history)
        standalone = self.rewrite(news, turns, model) if turns else news
        t1 = time.perf_counter()
        day = as_of_date = as_date(as_of)
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
        if self.settings.lead_passages:
            chosen = with_leads(chosen, self._leads(chosen))
        sources = build_sources(
            standalone,
            chosen,
            self.embedder,
            self.settings.passage_chars,
            self.settings.context_chars,
            self.settings.lead_bonus,
        )
        t3 = time.perf_counter()
        prepared = Prepared(
            question=question,
            query=standalone,
            as_of=as_of_date or datetime.now(UTC).date(),
            filters=result.plan.filters,
            sources=sources,
            closest=self._closest(result.hits),
            timings={"rewrite": t1 - t0, "retrieve": t2 - t1, "select": t3 - t2},
            retrieval=result,
        )
        # Relevance to the whole question: a clause leader's similarity is to its clause only.
        best = max(
            (s.hit.similarity for s in sources if not s.hit.signals.get("part_only")),
            default=0.0,
        )
        publishers = self.retriever.publishers
        absent = missing_outlets(standalone, publishers) if self.settings.coverage_check else []
        unmatched = (
            unmatched_names(
                standalone, publishers, result.hits, self.retriever.searcher.store.article_texts
            )
            if self.settings.coverage_check
            else []
        )
        if asked.instructions_only:
            prepared.abstain_reason = "the question holds instructions only, nothing to look up"
        elif not sources:
            prepared.abstain_reason = "no passages matched"
        elif absent:
            prepared.abstain_reason = "the index holds no articles from " + ", ".join(absent)
        elif unmatched:
            prepared.abstain_reason = "no retrieved article mentions " + ", ".join(unmatched)
        elif best < self.settings.abstain_threshold:
            prepared.abstain_reason = (
                f"best passage relevance {best:.2f} is below the threshold "
                f"{self.settings.abstain_threshold:.2f}"
            )
        return prepared

    def _leads(self, chosen: Sequence[Hit]) -> dict[str, Hit]:
        """The opening chunk of each article that has two or more chosen passages, none of
        them its opening (what ``with_leads`` may swap in)."""
        count: dict[str, int] = {}
        opening: set[str] = set()
        for h in chosen:
            count[h.article_id] = count.get(h.article_id, 0) + 1
            if h.chunk_index == 0:
                opening.add(h.article_id)
        wanted = [chunk_id(a, 0) for a, n in count.items() if n > 1 and a not in opening]
        stored = self.retriever.searcher.store.get(wanted) if wanted else []
        return {hit.article_id: hit for hit in map(Hit.from_stored, stored)}

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
    ) -> Iterator[str | Answer]:
        """Yield text pieces as the model writes them, then the checked ``Answer``."""
        started = time.perf_counter()
        lock = lock or threading.Lock()
        with lock:
            prep = self.prepare(question, history, as_of, filters or Filters(), model)
            if prep.abstain_reason:
                yield NOT_IN_ARTICLES
                yield self._abstention(prep, model_name, started, prep.abstain_reason)
                return
            t_gen = time.perf_counter()
            shown = _FirstShown(started)
            draft = yield from self._generate(model, prep, prep.sources, shown)
            prep.timings["generate"] = time.perf_counter() - t_gen
            refused = refuses(draft)
            overruled = self._overrule(model, prep, draft) if refused else None
            if overruled is not None:
                draft, refused, prep.overruled = overruled, False, True
                shown.mark()
                yield overruled
            focus = self.focus_source(prep) if refused else None
            if focus is not None:
                t_focus = time.perf_counter()
                second = yield from self._generate(model, prep, [focus], shown)
                prep.timings["focus"] = time.perf_counter() - t_focus
                if not refuses(second):
                    draft, refused, prep.focused = second, False, True
                    prep.sources[0] = focus  # cite what the model read the second time
            if refused and shown.at is None:
                shown.mark()
                yield NOT_IN_ARTICLES
            prep.timings["first_token"] = shown.at
        yield self._finish(prep, draft, model_name, started)

    def _generate(
        self, model: BaseChatModel, prep: Prepared, sources: Sequence[Source], shown: _FirstShown
    ) -> Iterator[str]:
        """Stream one draft over ``sources``; returns the whole draft. Text that may still turn
        out to be the refusal is held back, so a refusal that a focused second reading
        replaces is never shown."""
        inputs = self._inputs(prep, sources)
        pieces: list[str] = []
        held: str | None = ""
        for piece in self.generator(model).stream(inputs):
            pieces.append(piece)
            if held is None:
                shown.mark()
                yield piece
                continue
            held += piece
            if not may_be_refusal(held):
                shown.mark()
                yield held
                held = None
        draft = "".join(pieces)
        if held and not refuses(draft):  # a short answer that looked like a refusal's start
            shown.mark()
            yield held
        return draft

    @staticmethod
    def _inputs(prep: Prepared, sources: Sequence[Source]) -> dict[str, str]:
        return {
            "sources": format_sources(sources),
            "as_of": prep.as_of.isoformat(),
            "question": one_line(prep.query),
        }

    def _overrule(self, model: BaseChatModel, prep: Prepared, refusal: str) -> str | None:
        """After a refusal: when the model itself gave its ``refusal`` a probability under
        ``overrule_refusal_below``, its best reply that does not start like the refusal, if the
        cite-check finds every sentence of it cited and supported; otherwise None (the refusal
        stands). A small model often refuses with the answer in front of it while putting most
        of its probability on answers. Needs a model that reports the probability of a reply
        (``text_probability``, the embedded model); other models keep their refusals."""
        below = self.settings.overrule_refusal_below
        probability = getattr(model, "text_probability", None)
        if below <= 0 or not callable(probability):
            return None
        t0 = time.perf_counter()
        messages = self._answer_prompt.format_messages(**self._inputs(prep, prep.sources))
        prep.refusal_probability = round(float(probability(messages, refusal.strip())), 4)
        if prep.refusal_probability >= below:
            prep.timings["overrule"] = time.perf_counter() - t0
            return None
        reply = StrOutputParser().invoke(model.invoke(messages, avoid_start=refusal.strip()))
        prep.timings["overrule"] = time.perf_counter() - t0
        if refuses(reply):
            return None
        checked = self.checker.check(reply, prep.sources)
        backed = checked.sentences and all(s.supported for s in checked.sentences)
        return reply if backed and not checked.refused else None

    def focus_source(self, prep: Prepared) -> Source | None:
        """After a refusal, the best passage when it is relevant enough to read again on its
        own, excerpted at up to ``focus_chars``: a small model shown four short excerpts
        sometimes misses an answer that it finds in the best passage alone, or that the short
        excerpt cut off."""
        if not self.settings.focus_retry or len(prep.sources) < 2:
            return None
        best = prep.sources[0]
        if best.hit.similarity < self.settings.focus_similarity:
            return None
        if len(best.passage) >= min(self.settings.focus_chars, len(best.hit.text)):
            return best
        (longer,) = build_sources(
            prep.query,
            [best.hit],
            self.embedder,
            self.settings.focus_chars,
            lead_bonus=self.settings.lead_bonus,
        )
        return longer

    def _finish(self, prep: Prepared, draft: str, model_name: str, started: float) -> Answer:
        t0 = time.perf_counter()
        # A question describing several articles: its clauses are claims the answer rests on
        # (not after a second reading, when the model saw one source only).
        plan = prep.retrieval.plan if prep.retrieval is not None else None
        clauses = [part for part, _ in plan.parts] if plan and not prep.focused else []
        checked = self.checker.check(draft, prep.sources, clauses)
        prep.timings["check"] = time.perf_counter() - t0
        if checked.refused:
            reason = "the model found no answer in the sources"
            return self._abstention(prep, model_name, started, reason, draft)
        return self._answer(
            prep,
            model_name,
            started,
            text=checked.text,
            abstained=False,
            citations=checked.citations,
            sources=[s.to_dict() for s in prep.sources],
            sentences=checked.sentences,
            draft=draft,
            dropped_citations=checked.dropped,
            pruned_citations=checked.pruned,
            focused=prep.focused,
            overruled=prep.overruled,
        )

    def _abstention(
        self, prep: Prepared, model_name: str, started: float, reason: str, draft: str = ""
    ) -> Answer:
        return self._answer(
            prep,
            model_name,
            started,
            text=NOT_IN_ARTICLES,
            abstained=True,
            sources=prep.closest,
            abstain_reason=reason,
            draft=draft,
        )

    def _answer(self, prep: Prepared, model_name: str, started: float, **fields: Any) -> Answer:
        """An Answer with what every answer records: model, prompt hash, timings, plan."""
        prep.timings["total"] = time.perf_counter() - started
        return Answer(
            question=prep.question,
            model=model_name,
            embed_model=self.settings.embed_model,
            prompt_hash=self.prompt_hash,
            timings={k: round(v, 4) for k, v in prep.timings.items()},
            query=prep.query,
            filters=prep.filters.to_dict(),
            refusal_probability=prep.refusal_probability,
            **fields,
        )
