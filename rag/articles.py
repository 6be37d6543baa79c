"""The article: what every loader produces and every later stage reads."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rag.dates import parse_datetime


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def normalise_url(url: str) -> str:
    """Lower-case scheme and host, drop fragments and trailing slashes, so one page has one id."""
    url = url.strip()
    m = re.match(r"^(https?)://([^/?#]+)([^#]*)", url, flags=re.I)
    if not m:
        return url
    scheme, host, rest = m.group(1).lower(), m.group(2).lower(), m.group(3)
    return f"{scheme}://{host}{rest.rstrip('/')}"


def make_article_id(
    *, given: str | None = None, url: str | None = None, path: str = "", text: str = ""
) -> str:
    """A stable id: the record's own id, else one derived from its URL, else path + content."""
    if given is not None and str(given).strip():
        return re.sub(r"\s+", "-", str(given).strip())
    if url:
        return "u" + _sha1(normalise_url(url))[:16]
    return "p" + _sha1(f"{path}\0{_sha1(text)}")[:16]


def parse_date(value: Any) -> datetime | None:
    """Parse the date shapes news data carries; see :func:`rag.dates.parse_datetime`."""
    return parse_datetime(value)


@dataclass
class Article:
    """One news article with its metadata. ``published_at`` is timezone-aware or None."""

    id: str
    title: str
    text: str
    source: str = ""
    url: str = ""
    authors: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    path: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # What a loader had to give up on while still keeping the article (e.g. an unreadable date).
    warnings: list[str] = field(default_factory=list, compare=False, repr=False)

    @property
    def content_hash(self) -> str:
        """Hash of everything that ends up in the index, so a metadata edit also re-indexes."""
        parts = [
            self.title,
            self.source,
            self.url,
            "|".join(self.authors),
            self.published_at.isoformat() if self.published_at else "",
            self.text,
        ]
        return _sha1("\x1f".join(parts))[:24]
