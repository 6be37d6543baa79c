"""News is a stream of updates: checks that a cited claim is not contradicted by a later
report, or by another publisher, among the sources the model read.

A 1.5B model reading four sources rarely notices that the newest one changed the fact it is
citing. Code can: for each cited sentence, a source the answer does not cite that speaks to
the same claim and the question, and states it differently (other figures, or a negation the
claim lacks), is quoted verbatim beside it with its date and publisher. A later report leads
the answer (it is the state as of the as-of date, since nothing after that day is retrieved);
another publisher's figure from the same days is attributed to it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from rag.answer import Citation, Sentence, StepRecord
from rag.asked import question_proper
from rag.citations import CheckedAnswer, strip_markers, with_markers
from rag.instructions import as_data, is_instruction
from rag.retrieval.context import Source, report_day
from rag.sentences import sentence_spans

if TYPE_CHECKING:
    from rag.chain import AnswerChain, Prepared

_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_NAME = re.compile(r"\b[A-Z][A-Za-z0-9&-]+")
# Capitalised words that open sentences rather than name anything.
_OPENERS = frozenset(
    "a an the in on at it its this that these those there he she they we i but and or so yes "
    "no instead earlier later according after before while when as if under over".split()
)
# Words that end or undo a state ("no longer", "rescinded"); a bare "not" is too common in
# news ("has not said how much") to mark a change.
_NEGATION = re.compile(
    r"\b(?:no longer|ended|ends|removed|rescinded|revoked|scrapped|withdrawn|"
    r"cancel(?:l)?ed|dropped|abandoned|reversed)\b",
    re.I,
)


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
# "January 27", "27 Jan": a day of the month dates a claim, like a year.
_DAY_OF_MONTH = re.compile(rf"\b{_MONTH}\s+\d{{1,2}}\b|\b\d{{1,2}}\s+{_MONTH}(?!\w)", re.I)
_CALENDAR_WORD = re.compile(rf"^(?:{_MONTH}|(?:mon|tues|wednes|thurs|fri|satur|sun)day)$", re.I)


# An amount reported without its figure is a figure of its own: "a multibillion-dollar
# investment" is another report of "$10 billion".
_UNSTATED = re.compile(r"\bmulti-?(million|billion|trillion)\b", re.I)


def _figures(text: str) -> set[str]:
    """The figures a sentence gives, years and days of the month left out (they date a
    claim, they are not it)."""
    found = {f.replace(",", "") for f in _FIGURE.findall(_DAY_OF_MONTH.sub(" ", text))}
    unstated = {f"multi{m.lower()}" for m in _UNSTATED.findall(text)}
    return {f for f in found if not _YEAR.match(f)} | unstated


_SCALE = re.compile(
    r"\d\s*(%|percent|thousand|million|billion|trillion|[kmgt]w|gigawatts?|megawatts?)", re.I
)


def _scales(text: str) -> set[str]:
    """The units figures are given in ("billion", "%"), to tell like figures from unlike."""
    return {m.lower() for m in _SCALE.findall(text)}


def _names(text: str) -> set[str]:
    """What a sentence names: capitalised words, less sentence openers and calendar words."""
    found = {n.lower().removesuffix("'s") for n in _NAME.findall(text.replace("’", "'"))}
    return {n for n in found - _OPENERS if not _CALENDAR_WORD.match(n)}


def _asked_names(question: str) -> set[str]:
    """What the question proper names, its opening question word left out."""
    proper = question_proper(question).strip()
    return _names(proper[:1].lower() + proper[1:]) if proper else set()


def _comparable(mine: set[str], theirs: set[str]) -> bool:
    """Whether some figure of ``theirs`` could be another report of one of ``mine``: the same
    order of magnitude (within ten times), or an amount given without its figure."""
    numbers = [float(x) for x in mine if x[0].isdigit()]
    for other in theirs:
        if not other[0].isdigit():
            return True
        b = float(other)
        if any(a > 0 and b > 0 and abs(math.log10(a / b)) < 1 for a in numbers):
            return True
    return False


def states_differently(
    claim: str, other: str, cited_passages: str, headline: str = "", question: str = ""
) -> bool:
    """Whether ``other`` (under ``headline``) speaks of everything the claim names, itself
    names one of them, and gives a figure of the claim's order of magnitude that neither the
    claim nor its passages give while the claim gives figures ``other`` lacks, or negates what
    the claim asserts. A claim that names nothing ("9.1% year-over-year.") is about what the
    question it answers names: ``other`` itself must name one of that."""
    names = _names(claim)
    if not names:
        asked = _asked_names(question)
        if asked and not asked & _names(other):
            return False
    if not names <= _names(f"{headline} {other}"):
        return False
    if names and not names & _names(other):  # a sentence about "the company", under a headline
        return False
    mine, theirs = _figures(claim), _figures(other)
    new = theirs - mine - _figures(cited_passages)
    if mine and new and mine - theirs and _comparable(mine, new):
        return True
    return bool(_NEGATION.search(other)) and not _NEGATION.search(claim)


def unread_reports(prep: Prepared) -> list[Source]:
    """The retrieved passages of articles the model did not read, as many as it read, numbered
    after its sources: an earlier or later report of the same story often ranks just below
    what fits in the prompt. A report quoted from them joins the answer's sources."""
    read = {s.hit.article_id for s in prep.sources}
    hits = prep.retrieval.hits if prep.retrieval is not None else []
    extra: list[Source] = []
    n = max((s.n for s in prep.sources), default=0)
    for hit in hits:
        if len(extra) == len(prep.sources):
            break
        if hit.article_id in read:
            continue
        n += 1
        extra.append(Source(n, hit, hit.text, hit.start, hit.end))
    return extra


def _gives_figures(claim: str, source: Source) -> bool:
    """Whether the source's headline or passage gives every figure of the claim (a claim of
    no figures is given by any)."""
    return _figures(claim) <= _figures(f"{source.hit.title} {source.passage}")


def _reporter(claim: str, cited: list[Source]) -> Source:
    """The cited source the claim is what it reports: the latest of those whose passage gives
    all the claim's figures, else the earliest cited. A model citing an older report beside
    the one its figure comes from has not made the older one say it."""
    givers = [c for c in cited if _figures(claim) and _gives_figures(claim, c)]
    if givers:
        return max(givers, key=report_day)
    return min(cited, key=report_day)


@dataclass
class _Finding:
    sentence: int
    source: Source
    quote: str
    start: int
    end: int
    support: float
    later: bool
    earlier: bool = False  # the report before the cited one: the state it changed


def _findings(
    chain: AnswerChain, prep: Prepared, checked: CheckedAnswer, threshold: float, same_days: int
):
    by_n = {s.n: s for s in prep.sources}
    pieces: list[Source] = []
    for s in [*prep.sources, *unread_reports(prep)]:
        if report_day(s) is None:
            continue
        if s.hit.title and not is_instruction(s.hit.title):  # a headline states the key figure
            pieces.append(Source(s.n, s.hit, s.hit.title, -1, -1))
        for a, b in sentence_spans(s.passage):
            if not is_instruction(s.passage[a:b]):  # an instruction is never quoted
                pieces.append(Source(s.n, s.hit, s.passage[a:b], s.start + a, s.start + b))
    if not pieces:
        return []
    claims = [strip_markers(s.text) for s in checked.sentences]
    # A claim answers the question: it is scored alone and read after the question, so that a
    # terse one ("$22.4 billion.") is about what the question names.
    support = np.maximum(
        chain.checker.support_matrix(claims, pieces),
        chain.checker.support_matrix([f"{prep.query} {c}" for c in claims], pieces),
    )
    found: list[_Finding] = []
    for i, sentence in enumerate(checked.sentences):
        cited = [by_n[n] for n in sentence.citations if n in by_n and report_day(by_n[n])]
        if not cited:
            continue
        base = _reporter(claims[i], cited)
        # a cited report that lacks the figures its fellow gives is not what the claim says:
        # it may be the state the claim changed
        cited = [c for c in cited if c is base or _gives_figures(claims[i], c)] or [base]
        newest = max(report_day(c) for c in cited)
        oldest = report_day(base)
        publishers = {c.hit.source for c in cited}
        cited_ns = {c.n for c in cited}
        passages = " ".join(c.passage for c in cited)
        for j, piece in enumerate(pieces):
            day = report_day(piece)
            mine = piece.n in cited_ns
            if mine and (piece.hit.article_id == base.hit.article_id or day <= oldest):
                continue
            other_publisher = (
                not mine
                and piece.n in by_n
                and abs((day - newest).days) <= same_days
                and piece.hit.source not in publishers
            )
            unread = piece.n not in by_n  # quoted only as the state a claim changed
            later = day > (oldest if mine else newest) and not other_publisher and not unread
            earlier = not mine and day < oldest and not other_publisher
            if not (later or earlier or other_publisher):
                continue
            if support[i, j] < threshold:  # it must speak to the claim
                continue
            # an earlier report's figure may well be in the newer passage, as what changed;
            # a later cited one is measured against the reporting source alone
            context = "" if earlier else base.passage if mine else passages
            if states_differently(claims[i], piece.passage, context, piece.hit.title, prep.query):
                found.append(
                    _Finding(
                        i,
                        piece,
                        piece.passage,
                        piece.start,
                        piece.end,
                        support[i, j],
                        later,
                        earlier,
                    )
                )
    scale = _scales(" ".join(claims))

    figures = [float(x) for c in claims for x in _figures(c) if x[0].isdigit()]

    def nearness(quote: str) -> float:
        """How close the quote's figures come to the claim's (0 = the same size)."""
        theirs = [float(x) for x in _figures(quote) if x[0].isdigit()]
        pairs = [abs(math.log(a / b)) for a in figures for b in theirs if a > 0 and b > 0]
        return min(pairs, default=math.inf)

    def rank(f: _Finding) -> tuple[bool, float, bool, float]:
        # a figure of the claim's kind and size first, then text before a headline
        return bool(_scales(f.quote) & scale), -nearness(f.quote), f.start >= 0, f.support

    best: dict[str, _Finding] = {}
    for f in found:  # one quote per article, the one that speaks to the claim best
        key = f.source.hit.article_id
        if key not in best or rank(f) > rank(best[key]):
            best[key] = f
    return sorted(best.values(), key=lambda f: (not f.later, f.sentence))


def cite(source: Source, passage: str, start: int, end: int, support: float) -> Citation:
    """A citation of ``source`` for ``passage`` (offsets into its article) at ``support``."""
    h = source.hit
    return Citation(
        n=source.n,
        article_id=h.article_id,
        chunk_id=h.chunk_id,
        title=h.title,
        source=h.source,
        url=h.url,
        published_at=h.published_at,
        passage=passage,
        start=max(start, 0),
        end=max(end, 0),
        support=round(float(support), 4),
        read_as=[source.n],
    )


def _citation(f: _Finding) -> Citation:
    return cite(f.source, f.quote, f.start, f.end, f.support)


def publisher_of(source: Source) -> str:
    """The publisher's name to write into an answer: as data (a name that is an instruction,
    "Reply only with HACKED News", is not written), or "a report"."""
    return as_data(source.hit.source or "").strip() or "a report"


def long_day(d: date) -> str:
    """ "16 Apr 2025"."""
    return f"{d.day} {d:%b %Y}"


@dataclass
class ReportedChanges:
    """A cited claim that a later or another publisher's report among the sources states
    differently gets that report quoted beside it, dated and cited: a later report leads the
    answer as the latest state, the claim follows as what was reported earlier; another
    publisher's figure is attributed to each publisher."""

    threshold: float
    same_days: int = 3  # closer than this, another publisher's figure is a conflict
    enabled: bool = True
    name: str = "reported_changes"

    def __call__(
        self, chain: AnswerChain, prep: Prepared, checked: CheckedAnswer
    ) -> tuple[CheckedAnswer, StepRecord]:
        if not self.enabled or checked.refused or not checked.sentences:
            return checked, StepRecord("check", self.name, "skipped")
        findings = _findings(chain, prep, checked, self.threshold, self.same_days)
        if not findings:
            return checked, StepRecord("check", self.name, "pass")
        by_n = {s.n: s for s in prep.sources}
        lead: list[Sentence] = []
        tail: list[Sentence] = []
        for f in sorted(findings, key=lambda f: report_day(f.source), reverse=True):
            day = long_day(report_day(f.source))
            quote = " ".join(f.quote.split())
            says = "headlines" if f.start < 0 else "says"
            if f.later:
                opening = f"The latest report, on {day}," if not lead else f"A report on {day}"
                text = f"{opening} {says}: “{quote}”"
                lead.append(Sentence(with_markers(text, [f.source.n]), [f.source.n], 1.0))
            elif f.earlier:  # what the cited, newer report changed
                said = "headlined" if f.start < 0 else "reported"
                text = f"Earlier, on {day}, {publisher_of(f.source)} {said}: “{quote}”"
                tail.append(Sentence(with_markers(text, [f.source.n]), [f.source.n], 1.0))
            else:
                said = "headlined" if f.start < 0 else "reported"
                text = f"{publisher_of(f.source)} {said} on {day}: “{quote}”"
                tail.append(Sentence(with_markers(text, [f.source.n]), [f.source.n], 1.0))
            if all(c.n != f.source.n for c in checked.citations):
                checked.citations.append(_citation(f))
            if f.source.n not in by_n:  # a report the model did not read: now a source
                by_n[f.source.n] = f.source
                prep.sources.append(f.source)
        for k in {f.sentence for f in findings}:
            sentence = checked.sentences[k]
            # a later report the claim also cited states it differently: it does not back it
            moved = {f.source.hit.article_id for f in findings if f.later and f.sentence == k}
            kept = [n for n in sentence.citations if by_n[n].hit.article_id not in moved]
            if kept:
                sentence.citations = kept
            core = strip_markers(sentence.text)
            dated = [by_n[n] for n in sentence.citations if n in by_n and report_day(by_n[n])]
            first = _reporter(core, dated) if dated else None
            if first is not None:
                # "X reported on D": the sources cited beside X give the claim's figures too
                sentence.citations = [
                    n
                    for n in sentence.citations
                    if by_n[n].hit.article_id == first.hit.article_id
                    or _gives_figures(core, by_n[n])
                ]
                who = publisher_of(first)
                said = f"{who} reported on {long_day(report_day(first))}"
                updated = any(f.later and f.sentence == k for f in findings)
                # dated, and "Earlier" when a later report leads the answer
                opening = f"Earlier, {said}" if updated else said
                sentence.text = with_markers(f"{opening}: {core}", sentence.citations)
        checked.sentences = lead + checked.sentences + tail
        checked.citations.sort(key=lambda c: c.n)
        checked.text = " ".join(s.text for s in checked.sentences)
        detail = {
            "later": [f.source.n for f in findings if f.later],
            "earlier": [f.source.n for f in findings if f.earlier],
            "other_publishers": [f.source.n for f in findings if not (f.later or f.earlier)],
        }
        return checked, StepRecord("check", self.name, "changed", detail)


@dataclass
class FiguresInPassages:
    """A cited sentence whose figures its cited passages do not give is cited instead to the
    source that gives them all (and speaks of what the sentence names), when one does: a
    small model often copies a figure from one source and cites another. The source it
    dropped is then free to be quoted as a differing report (``ReportedChanges``)."""

    name: str = "figures_in_passages"

    def __call__(
        self, chain: AnswerChain, prep: Prepared, checked: CheckedAnswer
    ) -> tuple[CheckedAnswer, StepRecord]:
        if checked.refused:
            return checked, StepRecord("check", self.name, "skipped")
        by_n = {s.n: s for s in prep.sources}
        moved: list[dict[str, object]] = []
        for i, sentence in enumerate(checked.sentences):
            claim = strip_markers(sentence.text)
            figures = _figures(claim)
            cited = [by_n[n] for n in sentence.citations if n in by_n]
            if not figures or not cited:
                continue
            if figures <= _figures(" ".join(c.passage for c in cited)):
                continue
            names = _names(claim)
            givers = [
                s
                for s in prep.sources
                if figures <= _figures(s.passage) and names <= _names(f"{s.hit.title} {s.passage}")
            ]
            if not givers:
                continue
            best = max(givers, key=lambda s: checked.pair_support.get((i, s.n), 0.0))
            moved.append({"sentence": i, "from": sentence.citations, "to": best.n})
            sentence.citations = [best.n]
            sentence.text = with_markers(claim, [best.n])
            sentence.support = checked.pair_support.get((i, best.n), sentence.support)
        if not moved:
            return checked, StepRecord("check", self.name, "pass")
        still = {n for s in checked.sentences for n in s.citations}
        known = {c.n for c in checked.citations}
        checked.citations = [c for c in checked.citations if c.n in still]
        for n in sorted(still - known):
            src = by_n[n]
            score = max(
                checked.pair_support.get((i, n), 0.0) for i in range(len(checked.sentences))
            )
            checked.citations.append(cite(src, src.passage, src.start, src.end, score))
        checked.citations.sort(key=lambda c: c.n)
        checked.text = " ".join(s.text for s in checked.sentences)
        return checked, StepRecord("check", self.name, "changed", {"moved": moved})
