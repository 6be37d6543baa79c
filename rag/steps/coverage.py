"""Cheap evidence that the articles cannot answer, found before any model is asked.

Two signals, both about what the question names:
- an outlet ("a Bloomberg report") from which the index holds no article;
- a name ("Pamela Anderson") that appears in none of the retrieved passages.
A small model shown passages about something else tends to answer anyway; these checks let
Byline say "the articles don't say" instead, and say why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from rag.retrieval.hits import Hit
from rag.sentences import TITLES

# Widely read outlets, so a question can be recognised as naming one that the index lacks.
KNOWN_OUTLETS = (
    "Associated Press",
    "Al Jazeera",
    "Ars Technica",
    "Axios",
    "Barron's",
    "BBC",
    "BBC News",
    "Bloomberg",
    "Business Insider",
    "CBS News",
    "CNBC",
    "CNET",
    "CNN",
    "Daily Mail",
    "Der Spiegel",
    "Engadget",
    "Financial Times",
    "Forbes",
    "Fortune",
    "Fox News",
    "Hindustan Times",
    "Le Monde",
    "Los Angeles Times",
    "MarketWatch",
    "Mashable",
    "NBC News",
    "New York Times",
    "Nikkei",
    "NPR",
    "PCWorld",
    "Politico",
    "Reuters",
    "Rolling Stone",
    "Semafor",
    "Sky News",
    "South China Morning Post",
    "TechCrunch",
    "The Atlantic",
    "The Economist",
    "The Guardian",
    "The Information",
    "The Telegraph",
    "The Verge",
    "Times of India",
    "USA Today",
    "Variety",
    "VentureBeat",
    "Wall Street Journal",
    "Washington Post",
    "Wired",
    "Yahoo Finance",
    "ZDNet",
)

_NAME = re.compile(r"\b[A-Z][\w'’&.-]*(?:\s+(?:of\s+|de\s+|van\s+|von\s+)?[A-Z][\w'’&.-]*)*")
NOT_NAMES = frozenset(
    """a an and after according as at based before between but by considering did do does during
    for from given how i if in is it more most on or since some than that the their these this
    those though to was what when where whereas which while who whom whose why will with would
    yes no article articles report reports according""".split()
)
CALENDAR = re.compile(
    r"^(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*$|"
    r"^(mon|tues|wednes|thurs|fri|satur|sun)day$|^(19|20)\d\d$"
)


def _norm(text: str) -> str:
    text = re.sub(r"[^a-z0-9 ]+", " ", text.lower().replace("’", "'").replace("'s", ""))
    return " ".join(w for w in text.split() if w != "the")


def _contains(haystack: str, needle: str) -> bool:
    return bool(needle) and f" {needle} " in f" {haystack} "


def outlets_named(question: str) -> list[str]:
    """Known outlets the question mentions, matched case-sensitively ("Fortune", not "fortune")."""
    found: list[str] = []
    for outlet in sorted(KNOWN_OUTLETS, key=len, reverse=True):
        core = outlet.removeprefix("The ")
        if not re.search(rf"\b{re.escape(core)}(?![\w-])", question):
            continue
        if not any(_contains(_norm(f), _norm(outlet)) for f in found):
            found.append(outlet)
    return found


def missing_outlets(question: str, publishers: Iterable[str]) -> list[str]:
    """Outlets named in the question of which the index holds no article."""
    pubs = [_norm(p) for p in publishers]
    return [
        o
        for o in outlets_named(question)
        if not any(_contains(p, _norm(o)) or _contains(_norm(o), p) for p in pubs if p)
    ]


# A full stop after a word of three letters or more ends a sentence, not an initial ("U.S.",
# "J." and "Mr." go on) nor a title ("Rep. Patrick McHenry", "Gov. Kathy Hochul"): "…the
# words TRUST ME BRO. How much…" is two names, not one.
_TITLES = tuple(t for t in TITLES if len(t) >= 3)  # the lookbehind below needs three letters
_SENTENCE_BREAK = re.compile(
    r"(?<=\w\w\w\.)" + "".join(rf"(?<!\b{t}\.)" for t in _TITLES) + r"\s+(?=[A-Z])"
)


def _name_matches(text: str) -> Iterator[tuple[int, str]]:
    """Runs of capitalised words, with where each starts, cut at sentence ends."""
    for m in _NAME.finditer(text):
        offset = m.start()
        for piece in _SENTENCE_BREAK.split(m.group(0)):
            offset = text.index(piece, offset)
            yield offset, piece
            offset += len(piece)


def names_in(question: str, publishers: Iterable[str]) -> list[str]:
    """Capitalised names in the question, minus question words, dates and outlet names."""
    outlets = [_norm(o) for o in (*KNOWN_OUTLETS, *publishers)]
    names: list[str] = []
    for start, found in _name_matches(question):
        words = [w for w in re.findall(r"[\w'’.&-]+", found)]
        n = len(words)
        while words and (words[0].lower() in NOT_NAMES or CALENDAR.match(words[0].lower())):
            words.pop(0)
        before = question[:start].rstrip()
        at_start = len(words) == n and (not before or before[-1] in ".?!:")
        if at_start and len(words) == 1:  # "Tell me…", "Explain…": capitalised, not a name
            continue
        phrase = " ".join(words).strip(" .'’")
        key = _norm(phrase)
        if not key or len(key) < 3 or CALENDAR.match(key):
            continue
        if any(_contains(o, key) or _contains(key, o) for o in outlets if o):
            continue
        names.append(phrase)
    return names


_TITLE_WORDS = frozenset(t.lower() for t in _TITLES)


def _name_words(name: str) -> list[str]:
    return [
        w
        for w in _norm(name).split()
        if len(w) >= 3 and w not in NOT_NAMES and w not in _TITLE_WORDS
    ]


def names_absent(
    question: str, publishers: Sequence[str], has_word: Callable[[str], bool]
) -> list[str]:
    """Names from the question of which no word occurs anywhere in the index (``has_word``
    asks the whole corpus): an abstention on such a name is what the corpus supports."""
    return [
        name
        for name in names_in(question, publishers)
        if (words := _name_words(name)) and not any(has_word(w) for w in words)
    ]


def unmatched_names(
    question: str,
    publishers: Sequence[str],
    hits: Sequence[Hit],
    article_texts: Callable[[list[str]], Mapping[str, str]] | None = None,
    max_articles: int = 20,
) -> list[str]:
    """Names from the question of which no word appears in any retrieved passage or title, nor
    (with ``article_texts``) anywhere else in the first ``max_articles`` retrieved articles:
    a passage can miss a name its article carries a paragraph later."""
    named = [(name, _name_words(name)) for name in names_in(question, publishers)]
    seen = set()
    for h in hits:
        seen.update(_norm(f"{h.title} {h.text}").split())
    missing = [(n, ws) for n, ws in named if ws and not any(w in seen for w in ws)]
    if missing and article_texts is not None and hits:
        ids = list(dict.fromkeys(h.article_id for h in hits))[:max_articles]
        for text in article_texts(ids).values():
            seen.update(_norm(text).split())
        missing = [(n, ws) for n, ws in missing if not any(w in seen for w in ws)]
    return [n for n, _ in missing]


def names_missing_from(question: str, publishers: Sequence[str], text: str) -> list[str]:
    """Names from the question of which no word occurs in ``text``."""
    words = set(_norm(text).split())
    return [
        name
        for name in names_in(question, publishers)
        if (parts := _name_words(name)) and not any(w in words for w in parts)
    ]
