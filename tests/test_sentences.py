"""Sentence spans: a title's or an initial's full stop ends no sentence."""

from __future__ import annotations

import pytest

from rag.sentences import sentence_spans


def _split(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        (
            "Sen. Joe Manchin said no. The bill stalled.",
            ["Sen. Joe Manchin said no.", "The bill stalled."],
        ),
        ("Lt. Nyota Uhura [1].", ["Lt. Nyota Uhura [1]."]),
        (
            "It met Gov. Kathy Hochul and Dr. Fauci. Both spoke.",
            ["It met Gov. Kathy Hochul and Dr. Fauci.", "Both spoke."],
        ),
        (
            "The U.S. economy grew. J. Smith said so.",
            ["The U.S. economy grew.", "J. Smith said so."],
        ),
        ("Prices rose. Rates fell!", ["Prices rose.", "Rates fell!"]),
    ],
)
def test_a_title_before_a_name_ends_no_sentence(text, sentences) -> None:
    assert _split(text) == sentences
