"""Incremental ingest: upserts not duplicates, no work when unchanged, prune, lock, crash-resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag import Byline
from rag.chunking import Chunker
from rag.errors import IndexLockedError, IndexMissingError
from rag.lock import writer_lock
from rag.testing import HashEmbeddings
from tests.helpers import write_articles


def open_index(tmp_path: Path, embedder: HashEmbeddings) -> Byline:
    return Byline.open(tmp_path / "idx", embedder=embedder, embed_model="hash")


def test_first_ingest_then_unchanged_does_no_embedding(tmp_path: Path, embedder) -> None:
    docs = write_articles(tmp_path / "docs")
    byline = open_index(tmp_path, embedder)
    first = byline.ingest([docs])
    assert (first.added, first.updated, first.unchanged) == (3, 0, 0)
    assert first.articles == 3 and first.chunks == byline.store.count() >= 3
    calls = embedder.texts_embedded
    again = byline.ingest([docs])
    assert (again.added, again.unchanged) == (0, 3)
    assert embedder.texts_embedded == calls, "unchanged articles must not be embedded again"
    assert byline.store.count() == first.chunks


def test_changed_article_replaces_its_chunks(tmp_path: Path, embedder) -> None:
    docs = write_articles(tmp_path / "docs")
    byline = open_index(tmp_path, embedder)
    byline.ingest([docs])
    path = docs / "rofr.md"
    path.write_text(path.read_text().replace("right of first refusal", "veto"), encoding="utf-8")
    report = byline.ingest([docs])
    assert (report.updated, report.unchanged) == (1, 2)
    texts = [c.text for c in byline.store.iter_all() if c.metadata["article_id"] == "rofr"]
    assert texts and all("first refusal" not in t for t in texts)
    assert any("veto" in t for t in texts)
    assert byline.search("veto", k=1)[0].article_id == "rofr"


def test_prune_removes_articles_whose_files_are_gone(tmp_path: Path, embedder) -> None:
    docs = write_articles(tmp_path / "docs")
    byline = open_index(tmp_path, embedder)
    byline.ingest([docs])
    (docs / "anthropic.md").unlink()
    kept = byline.ingest([docs])
    assert kept.removed == 0 and kept.articles == 3
    pruned = byline.ingest([docs], prune=True)
    assert pruned.removed == 1 and pruned.articles == 2
    ids = {c.metadata["article_id"] for c in byline.store.iter_all()}
    assert ids == {"rofr", "stargate"}
    assert all(h.article_id != "anthropic" for h in byline.search("Anthropic Amazon", k=5))


def test_bad_files_do_not_touch_indexed_data(tmp_path: Path, embedder) -> None:
    docs = write_articles(tmp_path / "docs")
    byline = open_index(tmp_path, embedder)
    byline.ingest([docs])
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.jsonl").write_text("{oops\n", encoding="utf-8")
    report = byline.ingest([tmp_path / "bad"])
    assert report.failed and report.failed[0]["line"] == 1
    assert report.articles == 3


def test_search_ranks_by_overlap_and_filters(tmp_path: Path, embedder) -> None:
    byline = open_index(tmp_path, embedder)
    byline.ingest([write_articles(tmp_path / "docs")])
    hits = byline.search("Stargate data centres Abilene", k=3)
    assert hits[0].article_id == "stargate"
    assert set(hits[0].to_dict()) == {
        "article_id",
        "chunk_id",
        "title",
        "source",
        "url",
        "published_at",
        "score",
        "text",
    }
    only = byline.search("billion", k=5, filters={"source": "Market Wire"})
    assert {h.source for h in only} == {"Market Wire"}
    dated = byline.search("billion", k=5, filters={"since": "2025-01-01"})
    assert dated and all(h.published_at >= "2025-01-01" for h in dated)


def test_search_without_index_says_what_to_do(tmp_path: Path, embedder) -> None:
    with pytest.raises(IndexMissingError, match="byline ingest"):
        open_index(tmp_path, embedder).search("anything")


def test_second_writer_gets_a_clear_error(tmp_path: Path, embedder) -> None:
    byline = open_index(tmp_path, embedder)
    with writer_lock(tmp_path / "idx"), pytest.raises(IndexLockedError, match="another process"):
        byline.ingest([write_articles(tmp_path / "docs")])


def test_chunk_offsets_and_ids_are_exact(tmp_path: Path) -> None:
    from rag.loaders import load_paths

    text = " ".join(f"Sentence number {i} talks about cloud capacity." for i in range(80))
    (tmp_path / "long.md").write_text(f"---\nid: long\ntitle: Long\n---\n{text}", encoding="utf-8")
    (article,) = load_paths([tmp_path / "long.md"], 10**6).articles
    chunks = Chunker(400, 80).split(article)
    assert len(chunks) > 3
    assert [c.id for c in chunks] == [f"long:{i}" for i in range(len(chunks))]
    for c in chunks:
        assert article.text[c.start : c.end] == c.text
        assert len(c.text) <= 400
    assert chunks[1].start < chunks[0].end, "consecutive chunks overlap"
    assert Chunker(400, 80).split(article) == chunks


CRASH_SCRIPT = """
import sys, time
from rag import Byline
from rag.testing import HashEmbeddings

class Slow(HashEmbeddings):
    def embed_documents(self, texts):
        time.sleep(0.4)
        return super().embed_documents(texts)

import rag.ingest
rag.ingest.BATCH_ARTICLES = 5
rag.ingest.EMBED_WINDOW = 1  # each batch embedded, then written, on its own
b = Byline.open(sys.argv[1], embedder=Slow(), embed_model="hash")
b.ingest([sys.argv[2]], progress=False)
"""


def test_killed_ingest_leaves_usable_index_and_resumes(tmp_path: Path, embedder) -> None:
    docs = tmp_path / "many"
    docs.mkdir()
    for i in range(60):
        (docs / f"a{i:02d}.md").write_text(
            f"---\nid: a{i:02d}\ntitle: Article {i}\nsource: S\n---\n"
            f"Story {i} about capacity deal number {i}.",
            encoding="utf-8",
        )
    index = tmp_path / "idx"
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASH_SCRIPT, str(index), str(docs)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    # Wait until at least one batch is recorded, then kill without warning.
    deadline = time.time() + 60
    while time.time() < deadline:
        b = Byline.open(index, embedder=embedder, embed_model="hash")
        if (index / "manifest.sqlite").exists() and b.manifest.counts()[0] >= 5:
            b.close()
            break
        b.close()
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = Byline.open(index, embedder=embedder, embed_model="hash")
    done, _ = partial.manifest.counts()
    assert 5 <= done < 60, "the kill should land mid-ingest"
    assert partial.search("Story about capacity deal", k=3), "partial index still serves"
    report = partial.ingest([docs])
    assert report.articles == 60 and report.added == 60 - done
    assert partial.store.count() == report.chunks == 60
    ids = [c.id for c in partial.store.iter_all()]
    assert len(ids) == len(set(ids)) == 60
    assert len(partial.lexical()) == 60


def test_article_texts_join_every_chunk_of_an_article(tmp_path: Path, embedder) -> None:
    docs = write_articles(tmp_path / "docs")
    byline = open_index(tmp_path, embedder)
    byline.ingest([docs])
    texts = byline.store.article_texts(["rofr", "missing", "rofr"])
    assert list(texts) == ["rofr"]
    chunks = [c.text for c in byline.store.iter_all() if c.metadata["article_id"] == "rofr"]
    assert all(chunk in texts["rofr"] for chunk in chunks)
    assert byline.store.article_texts([]) == {}


# --------------------------------------------------------------------------- nothing lost
def _jsonl(path: Path, n: int, prefix: str = "r") -> Path:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(
            json.dumps({"id": f"{prefix}{i}", "title": f"T{i}", "text": f"Story {i} body."}) + "\n"
            for i in range(n)
        ),
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    "damage",
    ["bad byte appended", "truncated mid-line", "grown past the limit", "front matter date typo"],
)
def test_a_file_that_fails_later_keeps_its_articles(tmp_path: Path, embedder, damage) -> None:
    docs = tmp_path / "docs"
    feed = _jsonl(docs / "feed.jsonl", 20)
    note = docs / "note.md"
    note.write_text(
        "---\nid: note\ntitle: Note\ndate: 2025-02-03\n---\nA note.\n", encoding="utf-8"
    )
    byline = Byline.open(tmp_path / "idx", embedder=embedder, embed_model="hash", max_file_mb=0.01)
    assert byline.ingest([docs]).articles == 21
    if damage == "bad byte appended":
        with feed.open("ab") as fh:
            fh.write(b"\xff\n")
    elif damage == "truncated mid-line":
        feed.write_bytes(feed.read_bytes()[:-20])
    elif damage == "grown past the limit":
        note.write_text(note.read_text() + "x" * 20_000, encoding="utf-8")
    else:
        note.write_text(note.read_text().replace("2025-02-03", "2025-02-30"))
    report = byline.ingest([docs])
    assert report.removed == 0
    if damage == "front matter date typo":
        assert report.updated == 1 and report.warnings, "undated, with a warning"
    else:
        assert report.failed
    if damage == "grown past the limit":
        assert report.kept == 1, "the unreadable file's article is kept and counted"
    assert report.articles == 21 and byline.stats()["articles"] == 21
    assert len({c.metadata["article_id"] for c in byline.store.iter_all()}) == 21


def test_a_clean_reread_still_drops_records_the_file_no_longer_has(tmp_path: Path, embedder):
    feed = _jsonl(tmp_path / "docs" / "feed.jsonl", 5)
    byline = open_index(tmp_path, embedder)
    byline.ingest([feed])
    _jsonl(feed, 3)
    report = byline.ingest([feed])
    assert report.removed == 2 and report.articles == 3


def test_an_id_from_another_file_is_a_conflict_not_a_replacement(tmp_path: Path, embedder):
    first = _jsonl(tmp_path / "a" / "one.jsonl", 3)
    byline = open_index(tmp_path, embedder)
    byline.ingest([first])
    other = tmp_path / "b" / "two.jsonl"
    other.parent.mkdir()
    other.write_text('{"id": "r1", "title": "Other", "text": "A different story."}\n')
    report = byline.ingest([other])
    (conflict,) = report.failed
    assert "already indexed from" in conflict["error"] and "--replace" in conflict["error"]
    assert report.articles == 3
    assert "Story 1" in byline.store.article_texts(["r1"])["r1"]
    # Reading the first file again changes nothing; replacing on purpose works.
    assert byline.ingest([first]).unchanged == 3
    replaced = byline.ingest([other], replace=True)
    assert replaced.updated == 1 and not replaced.failed
    assert "different story" in byline.store.article_texts(["r1"])["r1"]


def test_an_article_moved_between_two_existing_files_is_never_dropped(tmp_path: Path, embedder):
    first = _jsonl(tmp_path / "docs" / "one.jsonl", 3)
    byline = open_index(tmp_path, embedder)
    byline.ingest([tmp_path / "docs"])
    lines = first.read_text().splitlines(keepends=True)
    (tmp_path / "docs" / "two.jsonl").write_text(lines[2], encoding="utf-8")
    first.write_text("".join(lines[:2]), encoding="utf-8")  # r2 moved from one to two
    report = byline.ingest([tmp_path / "docs"])
    assert report.removed == 0 and report.articles == 3
    assert "Story 2" in byline.store.article_texts(["r2"])["r2"]
