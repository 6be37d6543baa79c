"""A name given short is completed as the cited article writes it, and only from words the
article writes before it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.full_names import bare_name, full_name
from rag.testing import FakeChatModel, HashEmbeddings
from tests.helpers import index_articles, open_fake


@pytest.mark.parametrize(
    ("sentence", "name"),
    [
        ("The Dodgers.", "Dodgers"),
        ("Liz Cheney", "Liz Cheney"),
        ("BBBY.", "BBBY"),
        ("Bed Bath & Beyond.", "Bed Bath & Beyond"),
        ("Ted Lasso received the most nominations.", None),
        ("The team was sold.", None),
        ("On Tuesday.", None),
        ("", None),
    ],
)
def test_a_bare_name_is_a_sentence_of_name_words_only(sentence, name) -> None:
    assert bare_name(sentence) == name


@pytest.mark.parametrize(
    ("name", "passages", "full"),
    [
        (
            "Dodgers",
            ["He was the voice of the Los Angeles Dodgers for decades."],
            "Los Angeles Dodgers",
        ),
        (
            "Liz Cheney",
            ["In Wyoming, Republican Rep. Liz Cheney lost."],
            "Republican Rep. Liz Cheney",
        ),
        ("BBBY", ["But Bed Bath & Beyond (BBBY) is cutting back."], "Bed Bath & Beyond (BBBY)"),
        # the longest form any passage writes
        (
            "Broncos",
            ["The Broncos won.", "It approved the sale of the Denver Broncos Tuesday."],
            "Denver Broncos",
        ),
        # at a sentence's start any word is capitalised: "Yesterday" is not part of the name
        ("Broncos", ["Fans cheered. Yesterday Denver Broncos owners met."], None),
        ("Broncos", ["Denver Broncos owners met."], None),
        # nor at the start of a line
        ("Adele", ["after the album '30'\n\nFollowing Adele's announcement, tickets sold."], None),
        # a word after the name would change what it names
        ("Washington", ["Traffic on the George Washington Bridge stalled."], None),
        ("Apple", ["She bought an Apple Watch from Apple today."], None),
        # "America" is not the Bank of America
        ("America", ["A report by the Bank of America said so."], None),
        ("Dodgers", ["Fans of the Dodgers cheered."], None),
        ("Dodgers", [], None),
    ],
)
def test_a_name_is_completed_only_by_the_words_written_before_it(name, passages, full) -> None:
    assert full_name(name, passages) == full


ARTICLES = {
    "broncos": (
        "Broncos sold to new owners",
        "Sports Desk",
        "2022-08-09T12:00:00+00:00",
        "League owners unanimously approved the sale of the Denver Broncos to the "
        "Walton-Penner family on Tuesday. The Broncos had been held by a trust since 2019.",
    )
}


@pytest.fixture
def news(tmp_path: Path, embedder: HashEmbeddings) -> Path:
    return index_articles(tmp_path, embedder, ARTICLES)


def _ask(news: Path, embedder: HashEmbeddings, reply: str, question: str):
    fake = FakeChatModel(mode="script", responses=[reply])
    return open_fake(news, embedder, fake).ask(question)


def test_a_short_name_answer_is_given_as_the_article_writes_it(news, embedder) -> None:
    answer = _ask(news, embedder, "The Broncos [1].", "Which team did league owners sell?")
    assert answer.text == "The Denver Broncos [1]."
    record = answer.step("full_names")
    assert record.decision == "changed"
    assert record.detail["completed"] == [{"name": "Broncos", "as_written": "Denver Broncos"}]


def test_an_answer_saying_more_than_a_name_is_left_as_written(news, embedder) -> None:
    reply = "League owners approved the sale of the Broncos [1]."
    answer = _ask(news, embedder, reply, "Which team did league owners sell?")
    assert answer.text == reply
    assert answer.step("full_names").decision == "pass"


def test_a_yes_or_no_question_is_not_completed(news, embedder) -> None:
    answer = _ask(
        news, embedder, "Yes [1]. The Broncos [1].", "Did league owners sell the Broncos?"
    )
    assert "Denver" not in answer.text
    assert answer.step("full_names").decision == "skipped"


def test_words_the_answer_already_writes_before_the_name_are_not_added(news, embedder) -> None:
    answer = _ask(news, embedder, "Denver [1]. Broncos [1].", "Which team did league owners sell?")
    assert answer.text == "Denver [1]. Broncos [1]."
