"""Sentence spans: the unit of both context compression and citation checking."""

from __future__ import annotations

import re

# A sentence runs to . ! or ? (plus closing quotes/brackets) followed by space, or to the end.
_SENTENCE = re.compile(r"\S.*?(?:[.!?]+[\"'”’)\]]*(?=\s|$)|$)", re.S)
# Titles written before a name ("Sen. Joe Manchin", "Lt. Nyota Uhura"): their full stop ends
# no sentence, and they do not end a name.
TITLES = (
    "Mr", "Mrs", "Ms", "Mme", "Dr", "Prof", "Rev", "Hon", "St", "Rep", "Sen", "Gov", "Gen",
    "Col", "Lt", "Maj", "Capt", "Sgt", "Adm", "Cmdr", "Supt",
)  # fmt: skip
_ABBREV = re.compile(
    r"(?:\b(?:" + "|".join(TITLES) + r"|Inc|Corp|Co|Ltd|Jr|Sr|U\.S|U\.K|vs|No)\.|\b[A-Z]\.)$"
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence; abbreviations such as 'U.S.' or 'Inc.' do not end one."""
    spans: list[tuple[int, int]] = []
    for m in _SENTENCE.finditer(text):
        start, end = m.span()
        if spans and _ABBREV.search(text[spans[-1][0] : spans[-1][1]]):
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans
