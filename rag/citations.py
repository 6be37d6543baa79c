"""The cite-check: parse the model's [n] markers, drop impossible ones, score support, attribute.

Small models often leave markers out, so a sentence without a valid marker is attributed to the
source that supports it best, when one does well enough; model-given and attributed citations
are kept apart. Every sentence gets a support score from its cited passages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.answer import Citation, Sentence
from rag.asked import names_all
from rag.config import Settings
from rag.instructions import as_data, echoing
from rag.lexical import tokenize_query
from rag.retrieval.context import Source, report_day
from rag.sentences import sentence_spans

_MARKER = re.compile(r"\s*\[(?:(?:sources?|src)\s*)?(\d+(?:\s*(?:,|;|and|&)\s*\d+)*)\]", re.I)
_LEADING_MARKERS = re.compile(r"^(?:\s*\[(?:(?:sources?|src)\s*)?\d+(?:\s*[,;]\s*\d+)*\])+", re.I)
_NEGATIONS = ("don't", "do not", "doesn't", "does not", "did not", "didn't")
_NOT = "(?:" + "|".join(_NEGATIONS) + ")"
# "The articles don't say", "the article doesn't mention", "the sources do not contain" ...
_REFUSAL = re.compile(
    r"\b(?:articles?|sources?)\s+" + _NOT + r"\s+(?:say|mention|state|contain|specify|report)"
)
_REFUSALS = (  # phrasings the pattern above does not cover
    "not in the articles",
    "not in the sources",
    "do not contain the answer",
    "does not contain the answer",
    "don't contain information",
    "do not contain information",
    "do not provide",
    "does not provide",
    "no information",
    "not mentioned",
    "not provided",
    "i don't know",
    "i do not know",
    "insufficient information",
    "cannot be determined",
    "can't be determined",
    "unable to determine",
    "not specified",
)


def parse_markers(text: str) -> list[int]:
    """Source numbers cited in ``text``, in order, without repeats."""
    found: list[int] = []
    for group in _MARKER.findall(text):
        for n in re.findall(r"\d+", group):
            if int(n) not in found:
                found.append(int(n))
    return found


def strip_markers(text: str) -> str:
    return _MARKER.sub("", text).strip()


# The model sometimes names the source by its kind ("The filing doesn't say."). Such a sentence
# is a refusal only when it opens the sentence and cites nothing: "The report did not mention
# layoffs [2]." answers a question about that report.
_DOCUMENT_NOUNS = (
    "filing", "report", "passage", "excerpt", "text", "story", "document", "statement",
    "release", "announcement", "data",
)  # fmt: skip
_UNCITED_REFUSAL = re.compile(
    r"^(?:the|this|that|these|those)\s+(?:"
    + "|".join(_DOCUMENT_NOUNS)
    + r")s?\s+"
    + _NOT
    + r"\s+(?:say|mention|state|specify|report|give|disclose)\b"
)


def is_refusal(text: str) -> bool:
    """Whether a (first) sentence says the sources do not answer."""
    norm = text.lower().replace("’", "'").strip()
    if _REFUSAL.search(norm) or any(phrase in norm for phrase in _REFUSALS):
        return True
    return bool(_UNCITED_REFUSAL.match(norm)) and not parse_markers(norm)


# How refusals open: streamed text that is still a prefix of one of these may yet be a refusal.
_REFUSAL_OPENINGS = tuple(
    f"the {noun} {verb}"
    for noun in ("articles", "article", "sources", "source", *_DOCUMENT_NOUNS)
    for verb in _NEGATIONS
) + ("i don't know", "i do not know", "not in the articles", "there is no information")


def may_be_refusal(text: str) -> bool:
    """Whether the start of a draft could still become a refusal (so is not shown yet)."""
    norm = " ".join(text.lower().replace("’", "'").split())
    return any(o.startswith(norm) or norm.startswith(o) for o in _REFUSAL_OPENINGS)


def refuses(draft: str) -> bool:
    """Whether a whole draft is a refusal: empty, or its first sentence says the sources do not
    answer (what the checker turns into an abstention)."""
    raw = split_answer(draft)
    return not raw or is_refusal(raw[0])


def split_answer(draft: str) -> list[str]:
    """Sentences of the draft, with markers that open a sentence moved to the one before."""
    pieces = [draft[a:b].strip() for a, b in sentence_spans(draft.strip())]
    out: list[str] = []
    for piece in pieces:
        lead = _LEADING_MARKERS.match(piece)
        if lead and out:
            out[-1] = f"{out[-1]} {lead.group(0).strip()}"
            piece = piece[lead.end() :].strip()
        if piece:
            out.append(piece)
    return out


def with_markers(sentence: str, numbers: Sequence[int]) -> str:
    """``Text [1][3].``: markers just before the final punctuation."""
    core = strip_markers(sentence)
    if not numbers:
        return core
    marks = "".join(f"[{n}]" for n in numbers)
    if core and core[-1] in ".!?":
        return f"{core[:-1].rstrip()} {marks}{core[-1]}"
    return f"{core} {marks}"


@dataclass
class CheckedAnswer:
    """The draft after checking: final text, sentences, citations and what was dropped."""

    text: str
    sentences: list[Sentence]
    citations: list[Citation]
    dropped: list[int] = field(default_factory=list)
    refused: bool = False
    pruned: list[int] = field(default_factory=list)
    # Support of each (sentence index, source number) pair the check scored.
    pair_support: dict[tuple[int, int], float] = field(default_factory=dict)
    # Sources cited on the first sentence because they back a clause of the question.
    clause_cited: list[int] = field(default_factory=list)
    # For a question in clauses: each source's best support of any clause.
    clause_support: dict[int, float] = field(default_factory=dict)


# The tuned defaults live in the settings' tuning section (rag/config.py).
_TUNED = Settings.model_fields
SUPPORT_THRESHOLD: float = _TUNED["support_threshold"].default
CLAUSE_THRESHOLD: float = _TUNED["clause_threshold"].default
CLAUSE_FLOOR: float = _TUNED["clause_floor"].default

# Words that carry no claim a passage could back: "Yes [1][3]." keeps all its markers.
_NO_CLAIM = frozenset({"yes", "no", "true", "false"})


def states_nothing(sentence: str) -> bool:
    """Whether a sentence carries no claim of its own ("Yes [1][3]."): its claim is the
    question's."""
    return not set(tokenize_query(strip_markers(sentence))) - _NO_CLAIM


def restates(sentence: str, question: str) -> bool:
    """Whether a sentence only says the question back ("The Verge reported a change between
    the two articles."), each word in some form of a word of the question: answering a
    yes/no question, it is a verdict, its claim the question's."""
    words = set(tokenize_query(strip_markers(sentence))) - _NO_CLAIM
    return bool(words) and names_all(sorted(words), question)


def _byline_words(source: Source) -> set[str]:
    """The words a source's byline backs: its publisher and the day it was published
    ("TechCrunch reported on October 31, 2023 that…" is backed by TechCrunch's article of that
    day as much as by its text)."""
    words = set(tokenize_query(as_data(source.hit.source or "")))
    if (day := report_day(source)) is None:
        return words
    return words | set(tokenize_query(f"{day:%B %b} {day.day} {day.year} {day.isoformat()}"))


class CitationChecker:
    """Scores support as a mix of word coverage and embedding similarity.

    When a sentence cites several sources and at least one of them supports it, markers whose
    passage does not support it are removed (``pruned``): a citation must point at a passage
    that backs the claim, not at every source in the prompt. A bare "Yes [1][3]." states nothing
    to check, so its markers stay."""

    def __init__(
        self,
        embedder: Embeddings,
        threshold: float = SUPPORT_THRESHOLD,
        lexical_weight: float = 0.6,
        clause_threshold: float = CLAUSE_THRESHOLD,
        clause_floor: float = CLAUSE_FLOOR,
    ) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.lexical_weight = lexical_weight
        self.clause_threshold = clause_threshold
        self.clause_floor = clause_floor

    def _cite_clauses(
        self,
        first: Sentence,
        clause_support: np.ndarray,
        sources: Sequence[Source],
        best_support: dict[int, float],
        attributed_ns: set[int],
    ) -> None:
        """Cite, on the answer's first sentence, the source that best backs each clause of the
        question, when it backs it well enough and the answer cites it nowhere yet."""
        for row in clause_support:
            j = int(np.argmax(row))
            n, score = sources[j].n, float(row[j])
            if score < self.clause_threshold or n in best_support:
                continue
            first.citations.append(n)
            best_support[n] = score
            attributed_ns.add(n)
        first.text = with_markers(first.text, first.citations)

    def _off_topic(
        self, clause_support: np.ndarray, sources: Sequence[Source], sentences: list[Sentence]
    ) -> set[int]:
        """Cited sources that back none of the question's clauses (under ``clause_floor`` for
        every one): an answer to a question about particular articles does not rest on them.
        None when they are all the answer cites."""
        if not len(clause_support) or not sources:
            return set()
        cited = {n for s in sentences for n in s.citations}
        weak = {
            src.n for j, src in enumerate(sources) if clause_support[:, j].max() < self.clause_floor
        }
        return weak & cited if cited - weak else set()

    def support_matrix(self, sentences: list[str], sources: Sequence[Source]) -> np.ndarray:
        """Matrix [sentence, source] of support scores in 0..1."""
        if not sentences or not sources:
            return np.zeros((len(sentences), len(sources)))
        # Instructions in a source are data: they back nothing (rag.instructions).
        passages = [as_data(s.passage) for s in sources]
        vecs = np.asarray(self.embedder.embed_documents(sentences + passages), dtype=np.float32)
        sims = np.clip(vecs[: len(sentences)] @ vecs[len(sentences) :].T, 0.0, 1.0)
        lex = np.zeros_like(sims)
        source_words = [
            set(tokenize_query(f"{as_data(s.hit.title)} {p}")) | _byline_words(s)
            for s, p in zip(sources, passages, strict=True)
        ]
        for i, sentence in enumerate(sentences):
            words = set(tokenize_query(sentence))
            if words:
                for j, sw in enumerate(source_words):
                    lex[i, j] = len(words & sw) / len(words)
        support = self.lexical_weight * lex + (1 - self.lexical_weight) * sims
        support[echoing(sentences, sources)] = 0.0  # saying what an instruction asked backs nothing
        return support

    def check(
        self, draft: str, sources: Sequence[Source], clauses: Sequence[str] = ()
    ) -> CheckedAnswer:
        """Check ``draft`` against ``sources``. ``clauses`` are the parts of a question that
        describes several articles ("..., as reported by X, and ... according to Y"): the answer
        rests on the articles they describe, so a source that backs a clause at least as well
        as ``clause_threshold`` is cited on the answer's first sentence when the model did not
        cite it, and a cited source that backs no clause (under ``clause_floor`` for each) is
        removed (``pruned``), unless it is all the answer cites."""
        if refuses(draft):
            return CheckedAnswer(draft.strip(), [], [], refused=True)
        raw = split_answer(draft)
        valid = {s.n: s for s in sources}
        plain = [strip_markers(r) for r in raw]
        support = self.support_matrix([*plain, *clauses], sources)
        clause_support, support = support[len(plain) :], support[: len(plain)]
        index_of = {s.n: j for j, s in enumerate(sources)}
        sentences: list[Sentence] = []
        dropped: list[int] = []
        best_support: dict[int, float] = {}
        removed: set[int] = set()
        attributed_ns: set[int] = set()
        given_ns: set[int] = set()
        for i, text in enumerate(raw):
            cited = parse_markers(text)
            dropped += [n for n in cited if n not in valid]
            cited = [n for n in cited if n in valid]
            attributed = False
            if cited:
                score = max(support[i, index_of[n]] for n in cited)
                if len(cited) > 1 and not states_nothing(plain[i]):
                    backing = [n for n in cited if support[i, index_of[n]] >= self.threshold]
                    if backing:
                        removed.update(n for n in cited if n not in backing)
                        cited = backing
                given_ns.update(cited)
            elif sources and not is_refusal(text):
                j = int(np.argmax(support[i]))
                score = float(support[i, j])
                if score >= self.threshold:
                    cited, attributed = [sources[j].n], True
                    attributed_ns.add(sources[j].n)
            else:
                score = 0.0
            for n in cited:
                best_support[n] = max(best_support.get(n, 0.0), float(support[i, index_of[n]]))
            sentences.append(
                Sentence(
                    text=with_markers(text, cited),
                    citations=cited,
                    support=round(float(score), 4),
                    supported=bool(cited) and score >= self.threshold,
                    attributed=attributed,
                )
            )
        off_topic = self._off_topic(clause_support, sources, sentences)
        for k, sentence in enumerate(sentences):
            kept = [n for n in sentence.citations if n not in off_topic]
            if kept != sentence.citations:
                removed.update(set(sentence.citations) - set(kept))
                score = max((float(support[k, index_of[n]]) for n in kept), default=0.0)
                sentence.citations, sentence.support = kept, round(score, 4)
                sentence.supported = bool(kept) and score >= self.threshold
                sentence.text = with_markers(sentence.text, kept)
        best_support = {n: v for n, v in best_support.items() if n not in off_topic}
        before = set(best_support)
        if sentences and len(clause_support) and len(sources):
            self._cite_clauses(sentences[0], clause_support, sources, best_support, attributed_ns)
        citations = [
            Citation(
                n=n,
                article_id=valid[n].hit.article_id,
                chunk_id=valid[n].hit.chunk_id,
                title=valid[n].hit.title,
                source=valid[n].hit.source,
                url=valid[n].hit.url,
                published_at=valid[n].hit.published_at,
                passage=valid[n].passage,
                start=valid[n].start,
                end=valid[n].end,
                support=round(best_support[n], 4),
                attributed=n in attributed_ns and n not in given_ns,
                read_as=[n],
            )
            for n in sorted(best_support)
        ]
        text = " ".join(s.text for s in sentences)
        pruned = sorted(removed - set(best_support))
        pairs = {
            (i, src.n): round(float(support[i, j]), 4)
            for i in range(len(sentences))
            for j, src in enumerate(sources)
        }
        return CheckedAnswer(
            text,
            sentences,
            citations,
            sorted(set(dropped)),
            pruned=pruned,
            pair_support=pairs,
            clause_cited=sorted(set(best_support) - before),
            clause_support={
                src.n: round(float(clause_support[:, j].max()), 4)
                for j, src in enumerate(sources)
                if len(clause_support)
            },
        )
