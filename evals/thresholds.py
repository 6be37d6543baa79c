"""The CI gates: fixed thresholds per suite (evals/thresholds.toml), known from the registry.

``key = x`` means the metric must be at least x; ``max_key = x`` at most x. The regression band
against a committed baseline lives in ``evals.band``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from evals.registry import STAGE_PREFIX, lookup

THRESHOLDS = Path(__file__).resolve().parent / "thresholds.toml"


def load_thresholds(path: Path = THRESHOLDS) -> dict[str, Any]:
    """The thresholds file: a section per suite, and ``[band.<suite>]`` regression bands."""
    with path.open("rb") as fh:
        return tomllib.load(fh)


def check_thresholds(
    agg: dict[str, Any], thresholds: dict[str, float]
) -> tuple[list[str], list[str]]:
    """(failures, notes) of a run's aggregate against one section.

    A metric the run did not measure (None, or a latency stage it did not have) is a note, not a
    failure. A name the registry does not know fails, so a typo cannot pass silently, and so
    does a minimum on a lower-is-better metric (or a maximum on a higher-is-better one).
    """
    failures: list[str] = []
    notes: list[str] = []
    for raw, limit in thresholds.items():
        is_max = raw.startswith("max_")
        key = raw[4:] if is_max else raw
        metric = lookup(key)
        if metric is None:
            failures.append(f"{raw}: unknown metric (not in the metrics registry)")
            continue
        wrong_way = "higher" if is_max else "lower"
        if metric.better == wrong_way:
            bound = "maximum" if is_max else "minimum"
            failures.append(f"{raw}: a {bound} on a {wrong_way}-is-better metric")
            continue
        value = agg.get(key)
        if value is None:
            if key not in agg and not key.startswith(STAGE_PREFIX):
                failures.append(f"{raw}: not in the aggregate results (an older result file?)")
            else:
                notes.append(f"{raw}: not measured in this run")
            continue
        if is_max and value > limit:
            failures.append(f"{key} = {value:.4g} is above the maximum {limit:.4g}")
        elif not is_max and value < limit:
            failures.append(f"{key} = {value:.4g} is below the minimum {limit:.4g}")
    return failures, notes
