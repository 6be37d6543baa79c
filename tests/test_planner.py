"""Time expressions and publisher names resolve against a fixed as-of date and the index."""

from __future__ import annotations

from datetime import UTC, date, datetime

from rag.retrieval.filters import Filters
from rag.retrieval.planner import find_sources, find_time_range, plan_query, question_parts

AS_OF = date(2025, 1, 24)  # a Friday


def day(y: int, m: int, d: int, end: bool = False) -> datetime:
    return (
        datetime(y, m, d, 23, 59, 59, 999999, tzinfo=UTC) if end else datetime(y, m, d, tzinfo=UTC)
    )


def test_relative_phrases() -> None:
    assert find_time_range("What happened this week?", AS_OF)[1:] == (
        day(2025, 1, 17),
        day(2025, 1, 24, True),
    )
    assert find_time_range("and last week?", AS_OF)[1:] == (
        day(2025, 1, 13),
        day(2025, 1, 19, True),
    )
    assert find_time_range("news from yesterday", AS_OF)[1:] == (
        day(2025, 1, 23),
        day(2025, 1, 23, True),
    )
    assert find_time_range("last month", AS_OF)[1:] == (day(2024, 12, 1), day(2024, 12, 31, True))


def test_absolute_dates() -> None:
    assert find_time_range("What was said in October 2023?", AS_OF)[1:] == (
        day(2023, 10, 1),
        day(2023, 10, 31, True),
    )
    # A day without a year is the latest such day on or before the as-of date.
    assert find_time_range("What did Oracle say on Sept 26?", AS_OF)[1:] == (
        day(2024, 9, 26),
        day(2024, 9, 26, True),
    )
    assert find_time_range("reported on September 26, 2023", AS_OF)[1:] == (
        day(2023, 9, 26),
        day(2023, 9, 26, True),
    )
    assert find_time_range("in 2024", AS_OF)[1:] == (day(2024, 1, 1), day(2024, 12, 31, True))


def test_before_and_after_open_the_range() -> None:
    phrase, lo, hi = find_time_range("What was reported before October 2023?", AS_OF)
    assert lo is None and hi is not None and hi < day(2023, 10, 1)
    phrase, lo, hi = find_time_range("news after March 2024", AS_OF)
    assert hi is None and lo > day(2024, 3, 31)
    assert find_time_range("What happened before the trial?", AS_OF) == (None, None, None)


def test_publishers_found_in_the_question() -> None:
    pubs = ["TechCrunch", "The Verge", "Fortune", "cnn", "Silicon Tribune"]
    assert find_sources("as reported by TechCrunch, did...", pubs) == ["TechCrunch"]
    assert set(find_sources("Do The Verge and techcrunch agree?", pubs)) == {
        "The Verge",
        "TechCrunch",
    }
    assert find_sources("What did CNN report?", pubs) == ["cnn"]
    assert find_sources("Is fortune on their side?", pubs) == ["Fortune"]
    assert find_sources("nothing named here", pubs) == []


def test_publishers_found_by_their_name_without_a_tagline() -> None:
    pubs = [
        "Cnbc | World Business News Leader",
        "The Independent - Sports",
        "The Independent - Travel",
        "Verge",
        "The Verge",
        "Independent Review",
    ]
    assert find_sources("as CNBC reported", pubs) == ["Cnbc | World Business News Leader"]
    assert sorted(find_sources("Did The Independent say so?", pubs)) == [
        "The Independent - Sports",
        "The Independent - Travel",
    ]
    assert find_sources("The Independent - Travel wrote", pubs) == ["The Independent - Travel"]
    assert find_sources("The Verge wrote", pubs) == ["The Verge"]
    assert find_sources("the Independent Review wrote", pubs) == ["Independent Review"]
    assert find_sources("a world business news leader", pubs) == []


def test_plan_merges_and_splits_comparisons() -> None:
    plan = plan_query(
        "Did The Verge and TechCrunch both report it this week?", AS_OF, ["The Verge", "TechCrunch"]
    )
    assert set(plan.filters.sources) == {"The Verge", "TechCrunch"}
    assert plan.filters.since == day(2025, 1, 17)
    assert "this week" not in plan.query
    assert len(plan.subqueries) == 2
    given = Filters(sources=("Fortune",))
    assert plan_query(
        "TechCrunch news", AS_OF, ["TechCrunch", "Fortune"], given
    ).filters.sources == ("Fortune",)


def test_day_without_year_uses_the_index_when_no_as_of() -> None:
    plan = plan_query("What happened on September 26?", None, [], latest=date(2023, 12, 31))
    assert plan.filters.since == day(2023, 9, 26)


MANY_PARTS = (
    "Which company was accused of rigging search ads to lift revenue according to The Age, "
    "ranks local results by distance and prominence as reported by The Verge on October 26, "
    "2023, and faces a publishers' antitrust suit covered by TechCrunch?"
)


def test_a_question_describing_several_articles_splits_into_clauses() -> None:
    parts = question_parts(MANY_PARTS)
    assert len(parts) == 3
    assert "The Age" in parts[0] and "The Verge" in parts[1] and "TechCrunch" in parts[2]
    assert "October 26, 2023" in parts[1]  # a year after a comma stays with its date
    assert question_parts("Who won the election this week?") == []
    # list items ("distance and prominence") stay inside their clause
    assert question_parts("Did it grow sales, profits, and margins as reported by Fortune?") == []


def test_each_clause_searches_its_own_outlet_and_date() -> None:
    pubs = ["The Age", "The Verge", "TechCrunch"]
    plan = plan_query(MANY_PARTS, AS_OF, pubs)
    outlets = [flt.sources for _, flt in plan.parts]
    assert outlets == [("The Age",), ("The Verge",), ("TechCrunch",)]
    verge = plan.parts[1][1]
    assert verge.since == day(2023, 10, 26) and verge.until == day(2023, 10, 26, end=True)
    assert plan.parts[0][1].since is None  # the first clause names no day (the plan's does)


def test_a_quiz_question_with_clauses_is_not_split() -> None:
    quiz = (
        "A record-breaking reptile was recently caught in Florida, becoming the heaviest of "
        "its species ever captured in the state, which animal was it?"
    )
    assert question_parts(quiz)  # it has clauses ...
    assert plan_query(quiz, AS_OF, ["CNN"]).parts == []  # ... but names no article or outlet
