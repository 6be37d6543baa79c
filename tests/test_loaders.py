"""Each loader on good input, and every kind of bad input reported with its path and reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rag.loaders import load_paths

MB = 1_000_000


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_markdown_front_matter(tmp_path: Path) -> None:
    write(
        tmp_path / "a.md",
        "---\nid: deal-1\ntitle: Cloud deal\nsource: The Ledger\n"
        "url: https://ledger.example/deal\nauthors: [Ann Lee, Bo Chen]\n"
        "published_at: 2025-01-21T18:30:00+00:00\n---\nFirst paragraph.\n\nSecond one.\n",
    )
    result = load_paths([tmp_path / "a.md"], MB)
    assert not result.failures
    (a,) = result.articles
    assert (a.id, a.title, a.source) == ("deal-1", "Cloud deal", "The Ledger")
    assert a.authors == ["Ann Lee", "Bo Chen"]
    assert a.published_at == datetime(2025, 1, 21, 18, 30, tzinfo=UTC)
    assert a.text == "First paragraph.\n\nSecond one."


def test_plain_text_title_from_heading_and_id_from_path(tmp_path: Path) -> None:
    write(tmp_path / "note.md", "# Chips are scarce\n\nBody text here.")
    (a,) = load_paths([tmp_path], MB).articles
    assert a.title == "Chips are scarce"
    assert a.text == "Body text here."
    assert a.id.startswith("p")


def test_jsonl_both_common_shapes_and_bad_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {
                "title": "T1",
                "body": "Body one.",
                "url": "https://x.example/1",
                "source": "X",
                "published_at": "2023-10-02T09:00:00Z",
                "author": "A",
            }
        ),
        "{not json",
        json.dumps(
            {
                "doc_id": "rt-7",
                "url": "https://y.example/7",
                "title": "",
                "authors": ["B", "C"],
                "publish_date": "2022/06/17",
                "source": "cnn",
                "text": "Body seven.",
            }
        ),
        json.dumps({"title": "no text here", "url": "https://x.example/9"}),
        "",
        json.dumps(["a", "list"]),
    ]
    write(tmp_path / "news.jsonl", "\n".join(lines))
    result = load_paths([tmp_path / "news.jsonl"], MB)
    assert [a.id for a in result.articles][1] == "rt-7"
    first, second = result.articles
    assert first.id.startswith("u") and first.authors == ["A"]
    assert second.published_at == datetime(2022, 6, 17, tzinfo=UTC)
    assert second.authors == ["B", "C"]
    bad = {(f.line, f.reason.split(":")[0]) for f in result.failures}
    assert {line for line, _ in bad} == {2, 4, 6}
    assert all(f.path.endswith("news.jsonl") for f in result.failures)


def test_json_list_of_records(tmp_path: Path) -> None:
    records = [
        {
            "title": f"T{i}",
            "body": f"text {i}",
            "url": f"https://z.example/{i}",
            "source": "Z",
            "published_at": f"2023-11-0{i}T00:00:00+00:00",
            "author": "Q",
        }
        for i in range(1, 4)
    ]
    write(tmp_path / "facts.json", json.dumps(records))
    result = load_paths([tmp_path / "facts.json"], MB)
    assert len(result.articles) == 3 and not result.failures


def test_html_main_text_and_meta(tmp_path: Path) -> None:
    body = " ".join(["The data centre will draw power from a new substation."] * 6)
    page = f"""<html><head><title>Ignored</title>
    <meta property="og:title" content="A new campus">
    <meta property="og:site_name" content="Silicon Tribune">
    <meta property="article:published_time" content="2024-03-05T10:00:00+00:00">
    <meta name="author" content="Kim Park">
    <link rel="canonical" href="https://tribune.example/campus"></head>
    <body><nav><a href="/">Home</a> <a href="/tech">Tech</a> MENU-LINKS</nav>
    <article><h1>A new campus</h1><p>{body}</p><p>{body}</p></article>
    <footer>Copyright FOOTER-BOILERPLATE all rights reserved</footer></body></html>"""
    write(tmp_path / "page.html", page)
    (a,) = load_paths([tmp_path / "page.html"], MB).articles
    assert a.title == "A new campus" and a.source == "Silicon Tribune"
    assert a.url == "https://tribune.example/campus" and a.authors == ["Kim Park"]
    assert "substation" in a.text
    assert "FOOTER-BOILERPLATE" not in a.text and "MENU-LINKS" not in a.text


def test_rss_feed_entries(tmp_path: Path) -> None:
    feed = """<?xml version="1.0"?>
    <rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
         xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>Dispatch</title>
    <item><title>Grid strain</title><link>https://dispatch.example/grid</link>
      <guid>https://dispatch.example/grid</guid><pubDate>Tue, 10 Sep 2024 08:00:00 +0000</pubDate>
      <dc:creator>Lee Ortiz</dc:creator>
      <content:encoded><![CDATA[<p>First para.</p><p>Second para.</p>]]></content:encoded></item>
    <item><title>Empty</title><link>https://dispatch.example/empty</link></item>
    </channel></rss>"""
    write(tmp_path / "feed.xml", feed)
    result = load_paths([tmp_path / "feed.xml"], MB)
    (a,) = result.articles
    assert a.source == "Dispatch" and a.authors == ["Lee Ortiz"]
    assert a.text == "First para.\n\nSecond para."
    assert a.published_at == datetime(2024, 9, 10, 8, tzinfo=UTC)
    assert len(result.failures) == 1 and "no text" in result.failures[0].reason


def test_bad_files_are_reported_and_the_rest_loads(tmp_path: Path) -> None:
    write(tmp_path / "good.md", "---\ntitle: Good\n---\nFine text.")
    write(tmp_path / "empty.md", "   \n")
    write(tmp_path / "binary.txt", b"\x89PNG\x00\x00\x01")
    write(tmp_path / "latin1.txt", "caf\xe9 society".encode("latin-1"))
    write(tmp_path / "huge.txt", "x" * 2000)
    write(tmp_path / "broken.json", '{"title": ')
    write(tmp_path / "notes.csv", "a,b")
    result = load_paths([tmp_path], max_bytes=1000)
    assert [a.title for a in result.articles] == ["Good"]
    reasons = {Path(f.path).name: f.reason for f in result.failures}
    assert "empty" in reasons["empty.md"]
    assert "binary" in reasons["binary.txt"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "limit" in reasons["huge.txt"]
    assert "invalid JSON" in reasons["broken.json"]
    assert any(p.endswith("notes.csv") for p in result.skipped)


def test_duplicate_ids_keep_the_first(tmp_path: Path) -> None:
    rec = {"id": "same", "title": "T", "text": "x", "url": "https://a.example/1"}
    write(tmp_path / "d.jsonl", json.dumps(rec) + "\n" + json.dumps({**rec, "title": "U"}))
    result = load_paths([tmp_path / "d.jsonl"], MB)
    assert [a.title for a in result.articles] == ["T"]
    (dup,) = result.failures
    assert dup.line == 2 and "duplicate" in dup.reason


def test_missing_path_and_unsupported_type(tmp_path: Path) -> None:
    write(tmp_path / "x.pdf", "%PDF")
    result = load_paths([tmp_path / "nope", tmp_path / "x.pdf"], MB)
    reasons = [f.reason for f in result.failures]
    assert "no such file" in reasons[0] and "unsupported" in reasons[1]


# --------------------------------------------------------------------------- bad input, one by one
def _good(tmp_path: Path) -> None:
    write(tmp_path / "good.md", "---\nid: good\ntitle: Good\n---\nFine text.")


def _only_good_survives(tmp_path: Path) -> list:
    result = load_paths([tmp_path], MB)
    assert "good" in [a.id for a in result.articles], "the other files still load"
    return result.failures


def test_deeply_nested_json_document_is_one_file_error(tmp_path: Path) -> None:
    _good(tmp_path)
    write(tmp_path / "deep.json", "[" * 100_000 + "]" * 100_000)
    (failure,) = _only_good_survives(tmp_path)
    assert failure.path.endswith("deep.json") and "nested too deeply" in failure.reason


def test_deeply_nested_jsonl_line_is_one_line_error(tmp_path: Path) -> None:
    _good(tmp_path)
    ok = json.dumps({"id": "fine", "text": "Fine."})
    write(tmp_path / "deep.jsonl", ok + "\n" + '{"a":' * 100_000 + "1" + "}" * 100_000 + "\n")
    result = load_paths([tmp_path], MB)
    assert {a.id for a in result.articles} == {"good", "fine"}
    (failure,) = result.failures
    assert failure.line == 2 and "nested too deeply" in failure.reason


def test_deeply_nested_front_matter_is_one_file_error(tmp_path: Path) -> None:
    _good(tmp_path)
    write(tmp_path / "deep.md", "---\nx: " + "[" * 50_000 + "]" * 50_000 + "\n---\nBody.")
    (failure,) = _only_good_survives(tmp_path)
    assert failure.path.endswith("deep.md")


def _one(tmp_path: Path, name: str, content: str):
    write(tmp_path / name, content)
    result = load_paths([tmp_path / name], MB)
    assert not result.failures, [f.reason for f in result.failures]
    (article,) = result.articles
    return article, result.warnings


@pytest.mark.parametrize("day", ["2025-02-30", "2025-13-01", "yesterday", "'not a date'"])
def test_impossible_or_unreadable_front_matter_date_ingests_undated(tmp_path, day) -> None:
    article, warnings = _one(tmp_path, "a.md", f"---\nid: a\npublished_at: {day}\n---\nBody.")
    assert article.id == "a" and article.published_at is None
    (warning,) = warnings
    assert "unreadable date" in warning.reason and "without a date" in warning.reason


def test_front_matter_dates_still_parse(tmp_path: Path) -> None:
    article, warnings = _one(tmp_path, "a.md", "---\nid: a\ndate: 2025-02-03\n---\nBody.")
    assert article.published_at == datetime(2025, 2, 3, tzinfo=UTC) and not warnings


@pytest.mark.parametrize("epoch", ["1e20", "-1e18", "1e308", "NaN", "true"])
def test_epochs_out_of_range_ingest_undated(tmp_path: Path, epoch: str) -> None:
    line = '{"id": "e", "text": "Body.", "published_at": ' + epoch + "}"
    article, warnings = _one(tmp_path, "e.jsonl", line)
    assert article.published_at is None and len(warnings) == 1
    assert warnings[0].line == 1


def test_lone_surrogate_is_replaced_with_a_warning(tmp_path: Path) -> None:
    line = '{"id": "s", "title": "Bad \\ud800 title", "text": "Body \\udfff here."}'
    article, warnings = _one(tmp_path, "s.jsonl", line)
    assert "\ufffd" in article.title and "\ufffd" in article.text
    assert len(article.content_hash) == 24, "the hash can encode it now"
    assert "surrogate" in warnings[0].reason


def test_front_matter_that_is_not_a_mapping(tmp_path: Path) -> None:
    article, _ = _one(tmp_path, "list.md", "---\n- a\n- b\n---\nBody text.")
    assert article.text == "Body text."


def test_a_loader_crash_becomes_a_file_error(tmp_path: Path, monkeypatch) -> None:
    import rag.loaders.html as html_loader

    def explode(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(html_loader.trafilatura, "bare_extraction", explode)
    _good(tmp_path)
    write(tmp_path / "page.html", "<html><body><p>Hello</p></body></html>")
    (failure,) = _only_good_survives(tmp_path)
    assert failure.path.endswith("page.html") and "KeyError" in failure.reason


def test_a_file_with_failures_is_not_read_in_full(tmp_path: Path) -> None:
    _good(tmp_path)
    write(tmp_path / "mixed.jsonl", json.dumps({"id": "x", "text": "X."}) + "\n{broken\n")
    result = load_paths([tmp_path], MB)
    read = {Path(p).name for p in result.paths}
    assert read == {"good.md"}, "only files without a failure count as read in full"


def test_feed_text_that_looks_like_a_path_is_not_opened(tmp_path: Path) -> None:
    secret = write(
        tmp_path / "secret.txt",
        "<rss><channel><item><title>S</title>"
        "<description>leaked secret</description></item></channel></rss>",
    )
    write(tmp_path / "feed.xml", str(secret))
    result = load_paths([tmp_path / "feed.xml"], MB)
    assert not result.articles and result.failures


# --------------------------------------------------------------------------- streaming
def _peak_while_reading(path: Path, max_bytes: int) -> tuple[int, int, int]:
    """(articles, failures, peak bytes allocated) while reading ``path`` without keeping it."""
    import tracemalloc

    from rag.loaders import LoadResult, iter_articles

    result = LoadResult()
    tracemalloc.start()
    try:
        n = sum(1 for _ in iter_articles([path], max_bytes, result))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return n, len(result.failures), peak


def test_a_large_jsonl_is_read_record_by_record(tmp_path: Path) -> None:
    body = "Grid operators warned of strain. " * 200
    with (tmp_path / "big.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(2000):
            fh.write(json.dumps({"id": f"b{i}", "title": f"T{i}", "text": body}) + "\n")
        fh.write("{broken\n")
    size = (tmp_path / "big.jsonl").stat().st_size
    assert size > 10 * MB
    n, failures, peak = _peak_while_reading(tmp_path / "big.jsonl", MB)
    assert (n, failures) == (2000, 1), "over the file limit, yet every line read or reported"
    assert peak < size / 10, f"peak {peak / MB:.1f} MB for a {size / MB:.1f} MB file"


def test_a_large_feed_is_read_entry_by_entry(tmp_path: Path) -> None:
    item = (
        "<item><title>Entry {i}</title><link>https://f.example/{i}</link>"
        "<description>" + "Power prices rose again. " * 160 + "</description></item>"
    )
    with (tmp_path / "big.xml").open("w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>')
        for i in range(800):
            fh.write(item.format(i=i))
        fh.write("</channel></rss>")
    size = (tmp_path / "big.xml").stat().st_size
    n, failures, peak = _peak_while_reading(tmp_path / "big.xml", MB)
    assert (n, failures) == (800, 0)
    assert peak < size / 3, f"peak {peak / MB:.1f} MB for a {size / MB:.1f} MB file"
