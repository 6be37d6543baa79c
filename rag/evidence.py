"""Evidence: the few sentences of the selected sources that best answer the question, quoted
verbatim while the model is still reading.

Scored with what is already loaded (the embedder, the lexical tokenizer, the question's own
names, numbers and dates), never a new model. A quotation is shown as a quotation: it is what
the articles say, not Byline's answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.events import Quote
from rag.lexical import tokenize_query
from rag.retrieval.context import Source
from rag.sentences import sentence_spans

_NUMBER = re.compile(r"\d")
_NAME = re.compile(r"\b[A-Z][\w&.'-]*[a-z][\w&.'-]*")
_ASKS_NUMBER = re.compile(
    r"\b(?:how (?:many|much|big|large|long|old|far|tall|high)|what (?:percentage|percent|share"
    r"|number|amount|price|year|date|day|month)|when|which year|by how much)\b",
    re.I,
)
_ASKS_NAME = re.compile(
    r"\b(?:who|whom|whose|which (?:company|firm|country|city|state|person))\b", re.I
)
_SHORTEST = 25  # characters: a fragment shorter than this is not a sentence worth quoting


@dataclass(frozen=True)
class EvidenceWeights:
    """How a sentence is scored: similarity to the question + the share of the question's
    terms it contains + ``kind_bonus`` when it holds the kind of thing asked for (a number
    for "how many", a name for "who") that the question does not already hold."""

    kind_bonus: float = 0.3
    per_source: int = 2
    count: int = 3


def _novel(pattern: re.Pattern[str], sentence: str, question: str) -> bool:
    """Whether ``sentence`` holds a match of ``pattern`` that the question does not."""
    asked = {m.lower() for m in pattern.findall(question)}
    return any(m.lower() not in asked for m in pattern.findall(sentence))


def holds_kind_asked(sentence: str, question: str) -> bool:
    """Whether ``sentence`` holds the kind of thing the question asks for (a figure for "how
    many", a name for "who") that the question does not already hold."""
    if _ASKS_NUMBER.search(question):
        return bool(_NUMBER.search(sentence)) and _novel(
            re.compile(r"\d[\d.,]*"), sentence, question
        )
    if _ASKS_NAME.search(question):
        return _novel(_NAME, sentence, question)
    return False


def select_evidence(
    question: str,
    sources: Sequence[Source],
    embedder: Embeddings,
    weights: EvidenceWeights = EvidenceWeights(),
) -> list[Quote]:
    """Up to ``weights.count`` sentences, verbatim from the sources' passages, best first (at
    most ``weights.per_source`` from one source, no sentence twice)."""
    candidates: list[tuple[Source, int, int]] = []
    for s in sources:
        for a, b in sentence_spans(s.passage):
            if b - a >= _SHORTEST:
                candidates.append((s, a, b))
    if not candidates:
        return []
    texts = [s.passage[a:b] for s, a, b in candidates]
    vectors = np.asarray(embedder.embed_documents([question, *texts]), dtype=np.float32)
    sims = vectors[1:] @ vectors[0]
    terms = set(tokenize_query(question))
    scored: list[tuple[float, int]] = []
    for i, text in enumerate(texts):
        words = set(tokenize_query(text))
        overlap = len(words & terms) / len(terms) if terms else 0.0
        bonus = weights.kind_bonus if holds_kind_asked(text, question) else 0.0
        scored.append((float(sims[i]) + overlap + bonus, i))
    scored.sort(key=lambda t: -t[0])
    quotes: list[Quote] = []
    per_source: dict[int, int] = {}
    seen: set[str] = set()
    for score, i in scored:
        s, a, b = candidates[i]
        key = " ".join(texts[i].lower().split())
        if per_source.get(s.n, 0) >= weights.per_source or key in seen:
            continue
        per_source[s.n] = per_source.get(s.n, 0) + 1
        seen.add(key)
        quotes.append(Quote(s.n, texts[i], s.start + a, s.start + b, round(score, 4)))
        if len(quotes) == weights.count:
            break
    return quotes
