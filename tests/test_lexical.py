"""The growing lexical index: same rankings and scores as a full rebuild, cost that follows the
change, and a published generation that survives a crash."""

from __future__ import annotations

import json
import random
from pathlib import Path

import bm25s
import numpy as np
import pytest

import rag.lexical_writer as lexical_writer
from rag import Byline
from rag.lexical import POINTER, LexicalDoc, LexicalIndex, docs_from_chunks, read_pointer
from rag.lexical_writer import LexicalWriter
from rag.testing import HashEmbeddings
from tests.helpers import write_articles

WORDS = [f"term{i}" for i in range(400)]
for _at, _name in [(5, "Microsoft"), (40, "OpenAI"), (90, "Abilene"), (150, "2024")]:
    WORDS.insert(_at, _name)
QUERIES = ["term1 term2", "term5 term5 term300", "term399", "Microsoft OpenAI", "2024 term7"]


def random_doc(rng: random.Random, chunk_id: str) -> LexicalDoc:
    # A skewed vocabulary, as in prose: a few words in most chunks, most words in few.
    text = " ".join(WORDS[min(int(rng.expovariate(1 / 60)), len(WORDS) - 1)] for _ in range(40))
    return LexicalDoc(chunk_id, text, rng.choice(["Wire", "Ledger", "Tribune"]), rng.randint(0, 99))


def churn(writer: LexicalWriter, rng: random.Random, steps: int) -> dict[str, list[LexicalDoc]]:
    """Random adds, changes and removals of articles; returns the articles left."""
    live: dict[str, list[LexicalDoc]] = {}
    for _ in range(steps):
        articles = list(dict.fromkeys(f"art{rng.randint(0, 40)}" for _ in range(rng.randint(1, 6))))
        if rng.random() < 0.3:
            writer.remove(articles)
            for a in articles:
                live.pop(a, None)
            continue
        new = {a: [random_doc(rng, f"{a}:{i}") for i in range(rng.randint(1, 4))] for a in articles}
        writer.replace(articles, [d for docs in new.values() for d in docs])
        live.update(new)
    return live


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grown_index_ranks_and_scores_as_a_full_rebuild(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    writer = LexicalWriter(tmp_path, max_segments=3, merge_factor=2)
    live = churn(writer, rng, 60)
    docs = [d for chunks in live.values() for d in chunks]
    grown, fresh = LexicalIndex.load(tmp_path), LexicalIndex.build(docs)
    assert len(grown) == len(fresh) == len(docs)
    assert 1 < writer.segment_count <= 3, "the churn should leave several segments"
    for query in QUERIES:
        assert grown.search(query, len(docs)) == fresh.search(query, len(docs))
        assert grown.search(query, 5) == fresh.search(query, 5)
        filtered = {"sources": ["Wire", "Ledger"], "since_ts": 20, "until_ts": 80}
        assert grown.search(query, 7, **filtered) == fresh.search(query, 7, **filtered)
    assert {d.source for d in docs} >= {"Wire", "Ledger"}


def test_scores_are_bm25s_scores_of_the_live_chunks(tmp_path: Path) -> None:
    rng = random.Random(7)
    writer = LexicalWriter(tmp_path, max_segments=4, merge_factor=2)
    live = churn(writer, rng, 40)
    docs = [d for chunks in live.values() for d in chunks]
    reference = bm25s.BM25()
    corpus = bm25s.tokenize([d.text for d in docs], stopwords="en", show_progress=False)
    reference.index(corpus, show_progress=False)
    grown = LexicalIndex.load(tmp_path)
    for query in QUERIES:
        terms = bm25s.tokenize(query, stopwords="en", return_ids=False, show_progress=False)[0]
        expected = reference.get_scores(terms)
        got = grown.scores(query)
        assert got, f"no chunk scored for {query!r}"
        actual = np.array([got.get(d.chunk_id, 0.0) for d in docs])
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_adding_an_article_writes_one_small_segment_and_keeps_the_rest(tmp_path: Path) -> None:
    rng = random.Random(3)
    writer = LexicalWriter(tmp_path, max_segments=8)
    writer.replace([f"a{i}" for i in range(50)], [random_doc(rng, f"a{i}:0") for i in range(50)])
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "lexical").rglob("*.npy")}
    writer.replace(["new"], [random_doc(rng, "new:0"), random_doc(rng, "new:1")])
    pointer = read_pointer(tmp_path)
    assert [s["chunks"] for s in pointer["segments"]] == [50, 2]
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "lexical" / "seg-000001").rglob("*")}
    assert all(after[name] == stamp for name, stamp in before.items() if name in after)
    assert len(LexicalIndex.load(tmp_path)) == 52


def test_removal_is_a_tombstone_until_merged(tmp_path: Path) -> None:
    rng = random.Random(4)
    writer = LexicalWriter(tmp_path)
    docs = [random_doc(rng, f"a{i}:0") for i in range(20)]
    docs[3] = LexicalDoc("a3:0", "Zanzibar data centre", "Wire", 1)
    writer.replace([f"a{i}" for i in range(20)], docs)
    assert LexicalIndex.load(tmp_path).has_term("Zanzibar")
    writer.remove(["a3"])
    (entry,) = read_pointer(tmp_path)["segments"]
    assert entry["chunks"] == 20 and entry["dead"], "the segment stays, with a tombstone file"
    index = LexicalIndex.load(tmp_path)
    assert len(index) == 19 and not index.has_term("Zanzibar")
    assert index.search("Zanzibar", 5) == []
    writer.compact()
    (entry,) = read_pointer(tmp_path)["segments"]
    assert entry["chunks"] == 19 and entry["dead"] is None
    # What the replaced pointer named stays one more round, for a reader opening it just now.
    assert len(list((tmp_path / "lexical").iterdir())) == 2
    writer.publish()
    assert [p.name for p in (tmp_path / "lexical").iterdir()] == [entry["name"]]
    assert not list((tmp_path / "lexical").rglob("dead-*.npy"))


def test_reader_reloads_only_new_segments(tmp_path: Path) -> None:
    rng = random.Random(5)
    writer = LexicalWriter(tmp_path)
    writer.replace(["a"], [random_doc(rng, "a:0")])
    first = LexicalIndex.load(tmp_path)
    writer.replace(["b"], [random_doc(rng, "b:0")])
    second = LexicalIndex.load(tmp_path, previous=first)
    assert second.generation == first.generation + 1
    assert second._segments[0] is first._segments[0]
    assert len(second) == 2


def test_crash_before_publishing_leaves_the_last_generation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(6)
    writer = LexicalWriter(tmp_path)
    writer.replace(["a"], [LexicalDoc("a:0", "Stargate Abilene", "Wire", 1)])
    published = (tmp_path / POINTER).read_text()

    def crash(*args: object) -> None:
        raise OSError("power lost")

    monkeypatch.setattr(lexical_writer.os, "replace", crash)
    with pytest.raises(OSError):
        LexicalWriter(tmp_path).replace(["a", "b"], [random_doc(rng, "b:0")])
    monkeypatch.undo()
    assert (tmp_path / POINTER).read_text() == published
    index = LexicalIndex.load(tmp_path)
    assert [cid for cid, _ in index.search("Abilene", 3)] == ["a:0"]
    # The next writer reuses the unpublished segment's name and clears what was left.
    LexicalWriter(tmp_path).replace(["c"], [LexicalDoc("c:0", "Abilene again", "Wire", 2)])
    assert {cid for cid, _ in LexicalIndex.load(tmp_path).search("Abilene", 3)} == {"a:0", "c:0"}
    assert not (tmp_path / (POINTER + ".tmp")).exists()


def open_index(tmp_path: Path, **overrides: object) -> Byline:
    return Byline.open(tmp_path / "idx", embedder=HashEmbeddings(), embed_model="hash", **overrides)


def test_ingest_grows_the_index_and_matches_a_rebuild_from_the_store(tmp_path: Path) -> None:
    docs = write_articles(tmp_path / "docs", ["rofr", "stargate"])
    byline = open_index(tmp_path, lexical_max_segments=2)
    byline.ingest([docs])
    write_articles(docs, ["anthropic"])
    byline.ingest([docs])
    path = docs / "rofr.md"
    path.write_text(path.read_text().replace("first refusal", "veto"), encoding="utf-8")
    byline.ingest([docs])
    (docs / "stargate.md").unlink()
    byline.ingest([docs], prune=True)
    grown = byline.lexical()
    fresh = LexicalIndex.build(docs_from_chunks(byline.store.iter_all()))
    assert len(grown) == len(fresh) == byline.store.count()
    for query in ["Microsoft veto capacity", "Amazon Anthropic billion", "Stargate Abilene"]:
        assert grown.search(query, 10) == fresh.search(query, 10)
    assert grown.has_term("veto") and not grown.has_term("Zanzibar")
    assert byline.search("veto", k=1)[0].article_id == "rofr"


def test_ingest_converts_an_index_from_before_segments(tmp_path: Path) -> None:
    docs = write_articles(tmp_path / "docs")
    byline = open_index(tmp_path)
    byline.ingest([docs])
    index_dir = tmp_path / "idx"
    # What the whole-corpus format left: a pointer to a bm25s folder, and that folder.
    (index_dir / "lexical-3").mkdir()
    (index_dir / POINTER).write_text(json.dumps({"folder": "lexical-3"}))
    reader = open_index(tmp_path)
    assert reader.search("Abilene", k=1)[0].article_id == "stargate", "served from the store"
    report = reader.ingest([docs])
    assert report.unchanged == 3
    assert read_pointer(index_dir)["format"] == 2 and not (index_dir / "lexical-3").exists()
    assert len(reader.lexical()) == reader.store.count()
