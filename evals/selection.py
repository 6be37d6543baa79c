"""Which questions of an eval set a run asks: the first N, or a seeded random sample."""

from __future__ import annotations

import random
from collections.abc import Sequence

from evals.datasets import EvalItem


def select_items(
    items: Sequence[EvalItem], limit: int | None = None, seed: int | None = None
) -> list[EvalItem]:
    """The first ``limit`` items, or with ``seed`` a reproducible random sample of that many."""
    chosen = list(items)
    if seed is not None:
        n = len(chosen) if limit is None else min(limit, len(chosen))
        return random.Random(seed).sample(chosen, n)
    return chosen if limit is None else chosen[:limit]
