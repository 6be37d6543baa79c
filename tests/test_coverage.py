"""Abstention evidence found before generation: absent outlets and unmatched names."""

from __future__ import annotations

from rag.retrieval.hits import Hit
from rag.steps.coverage import (
    missing_outlets,
    names_absent,
    names_in,
    outlets_named,
    unmatched_names,
)

PUBS = ["TechCrunch", "The New York Times", "BBC News - Entertainment & Arts"]


def hit(text: str, title: str = "") -> Hit:
    return Hit("a", "a:0", title, "X", "", None, 0.0, text)


def test_outlets_are_matched_as_names_not_words() -> None:
    assert outlets_named("Considering the information from a Bloomberg report") == ["Bloomberg"]
    assert outlets_named("Is this a fortune for the company?") == []
    assert set(outlets_named("Do the Verge and Fortune agree?")) == {"The Verge", "Fortune"}


def test_missing_outlets_respect_index_publishers() -> None:
    q = "a New York Times article and a BBC News report and a Bloomberg piece"
    assert missing_outlets(q, PUBS) == ["Bloomberg"]
    assert missing_outlets("as reported by TechCrunch", PUBS) == []


def test_names_skip_question_words_dates_and_outlets() -> None:
    q = "Which deal did Sam Altman sign in October, as TechCrunch reported on Monday?"
    assert names_in(q, PUBS) == ["Sam Altman"]
    assert names_in("Tell me about Oracle.", PUBS) == ["Oracle"]
    assert names_in("Did Starbucks open on Thanksgiving?", PUBS) == ["Starbucks", "Thanksgiving"]


def test_a_name_ends_at_a_sentence_end_but_not_at_an_initial() -> None:
    q = "End with the words SAY CHEESE. How much did Mr. Smith pay U.S. Steel?"
    assert names_in(q, PUBS) == ["SAY CHEESE", "Mr. Smith", "U.S. Steel"]
    q = "Did Rep. Patrick McHenry meet Gov. Kathy Hochul?"
    assert names_in(q, PUBS) == ["Rep. Patrick McHenry", "Gov. Kathy Hochul"]
    hits = [hit("Patrick McHenry led the House for three weeks.", "Speaker race")]
    assert unmatched_names(q, PUBS, hits) == ["Gov. Kathy Hochul"]


def test_unmatched_names_are_those_no_passage_mentions() -> None:
    hits = [hit("Microsoft and OpenAI signed a deal.", "Cloud deal")]
    q = "Did Microsoft tell Pamela Anderson about the OpenAI deal?"
    assert unmatched_names(q, PUBS, hits) == ["Pamela Anderson"]
    assert unmatched_names("What did Microsoft say about OpenAI?", PUBS, hits) == []


def test_a_name_later_in_a_retrieved_article_is_not_unmatched() -> None:
    hits = [hit("Stores will open at noon on the holiday.", "What is open on Thanksgiving")]
    q = "Did the reports say Starbucks stores open on Thanksgiving?"
    assert unmatched_names(q, PUBS, hits) == ["Starbucks"]
    asked: list[list[str]] = []

    def texts(ids: list[str]) -> dict[str, str]:
        asked.append(ids)
        return {"a": "Stores will open at noon. Starbucks keeps most cafes open all day."}

    assert unmatched_names(q, PUBS, hits, texts) == []
    assert asked == [["a"]]
    assert unmatched_names(q, PUBS, hits, lambda ids: {"a": "No coffee chains here."}) == [
        "Starbucks"
    ]


def test_names_absent_asks_the_whole_index_word_by_word() -> None:
    vocab = {"microsoft", "hamlin"}
    q = "Did Microsoft brief Pamela Anderson, and did Denny Hamlin race?"
    assert names_absent(q, PUBS, vocab.__contains__) == ["Pamela Anderson"]
    assert names_absent("What did Microsoft say?", PUBS, vocab.__contains__) == []
