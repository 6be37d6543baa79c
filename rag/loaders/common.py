"""Reading raw files safely and mapping the many field names news data uses."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lxml import html as lxml_html

from rag.articles import Article, make_article_id
from rag.dates import DateError, parse_datetime
from rag.errors import LoaderError

# Code points that cannot be encoded as UTF-8 (a lone half of a surrogate pair, as JSON's
# "\ud800" gives): the hash, Chroma and SQLite would all fail on them later.
_SURROGATES = re.compile("[\ud800-\udfff]")

# Field names seen in common news data shapes, most specific first.
ID_KEYS = ("id", "doc_id", "article_id", "guid", "uuid")
TITLE_KEYS = ("title", "headline")
TEXT_KEYS = ("text", "body", "content", "article", "maintext", "full_text")
URL_KEYS = ("url", "link", "canonical_url")
SOURCE_KEYS = ("source", "publisher", "site_name", "outlet", "source_name")
AUTHOR_KEYS = ("authors", "author", "byline", "creator")
DATE_KEYS = ("published_at", "publish_date", "published", "date", "pubDate", "date_publish")
_ALL_KEYS = {*ID_KEYS, *TITLE_KEYS, *TEXT_KEYS, *URL_KEYS, *SOURCE_KEYS, *AUTHOR_KEYS, *DATE_KEYS}


def read_text(path: Path, max_bytes: int) -> str:
    """Read a file as UTF-8 text, refusing oversized, empty and binary files with a reason."""
    size = path.stat().st_size
    if size > max_bytes:
        raise LoaderError(
            str(path),
            f"file is {size / 1e6:.3g} MB, over the {max_bytes / 1e6:.3g} MB limit "
            "(raise max_file_mb to include it)",
        )
    data = path.read_bytes()
    if not data.strip():
        raise LoaderError(str(path), "file is empty")
    if b"\x00" in data[:8192]:
        raise LoaderError(str(path), "looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoaderError(
            str(path), f"not UTF-8 text (bad byte at offset {exc.start}); re-save it as UTF-8"
        ) from None


def clean(value: Any, depth: int = 0) -> Any:
    """Strings with unencodable code points replaced by U+FFFD; other values unchanged.

    Only the shallow levels a record's fields are read from are walked.
    """
    if isinstance(value, str):
        return _SURROGATES.sub("\ufffd", value)
    if depth > 2:
        return value
    if isinstance(value, list | tuple):
        return [clean(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {clean(k, depth + 1): clean(v, depth + 1) for k, v in value.items()}
    return value


def _needs_cleaning(value: Any, depth: int = 0) -> bool:
    if isinstance(value, str):
        return _SURROGATES.search(value) is not None
    if depth > 2:
        return False
    if isinstance(value, list | tuple):
        return any(_needs_cleaning(v, depth + 1) for v in value)
    if isinstance(value, Mapping):
        return any(
            _needs_cleaning(k, depth + 1) or _needs_cleaning(v, depth + 1) for k, v in value.items()
        )
    return False


def first(record: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    """The first present, non-empty value among ``keys``."""
    for key in keys:
        value = record.get(key)
        if value not in (None, "", [], {}):
            return value
    return None


def as_authors(value: Any) -> list[str]:
    """Authors as a list of names, from a list, a dict or an 'A, B and C' string."""
    if value is None:
        return []
    if isinstance(value, str):
        parts = value.replace(" and ", ",").split(",")
        return [p.strip() for p in parts if p.strip()]
    if isinstance(value, dict):
        return [str(value.get("name", "")).strip()] if value.get("name") else []
    if isinstance(value, list | tuple):
        return [a for item in value for a in as_authors(item)]
    return [str(value)]


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment, one paragraph per block element."""
    if "<" not in fragment:
        return fragment.strip()
    root = lxml_html.fromstring(f"<div>{fragment}</div>")
    blocks = [
        " ".join(el.text_content().split())
        for el in root.iter("p", "li", "h1", "h2", "h3", "h4", "blockquote")
    ]
    blocks = [b for b in blocks if b]
    return "\n\n".join(blocks) if blocks else " ".join(root.text_content().split())


def article_from_record(
    record: Mapping[str, Any], path: Path, line: int | None = None, default_source: str = ""
) -> Article:
    """Map a news record in any common shape onto an Article; raises ValueError if unusable.

    An unreadable date leaves the article undated with a warning rather than dropping it.
    """
    warnings: list[str] = []
    if _needs_cleaning(record):
        warnings.append("replaced invalid characters (lone surrogates) with U+FFFD")
        record = clean(dict(record))
    text = first(record, TEXT_KEYS)
    if not isinstance(text, str) or not text.strip():
        raise ValueError("record has no text (looked for: " + ", ".join(TEXT_KEYS) + ")")
    url = first(record, URL_KEYS)
    url = str(url).strip() if url else ""
    source = first(record, SOURCE_KEYS)
    if isinstance(source, dict):
        source = source.get("name") or source.get("title")
    title = first(record, TITLE_KEYS)
    extra = {
        k: v for k, v in record.items() if k not in _ALL_KEYS and isinstance(v, str | int | float)
    }
    if line is not None:
        extra["line"] = line
    try:
        published_at = parse_datetime(first(record, DATE_KEYS))
    except DateError as exc:
        published_at = None
        warnings.append(f"{exc}; ingested without a date")
    return Article(
        id=make_article_id(
            given=first(record, ID_KEYS), url=url, path=f"{path}:{line or 0}", text=text
        ),
        title=str(title).strip() if title else "",
        text=text.strip(),
        source=str(source or default_source).strip(),
        url=url,
        authors=as_authors(first(record, AUTHOR_KEYS)),
        published_at=published_at,
        extra=extra,
        warnings=warnings,
    )
