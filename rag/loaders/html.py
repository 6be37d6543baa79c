"""HTML pages: main-text extraction with trafilatura, metadata from the page's meta tags."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import trafilatura
from lxml import html as lxml_html

from rag.articles import Article
from rag.errors import LoaderError
from rag.loaders.common import article_from_record, read_text


def _meta(root: lxml_html.HtmlElement, *names: str) -> str | None:
    for name in names:
        for attr in ("property", "name", "itemprop"):
            found = root.xpath(f'//meta[@{attr}="{name}"]/@content')
            if found and found[0].strip():
                return found[0].strip()
    return None


def load_html(path: Path, max_bytes: int) -> Iterator[Article | LoaderError]:
    """One article per page; navigation, asides and footers are left out by the extractor."""
    raw = read_text(path, max_bytes)
    try:
        root = lxml_html.fromstring(raw)
    except Exception as exc:  # lxml raises several unrelated types on garbage input
        yield LoaderError(str(path), f"not parseable as HTML: {exc}")
        return
    doc = trafilatura.bare_extraction(
        raw, with_metadata=True, include_comments=False, favor_precision=True
    )
    text = getattr(doc, "text", None) if doc is not None else None
    if not text or not text.strip():
        yield LoaderError(str(path), "no article text found in the page")
        return
    canonical = root.xpath('//link[@rel="canonical"]/@href')
    record = {
        "id": _meta(root, "byline:id"),
        "title": _meta(root, "og:title") or getattr(doc, "title", None),
        "text": text,
        "url": (canonical[0] if canonical else None) or _meta(root, "og:url") or doc.url,
        "source": _meta(root, "og:site_name") or doc.sitename,
        "authors": _meta(root, "author", "article:author") or doc.author,
        "published_at": _meta(root, "article:published_time", "datePublished") or doc.date,
    }
    try:
        yield article_from_record(record, path)
    except ValueError as exc:
        yield LoaderError(str(path), str(exc))
