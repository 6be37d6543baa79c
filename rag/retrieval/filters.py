"""Metadata filters: publisher and date range, given by people or found in the question."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from rag.dates import parse_datetime
from rag.errors import RagError


@dataclass(frozen=True)
class Filters:
    """Publisher names (any of) and an inclusive date range; all optional."""

    sources: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None

    @property
    def since_ts(self) -> int | None:
        return int(self.since.timestamp()) if self.since else None

    @property
    def until_ts(self) -> int | None:
        return int(self.until.timestamp()) if self.until else None

    def is_empty(self) -> bool:
        return not self.sources and self.since is None and self.until is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "sources": list(self.sources),
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }


def _bound(value: Any, end_of_day: bool) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time.max if end_of_day else time.min, tzinfo=UTC)
    try:
        parsed = parse_datetime(value)
    except ValueError:
        raise RagError(f"filter date {value!r} is not a date: use YYYY-MM-DD") from None
    assert parsed is not None
    if end_of_day and isinstance(value, str) and len(value.strip()) <= 10:
        parsed = parsed.replace(hour=23, minute=59, second=59)
    return parsed


def parse_filters(value: Filters | dict[str, Any] | None) -> Filters:
    """Accept ``Filters`` or a dict with ``source``/``sources``, ``since``, ``until``."""
    if value is None:
        return Filters()
    if isinstance(value, Filters):
        return value
    unknown = set(value) - {"source", "sources", "since", "until"}
    if unknown:
        raise RagError(f"unknown filter(s) {sorted(unknown)}: use source, since and until")
    raw = value.get("sources", value.get("source")) or ()
    sources = (raw,) if isinstance(raw, str) else tuple(raw)
    return Filters(sources, _bound(value.get("since"), False), _bound(value.get("until"), True))
