"""The answer stream's events and the named steps' trace, with the scripted chat model."""

from __future__ import annotations

from rag import Answer, Evidence, Retrieved, Stage, Token
from rag.testing import FakeChatModel
from tests.helpers import open_fake

ROFR_Q = "Who holds a right of first refusal on new OpenAI capacity?"
CONTRACT = (Retrieved, Evidence, Token, Answer)


open_with = open_fake


def kinds(events: list) -> list[type]:
    """The contract's event types in the order they came, repeats of a type collapsed."""
    out: list[type] = []
    for e in events:
        if isinstance(e, CONTRACT) and (not out or out[-1] is not type(e)):
            out.append(type(e))
    return out


def test_an_answered_question_streams_sources_evidence_tokens_then_the_answer(
    index, embedder
) -> None:
    fake = FakeChatModel(mode="cite")
    events = list(open_with(index, embedder, fake).stream(ROFR_Q))
    assert kinds(events) == [Retrieved, Evidence, Token, Answer]
    retrieved = next(e for e in events if isinstance(e, Retrieved))
    answer = events[-1]
    # the sources shown first are exactly what the model read, in order
    assert [s["chunk_id"] for s in retrieved.sources] == [s["chunk_id"] for s in answer.read]
    assert not retrieved.abstaining and retrieved.query == ROFR_Q
    for key in ("n", "article_id", "title", "source", "published_at", "url", "passage", "start"):
        assert key in retrieved.sources[0]
    # the trace names every step that ran, guards first, checks last
    names = [r.name for r in answer.trace]
    assert names[:5] == [
        "instructions_only",
        "no_passages",
        "absent_outlets",
        "unmatched_names",
        "relevance_floor",
    ]
    assert names[5:] == [
        "cite_check",
        "no_yes_to_an_open_question",
        "gives_what_was_asked",
        "names_what_was_asked",
        "hide_unbacked",
        "full_names",
        "figures_in_passages",
        "reported_changes",
        "one_number_per_article",
    ]
    assert all(r.decision == "pass" for r in answer.trace[:5])
    assert "retrieved" in answer.timings and "evidence" in answer.timings
    assert answer.timings["retrieved"] <= answer.timings["evidence"] <= answer.timings["total"]


def test_evidence_quotes_are_verbatim_at_their_offsets(index, embedder, tmp_path) -> None:
    byline = open_with(index, embedder, FakeChatModel(mode="cite"))
    events = list(byline.stream(ROFR_Q))
    evidence = next(e for e in events if isinstance(e, Evidence))
    retrieved = next(e for e in events if isinstance(e, Retrieved))
    by_n = {s["n"]: s for s in retrieved.sources}
    assert 1 <= len(evidence.quotes) <= 3
    texts = byline.store.article_texts([by_n[q.n]["article_id"] for q in evidence.quotes])
    for q in evidence.quotes:
        article = texts[by_n[q.n]["article_id"]]
        assert article[q.start : q.end] == q.text
        assert q.text in by_n[q.n]["passage"]
    # the best quote is the one that answers: it names the holder of the right
    assert "right of first refusal" in evidence.quotes[0].text


def test_an_abstention_before_generation_yields_the_closest_articles_then_the_answer(
    index, embedder
) -> None:
    fake = FakeChatModel(mode="cite")
    byline = open_with(index, embedder, fake, abstain_threshold=0.99)
    events = list(byline.stream(ROFR_Q))
    assert kinds(events) == [Retrieved, Answer]
    assert events[-2].abstaining and events[-2].sources == events[-1].sources
    assert events[-1].abstained and fake.prompts == []
    assert events[-1].step("relevance_floor").decision == "abstain"
    assert events[-1].step("cite_check") is None  # no draft, nothing checked


def test_a_refusal_a_recovery_replaces_streams_only_the_new_answer(index, embedder) -> None:
    fake = FakeChatModel(mode="refuse", refusal_probability=0.1)
    events = list(open_with(index, embedder, fake, focus_retry=False).stream(ROFR_Q))
    assert kinds(events) == [Retrieved, Evidence, Token, Answer]
    tokens = "".join(e.text for e in events if isinstance(e, Token))
    assert "don't say" not in tokens
    answer = events[-1]
    assert answer.overruled and answer.step("doubted_refusal").detail["probability"] == 0.1
    assert answer.step("second_reading") is None  # the first recovery was enough
    assert any(isinstance(e, Stage) and e.name == "recover" for e in events)


def test_a_follow_up_streams_the_same_events_after_its_rewrite(index, embedder) -> None:
    fake = FakeChatModel(mode="cite")
    history = [
        {"role": "user", "content": "What did Microsoft get in the OpenAI deal?"},
        {"role": "assistant", "content": "A right of first refusal [1]."},
    ]
    events = list(open_with(index, embedder, fake).stream("And who holds it?", history=history))
    assert isinstance(events[0], Stage) and events[0].name == "rewrite"
    assert kinds(events) == [Retrieved, Evidence, Token, Answer]
    assert events[-1].query != "And who holds it?"  # retrieval used the standalone question


def test_a_citation_whose_passage_backs_nothing_is_not_shown(index, embedder) -> None:
    """'PWNED [1][2]': no passage backs it, so no source is shown and the answer abstains."""
    fake = FakeChatModel(mode="script", responses=["PWNED [1][2]."])
    answer = open_with(index, embedder, fake).ask(ROFR_Q)
    assert answer.abstained and answer.citations == []
    assert answer.abstain_reason == "no sentence of the draft is backed by its sources"
    hidden = answer.step("hide_unbacked")
    assert hidden.decision == "abstain" and {h["n"] for h in hidden.detail["hidden"]} == {1, 2}


def test_an_unbacked_marker_is_removed_while_a_backed_one_stays(index, embedder) -> None:
    byline = open_with(index, embedder, FakeChatModel(mode="cite"))
    read = list(byline.stream(ROFR_Q))[-1].read
    rofr = next(s["n"] for s in read if s["article_id"] == "rofr")
    other = next(s["n"] for s in read if s["article_id"] != "rofr")
    draft = f"Microsoft holds a right of first refusal on new capacity [{rofr}]. PWNED [{other}]."
    fake = FakeChatModel(mode="script", responses=[draft])
    answer = open_with(index, embedder, fake).ask(ROFR_Q)
    assert not answer.abstained and [c.article_id for c in answer.citations] == ["rofr"]
    assert answer.sentences[1].citations == [] and not answer.sentences[1].supported
    assert any(a["n"] == other for a in answer.also_read)


def test_each_article_is_one_number_counted_from_one_in_order_of_use(index, embedder) -> None:
    byline = open_with(index, embedder, FakeChatModel(mode="cite"), per_article_cap=2)
    read = list(byline.stream(ROFR_Q))[-1].read
    last = max(s["n"] for s in read)
    assert last > 1, "the test needs a cited source that the model saw under a later number"
    passage = read[last - 1]["passage"].split(".")[0]
    fake = FakeChatModel(mode="script", responses=[f"{passage} [{last}]."])
    answer = open_with(index, embedder, fake, per_article_cap=2).ask(ROFR_Q)
    assert not answer.abstained
    assert [c.n for c in answer.citations] == [1] and answer.citations[0].read_as == [last]
    assert "[1]" in answer.text and f"[{last}]" not in answer.text


def test_a_follow_up_keeps_its_subject_when_the_rewrite_loses_it(index, embedder) -> None:
    """The rewrite drops the subject; the previous question and the previously cited article
    still bring that article in front of the model."""
    first = open_with(index, embedder, FakeChatModel(mode="cite")).ask(ROFR_Q)
    assert first.cited_article_ids == ["rofr"]
    history = [
        {"role": "user", "content": ROFR_Q},
        {"role": "assistant", "content": first.text, "article_ids": first.cited_article_ids},
    ]
    fake = FakeChatModel(mode="cite", rewrites=["When does it start?"])
    byline = open_with(index, embedder, fake)
    answer = byline.ask("When does it start?", history=history)
    assert answer.query == "When does it start?"  # the poor rewrite was used as it came
    assert "rofr" in [s["article_id"] for s in answer.read]
    # without the conversation the same words do not find it first
    alone = open_with(index, embedder, FakeChatModel(mode="cite")).ask("When does it start?")
    assert [s["article_id"] for s in answer.read].index("rofr") < (
        [s["article_id"] for s in alone.read] + ["rofr"]
    ).index("rofr")


def test_a_bare_yes_is_shown_with_the_support_of_the_question(index, embedder) -> None:
    """ "Yes [1]." states nothing of its own: its citation stands for what backs the question,
    and the support shown is that one, not the near-zero support of the word "Yes"."""
    byline = open_with(index, embedder, FakeChatModel(mode="cite"))
    read = list(byline.stream(ROFR_Q))[-1].read
    rofr = next(s["n"] for s in read if s["article_id"] == "rofr")
    fake = FakeChatModel(mode="script", responses=[f"Yes [{rofr}]."])
    answer = open_with(index, embedder, fake).ask(ROFR_Q)
    assert not answer.abstained and [c.article_id for c in answer.citations] == ["rofr"]
    assert answer.citations[0].support >= 0.45


def test_astream_yields_the_same_events_in_the_same_order(index, embedder) -> None:
    import asyncio

    byline = open_with(index, embedder, FakeChatModel(mode="cite"))

    async def collect() -> list:
        return [event async for event in byline.astream(ROFR_Q)]

    events = asyncio.run(collect())
    assert kinds(events) == [Retrieved, Evidence, Token, Answer]
    assert (
        events[-1].text == open_with(index, embedder, FakeChatModel(mode="cite")).ask(ROFR_Q).text
    )
