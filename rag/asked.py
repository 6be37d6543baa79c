"""What a question asks for: the kind of answer ("a price", "a count") and the words naming
the thing asked about ("net loss" in "What net loss did CoreWeave report?").

Read from the opening of the question proper (``question_proper``: its last asking sentence,
after a leading phrase or word), so a yes/no question, or one that mentions "how many" in
passing, asks for no kind. Used after the model has written: an answer that gives none of
the kind asked is not an answer, and a quotation offered when the model refuses must name
what was asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.lexical import tokenize_query
from rag.sentences import sentence_spans

# The question's opening: an optional preposition, then the question word.
_OPENING = r"^\W*(?:question\s*:\s*)?(?:(?:at|in|for|by|to|on|from|of|and|so|then)\s+)?"
_KINDS: dict[str, re.Pattern[str]] = {
    "price": re.compile(
        _OPENING
        + r"(?:what|which)\s+(?:\w+\s+)?(?:price|prices|fee|fees|cost)\b|"
        + _OPENING
        + r"how\s+much\s+(?:did|does|do|will|would|is|was|were|are)\b.*\b(?:cost|costs|pay|paid|"
        r"charge|charged|sell\s+for|sold\s+for|priced)\b",
        re.I,
    ),
    "percent": re.compile(_OPENING + r"(?:by\s+)?what\s+(?:percentage|percent|share)\b", re.I),
    "count": re.compile(_OPENING + r"how\s+many\b", re.I),
    "year": re.compile(_OPENING + r"(?:what|which)\s+year\b|" + _OPENING + r"when\s+year\b", re.I),
}
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|"
    r"thousands?|millions?|billions?|trillions?|several|a\s+few|no|none|a\s+handful"
)
_CURRENCIES = (
    r"(?i:dollars?|cents?|euros?|pounds?|pence|yen|yuan|renminbi|rupees?|francs?|kronor|"
    r"krona|kroner|krone|rand|won|roubles?|rubles?|lira|pesos?|reais|dinars?|dirhams?|"
    r"riyals?|baht|rupiah|ringgit|shekels?|zloty|forints?)"
)
_GIVES: dict[str, re.Pattern[str]] = {
    "price": re.compile(
        r"[$€£¥₹₩₽₺]\s?\d|\b(?:" + _CURRENCIES + r")\b|\b[A-Z]{2}\$\s?\d|"
        r"\b(?:USD|EUR|GBP|JPY|CNY|RMB|CHF|CAD|AUD|INR|HKD|SEK|NOK|DKK|KRW|BRL|ZAR)\s?\d",
    ),
    "percent": re.compile(r"\d\s*(?:%|percent|per\s+cent|percentage\s+points?)", re.I),
    "count": re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.I),
    "year": re.compile(r"\b(?:19|20)\d\d\b"),
}
_NOUN_LABEL = {"price": "price", "percent": "percentage", "count": "number", "year": "year"}

_AUXILIARY = (
    r"(?:did|does|do|is|was|were|are|has|have|had|will|would|can|could|should|may|might|must)"
)
_PREPOSITION = r"(?:in|of|for|on|at|by|from|during|after|before|under|with|to|since|over)"
_FOCUS = (
    # "What net loss did…", "At what price per share can…", "How many GPUs did…"
    re.compile(
        _OPENING + rf"(?:what|which|how\s+(?:much|many))\s+(?!{_AUXILIARY}\b)(?P<focus>.+?)\s+"
        rf"{_AUXILIARY}\b",
        re.I,
    ),
    # "What was Nvidia's gaming revenue in…", "How large is the charge Nvidia takes…"
    re.compile(
        rf"(?i:{_OPENING}(?:what|which|how\s+\w+)\s+{_AUXILIARY}\s+(?:the\s+|a\s+|an\s+)?)"
        rf"(?P<focus>.+?)(?:\s+(?i:{_PREPOSITION})\b|\s+[A-Z]|[?,.]|$)",
    ),
)


def asked_kind(question: str) -> str | None:
    """ "price", "percent", "count" or "year" when the question proper opens by asking for
    one."""
    question = question_proper(question)
    for kind, pattern in _KINDS.items():
        if pattern.search(question):
            return kind
    return None


def gives_kind(text: str, kind: str) -> bool:
    """Whether ``text`` gives an answer of ``kind`` (a currency amount for a price…)."""
    return bool(_GIVES[kind].search(text))


def kind_label(kind: str) -> str:
    return _NOUN_LABEL[kind]


def focus_terms(question: str) -> list[str]:
    """The words naming what the question asks about, lower-cased, stop words left out: for
    "What net loss did CoreWeave report for 2024?" ``["net", "loss"]``. Empty when the
    question names nothing of its own ("How much of that…?", a yes/no question)."""
    question = question_proper(question)
    for pattern in _FOCUS:
        m = pattern.search(question)
        if m:
            # "which team, if any, has…": what is asked ends at a comma
            focus = m.group("focus").split(",")[0]
            words = [w for w in tokenize_query(focus) if not w.isdigit()]
            if words:
                return words
    return []


_NOUN_FOCUS = re.compile(
    _OPENING + rf"(?:what|which)\s+(?!{_AUXILIARY}\b)(?P<focus>.+?)\s+{_AUXILIARY}\b", re.I
)


def asked_noun(question: str) -> list[str]:
    """The words of the thing a "What/Which <thing> did…" question asks for ("net loss" in
    "What net loss did CoreWeave report?"); empty for any other shape, where the words after
    the question word are as often a verb ("How much has Amazon committed…")."""
    m = _NOUN_FOCUS.search(question_proper(question))
    if m is None:
        return []
    return [w for w in tokenize_query(m.group("focus").split(",")[0]) if not w.isdigit()]


def _same_word(a: str, b: str) -> bool:
    """Two word forms of one word ("charge", "charges"; "spending", "spend")."""
    if a == b:
        return True
    shorter = min(len(a), len(b))
    if shorter < 4:
        return False
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return common >= max(4, shorter - 2)


def names_all(terms: list[str], text: str) -> bool:
    """Whether every one of ``terms`` occurs in ``text`` in some form of the word."""
    words = tokenize_query(text)
    return all(any(_same_word(t, w) for w in words) for t in terms)


def names_any(terms: list[str], text: str) -> bool:
    """Whether one of ``terms`` occurs in ``text`` in some form of the word."""
    words = tokenize_query(text)
    return any(_same_word(t, w) for t in terms for w in words)


@dataclass(frozen=True)
class Asked:
    """What one question asks for."""

    kind: str | None
    focus: list[str]

    @classmethod
    def of(cls, question: str) -> Asked:
        return cls(asked_kind(question), focus_terms(question))


_YES_NO_VERB = (
    r"(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should|shall|may|might|"
    r"must|isn't|aren't|wasn't|weren't|doesn't|don't|didn't|hasn't|haven't|won't|wouldn't)\b"
)
_YES_NO_OPENING = re.compile(
    r"^\W*(?:(?:and|so|but|then|also|now|ok(?:ay)?)\b[\s,]*)?" + _YES_NO_VERB, re.I
)
# "Between the report of 2 May and the one of 9 May, was there…": the question proper opens
# the first clause, after a leading phrase, that starts with a question word or an auxiliary.
_QUESTION_WORD = (
    r"(?:what|which|who|whom|whose|when|where|why|how|in what|on what|at what|by how|for how)\b"
)
_CLAUSE_OPENING = re.compile(r",\s*(?:(" + _QUESTION_WORD + r")|" + _YES_NO_VERB + r")", re.I)
_WH_OPENING = re.compile(r"^\W*(?:(?:and|so|but|then|also|now)\b[\s,]*)?" + _QUESTION_WORD, re.I)


def asks_yes_or_no(question: str) -> bool:
    """Whether the question is a yes/no question: it opens as one ("Did…", "Is…", "And
    has…"), or, after a leading phrase, its first clause opening with a question word or an
    auxiliary opens with the auxiliary ("Between the two reports, was there…"; "Considering
    both, which team, if any, has…" is open)."""
    question = _last_asking(question)
    if _YES_NO_OPENING.search(question):
        return True
    if _WH_OPENING.search(question):
        return False
    first = _CLAUSE_OPENING.search(question)
    return first is not None and first.group(1) is None


# "Approximately how much…": a word before the question word that does not change what it asks.
_LEADING_WORD = re.compile(
    r"^\W*(?:approximately|roughly|about|around|exactly|precisely|and|so|but|then|also|now)"
    r"\b[\s,]*(?=" + _QUESTION_WORD + ")",
    re.I,
)


def _last_asking(question: str) -> str:
    """The last sentence ending in a question mark, when sentences before it set the scene
    ("Gas prices hit a record this week. How much…?"); else the whole question, as when it
    opens as a question ("Does the article of 'Rep. Patrick McHenry'…?" is one question)."""
    if _WH_OPENING.search(question) or _YES_NO_OPENING.search(question):
        return question
    spans = sentence_spans(question)
    if len(spans) < 2:
        return question
    asking = [question[a:b].strip() for a, b in spans if question[a:b].rstrip().endswith("?")]
    return asking[-1] if asking else question


def question_proper(question: str) -> str:
    """The part of a question that asks, where the question word opens it: its last asking
    sentence, after a leading phrase ("On average nationwide, how much does…", "In May,
    which…") or a leading word ("Approximately how much…"). A question opening with its
    question word, or a yes/no question, is returned as it is."""
    text = _last_asking(question)
    if _WH_OPENING.search(text) or _YES_NO_OPENING.search(text):
        return text
    first = _CLAUSE_OPENING.search(text)
    if first is not None and first.group(1) is not None:
        return text[first.start(1) :]
    lead = _LEADING_WORD.match(text)
    return text[lead.end() :] if lead else text
