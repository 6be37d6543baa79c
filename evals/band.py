"""The regression band: a run may not lose more than a stated number of questions against the
baseline result committed in evals/baselines/ (the allowance is in evals/thresholds.toml).

Fixed thresholds catch a run that is bad; the band catches a run that got worse, question by
question, even while it still clears every threshold.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evals.compare import Comparison, compare
from evals.datasets import PROJECT_ROOT

#: Fields of a record a baseline keeps: enough to pair, classify and read a changed question.
BASELINE_FIELDS = (
    "id",
    "type",
    "question",
    "answerable",
    "error",
    "hit_at_5",
    "reciprocal_rank",
    "response",
    "abstained",
    "correct",
    "crag",
)


def baseline_document(doc: dict[str, Any], source: str | None = None) -> dict[str, Any]:
    """A baseline from a result document: its provenance, aggregate and slimmed records."""
    keep = ("suite", "date", "git_commit", "prompt_hash", "models", "options")
    dataset = dict(doc.get("dataset") or {})
    if dataset.get("path"):  # a committed file names the eval set inside the project
        path = Path(dataset["path"])
        if path.is_relative_to(PROJECT_ROOT):
            dataset["path"] = str(path.relative_to(PROJECT_ROOT))
    return {
        **{k: doc.get(k) for k in keep},
        "dataset": dataset,
        "baseline_of": source or doc.get("source"),
        "aggregate": doc["aggregate"],
        "items": [{k: r.get(k) for k in BASELINE_FIELDS if k in r} for r in doc["items"]],
    }


def write_baseline(doc: dict[str, Any], path: Path, source: str | None = None) -> Path:
    """Write the baseline of ``doc`` to ``path`` (JSON, one record per line, diff-friendly)."""
    base = baseline_document(doc, source)
    items = base.pop("items")
    head = json.dumps(base, indent=2, ensure_ascii=False, default=str)
    body = ",\n".join("    " + json.dumps(r, ensure_ascii=False, default=str) for r in items)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'{head[:-2]},\n  "items": [\n{body}\n  ]\n}}\n', encoding="utf-8")
    return path


def check_band(
    baseline: dict[str, Any], current: dict[str, Any], band: dict[str, Any]
) -> tuple[list[str], list[str], Comparison]:
    """(failures, notes, comparison) of ``current`` against ``baseline`` within ``band``.

    ``band`` keys: ``max_drop_right`` (net loss of questions scored right, over questions both
    runs answered) and ``max_drop_hit_at_5`` (net loss of questions with a gold article in the
    top 5). A measure neither run has is a note.
    """
    cmp = compare(baseline, current)
    failures: list[str] = []
    notes: list[str] = []
    answered = bool(cmp.right[0] or cmp.right[1]) and any("response" in r for r in current["items"])
    for key, (before, after), what, measured in (
        ("max_drop_right", cmp.right, "questions scored right", answered),
        ("max_drop_hit_at_5", cmp.hit_at_5, "questions with gold in the top 5", True),
    ):
        if key not in band:
            continue
        if not measured:
            notes.append(f"{key}: not measured in this run")
            continue
        drop, allowed = before - after, int(band[key])
        if drop > allowed:
            failures.append(
                f"{what}: {before} in the baseline, {after} now, a drop of {drop} "
                f"(at most {allowed} allowed)"
            )
        else:
            notes.append(f"{what}: {before} → {after} (a drop of up to {allowed} allowed)")
    if cmp.only_a:
        notes.append(f"{len(cmp.only_a)} baseline question(s) not in this run")
    return failures, notes, cmp
