"""RSS and Atom feed files, parsed with feedparser; each entry becomes an article."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import feedparser

from rag.articles import Article
from rag.errors import LoaderError
from rag.loaders.common import article_from_record, html_to_text


def _entry_date(entry: feedparser.FeedParserDict) -> datetime | str | None:
    for key in ("published", "updated"):
        if entry.get(key):
            return entry[key]
    for key in ("published_parsed", "updated_parsed"):
        if entry.get(key):
            return datetime.fromtimestamp(calendar.timegm(entry[key]), tz=UTC)
    return None


def load_feed(path: Path, raw: str) -> Iterator[Article | LoaderError]:
    """One article per entry; the full text comes from content, else the summary."""
    parsed = feedparser.parse(raw)
    if not parsed.entries:
        reason = parsed.get("bozo_exception") or "no entries"
        yield LoaderError(str(path), f"not a readable RSS/Atom feed: {reason}")
        return
    publisher = parsed.feed.get("title", "")
    for i, entry in enumerate(parsed.entries, start=1):
        body = entry.content[0].value if entry.get("content") else entry.get("summary", "")
        record = {
            "id": entry.get("id"),
            "title": html_to_text(entry.get("title", "")),
            "text": html_to_text(body or ""),
            "url": entry.get("link"),
            "author": entry.get("author"),
            "published_at": _entry_date(entry),
        }
        try:
            yield article_from_record(record, path, i, default_source=publisher)
        except ValueError as exc:
            yield LoaderError(str(path), f"entry {i}: {exc}")
