"""Query planning for news: time expressions and publisher names become (soft) filters.

"this week", "last month", "in October 2023", "on Sept 26" resolve against an as-of date
(today, or the day the question was asked); publishers named in the question are matched
against the publishers the index actually holds.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from rag.dates import parse_day
from rag.lexical import tokenize_query
from rag.retrieval.filters import Filters

_MONTHS = {
    name.lower(): i
    for i in range(1, 13)
    for name in (calendar.month_name[i], calendar.month_abbr[i])
}
_MONTHS["sept"] = 9
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY_MONTH = re.compile(
    rf"\b(?:on\s+)?(?:(?P<m1>{_MONTH_RE})\.?\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?"
    rf"|(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m2>{_MONTH_RE})\.?)"
    rf"(?:,?\s+(?P<y>(?:19|20)\d\d))?\b",
    re.I,
)
_MONTH_YEAR = re.compile(
    rf"\b(?:in\s+|during\s+)?(?P<m>{_MONTH_RE})\.?\s+(?P<y>(?:19|20)\d\d)\b", re.I
)
_YEAR = re.compile(r"\b(?:in|during)\s+(?P<y>(?:19|20)\d\d)\b", re.I)
_ISO_DAY = re.compile(r"\b(?P<y>(?:19|20)\d\d)-(?P<m>\d\d)-(?P<d>\d\d)\b")
_RELATIVE = re.compile(
    r"\b(today|yesterday|this week|last week|past week|this month|last month|past month|"
    r"this year|last year)\b",
    re.I,
)
_BEFORE_AFTER = re.compile(r"\b(before|after|since|until|by)\s*$", re.I)
# Where a question that strings several article descriptions together splits into them: commas,
# semicolons, "while"/"whereas", and an "and" that opens a new clause rather than a list item.
_CLAUSE_BREAK = re.compile(
    r"\s*[,;]\s*|\s+(?:while|whereas)\s+|\s+and\s+(?=(?:the|a|an|is|was|has|had|who|also|"
    r"its|his|her|their|another|then|according|as|in|on)\b)",
    re.I,
)
_CLAUSE_LEAD = re.compile(r"^(?:and|or|but|also|while|whereas|then)\s+", re.I)
MAX_PARTS = 5
_ABOUT_ARTICLES = re.compile(r"\b(?:articles?|reported|reports?)\b", re.I)
MIN_PART_TERMS = 4
# Words that say a clause is about an article without saying which one.
_GENERIC = frozenset(
    "article articles report reports reported reporting according company individual person "
    "published publication story news outlet coverage covered".split()
)


@dataclass
class Plan:
    """What retrieval should do for one question."""

    query: str
    filters: Filters
    time_phrase: str | None = None
    sources_named: list[str] = field(default_factory=list)
    subqueries: list[tuple[str, Filters]] = field(default_factory=list)
    # Clauses that each describe one article ("..., as reported by The Verge, and ... covered
    # by TechCrunch"), with the outlet and date each names: each gets a search of its own.
    parts: list[tuple[str, Filters]] = field(default_factory=list)


def _day_range(d: date) -> tuple[datetime, datetime]:
    return (datetime.combine(d, time.min, tzinfo=UTC), datetime.combine(d, time.max, tzinfo=UTC))


def _month_range(year: int, month: int) -> tuple[datetime, datetime]:
    last = calendar.monthrange(year, month)[1]
    return _day_range(date(year, month, 1))[0], _day_range(date(year, month, last))[1]


def resolve_relative(phrase: str, as_of: date) -> tuple[datetime, datetime]:
    """Turn 'this week', 'last month', … into an inclusive range around ``as_of``."""
    p = phrase.lower()
    if p == "today":
        return _day_range(as_of)
    if p == "yesterday":
        return _day_range(as_of - timedelta(days=1))
    if p in ("this week", "past week"):  # a rolling week: news of "this week" may be days old
        return _day_range(as_of - timedelta(days=7))[0], _day_range(as_of)[1]
    if p == "last week":
        monday = as_of - timedelta(days=as_of.weekday())
        return _day_range(monday - timedelta(days=7))[0], _day_range(monday - timedelta(days=1))[1]
    if p == "this month":
        return _day_range(as_of.replace(day=1))[0], _day_range(as_of)[1]
    if p == "past month":
        return _day_range(as_of - timedelta(days=31))[0], _day_range(as_of)[1]
    if p == "last month":
        first = as_of.replace(day=1) - timedelta(days=1)
        return _month_range(first.year, first.month)
    if p == "this year":
        return _day_range(date(as_of.year, 1, 1))[0], _day_range(as_of)[1]
    if p == "last year":
        return _day_range(date(as_of.year - 1, 1, 1))[0], _day_range(date(as_of.year - 1, 12, 31))[
            1
        ]
    raise ValueError(f"unknown time phrase {phrase!r}")


def _guess_year(month: int, day: int, as_of: date) -> int:
    """The latest year in which that day is not after the as-of date."""
    year = as_of.year
    try:
        return year if date(year, month, day) <= as_of else year - 1
    except ValueError:
        return year - 1


def _norm(name: str) -> str:
    name = re.sub(r"[^a-z0-9 ]+", " ", name.lower())
    name = re.sub(r"^the ", "", name.strip())
    return re.sub(r"\s+", " ", name).strip()


# Feeds name their publisher with a tagline or a section after a bar or a dash ("Cnbc | World
# Business News Leader", "The Independent - Sports"); a question names the part before it.
_NAME_TAIL = re.compile(r"\s+[|\u2013\u2014-]\s+.*$")


def _name_keys(publisher: str) -> set[str]:
    """The ways a question may name ``publisher``: its whole name and its name without the
    tagline or section."""
    keys = {_norm(publisher), _norm(_NAME_TAIL.sub("", publisher))}
    return {k for k in keys if len(k) >= 3}


def find_sources(question: str, publishers: Sequence[str]) -> list[str]:
    """Publishers of the index whose names appear in the question (longest names first). A
    name without its tagline counts ("CNBC" finds "Cnbc | World Business News Leader"; "The
    Independent" finds each of its sections)."""
    text = f" {_norm(question)} "
    names = sorted(
        ((key, pub) for pub in publishers for key in _name_keys(pub)),
        key=lambda kp: (-len(kp[0]), -len(kp[1])),
    )
    found: dict[str, str] = {}  # publisher -> the name it was found by
    for key, pub in names:
        if pub in found or f" {key} " not in text:
            continue
        # "Verge" inside "The Verge" already; sections of one outlet share its name
        if any(
            key in other and (key != other or _norm(pub) == _norm(earlier))
            for earlier, other in found.items()
        ):
            continue
        found[pub] = key
    return [pub for pub in sorted(publishers, key=len, reverse=True) if pub in found]


def find_time_range(
    question: str, as_of: date, year_ref: date | None = None
) -> tuple[str | None, datetime | None, datetime | None]:
    """The first time expression in the question and the range it means; before/after open it."""
    candidates: list[tuple[int, str, datetime, datetime]] = []
    for m in _RELATIVE.finditer(question):
        lo, hi = resolve_relative(m.group(1), as_of)
        candidates.append((m.start(), m.group(0), lo, hi))
    for m in _ISO_DAY.finditer(question):
        try:
            lo, hi = _day_range(date(int(m["y"]), int(m["m"]), int(m["d"])))
        except ValueError:
            continue
        candidates.append((m.start(), m.group(0), lo, hi))
    taken: list[tuple[int, int]] = []
    for m in _DAY_MONTH.finditer(question):
        month = _MONTHS[(m["m1"] or m["m2"]).lower()]
        day = int(m["d1"] or m["d2"])
        year = int(m["y"]) if m["y"] else _guess_year(month, day, year_ref or as_of)
        try:
            lo, hi = _day_range(date(year, month, day))
        except ValueError:
            continue
        taken.append(m.span())
        candidates.append((m.start(), m.group(0), lo, hi))
    for m in _MONTH_YEAR.finditer(question):
        if any(a <= m.start() < b for a, b in taken):
            continue
        lo, hi = _month_range(int(m["y"]), _MONTHS[m["m"].lower()])
        candidates.append((m.start(), m.group(0), lo, hi))
    for m in _YEAR.finditer(question):
        y = int(m["y"])
        lo, hi = _day_range(date(y, 1, 1))[0], _day_range(date(y, 12, 31))[1]
        candidates.append((m.start(), m.group(0), lo, hi))
    if not candidates:
        return None, None, None
    start, phrase, lo, hi = min(candidates, key=lambda c: c[0])
    before = _BEFORE_AFTER.search(question[:start])
    if before:
        word = before.group(1).lower()
        if word in ("before", "until", "by"):
            return phrase, None, lo - timedelta(microseconds=1) if word == "before" else hi
        return phrase, hi + timedelta(microseconds=1) if word == "after" else lo, None
    return phrase, lo, hi


def question_parts(question: str, min_terms: int = MIN_PART_TERMS) -> list[str]:
    """The clauses of a question that strings several descriptions together; a piece with fewer
    than ``min_terms`` content words (a list item, a year) joins the clause before it, or the
    one after it at the start. None when fewer than two clauses result (a plain question)."""
    parts: list[str] = []
    opening = ""  # a short start ("Which company, reported by X") joins the clause after it
    for piece in _CLAUSE_BREAK.split(question):
        piece = _CLAUSE_LEAD.sub("", piece.strip(" ?.!'\"")).strip()
        if not piece:
            continue
        if opening:
            piece, opening = f"{opening}, {piece}", ""
        if _terms(piece) >= min_terms:
            parts.append(piece)
        elif parts:
            parts[-1] = f"{parts[-1]}, {piece}"
        else:
            opening = piece
    return parts[:MAX_PARTS] if len(parts) >= 2 else []


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return max((d for d in (a, b) if d is not None), default=None)


def _earlier(a: datetime | None, b: datetime | None) -> datetime | None:
    return min((d for d in (a, b) if d is not None), default=None)


def _terms(text: str) -> int:
    return sum(1 for t in tokenize_query(text) if t not in _GENERIC)


def as_date(value: date | datetime | str | None) -> date | None:
    """A day from a date, a datetime or a YYYY-MM-DD (or YYYY/MM/DD) string."""
    return parse_day(value, "as-of")


def plan_query(
    question: str,
    as_of: date | datetime | str | None = None,
    publishers: Sequence[str] = (),
    filters: Filters | None = None,
    latest: date | None = None,
) -> Plan:
    """Filters from the question, intersected with any the caller gave (the caller's sources win).

    Without an as-of date, relative phrases resolve against today, and a day named without a
    year ("on Sept 26") against ``latest`` (the newest article in the index) when that is older.
    """
    given = filters or Filters()
    today = datetime.now(UTC).date()
    as_of = as_date(as_of)
    day = as_of or today
    year_ref = day if as_of is not None else min(latest or today, today)
    phrase, lo, hi = find_time_range(question, day, year_ref)
    named = find_sources(question, publishers)
    merged = Filters(
        sources=given.sources or tuple(named),
        since=_later(given.since, lo),
        until=_earlier(given.until, hi),
    )
    query = question
    if phrase and re.fullmatch(_RELATIVE.pattern, phrase, re.I):
        query = re.sub(re.escape(phrase), " ", query, flags=re.I)
    query = " ".join(query.split())
    subqueries: list[tuple[str, Filters]] = []
    if len(merged.sources) >= 2:  # comparison across outlets: retrieve for each outlet
        subqueries = [
            (query, Filters((src,), merged.since, merged.until)) for src in merged.sources
        ]
    parts: list[tuple[str, Filters]] = []
    # Only a question about articles (one naming an outlet, or saying "article", "reported") is
    # split: a quiz question's clauses all describe one event, and searching them apart only
    # brings in passages about something else.
    about_articles = bool(named) or bool(_ABOUT_ARTICLES.search(query))
    for part in question_parts(query) if about_articles else []:
        _, part_lo, part_hi = find_time_range(part, day, year_ref)
        outlets = given.sources or tuple(find_sources(part, publishers)) or merged.sources
        # a day another clause names is not this clause's day
        flt = Filters(outlets, _later(given.since, part_lo), _earlier(given.until, part_hi))
        parts.append((part, flt))
    return Plan(
        query=query,
        filters=merged,
        time_phrase=phrase,
        sources_named=named,
        subqueries=subqueries,
        parts=parts,
    )
