"""A name given short, completed as the article writes it in full.

A small model answering "Which team…?" writes "The Dodgers" or a ticker, "BBBY", where the
passage it read says "the Los Angeles Dodgers" or "Bed Bath & Beyond (BBBY)". A reader is
better served by the name as the article gives it, and the full form is already in the
passage the answer cites. Only words to the left of a name are added: they qualify it ("Los
Angeles", "Rep. Liz"), while a word to its right would change what it names ("Apple" and
"Apple Watch").
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rag.sentences import TITLES
from rag.steps.coverage import CALENDAR, NOT_NAMES

# Words that join a name's parts ("Bed Bath & Beyond", "Bank of America").
_JOINERS = frozenset({"&", "of", "de", "van", "von", "du", "la"})
_ABBREVIATIONS = frozenset({*TITLES, "Jr", "Sr"})
# Where a sentence ends, the next word is capitalised whatever it is.
_SENTENCE_END = re.compile(r"[.!?:;\"“”—–-]$")
_TICKER = re.compile(r"[A-Z]{2,5}")
MAX_WORDS = 6


def bare_name(text: str) -> str | None:
    """The name a sentence consists of ("The Denver Broncos." gives "Denver Broncos"), or
    None when the sentence says more than a name."""
    words = text.strip().rstrip(".!").split()
    if words and words[0].lower() == "the":
        words = words[1:]
    if not words or len(words) > MAX_WORDS:
        return None
    for i, word in enumerate(words):
        if word in _JOINERS and 0 < i < len(words) - 1:
            continue
        if not word[0].isupper() or not re.fullmatch(r"[\w'’.&-]+", word):
            return None
        if word.lower().strip(".") in NOT_NAMES or CALENDAR.match(word.lower()):
            return None
    return " ".join(words)


def _is_name_word(word: str) -> bool:
    if (
        word.endswith(".")
        and word[:-1] not in _ABBREVIATIONS
        and not re.fullmatch(r"[A-Z]", word[:-1])
    ):
        return False
    core = word.rstrip(".")
    return (
        bool(re.fullmatch(r"[A-Z][\w'’&-]*", core))
        and core.lower() not in NOT_NAMES
        and not CALENDAR.match(core.lower())
        and not core.endswith(("'s", "’s"))
    )


def _left_of(text: str, start: int) -> list[str] | None:
    """The name words written right before ``start``, or None when that run reaches the
    start of a sentence or a line, where any word is capitalised and a name's first word
    cannot be told from an ordinary one ("Following Adele's announcement")."""
    prefix = text[:start]
    if prefix and not prefix[-1].isspace():
        return []
    tokens = list(re.finditer(r"\S+", prefix))
    taken: list[str] = []
    i = len(tokens) - 1
    while i >= 0 and len(taken) < MAX_WORDS:
        word = tokens[i].group()
        if word in _JOINERS and taken and i > 0 and _is_name_word(tokens[i - 1].group()):
            taken.insert(0, word)
            i -= 1
            continue
        if not _is_name_word(word):
            break
        if i == 0:
            return None
        before = tokens[i - 1].group()
        gap = prefix[tokens[i - 1].end() : tokens[i].start()]
        if "\n" in gap or (
            _SENTENCE_END.search(before) is not None and before.rstrip(".") not in _ABBREVIATIONS
        ):
            return None
        taken.insert(0, word)
        i -= 1
    return taken


def full_name(name: str, passages: Iterable[str]) -> str | None:
    """The longest form of ``name`` the passages write (name words before it, or the name a
    ticker stands for: "Bed Bath & Beyond (BBBY)"), when longer than ``name``; else None."""
    best: str | None = None
    ticker = _TICKER.fullmatch(name) is not None
    pattern = (
        re.compile(rf"\(\s*{re.escape(name)}\s*\)")
        if ticker
        else re.compile(rf"(?<![\w&'’.-]){re.escape(name)}(?![\w&-])")
    )
    for passage in passages:
        for match in pattern.finditer(passage):
            after = passage[match.end() :].split(maxsplit=1)
            if not ticker and after and _is_name_word(after[0].rstrip(",;:")):
                continue  # "Washington" in "the George Washington Bridge" names something else
            words = _left_of(passage, match.start())
            if not words:
                continue
            while words and words[0] in _JOINERS:
                words.pop(0)
            written = " ".join(words) + (f" ({name})" if ticker else f" {name}")
            if not words or len(written.split()) > MAX_WORDS + ticker:
                continue
            if best is None or len(written) > len(best):
                best = written
    return best
