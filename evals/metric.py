"""What a metric is: its definition type, and the subsets of a run's records it aggregates over."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from evals import metrics as M

Better = Literal["higher", "lower", "neither"]
Kind = Literal["share", "count", "seconds", "score", "chars"]


class Records:
    """The subsets of a run's records that metrics aggregate over, computed once."""

    def __init__(self, records: Sequence[dict[str, Any]], retrieval_only: bool = False) -> None:
        self.all = list(records)
        self.ok = [r for r in self.all if r.get("error") is None]
        self.with_gold = [r for r in self.ok if r["gold_ids"]]
        self.answered = [r for r in self.ok if "response" in r]
        self.ans_gold = [r for r in self.answered if r["answerable"]]
        self.not_abstained = [r for r in self.ans_gold if not r["abstained"]]
        self.with_ctx = [r for r in self.answered if r["gold_ids"] and not r["abstained"]]
        # the prompt's articles: from the answers, or in a retrieval-only run from the chain's
        # context selection without the model
        self.ctx = [r for r in self.ok if r["gold_ids"] and r.get("context_ids")]
        self.pre = [r for r in self.ok if "abstained_before_model" in r]
        self.have_answers = bool(self.answered) and not retrieval_only

    @cached_property
    def abstention(self) -> dict[str, float | None]:
        return M.abstention_scores(
            [r["answerable"] for r in self.answered], [r["abstained"] for r in self.answered]
        )

    @cached_property
    def pre_abstention(self) -> dict[str, float | None]:
        return M.abstention_scores(
            [r["answerable"] for r in self.pre], [r["abstained_before_model"] for r in self.pre]
        )


@dataclass(frozen=True)
class Metric:
    """One aggregate metric. ``compute`` maps a run's ``Records`` to its value (None when not
    measured); with ``needs_answers`` the value is None in a run without answers."""

    name: str
    group: str
    better: Better
    kind: Kind
    description: str
    compute: Callable[[Records], Any]
    needs_answers: bool = False
    headline: bool = False

    def value(self, rs: Records) -> Any:
        """The metric over ``rs``; None when the run did not measure it."""
        if self.needs_answers and not rs.have_answers:
            return None
        return self.compute(rs)


def format_value(value: Any, kind: Kind | None = None) -> str:
    """A metric value for a table: shares and scores to three decimals, seconds to two,
    characters whole; None as a dash."""
    if value is None:
        return "—"
    if isinstance(value, float):
        if kind == "chars":
            return f"{value:,.0f}"
        if kind == "seconds":
            return f"{value:.2f}"
        return f"{value:.3f}"
    return str(value)
