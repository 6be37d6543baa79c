"""Checks: what code verifies after the model has written, before a reader sees anything.

The cite-check parses the markers and scores support; the steps after it decide what is
shown. A reader trusts a highlighted passage, so a citation is shown only where its passage
backs its sentence, and each article is one source number, counted from [1] in order of use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from rag.answer import Citation, Sentence, StepRecord
from rag.asked import (
    asked_kind,
    asked_noun,
    asks_yes_or_no,
    gives_kind,
    kind_label,
    names_all,
    names_any,
)
from rag.citations import CheckedAnswer, restates, states_nothing, strip_markers, with_markers
from rag.full_names import bare_name, full_name
from rag.lexical import tokenize_query
from rag.retrieval.context import Source
from rag.steps.changes import cite
from rag.steps.coverage import names_in

if TYPE_CHECKING:
    from rag.chain import AnswerChain, Prepared


@dataclass
class CiteCheck:
    """Parse the draft's markers, drop out-of-range ones, score each sentence's support,
    attribute unmarked sentences to their best passage, prune markers of multi-cited
    sentences whose passage does not back them, and cite the source backing each clause of
    a question that describes several articles (see ``rag.citations``)."""

    name: str = "cite_check"

    def __call__(
        self, chain: AnswerChain, prep: Prepared, checked: CheckedAnswer | None
    ) -> tuple[CheckedAnswer, StepRecord]:
        t0 = time.perf_counter()
        plan = prep.retrieval.plan if prep.retrieval is not None else None
        # Not after a second reading, when the model saw one source only.
        clauses = [part for part, _ in plan.parts] if plan and not prep.reread else []
        out = chain.checker.check(prep.draft, prep.sources, clauses)
        detail = {
            "sentences": len(out.sentences),
            "dropped": out.dropped,
            "pruned": out.pruned,
            "attributed": sorted({c.n for c in out.citations if c.attributed}),
            "clause_cited": out.clause_cited,
            "refused": out.refused,
        }
        seconds = round(time.perf_counter() - t0, 4)
        return out, StepRecord(
            "check", self.name, "refused" if out.refused else "pass", detail, seconds
        )


@dataclass
class NoYesToAnOpenQuestion:
    """A bare "Yes." or "No." opening the reply to a question that is not a yes/no question
    ("How many shares…?" answered "Yes [1]. The deal gives…") is dropped: a small model copies
    the opening of an earlier turn, and a reader takes it as a claim."""

    enabled: bool = True
    name: str = "no_yes_to_an_open_question"

    def __call__(
        self, chain: AnswerChain, prep: Prepared, checked: CheckedAnswer
    ) -> tuple[CheckedAnswer, StepRecord]:
        if not self.enabled or checked.refused or asks_yes_or_no(prep.news or prep.query):
            return checked, StepRecord("check", self.name, "skipped")
        if len(checked.sentences) < 2 or not _bare_yes_or_no(checked.sentences[0].text):
            return checked, StepRecord("check", self.name, "pass")
        dropped = checked.sentences.pop(0)
        # scores are kept by sentence index: the sentences after it move up one
        checked.pair_support = {(i - 1, n): v for (i, n), v in checked.pair_support.items() if i}
        still = {n for s in checked.sentences for n in s.citations}
        checked.citations = [c for c in checked.citations if c.n in still]
        checked.text = " ".join(s.text for s in checked.sentences)
        return checked, StepRecord("check", self.name, "changed", {"dropped": dropped.text})


def _bare_yes_or_no(sentence: str) -> bool:
    words = strip_markers(sentence).strip(" .!,;:").lower().split()
    return words in (["yes"], ["no"])


@dataclass
class GivesWhatWasAsked:
    """A question that opens by asking for a price, a percentage, a number or a year is not
    answered by a reply that gives none ("At what price…?" answered with how the deal vests):
    that reply becomes an abstention, with the closest articles."""

    enabled: bool = True
    name: str = "gives_what_was_asked"

    def __call__(
        self, chain: AnswerChain, prep: Prepared, checked: CheckedAnswer
    ) -> tuple[CheckedAnswer, StepRecord]:
        kind = asked_kind(prep.query) or asked_kind(prep.news)
        if not self.enabled or checked.refused or kind is None:
            return checked, StepRecord("check", self.name, "skipped")
        text = " ".join(strip_markers(s.text) for s in checked.sentences)
        if gives_kind(text, kind):
            return checked, StepRecord("check", self.name, "pass", {"kind": kind})
        checked.refused = True
        prep.refusal_reason = f"the answer gives no {kind_label(kind)}, which the question asks for"
        return checked, StepRecord("check", self.name, "abstain", {"kind": kind})


@dataclass
class NamesWhatWasAsked:
    """An answer to a "What/Which <thing> did…" question that calls what it gives the thing
    ("$1.92 billion in operating profit") while its cited passages and headlines hold none of
    the thing's words is about something else (the revenue the passage gives, labelled
    operating profit): it becomes an abstention."""

    enabled: bool = True
    name: str = "names_what_was_asked"

    def __call__(
        self, chain: AnswerChain, prep: Prepared, checked: CheckedAnswer
    ) -> tuple[CheckedAnswer, StepRecord]:
        if not self.enabled or checked.refused:
            return checked, StepRecord("check", self.name, "skipped")
        named = names_in(prep.query, chain.retriever.publishers)
        names = set(tokenize_query(" ".join(named)))  # the question's names are not the thing
        focus = [t for t in asked_noun(prep.query) if t not in names]
        answer = " ".join(strip_markers(s.text) for s in checked.sentences)
        # only a label the answer itself asserts ("… in operating profit") is checked: an
        # answer "Dinosaur tracks" to "What ancient find…?" claims no label to back
        if not focus or not names_all(focus, answer):
            return checked, StepRecord("check", self.name, "skipped")
        by_n = {c.n: c for c in checked.citations}
        cited = [by_n[n] for s in checked.sentences for n in s.citations if n in by_n]
        text = " ".join(f"{c.title} {c.passage}" for c in cited)
        if not cited or names_any(focus, text):
            return checked, StepRecord("check", self.name, "pass", {"focus": focus})
        checked.refused = True
        prep.refusal_reason = "no cited passage names what the question asks about"
        return checked, StepRecord("check", self.name, "abstain", {"focus": focus})


@dataclass
class HideUnbacked:
    """A citation whose passage does not back its sentence (support under ``threshold``) is
    removed from that sentence; a source no sentence is left citing is no longer a citation
    (it is listed as read, never shown as support); one that another passage of the same
    article backs moves to that passage. A verdict on a yes/no question, a sentence that
    states nothing of its own ("Yes.") or only says the question back, is backed by what backs
    the question: a source backing it, or one of its clauses at ``clause_threshold``, or every
    source the answer cites read together (a verdict citing one article also cites the one
    that completes it); a source cited for a clause of the question keeps its citation. A
    sentence joining several articles is backed by them read together. When no sentence is
    left backed, the answer abstains (docs/decisions/0033-verdicts-and-bylines.md)."""

    threshold: float
    clause_threshold: float = 0.35  # a source backing a clause of the question this well
    name: str = "hide_unbacked"

    def __call__(
        self, chain: AnswerChain, prep: Prepared, checked: CheckedAnswer
    ) -> tuple[CheckedAnswer, StepRecord]:
        if checked.refused:
            return checked, StepRecord("check", self.name, "skipped")
        question_support = self._question_support(chain, prep)
        clause = set(checked.clause_cited)
        hidden: list[dict[str, object]] = []
        joined: list[dict[str, object]] = []  # sentences backed by their sources together
        backing: dict[int, float] = {}  # the support each kept citation is kept for
        # A verdict on a yes/no question rests on every source the answer cites.
        all_cited = list(dict.fromkeys(n for s in checked.sentences for n in s.citations))
        question = prep.news or prep.query
        verdict = asks_yes_or_no(question)
        recited: list[dict[str, object]] = []  # citations moved to another passage of the article
        for i, sentence in enumerate(checked.sentences):
            keep = []
            claimless = states_nothing(sentence.text) or (
                verdict and restates(sentence.text, question)
            )
            for n in sentence.citations:
                score = checked.pair_support.get((i, n), 0.0)
                if claimless:
                    score = max(score, question_support.get(n, 0.0))
                # a bare "Yes" to a question about several articles rests on its clauses
                by_clause = (
                    claimless and checked.clause_support.get(n, 0.0) >= self.clause_threshold
                )
                if score >= self.threshold or by_clause or (i == 0 and n in clause):
                    keep.append(n)
                    if by_clause:
                        score = max(score, checked.clause_support[n])
                    backing[n] = max(backing.get(n, 0.0), score)
                elif (other := self._other_passage(prep, checked, i, n)) is not None:
                    # the article backs it through another of its passages: cite that one
                    keep.append(other)
                    backing[other] = max(backing.get(other, 0.0), checked.pair_support[(i, other)])
                    recited.append({"sentence": i, "n": n, "passage": other})
                else:
                    hidden.append({"sentence": i, "n": n, "support": round(score, 4)})
            together = all_cited if claimless else sentence.citations
            if not keep and sentence.citations and (len(together) > 1 or claimless):
                # a sentence joining several articles ("… while …") is backed by them together
                joint = self._joint_support(chain, prep, sentence.text, together, claimless)
                added = None
                if joint < self.threshold and claimless and verdict and i == 0:
                    joint, added = self._completed(chain, prep, together)
                if joint >= self.threshold:
                    keep = [*sentence.citations, *([added] if added is not None else [])]
                    hidden = [h for h in hidden if h["sentence"] != i]
                    for n in keep:
                        backing[n] = max(backing.get(n, 0.0), joint)
                    joined.append({"sentence": i, "support": round(joint, 4)})
                    if added is not None:
                        joined[-1]["completed_by"] = added
            keep = list(dict.fromkeys(keep))
            if keep != sentence.citations:
                sentence.citations = keep
                sentence.text = with_markers(sentence.text, keep)
                sentence.supported = bool(keep)
                sentence.support = max(
                    (checked.pair_support.get((i, n), 0.0) for n in keep), default=0.0
                )
        still = {n for s in checked.sentences for n in s.citations}
        by_n = {s.n: s for s in prep.sources}
        known = {c.n for c in checked.citations}
        for n in sorted(still - known):  # a passage cited in place of another of its article
            src = by_n[n]
            checked.citations.append(cite(src, src.passage, src.start, src.end, backing[n]))
        dropped = [c for c in checked.citations if c.n not in still]
        checked.citations = [c for c in checked.citations if c.n in still]
        for c in checked.citations:  # "Yes [1]." is backed by what backs the question
            c.support = round(max(c.support, backing.get(c.n, 0.0)), 4)
        checked.text = " ".join(s.text for s in checked.sentences)
        backed = any(s.citations for s in checked.sentences)
        detail = {"hidden": hidden, "also_read": [c.n for c in dropped], "backed": backed}
        if joined:
            detail["joined"] = joined
        if recited:
            detail["recited"] = recited
        prep.also_read = [
            {"n": c.n, "article_id": c.article_id, "title": c.title, "source": c.source,
             "published_at": c.published_at, "url": c.url, "support": c.support}
            for c in dropped
        ]  # fmt: skip
        if not backed:
            checked.refused = True
            prep.refusal_reason = "no sentence of the draft is backed by its sources"
            return checked, StepRecord("check", self.name, "abstain", detail)
        return checked, StepRecord("check", self.name, "changed" if hidden else "pass", detail)

    def _other_passage(self, prep: Prepared, checked: CheckedAnswer, i: int, n: int) -> int | None:
        """Another passage of the article source ``n`` comes from that backs sentence ``i``
        (the best one), or None: the model cited the article, if not the passage that says it."""
        article = next((s.hit.article_id for s in prep.sources if s.n == n), None)
        scores = [
            (checked.pair_support.get((i, s.n), 0.0), s.n)
            for s in prep.sources
            if s.n != n and s.hit.article_id == article
        ]
        best = max(scores, default=(0.0, None))
        return best[1] if best[0] >= self.threshold else None

    def _completed(
        self, chain: AnswerChain, prep: Prepared, numbers: list[int]
    ) -> tuple[float, int | None]:
        """A verdict citing one article, which falls short of backing the question alone: the
        one other article the model read that completes it best, and how well the two then
        back the question (the model cited one of the two articles a comparison describes).
        An answer citing several articles is left as it is."""
        cited = {s.hit.article_id for s in prep.sources if s.n in numbers}
        others = [s.n for s in prep.sources if s.hit.article_id not in cited]
        if len(cited) != 1 or not others:
            return 0.0, None
        candidates = [self._joined(prep, [*numbers, n]) for n in others]
        row = chain.checker.support_matrix([prep.query], candidates)[0]
        best = int(np.argmax(row))
        return float(row[best]), others[best]

    @classmethod
    def _joint_support(
        cls, chain: AnswerChain, prep: Prepared, text: str, numbers: list[int], claimless: bool
    ) -> float:
        """How well the passages of sources ``numbers``, read as one, back the sentence
        ``text``; a sentence that states nothing of its own is the question's claim."""
        if not any(s.n in numbers for s in prep.sources):
            return 0.0
        claim = prep.query if claimless else strip_markers(text)
        together = cls._joined(prep, numbers)
        return float(chain.checker.support_matrix([claim], [together])[0, 0])

    @staticmethod
    def _joined(prep: Prepared, numbers: list[int]) -> Source:
        """Sources ``numbers`` as one source: their headlines and passages in one text, the
        first one's byline and the others' bylines in its headline."""
        by_n = {s.n: s for s in prep.sources}
        cited = [by_n[n] for n in numbers if n in by_n]
        joined = " ".join(f"{c.hit.title}. {c.passage}" for c in cited)
        bylines = " ".join(f"{c.hit.source} {(c.hit.published_at or '')[:10]}" for c in cited[1:])
        return Source(cited[0].n, replace(cited[0].hit, title=bylines), joined, -1, -1)

    @staticmethod
    def _question_support(chain: AnswerChain, prep: Prepared) -> dict[int, float]:
        if not prep.sources:
            return {}
        row = chain.checker.support_matrix([prep.query], prep.sources)[0]
        return {s.n: float(row[j]) for j, s in enumerate(prep.sources)}


@dataclass
class FullNames:
    """An answer that is a name given short ("The Dodgers [1].", "BBBY [1].") is given the
    name as its cited article writes it in full ("The Los Angeles Dodgers [1].", "Bed Bath &
    Beyond (BBBY) [1]."): only words the article writes before the name are added, from the
    passages read of the articles the sentence cites (see ``rag.full_names``)."""

    enabled: bool = True
    name: str = "full_names"

    def __call__(
        self, chain: AnswerChain, prep: Prepared, checked: CheckedAnswer
    ) -> tuple[CheckedAnswer, StepRecord]:
        if not self.enabled or checked.refused or asks_yes_or_no(prep.news or prep.query):
            return checked, StepRecord("check", self.name, "skipped")
        article_of = {s.n: s.hit.article_id for s in prep.sources}
        completed: list[dict[str, str]] = []
        for sentence in checked.sentences:
            text = strip_markers(sentence.text)
            short = bare_name(text)
            if short is None or not sentence.citations:
                continue
            articles = {article_of.get(n) for n in sentence.citations}
            passages = [s.passage for s in prep.sources if s.hit.article_id in articles]
            full = full_name(short, passages)
            if full is None or _said_before(checked.sentences, sentence, full, short):
                continue
            at = text.find(short)
            sentence.text = with_markers(
                text[:at] + full + text[at + len(short) :], sentence.citations
            )
            completed.append({"name": short, "as_written": full})
        if not completed:
            return checked, StepRecord("check", self.name, "pass")
        checked.text = " ".join(s.text for s in checked.sentences)
        return checked, StepRecord("check", self.name, "changed", {"completed": completed})


def _said_before(sentences: list[Sentence], sentence: Sentence, full: str, short: str) -> bool:
    """Whether the answer already writes the added words right before the name ("Lt [1].
    Nyota Uhura [1].": an abbreviation the answer's sentences were split at)."""
    added = full[: full.rfind(short)].strip() if short in full else ""
    k = next(i for i, s in enumerate(sentences) if s is sentence)
    if not added or k == 0:
        return False
    before = strip_markers(sentences[k - 1].text).rstrip(" .")
    return before.endswith(added.rstrip("."))


@dataclass
class OneNumberPerArticle:
    """Each cited article is one source number, numbered from [1] in order of first use;
    an article cited through two passages keeps the one that backs the answer best (the
    numbers the model saw are kept in ``Citation.read_as``)."""

    name: str = "one_number_per_article"

    def __call__(
        self, chain: AnswerChain, prep: Prepared, checked: CheckedAnswer
    ) -> tuple[CheckedAnswer, StepRecord]:
        if checked.refused or not checked.citations:
            return checked, StepRecord("check", self.name, "skipped")
        by_n = {c.n: c for c in checked.citations}
        number_of_article: dict[str, int] = {}
        mapping: dict[int, int] = {}
        for sentence in checked.sentences:
            for n in sentence.citations:
                article = by_n[n].article_id
                if article not in number_of_article:
                    number_of_article[article] = len(number_of_article) + 1
                mapping[n] = number_of_article[article]
        merged: dict[int, Citation] = {}
        for n, shown in mapping.items():
            c = by_n[n]
            best = merged.get(shown)
            read_as = sorted({*(best.read_as if best else []), n})
            if best is None or c.support > best.support:
                merged[shown] = replace(c, n=shown, read_as=read_as)
            else:
                best.read_as = read_as
        for sentence in checked.sentences:
            numbers = list(dict.fromkeys(mapping[n] for n in sentence.citations))
            sentence.citations = numbers
            sentence.text = with_markers(sentence.text, numbers)
        checked.citations = [merged[k] for k in sorted(merged)]
        checked.text = " ".join(s.text for s in checked.sentences)
        changed = any(k != v for k, v in mapping.items())
        return checked, StepRecord(
            "check",
            self.name,
            "changed" if changed else "pass",
            {"numbers": {str(k): v for k, v in mapping.items()}},
        )
