"""The one date parser: every shape news data uses, and one clean error for the rest."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from rag.dates import DateError, parse_datetime, parse_day
from rag.errors import RagError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-21T18:30:00+00:00", datetime(2025, 1, 21, 18, 30, tzinfo=UTC)),
        ("Tue, 10 Sep 2024 08:00:00 +0000", datetime(2024, 9, 10, 8, tzinfo=UTC)),
        ("2022/06/17", datetime(2022, 6, 17, tzinfo=UTC)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        (date(2024, 2, 29), datetime(2024, 2, 29, tzinfo=UTC)),
        (None, None),
        ("", None),
    ],
)
def test_shapes_news_data_uses(value, expected) -> None:
    assert parse_datetime(value) == expected


def test_offsets_are_kept() -> None:
    dt = parse_datetime("2025-01-01T10:00:00+02:00")
    assert dt.utcoffset() == timedelta(hours=2)
    assert dt == datetime(2025, 1, 1, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    "value", ["2025-02-30", "2025-13-01", "yesterday", 1e20, -1e18, float("nan"), True, [1]]
)
def test_every_bad_value_is_one_error_type(value) -> None:
    with pytest.raises(DateError, match="unreadable date"):
        parse_datetime(value)


def test_typed_days() -> None:
    assert parse_day("2025/01/02") == date(2025, 1, 2)
    assert parse_day(datetime(2025, 1, 2, 5, tzinfo=UTC)) == date(2025, 1, 2)
    assert parse_day("  ") is None
    with pytest.raises(RagError, match="since date 'soon' is not a date: use YYYY-MM-DD"):
        parse_day("soon", "since")
