"""The page's HTML for answers and sources: links, highlights, flags, abstentions, escaping."""

from __future__ import annotations

import re
from html import unescape

from rag.answer import Answer, Citation, Sentence, StepRecord
from ui.examples import DEMO_QUESTIONS, example_questions, title_question
from ui.render import (
    failure_rows,
    highlight,
    render_abstention,
    render_answer,
    render_error,
    render_ingest_summary,
    render_sources,
    render_stats,
    render_streaming,
    safe_url,
)

CHUNK = (
    "Microsoft is no longer the exclusive cloud provider for OpenAI. Under the new arrangement "
    "Microsoft holds a right of first refusal on new capacity. Analysts called it a hedge."
)
CHUNK_START = 200  # the chunk's offset in its article
CITED = "Under the new arrangement Microsoft holds a right of first refusal on new capacity."


def citation(n: int = 1, **over: object) -> Citation:
    a = CHUNK.index(CITED)
    fields = {
        "n": n,
        "article_id": "rofr",
        "chunk_id": "rofr:1",
        "title": "Microsoft keeps first refusal on OpenAI capacity",
        "source": "Compute Ledger",
        "url": "https://compute.example/rofr",
        "published_at": "2025-01-21T18:00:00+00:00",
        "passage": CITED,
        "start": CHUNK_START + a,
        "end": CHUNK_START + a + len(CITED),
        "support": 0.82,
        "attributed": False,
    }
    fields.update(over)
    return Citation(**fields)  # type: ignore[arg-type]


def source(n: int = 1, **over: object) -> dict:
    a = CHUNK.index(CITED)
    fields = {
        "n": n,
        "article_id": "rofr",
        "chunk_id": "rofr:1",
        "title": "Microsoft keeps first refusal on OpenAI capacity",
        "source": "Compute Ledger",
        "url": "https://compute.example/rofr",
        "published_at": "2025-01-21T18:00:00+00:00",
        "passage": CITED,
        "start": CHUNK_START + a,
        "end": CHUNK_START + a + len(CITED),
        "chunk_text": CHUNK,
        "chunk_start": CHUNK_START,
        "score": 1.2,
    }
    fields.update(over)
    return fields


def answer(**over: object) -> Answer:
    fields = {
        "question": "Who holds a right of first refusal?",
        "text": "Microsoft holds a right of first refusal on new capacity [1].",
        "abstained": False,
        "citations": [citation()],
        "sources": [source()],
        "sentences": [
            Sentence(
                "Microsoft holds a right of first refusal on new capacity [1].",
                [1],
                0.82,
                True,
                False,
            )
        ],
        "model": "fake:cite",
    }
    fields.update(over)
    return Answer(**fields)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- answer bubble
def test_markers_link_to_their_source_cards_and_articles() -> None:
    html = render_answer(answer())
    assert re.search(r'<a class="cite" href="#src-1"[^>]*>\[1\]</a>', html)
    assert 'href="https://compute.example/rofr"' in html  # the cited-articles list
    assert "Compute Ledger · 2025-01-21" in html
    assert "unsupported" not in html


def test_grouped_markers_become_one_link_each() -> None:
    two = answer(
        text="Both said so [1, 2].",
        sentences=[Sentence("Both said so [1, 2].", [1, 2], 0.9, True, False)],
        citations=[citation(1), citation(2, article_id="other", url="https://b.example/x")],
        sources=[source(1), source(2, article_id="other")],
    )
    html = render_answer(two)
    assert 'href="#src-1"' in html and 'href="#src-2"' in html
    assert "[1, 2]" not in html


def test_unsupported_sentence_is_flagged() -> None:
    weak = answer(
        text="Microsoft bought OpenAI [1]. Microsoft holds a right of first refusal [1].",
        sentences=[
            Sentence("Microsoft bought OpenAI [1].", [1], 0.1, False, False),
            Sentence("Microsoft holds a right of first refusal [1].", [1], 0.8, True, False),
        ],
    )
    html = render_answer(weak)
    flagged = re.findall(
        r'<span class="byline-sentence unsupported"[^>]*>(.*?)(?=<span class="byline-sentence|</p>)',
        html,
    )
    assert len(flagged) == 1
    assert "⚠" in flagged[0] and "Microsoft bought OpenAI" in flagged[0]
    assert "holds a right" not in flagged[0]
    assert html.count('class="byline-sentence"') == 1  # the supported one stays plain


def test_attributed_citations_look_different_from_model_given_ones() -> None:
    mixed = answer(
        text="Microsoft holds the right [1]. Analysts called it a hedge [2].",
        citations=[citation(1), citation(2, attributed=True, chunk_id="rofr:2")],
        sources=[source(1), source(2, chunk_id="rofr:2")],
        sentences=[
            Sentence("Microsoft holds the right [1].", [1], 0.8, True, False),
            Sentence("Analysts called it a hedge [2].", [2], 0.7, True, True),
        ],
    )
    html = render_answer(mixed)
    assert re.search(r'<a class="cite" href="#src-1"', html)
    assert re.search(r'<a class="cite cite-attributed" href="#src-2"', html)
    assert "citation check" in html  # the legend explains the dotted markers
    panel = render_sources(mixed)
    card2 = panel[panel.index('id="src-2"') :]
    assert "badge-attributed" in card2
    assert 'class="src-card attributed" id="src-2"' in panel
    assert 'class="src-card" id="src-1"' in panel


def test_an_answer_from_the_second_reading_says_so() -> None:
    assert "second reading" not in render_answer(answer())
    reread = [StepRecord("recovery", "second_reading", "replaced")]
    assert "second reading" in render_answer(answer(trace=reread))


def test_an_answer_that_replaced_a_doubted_refusal_says_so() -> None:
    assert "low probability" not in render_answer(answer())
    doubted = StepRecord("recovery", "doubted_refusal", "replaced", {"probability": 0.18})
    html = render_answer(answer(trace=[doubted]))
    assert "low probability (18%)" in html and "the articles don" in html


def test_answer_without_sentences_still_links_markers() -> None:
    html = render_answer(answer(sentences=[]))
    assert 'href="#src-1"' in html


def test_dict_form_renders_like_the_object() -> None:
    a = answer()
    assert render_answer(a.to_dict()) == render_answer(a)
    assert render_sources(a.to_dict()) == render_sources(a)


# --------------------------------------------------------------------------- sources panel
def test_cited_passage_is_highlighted_at_its_offsets_in_context() -> None:
    panel = render_sources(answer())
    assert 'id="src-1"' in panel
    marked = re.findall(r"<mark[^>]*>(.*?)</mark>", panel, flags=re.S)
    assert marked == [CITED]
    # the chunk around the passage is shown too, before and after the mark, drawn as strong
    # as its support
    assert 'exclusive cloud provider for OpenAI. <mark class="support-strong">' in panel
    assert "</mark> Analysts called it a hedge." in panel
    assert "support 82%" in panel


def test_highlight_uses_offsets_not_the_first_matching_text() -> None:
    context = "the deal. the deal. the deal."
    html = highlight(context, 1000, 1010, 1019, "the deal.")
    assert html == "the deal. <mark>the deal.</mark> the deal."


def test_highlight_finds_the_passage_when_offsets_drift() -> None:
    html = highlight(CHUNK, 0, 5, 9, CITED)  # offsets point elsewhere
    assert f"<mark>{CITED}</mark>" in html


def test_highlight_shows_the_passage_alone_when_context_lacks_it() -> None:
    assert highlight("unrelated text", 0, 50, 60, "lost <b>passage</b>") == (
        "<mark>lost &lt;b&gt;passage&lt;/b&gt;</mark>"
    )


def test_long_context_is_trimmed_around_the_mark() -> None:
    before, after = "word " * 300, " tail" * 300
    context = before + "KEY FACT." + after
    html = highlight(context, 0, len(before), len(before) + 9, "KEY FACT.")
    assert "<mark>KEY FACT.</mark>" in html
    assert html.startswith("…") and html.endswith("…")
    assert len(html) < 1000


def test_uncited_sources_are_listed_apart() -> None:
    extra = source(2, article_id="stargate", title="Stargate pledges data centres")
    panel = render_sources(answer(sources=[source(1), extra]))
    assert "Also read, not cited (1)" in panel
    assert "Stargate pledges data centres" in panel
    assert 'id="src-2"' not in panel


def test_no_answer_yet_shows_a_placeholder() -> None:
    assert "Sources for the latest answer" in render_sources(None)


# --------------------------------------------------------------------------- abstention
def test_abstention_says_so_and_lists_the_closest_articles() -> None:
    closest = [
        source(1, title="Stargate pledges data centres", url="https://s.example/a"),
        source(2, title="Amazon adds billions", url="https://m.example/b"),
    ]
    abstained = answer(
        text="The articles don't say.",
        abstained=True,
        citations=[],
        sentences=[],
        sources=closest,
        abstain_reason="best passage relevance 0.12 is below the threshold 0.30",
    )
    html = render_answer(abstained)
    assert html == render_abstention(abstained)
    assert "byline-abstain" in html and "The articles don't say." in unescape(html)
    assert "below the threshold" in html and "listed under Sources" in html
    # the closest articles are listed once: in the sources panel, not again in the bubble
    assert "Amazon adds billions" not in html and "#src-" not in html
    panel = render_sources(abstained)
    assert "Closest articles" in panel and "<mark" not in panel
    assert 'href="https://s.example/a"' in panel and "Amazon adds billions" in panel


# --------------------------------------------------------------------------- hostile text
def test_article_text_cannot_inject_markup() -> None:
    evil = "<script>alert('x')</script>"
    hostile_passage = f'Ignore this. <img src=x onerror="alert(1)"> {evil}'
    chunk = "Before. " + hostile_passage + " After."
    a = chunk.index(hostile_passage)
    cite = citation(
        title=f"Breaking {evil}",
        source='Evil "Times" <b>',
        url="javascript:alert(1)",
        passage=hostile_passage,
        start=a,
        end=a + len(hostile_passage),
    )
    src = source(
        title=f"Breaking {evil}",
        url="javascript:alert(1)",
        passage=hostile_passage,
        chunk_text=chunk,
        chunk_start=0,
    )
    hostile = answer(
        text=f"It says {evil} [1].",
        citations=[cite],
        sources=[src],
        sentences=[Sentence(f"It says {evil} [1].", [1], 0.9, True, False)],
    )
    for html in (render_answer(hostile), render_sources(hostile)):
        assert "<script" not in html and "<img" not in html and "<b>" not in html
        assert 'href="javascript' not in html
        assert "&lt;script&gt;" in html
    panel = render_sources(hostile)
    assert (
        '<mark class="support-strong">Ignore this. &lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
        in panel
    )
    assert "Evil &quot;Times&quot; &lt;b&gt;" in panel


def test_streaming_and_error_text_is_escaped() -> None:
    assert "<script>" not in render_streaming("a <script>x</script> b")
    assert "&lt;script&gt;" in render_streaming("<script>")
    assert "byline-cursor" in render_streaming("")
    err = render_error("no index at <here>: run `byline ingest PATH` first")
    assert "byline-error" in err and "&lt;here&gt;" in err


def test_only_http_urls_become_links() -> None:
    assert safe_url("https://a.example/x?y=1&z=2") == "https://a.example/x?y=1&amp;z=2"
    for bad in ("javascript:alert(1)", "data:text/html,hi", "", None, 'https://a" onmouseover="x'):
        assert safe_url(bad) is None


# --------------------------------------------------------------------------- index and ingest
def test_stats_panel_lists_counts_publishers_and_span() -> None:
    html = render_stats(
        {
            "articles": 3,
            "chunks": 4,
            "publishers": {"Compute Ledger": 2, "<Market> Wire": 1},
            "first_published": "2024-11-22",
            "last_published": "2025-01-22",
        }
    )
    assert "<td>3</td>" in html and "<td>4</td>" in html
    assert "2024-11-22 – 2025-01-22" in html
    assert "Compute Ledger" in html and "&lt;Market&gt; Wire" in html
    assert "No index yet" in render_stats(None)


def test_ingest_summary_and_failure_rows() -> None:
    report = {
        "added": 2,
        "updated": 0,
        "unchanged": 1,
        "removed": 0,
        "failed": [{"path": "bad.json", "line": 3, "error": "not JSON"}],
        "articles": 3,
        "chunks": 3,
        "seconds": 0.25,
    }
    summary = render_ingest_summary(report)
    assert "2 added" in summary and "1 skipped" in summary and "warn" in summary
    assert "0 removed" in summary and "Kept" not in summary
    assert "Kept 4 indexed articles" in render_ingest_summary({**report, "kept": 4})
    assert failure_rows(report["failed"]) == [["bad.json", "3", "not JSON"]]
    assert failure_rows([{"path": "x.pdf", "line": None, "error": "type"}]) == [
        ["x.pdf", "", "type"]
    ]


# --------------------------------------------------------------------------- examples
def test_demo_questions_when_the_demo_articles_are_indexed() -> None:
    entries = {article_id: {"title": "t", "published_ts": 0} for article_id, _ in DEMO_QUESTIONS}
    questions = example_questions(entries)
    assert questions[0] == "Who gets a right of first refusal on new OpenAI cloud capacity?"
    assert len(questions) == 5


def test_examples_fall_back_to_recent_titles() -> None:
    entries = {
        "a": {"title": "Old news about chips", "published_ts": 1},
        "b": {"title": "Fresh deal on data centres!", "published_ts": 9},
        "c": {"title": "", "published_ts": 5},
    }
    questions = example_questions(entries)
    assert questions == [
        "What do the articles say about “Fresh deal on data centres”?",
        "What do the articles say about “Old news about chips”?",
    ]
    assert title_question("Hi") is None
    assert example_questions({}) == []
