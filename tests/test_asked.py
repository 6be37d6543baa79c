"""What a question asks for, and the two steps that use it: a refusal with the answer in an
evidence quote gets that quote, and a reply that gives none of the kind asked abstains."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.asked import (
    Asked,
    asked_kind,
    asked_noun,
    asks_yes_or_no,
    focus_terms,
    gives_kind,
    names_all,
    question_proper,
)
from rag.testing import FakeChatModel, HashEmbeddings
from tests.helpers import index_articles, open_fake

ARTICLES = {
    "charge": (
        "Zenith warns of charge on Falcon chips",
        "Silicon Tribune",
        "2025-04-16T12:00:00+00:00",
        "Zenith said it expects to take charges of up to about $5.5 billion in its current "
        "quarter after new export rules for its Falcon chips. Its shares fell 6% in late trading.",
    ),
    "warrant": (
        "Orbit gives Lumen a warrant for 160 million shares",
        "Market Wire",
        "2025-10-06T12:00:00+00:00",
        "Orbit issued Lumen a warrant to buy up to 160 million Orbit shares. The warrant vests "
        "in tranches as deployments grow from the first gigawatt to the full 6 gigawatts.",
    ),
}


@pytest.fixture
def news(tmp_path: Path, embedder: HashEmbeddings) -> Path:
    return index_articles(tmp_path, embedder, ARTICLES)


@pytest.mark.parametrize(
    ("question", "kind", "focus"),
    [
        ("What net loss did CoreWeave report for 2024?", None, ["net", "loss"]),
        ("At what price per share can Lumen exercise it?", "price", ["price", "per", "share"]),
        ("How large is the charge Zenith takes for its chips?", None, ["charge"]),
        ("What was Zenith's gaming revenue in the quarter?", None, ["zenith", "gaming", "revenue"]),
        ("How many GPUs did the cluster have?", "count", ["gpus"]),
        ("By what percentage did Orbit shares rise?", "percent", ["percentage"]),
        ("In what year will the reactor start?", "year", []),
        ("How much of that is expected to go live in 2026?", None, []),
        ("Did Zenith say how many chips it sold?", None, []),
        ("Who holds a right of first refusal?", None, []),
    ],
)
def test_what_a_question_asks_for(question: str, kind: str | None, focus: list[str]) -> None:
    assert asked_kind(question) == kind
    if question.startswith("In what year"):
        return  # a kind without a focus word of its own
    assert focus_terms(question) == focus
    assert Asked.of(question) == Asked(kind, focus)


def test_an_answer_of_the_kind_and_forms_of_a_word() -> None:
    assert gives_kind("a contract worth 23 million kronor", "price")
    assert gives_kind("priced at $4.20 a share", "price")
    assert not gives_kind("tied to share price targets, a 10% stake", "price")
    assert gives_kind("up 36 percent", "percent") and not gives_kind("up sharply", "percent")
    assert gives_kind("about a dozen", "count") and not gives_kind("in tranches", "count")
    assert gives_kind("online by 2030", "year") and not gives_kind("online soon", "year")
    assert names_all(["charge"], "it expects to take charges of $5.5 billion")
    assert not names_all(["net", "loss"], "it reported revenue of $1.92 billion")


def test_a_refusal_with_the_answer_in_an_evidence_quote_gets_that_quote(news, embedder) -> None:
    fake = FakeChatModel(mode="refuse", refusal_probability=0.9)  # the doubt recovery declines
    byline = open_fake(news, embedder, fake, focus_retry=False)
    answer = byline.ask("How large is the charge Zenith takes for its Falcon chips?")
    assert not answer.abstained
    assert answer.text.startswith("The closest the articles come is Silicon Tribune on 16 Apr 2025")
    assert "$5.5 billion" in answer.text and answer.citations[0].article_id == "charge"
    assert answer.step("quoted_evidence").decision == "replaced"
    quote = answer.text.split("“")[1].split("”")[0]
    assert quote in ARTICLES["charge"][3]  # verbatim


@pytest.mark.parametrize(
    ("question", "proper"),
    [
        ("How many GPUs did the cluster have?", "How many GPUs did the cluster have?"),
        # a sentence setting the scene before the question
        (
            "Gas prices hit a record this week. On average, how much does a gallon cost?",
            "how much does a gallon cost?",
        ),
        ("Approximately how much has Orbit committed?", "how much has Orbit committed?"),
        ("In May, which company bought the stake?", "which company bought the stake?"),
        # a yes/no question and a sentence with no question word are left as they are
        ("The Fed raised rates. Will it raise them again?", "Will it raise them again?"),
        (
            "Between the two reports, was there a change?",
            "Between the two reports, was there a change?",
        ),
        ("Tell me about the warrant.", "Tell me about the warrant."),
    ],
)
def test_the_question_proper_is_where_the_question_word_opens_it(question, proper) -> None:
    assert question_proper(question) == proper


def test_what_is_asked_is_read_from_the_question_proper() -> None:
    question = "Zenith took a charge this quarter. Approximately how much did its chips cost?"
    assert asked_kind(question) == "price"
    assert focus_terms("Prices rose. Approximately what net loss did Zenith report?") == [
        "net",
        "loss",
    ]
    # what is asked ends at a comma: "if any" names nothing
    assert asked_noun("Considering both, which team, if any, has won?") == ["team"]
    assert asks_yes_or_no("Zenith took a charge. Did its shares fall?")


def test_a_quote_is_offered_for_a_question_after_a_leading_word(news, embedder) -> None:
    fake = FakeChatModel(mode="refuse", refusal_probability=0.9)
    byline = open_fake(news, embedder, fake, focus_retry=False)
    answer = byline.ask("Approximately how large is the charge Zenith takes for its Falcon chips?")
    assert not answer.abstained and "$5.5 billion" in answer.text
    assert answer.step("quoted_evidence").decision == "replaced"


def test_a_quote_that_does_not_name_what_was_asked_is_not_offered(news, embedder) -> None:
    fake = FakeChatModel(mode="refuse", refusal_probability=0.9)
    byline = open_fake(news, embedder, fake, focus_retry=False)
    answer = byline.ask("What net loss did Zenith report for its Falcon chips?")
    assert answer.abstained
    record = answer.step("quoted_evidence")
    assert record.decision == "kept" and record.detail["focus"] == ["net", "loss"]


def test_a_reply_that_gives_none_of_the_kind_asked_abstains(news, embedder) -> None:
    fake = FakeChatModel(mode="script", responses=["The warrant vests in tranches [1]."])
    answer = open_fake(news, embedder, fake).ask(
        "At what price per share can Lumen exercise its Orbit warrant?"
    )
    assert answer.abstained and "price" in answer.abstain_reason
    assert answer.step("gives_what_was_asked").decision == "abstain"


def test_a_reply_of_the_kind_asked_passes(news, embedder) -> None:
    fake = FakeChatModel(mode="script", responses=["Up to 160 million Orbit shares [1]."])
    answer = open_fake(news, embedder, fake).ask("How many Orbit shares can Lumen buy?")
    assert not answer.abstained and answer.step("gives_what_was_asked").decision == "pass"


def test_a_bare_yes_opening_a_reply_to_an_open_question_is_dropped(news, embedder) -> None:
    reply = "Yes [1]. Lumen can buy up to 160 million Orbit shares [1]."
    fake = FakeChatModel(mode="script", responses=[reply])
    answer = open_fake(news, embedder, fake).ask("How many Orbit shares can Lumen buy?")
    assert answer.text == "Lumen can buy up to 160 million Orbit shares [1]."
    assert answer.step("no_yes_to_an_open_question").decision == "changed"
    assert answer.sentences[0].supported  # its support was kept with it, not its neighbour's


def test_a_yes_to_a_yes_or_no_question_stays(news, embedder) -> None:
    reply = "Yes [1]. Lumen can buy up to 160 million Orbit shares [1]."
    fake = FakeChatModel(mode="script", responses=[reply])
    answer = open_fake(news, embedder, fake).ask("Can Lumen buy Orbit shares?")
    assert answer.text.startswith("Yes [1].")
    assert answer.step("no_yes_to_an_open_question").decision == "skipped"


@pytest.mark.parametrize(
    ("question", "yes_or_no"),
    [
        ("Did Zenith take a charge?", True),
        ("And has Orbit issued the warrant?", True),
        ("Between the Tribune report of 16 April and the Wire report of 6 October, was there "
         "a change in Zenith's outlook?", True),
        ("After the Wire reported the warrant, did the Tribune report the charge?", True),
        ("In 2025, did Zenith warn of a charge?", True),
        ("How many shares, after the split, did Lumen buy?", False),
        ("Considering both reports, which company, if any, has taken a charge?", False),
        ("According to the Wire, what did Orbit issue?", False),
        ("Who holds the warrant, the Wire or the Tribune?", False),
    ],
)  # fmt: skip
def test_a_yes_or_no_question_may_open_after_a_leading_phrase(question, yes_or_no) -> None:
    assert asks_yes_or_no(question) is yes_or_no


def test_a_yes_after_a_leading_phrase_stays(news, embedder) -> None:
    reply = "Yes [1]. Lumen can buy up to 160 million Orbit shares [1]."
    fake = FakeChatModel(mode="script", responses=[reply])
    question = "After the Wire reported the warrant, can Lumen buy Orbit shares?"
    answer = open_fake(news, embedder, fake).ask(question)
    assert answer.text.startswith("Yes [1].")


def test_a_follow_up_is_excerpted_for_its_own_words_when_the_rewrite_loses_them(
    news, embedder
) -> None:
    """The rewrite asks about a percentage; the reader asked how far deployments grow. The
    excerpt of the warrant article is chosen for both, so it holds the reader's answer."""
    fake = FakeChatModel(mode="cite", rewrites=["What percentage of Orbit does Lumen get?"])
    history = [
        {"role": "user", "content": "What warrant did Orbit give Lumen?"},
        {
            "role": "assistant",
            "content": "A warrant for 160 million shares [1].",
            "article_ids": ["warrant"],
        },
    ]
    byline = open_fake(news, embedder, fake, passage_chars=110)
    answer = byline.ask("How many gigawatts do deployments grow to in full?", history=history)
    passages = " ".join(s["passage"] for s in answer.read if s["article_id"] == "warrant")
    assert "full 6 gigawatts" in passages
    assert answer.query == "What percentage of Orbit does Lumen get?"


def test_an_answer_whose_passage_does_not_name_what_was_asked_abstains(news, embedder) -> None:
    """The passage gives a charge; the reply calls it an operating profit."""
    reply = "Zenith reported an operating profit of $5.5 billion for its Falcon chips [1]."
    fake = FakeChatModel(mode="script", responses=[reply])
    answer = open_fake(news, embedder, fake).ask("What operating profit did Zenith report?")
    assert answer.abstained and "names what the question asks" in answer.abstain_reason
    assert answer.step("names_what_was_asked").detail["focus"] == ["operating", "profit"]


def test_a_reply_the_checks_turn_down_gives_way_to_a_quote_that_answers(news, embedder) -> None:
    """A bare "Yes" to "How many…" gives no number; the evidence quote does."""
    fake = FakeChatModel(mode="script", responses=["Yes [1]."])
    answer = open_fake(news, embedder, fake).ask("How many Orbit shares can Lumen buy?")
    assert not answer.abstained and "160 million" in answer.text
    assert answer.text.startswith("The closest the articles come is Market Wire on 6 Oct 2025")
    assert answer.draft == "Yes [1]."  # what the model wrote is kept
    decisions = [(r.name, r.decision) for r in answer.trace]
    assert ("gives_what_was_asked", "abstain") in decisions
    assert ("quoted_evidence", "replaced") in decisions


def test_an_answer_that_claims_no_label_is_not_held_to_one(news, embedder) -> None:
    """Answered with the figure alone, the reply calls it no operating profit: nothing to back."""
    fake = FakeChatModel(mode="script", responses=["Charges of up to about $5.5 billion [1]."])
    answer = open_fake(news, embedder, fake).ask("What operating profit did Zenith report?")
    assert not answer.abstained
    assert answer.step("names_what_was_asked").decision == "skipped"
