"""Files whose size and modification time are as recorded are passed over unread; any other
file is read and its articles' hashes decide, as before, what is written again."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest

import rag.loaders
import rag.manifest
from rag import Byline
from rag.file_stats import RACY_NS, FileStat, is_unchanged
from rag.manifest import Manifest
from rag.testing import HashEmbeddings
from tests.helpers import write_articles, write_records

AN_HOUR_AGO = time.time() - 3600


def _age(path: Path, when: float = AN_HOUR_AGO) -> None:
    """Set a file's (or every file's in a folder) modification time to ``when``: a file
    written just now is read again by the next ingest anyway (the racy rule)."""
    for p in [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]:
        os.utime(p, (when, when))


@pytest.fixture
def opened(monkeypatch) -> Counter:
    """How many times each file was opened by a loader (the real loaders, counted)."""
    counts: Counter = Counter()
    for suffix, loader in list(rag.loaders.LOADERS.items()):

        def counted(path, max_bytes, loader=loader):  # noqa: ANN001, ANN202
            counts[path.name] += 1
            return loader(path, max_bytes)

        monkeypatch.setitem(rag.loaders.LOADERS, suffix, counted)
    return counts


def _corpus(tmp: Path) -> Path:
    docs = write_articles(tmp / "docs")
    write_records(docs / "feed.jsonl", [f"r{i}" for i in range(5)])
    _age(docs)
    return docs


def _open(tmp: Path, embedder: HashEmbeddings | None = None, **overrides) -> Byline:
    return Byline.open(
        tmp / "idx", embedder=embedder or HashEmbeddings(), embed_model="hash", **overrides
    )


def _indexed(tmp: Path) -> tuple[Path, Byline, HashEmbeddings]:
    """The corpus, indexed once: its folder, the open index and the embedder it used."""
    docs, embedder = _corpus(tmp), HashEmbeddings()
    b = _open(tmp, embedder)
    b.ingest([docs], progress=False)
    return docs, b, embedder


def test_unchanged_files_are_not_opened_and_their_articles_count_as_unchanged(
    tmp_path: Path, opened: Counter
) -> None:
    docs = _corpus(tmp_path)
    embedder = HashEmbeddings()
    b = _open(tmp_path, embedder)
    first = b.ingest([docs], progress=False)
    assert first.added == 8 and first.skipped_files == 0
    assert sum(opened.values()) == 4
    embedded = embedder.texts_embedded
    opened.clear()

    again = b.ingest([docs], progress=False)
    assert not opened, "no file was opened"
    assert (again.unchanged, again.added, again.updated, again.removed) == (8, 0, 0, 0)
    assert again.skipped_files == 4 and (again.articles, again.chunks) == (
        first.articles,
        first.chunks,
    )
    assert embedder.texts_embedded == embedded

    # A file named on its own is passed over the same way as one found in a folder.
    alone = b.ingest([docs / "feed.jsonl"], progress=False)
    assert not opened and alone.unchanged == 5 and alone.skipped_files == 1
    assert b.check().ok


def test_a_touched_file_is_read_again_but_nothing_is_embedded(
    tmp_path: Path, opened: Counter
) -> None:
    docs, b, embedder = _indexed(tmp_path)
    embedded = embedder.texts_embedded
    opened.clear()
    _age(docs / "feed.jsonl", AN_HOUR_AGO + 60)  # touched: same bytes, another time

    report = b.ingest([docs], progress=False)
    assert opened == Counter({"feed.jsonl": 1})
    assert (report.unchanged, report.updated, report.skipped_files) == (8, 0, 3)
    assert embedder.texts_embedded == embedded, "the same content is not embedded again"
    opened.clear()
    assert b.ingest([docs], progress=False).skipped_files == 4 and not opened, (
        "its new stat was recorded"
    )


def test_a_file_of_the_same_size_with_another_time_is_read_and_its_change_indexed(
    tmp_path: Path, opened: Counter
) -> None:
    docs, b, _ = _indexed(tmp_path)
    feed = docs / "feed.jsonl"
    size = feed.stat().st_size
    feed.write_text(feed.read_text().replace("Story r2 v1", "Story r2 v9"), encoding="utf-8")
    assert feed.stat().st_size == size
    _age(feed, AN_HOUR_AGO + 1)
    opened.clear()

    report = b.ingest([docs], progress=False)
    assert opened == Counter({"feed.jsonl": 1}) and report.updated == 1
    assert "v9" in b.store.article_texts(["r2"])["r2"]


def test_a_change_that_keeps_size_and_time_is_found_by_rehash(
    tmp_path: Path, opened: Counter
) -> None:
    docs, b, _ = _indexed(tmp_path)
    feed = docs / "feed.jsonl"
    feed.write_text(feed.read_text().replace("Story r2 v1", "Story r2 v9"), encoding="utf-8")
    _age(feed)  # the time it had: nothing a stat sees has changed
    opened.clear()
    assert b.ingest([docs], progress=False).updated == 0 and not opened

    report = b.ingest([docs], progress=False, rehash=True)
    assert sum(opened.values()) == 4 and report.updated == 1 and report.skipped_files == 0
    assert "v9" in b.store.article_texts(["r2"])["r2"]


def test_rehash_from_the_command_line(tmp_path: Path, opened: Counter, monkeypatch) -> None:
    from typer.testing import CliRunner

    from rag.cli import app

    monkeypatch.setenv("BYLINE_EMBED_MODEL", "hash")
    docs = _corpus(tmp_path)
    index = str(tmp_path / "cli-idx")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(docs), "--index", index]).exit_code == 0
    res = runner.invoke(app, ["ingest", str(docs), "--index", index, "--json"])
    assert json.loads(res.stdout)["skipped_files"] == 4
    opened.clear()
    res = runner.invoke(app, ["ingest", str(docs), "--index", index, "--json", "--rehash"])
    report = json.loads(res.stdout)
    assert report["skipped_files"] == 0 and report["unchanged"] == 8
    assert sum(opened.values()) == 4


def test_prune_keeps_the_articles_of_files_passed_over(tmp_path: Path, opened: Counter) -> None:
    docs, b, _ = _indexed(tmp_path)
    (docs / "stargate.md").unlink()
    opened.clear()

    report = b.ingest([docs], prune=True, progress=False)
    assert not opened and report.skipped_files == 3
    assert (report.removed, report.unchanged, report.articles) == (1, 7, 7)
    assert set(b.manifest.entries()) == {"rofr", "anthropic"} | {f"r{i}" for i in range(5)}
    assert b.check().ok


def test_a_file_that_dropped_an_article_is_read_then_passed_over(
    tmp_path: Path, opened: Counter
) -> None:
    docs, b, _ = _indexed(tmp_path)
    write_records(docs / "feed.jsonl", ["r0", "r1", "r2"])
    _age(docs / "feed.jsonl", AN_HOUR_AGO + 5)
    report = b.ingest([docs], progress=False)
    assert report.removed == 2 and not {"r3", "r4"} & set(b.manifest.entries())
    opened.clear()
    assert b.ingest([docs], progress=False).skipped_files == 4 and not opened


def test_a_file_written_just_now_is_read_again_next_time(tmp_path: Path, opened: Counter) -> None:
    docs = _corpus(tmp_path)
    write_records(docs / "fresh.jsonl", ["f0", "f1"])  # modified now: within the racy window
    b = _open(tmp_path)
    b.ingest([docs], progress=False)
    opened.clear()
    report = b.ingest([docs], progress=False)
    assert opened == Counter({"fresh.jsonl": 1}) and report.unchanged == 10


def test_the_racy_rule() -> None:
    recorded = FileStat("/a", 10, mtime_ns=5 * RACY_NS, read_ns=7 * RACY_NS)
    assert is_unchanged(recorded, FileStat("/a", 10, 5 * RACY_NS, 9 * RACY_NS))
    assert not is_unchanged(recorded, FileStat("/a", 11, 5 * RACY_NS, 9 * RACY_NS))
    assert not is_unchanged(recorded, FileStat("/a", 10, 5 * RACY_NS + 1, 9 * RACY_NS))
    racy = FileStat("/a", 10, mtime_ns=5 * RACY_NS, read_ns=6 * RACY_NS)
    assert not is_unchanged(racy, FileStat("/a", 10, 5 * RACY_NS, 9 * RACY_NS))
    assert not is_unchanged(None, recorded)


def test_a_file_with_an_id_conflict_is_read_every_time(tmp_path: Path, opened: Counter) -> None:
    docs, b, _ = _indexed(tmp_path)
    write_records(tmp_path / "other" / "copy.jsonl", ["r1"], tag="v2")
    _age(tmp_path / "other")
    for _ in range(2):
        opened.clear()
        report = b.ingest([docs, tmp_path / "other"], progress=False)
        assert opened == Counter({"copy.jsonl": 1})
        assert len(report.failed) == 1 and "already indexed" in report.failed[0]["error"]


def test_an_article_replaced_from_another_file_makes_its_old_file_read_again(
    tmp_path: Path, opened: Counter
) -> None:
    docs, b, _ = _indexed(tmp_path)
    other = tmp_path / "other"
    write_records(other / "copy.jsonl", ["r1"], tag="v2")
    _age(other)
    assert b.ingest([other], replace=True, progress=False).updated == 1
    assert b.manifest.entries()["r1"].path.endswith("copy.jsonl")
    opened.clear()
    # feed.jsonl no longer holds only what is listed under it: it is read, and its copy of r1
    # is reported as a conflict, as it was before files were passed over.
    report = b.ingest([docs, other], progress=False)
    assert opened["feed.jsonl"] == 1 and len(report.failed) == 1


def test_stats_recorded_under_another_file_size_limit_are_not_trusted(
    tmp_path: Path, opened: Counter
) -> None:
    docs = _corpus(tmp_path)
    _open(tmp_path).ingest([docs], progress=False)
    opened.clear()
    report = _open(tmp_path, max_file_mb=0.0001).ingest([docs], progress=False)
    assert sum(opened.values()) == 4 and report.skipped_files == 0


def _to_version_zero(index: Path) -> None:
    """What a manifest written before file stats looks like: no files table, version 0."""
    db = sqlite3.connect(index / Manifest.FILENAME)
    db.executescript("DROP TABLE files; PRAGMA user_version = 0;")
    db.close()


def test_a_manifest_from_before_file_stats_is_migrated_and_each_file_read_once(
    tmp_path: Path, opened: Counter
) -> None:
    docs, b, embedder = _indexed(tmp_path)
    b.close()
    _to_version_zero(tmp_path / "idx")
    embedded = embedder.texts_embedded
    opened.clear()

    b = _open(tmp_path, embedder)
    report = b.ingest([docs], progress=False)
    assert sum(opened.values()) == 4 and report.unchanged == 8 and report.skipped_files == 0
    assert embedder.texts_embedded == embedded
    version = sqlite3.connect(tmp_path / "idx" / Manifest.FILENAME).execute("PRAGMA user_version")
    assert version.fetchone()[0] == len(rag.manifest._MIGRATIONS)
    opened.clear()
    assert b.ingest([docs], progress=False).skipped_files == 4 and not opened


def test_a_migration_that_fails_leaves_the_manifest_as_it_was(tmp_path: Path, monkeypatch) -> None:
    docs = _corpus(tmp_path)
    _open(tmp_path).ingest([docs], progress=False)
    _to_version_zero(tmp_path / "idx")
    broken = rag.manifest._MIGRATIONS[0] + " CREATE TABLE half_done (x); NOT SQL;"
    monkeypatch.setattr(rag.manifest, "_MIGRATIONS", [broken])
    with pytest.raises(sqlite3.Error):
        Manifest(tmp_path / "idx")
    db = sqlite3.connect(tmp_path / "idx" / Manifest.FILENAME)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    assert "files" not in tables and "half_done" not in tables and "articles" in tables


def test_a_file_holding_a_copy_of_an_indexed_article_takes_it_over_when_the_first_goes(
    tmp_path: Path, opened: Counter
) -> None:
    docs = _corpus(tmp_path)
    other = tmp_path / "other"
    copy = (docs / "feed.jsonl").read_text().splitlines(keepends=True)[1]  # r1, same text
    other.mkdir()
    (other / "copy.jsonl").write_text(copy, encoding="utf-8")
    _age(other)
    b = _open(tmp_path)
    b.ingest([docs, other], progress=False)
    assert b.ingest([docs, other], progress=False).failed == []
    (docs / "feed.jsonl").unlink()
    opened.clear()

    report = b.ingest([docs, other], prune=True, progress=False)
    assert opened == Counter({"copy.jsonl": 1}), "a file holding a copy is always read"
    assert b.manifest.entries()["r1"].path.endswith("copy.jsonl")
    assert report.removed == 4 and b.check().ok


def test_a_repair_reads_the_files_of_what_it_cleared_even_if_unchanged(tmp_path: Path) -> None:
    docs, b, _ = _indexed(tmp_path)
    b.store.delete_articles(["r1"])  # the manifest lists r1; the store lost its chunks
    assert not b.check().ok
    assert b.check(repair=True).ok
    assert "r1" in b.store.chunk_ids_by_article() and "r1" in b.manifest.entries()


def test_an_article_cleared_from_the_manifest_makes_its_file_read_again(
    tmp_path: Path, opened: Counter
) -> None:
    docs, b, _ = _indexed(tmp_path)
    b.manifest.remove(["r1"])  # what a repair or a recovery does before reading r1's file
    opened.clear()
    report = b.ingest([docs], progress=False)
    assert opened == Counter({"feed.jsonl": 1}) and report.added == 1
