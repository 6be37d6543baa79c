"""The one date parser of the project: article dates from any source, and days people type.

News data carries dates as ISO strings, RFC 822 strings, ``2022/06/17``, epochs in seconds,
or already-parsed values; people type ``YYYY-MM-DD`` into a filter or an as-of box. Every
caller goes through here, so an impossible date (``2025-02-30``, an epoch of ``1e20``) is the
same clean error everywhere instead of five different exceptions.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from dateutil import parser as date_parser

from rag.errors import RagError


class DateError(RagError, ValueError):
    """A value that was meant to be a date is not one (or is outside the years 1-9999)."""


def parse_datetime(value: Any) -> datetime | None:
    """A timezone-aware datetime from any date shape news data uses; naive means UTC.

    ``None`` and ``""`` are "no date". Raises :class:`DateError` for anything unreadable or
    out of range, never another exception type.
    """
    if value is None or value == "":
        return None
    try:
        if isinstance(value, datetime):
            dt = value
        elif isinstance(value, date):
            dt = datetime(value.year, value.month, value.day)
        elif isinstance(value, bool):
            raise TypeError("a true/false value")
        elif isinstance(value, int | float):
            dt = datetime.fromtimestamp(float(value), tz=UTC)
        else:
            dt = date_parser.parse(str(value).strip())
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        dt.timestamp()  # out-of-range offsets near year 1 or 9999 fail here, not later
    except Exception as exc:  # dateutil and fromtimestamp raise several unrelated types
        shown = repr(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise DateError(f"unreadable date {shown} ({exc.__class__.__name__})") from None
    return dt


def parse_day(value: Any, label: str = "the") -> date | None:
    """A day from a date, a datetime or a typed ``YYYY-MM-DD`` (or ``YYYY/MM/DD``) string.

    Empty means no day. Raises :class:`DateError` naming ``label`` ("since", "as-of", ...).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return date.fromisoformat(text.replace("/", "-")[:10])
    except ValueError:
        raise DateError(f"{label} date {text!r} is not a date: use YYYY-MM-DD") from None
