"""News retrieval: as-of cut-off, recency, soft filters and the LangChain retriever."""

from __future__ import annotations

from pathlib import Path

from rag import Byline
from rag.retrieval.filters import Filters
from tests.helpers import write_articles


def build(tmp_path: Path, embedder) -> Byline:
    byline = Byline.open(tmp_path / "idx", embedder=embedder, embed_model="hash")
    byline.ingest([write_articles(tmp_path / "docs")])
    return byline


def test_nothing_published_after_the_as_of_day_is_retrieved(tmp_path: Path, embedder) -> None:
    retriever = build(tmp_path, embedder).retriever()
    ids = {h.article_id for h in retriever.retrieve("billion dollars", as_of="2024-12-01").hits}
    assert ids == {"anthropic"}  # the other two were published in January 2025
    later = {h.article_id for h in retriever.retrieve("billion dollars", as_of="2025-02-01").hits}
    assert {"anthropic", "stargate"} <= later


def test_recent_articles_rank_higher_as_of_a_day(tmp_path: Path, embedder) -> None:
    retriever = build(tmp_path, embedder).retriever()
    hits = retriever.retrieve("billion dollars invested", as_of="2025-01-23").hits
    assert hits[0].article_id == "stargate"
    assert hits[0].signals["recency"] > max(
        h.signals["recency"] for h in hits if h.article_id == "anthropic"
    )


def test_soft_filter_from_the_question_never_empties_the_result(tmp_path: Path, embedder) -> None:
    retriever = build(tmp_path, embedder).retriever()
    result = retriever.retrieve("What did Stargate announce last month?", as_of="2025-06-01")
    assert result.plan.filters.since is not None  # May 2025: no article in range
    assert result.hits and result.hits[0].article_id == "stargate"


def test_langchain_retriever_returns_documents(tmp_path: Path, embedder) -> None:
    docs = build(tmp_path, embedder).as_retriever(k=2).invoke("Anthropic Trainium chips")
    assert len(docs) <= 2 and docs[0].metadata["article_id"] == "anthropic"
    assert docs[0].page_content and docs[0].metadata["url"].startswith("https://")


def test_each_described_article_leads_its_clause(tmp_path: Path, embedder) -> None:
    byline = build(tmp_path, embedder)
    question = (
        "Which company, as reported by Silicon Tribune, plans to spend one hundred billion "
        "dollars on data centres in Abilene, and named AWS its primary training partner for "
        "Trainium chips according to Market Wire?"
    )
    result = byline.retriever().retrieve(question)
    assert [flt.sources for _, flt in result.plan.parts] == [
        ("Silicon Tribune",),
        ("Market Wire",),
    ]
    assert [h.article_id for h in result.leaders] == ["stargate", "anthropic"]
    # both described articles reach the prompt even with two passages
    byline.settings.top_k = 2
    sources = byline.chain().prepare(question, None, None, Filters(), None).sources
    assert {s.hit.article_id for s in sources} == {"stargate", "anthropic"}
