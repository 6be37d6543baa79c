"""RSS and Atom feed files; each entry becomes an article.

Entries are cut out of the file one at a time with lxml's incremental parser and each is
read by feedparser, so a feed of any size costs the memory of one entry. A feed that is not
well-formed XML falls back to feedparser's lenient whole-file reading (within the size limit).
Feedparser only ever sees bytes in memory: given a string it would open URLs and local paths.
"""

from __future__ import annotations

import calendar
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import feedparser
from lxml import etree

from rag.articles import Article
from rag.errors import LoaderError
from rag.loaders.common import article_from_record, html_to_text, read_text

_ATOM = "http://www.w3.org/2005/Atom"
_RSS1 = "http://purl.org/rss/1.0/"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def _entry_date(entry: feedparser.FeedParserDict) -> datetime | str | None:
    for key in ("published", "updated"):
        if entry.get(key):
            return entry[key]
    for key in ("published_parsed", "updated_parsed"):
        if entry.get(key):
            return datetime.fromtimestamp(calendar.timegm(entry[key]), tz=UTC)
    return None


def _article(
    entry: feedparser.FeedParserDict, path: Path, i: int, publisher: str
) -> Article | LoaderError:
    try:
        body = entry.content[0].value if entry.get("content") else entry.get("summary", "")
        record = {
            "id": entry.get("id"),
            "title": html_to_text(entry.get("title", "")),
            "text": html_to_text(body or ""),
            "url": entry.get("link"),
            "author": entry.get("author"),
            "published_at": _entry_date(entry),
        }
        return article_from_record(record, path, i, default_source=publisher)
    except Exception as exc:  # one odd entry never stops the feed
        return LoaderError(str(path), f"entry {i}: {exc}"[:300], i)


def _parse_bytes(data: bytes) -> feedparser.FeedParserDict:
    return feedparser.parse(io.BytesIO(data))


def _wrap(elem: etree._Element) -> bytes:
    """A one-entry feed document around an entry cut out of a larger one."""
    one = etree.tostring(elem)
    qname = etree.QName(elem)
    if qname.namespace == _ATOM:
        return b'<feed xmlns="' + _ATOM.encode() + b'">' + one + b"</feed>"
    if qname.namespace == _RSS1:
        return (
            b'<rdf:RDF xmlns:rdf="'
            + _RDF.encode()
            + b'" xmlns="'
            + _RSS1.encode()
            + b'">'
            + one
            + b"</rdf:RDF>"
        )
    return b'<rss version="2.0"><channel>' + one + b"</channel></rss>"


def _stream(path: Path, max_bytes: int) -> Iterator[tuple[str, feedparser.FeedParserDict]]:
    """(publisher, entry) for each entry, parsed incrementally; XML errors propagate.

    An entry larger than ``max_bytes`` is yielded as an empty entry (reported as without text).
    """
    publisher = ""
    for _event, elem in etree.iterparse(str(path), events=("end",), no_network=True):
        if not isinstance(elem.tag, str):
            continue
        name = etree.QName(elem).localname
        parent = elem.getparent()
        if name == "title" and parent is not None and not publisher:
            if etree.QName(parent).localname in ("channel", "feed"):
                publisher = " ".join("".join(elem.itertext()).split())
        elif name in ("item", "entry") and parent is not None:
            one = _wrap(elem)
            parsed = _parse_bytes(one) if len(one) <= max_bytes else None
            elem.clear()
            while elem.getprevious() is not None:
                del parent[0]
            for entry in parsed.entries if parsed is not None else [feedparser.FeedParserDict()]:
                yield publisher, entry


def load_feed(path: Path, max_bytes: int) -> Iterator[Article | LoaderError]:
    """One article per entry; the full text comes from content, else the summary."""
    done = 0
    try:
        for publisher, entry in _stream(path, max_bytes):
            done += 1
            yield _article(entry, path, done, publisher)
    except etree.XMLSyntaxError as exc:
        if path.stat().st_size > max_bytes:
            raise LoaderError(str(path), f"not well-formed XML after entry {done}: {exc}") from None
        parsed = _parse_bytes(read_text(path, max_bytes).encode("utf-8"))
        if not parsed.entries:
            reason = parsed.get("bozo_exception") or "no entries"
            yield LoaderError(str(path), f"not a readable RSS/Atom feed: {reason}")
            return
        publisher = parsed.feed.get("title", "")
        for i, entry in enumerate(parsed.entries[done:], start=done + 1):
            yield _article(entry, path, i, publisher)
        return
    if done == 0:
        yield LoaderError(str(path), "not a readable RSS/Atom feed: no entries")
