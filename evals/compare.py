"""Two runs side by side: per-metric deltas, and the questions whose outcome changed.

Questions are paired by id. An answered question is *right* when its CRAG score is +1 (for an
unanswerable question that is an abstention) and *wrong* otherwise; the changes reported are
right→wrong, wrong→right, answered→abstained and abstained→answered, and for retrieval a gold
article lost from or found in the top 5.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from evals.registry import HEADLINE, METRICS, lookup, show

CHANGES = (
    ("right_to_wrong", "right → wrong"),
    ("wrong_to_right", "wrong → right"),
    ("answered_to_abstained", "answered → abstained"),
    ("abstained_to_answered", "abstained → answered"),
    ("gold_lost_from_top_5", "gold article lost from the top 5"),
    ("gold_found_in_top_5", "gold article found in the top 5"),
    ("failed", "evaluation failed"),
)


@dataclass
class Delta:
    """One metric in both runs; ``verdict`` is better / worse / same / "" (no direction)."""

    metric: str
    a: Any
    b: Any
    delta: float | None
    verdict: str


@dataclass
class Comparison:
    """What changed from run A to run B."""

    a: str
    b: str
    paired: int
    only_a: list[str]
    only_b: list[str]
    deltas: list[Delta]
    changes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    right: tuple[int, int] = (0, 0)  # questions scored right in A and in B (paired answers)
    hit_at_5: tuple[int, int] = (0, 0)  # questions with a gold article in the top 5

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def outcome(rec: dict[str, Any]) -> str | None:
    """ "right", "wrong" or "abstained" for an answered record; None without an answer."""
    if rec.get("error") or "response" not in rec:
        return None
    if rec.get("abstained") and rec.get("answerable", True):
        return "abstained"
    return "right" if rec.get("crag") == 1 else "wrong"


def _name(doc: dict[str, Any]) -> str:
    return str(doc.get("source") or doc.get("suite") or "?")


def metric_deltas(agg_a: dict[str, Any], agg_b: dict[str, Any], every: bool) -> list[Delta]:
    """Deltas of the headline metrics (every metric either run measured with ``every``)."""
    names = [n for n in METRICS if every or n in HEADLINE]
    if every:
        names += sorted(k for k in {*agg_a, *agg_b} if k not in METRICS and lookup(k))
    out = []
    for name in names:
        a, b = agg_a.get(name), agg_b.get(name)
        if a is None and b is None:
            continue
        delta = b - a if isinstance(a, int | float) and isinstance(b, int | float) else None
        better = lookup(name).better  # type: ignore[union-attr]
        if delta is None or better == "neither":
            verdict = ""
        elif abs(delta) < 1e-9:
            verdict = "same"
        else:
            verdict = "better" if (delta > 0) == (better == "higher") else "worse"
        out.append(Delta(name, a, b, delta, verdict))
    return out


def _brief(rec: dict[str, Any]) -> str:
    text = " ".join(str(rec.get("response") or "").split())
    return text[:100] + ("…" if len(text) > 100 else "")


def compare(doc_a: dict[str, Any], doc_b: dict[str, Any], every: bool = False) -> Comparison:
    """Compare result (or baseline) documents A and B question by question."""
    recs_a = {str(r["id"]): r for r in doc_a["items"]}
    recs_b = {str(r["id"]): r for r in doc_b["items"]}
    paired = [i for i in recs_a if i in recs_b]
    changes: dict[str, list[dict[str, Any]]] = {key: [] for key, _ in CHANGES}
    right_a = right_b = hit_a = hit_b = 0
    for qid in paired:
        ra, rb = recs_a[qid], recs_b[qid]
        row = {"id": qid, "question": rb.get("question") or ra.get("question")}
        if bool(ra.get("error")) != bool(rb.get("error")):
            failed = ra if ra.get("error") else rb
            changes["failed"].append({**row, "in": "A" if failed is ra else "B"})
        oa, ob = outcome(ra), outcome(rb)
        if oa is not None and ob is not None:
            right_a += oa == "right"
            right_b += ob == "right"
            detail = {**row, "from": oa, "to": ob, "a": _brief(ra), "b": _brief(rb)}
            if oa == "right" and ob == "wrong":
                changes["right_to_wrong"].append(detail)
            elif oa == "wrong" and ob == "right":
                changes["wrong_to_right"].append(detail)
            elif oa != "abstained" and ob == "abstained":
                changes["answered_to_abstained"].append(detail)
            elif oa == "abstained" and ob != "abstained":
                changes["abstained_to_answered"].append(detail)
        ha, hb = ra.get("hit_at_5"), rb.get("hit_at_5")
        if ha is not None and hb is not None:
            hit_a += ha == 1.0
            hit_b += hb == 1.0
            if ha == 1.0 and hb == 0.0:
                changes["gold_lost_from_top_5"].append(row)
            elif ha == 0.0 and hb == 1.0:
                changes["gold_found_in_top_5"].append(row)
    return Comparison(
        a=_name(doc_a),
        b=_name(doc_b),
        paired=len(paired),
        only_a=[i for i in recs_a if i not in recs_b],
        only_b=[i for i in recs_b if i not in recs_a],
        deltas=metric_deltas(doc_a.get("aggregate") or {}, doc_b.get("aggregate") or {}, every),
        changes=changes,
        right=(right_a, right_b),
        hit_at_5=(hit_a, hit_b),
    )


def _signed(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:+.3f}" if isinstance(value, float) else f"{value:+d}"


def render(cmp: Comparison) -> str:
    """The comparison as plain text for the terminal."""
    lines = [f"A: {cmp.a}", f"B: {cmp.b}", ""]
    width = max((len(d.metric) for d in cmp.deltas), default=6)
    lines.append(f"{'metric'.ljust(width)}  {'A':>8}  {'B':>8}  {'B - A':>8}")
    for d in cmp.deltas:
        lines.append(
            f"{d.metric.ljust(width)}  {show(d.metric, d.a):>8}  {show(d.metric, d.b):>8}  "
            f"{_signed(d.delta):>8}  {d.verdict}".rstrip()
        )
    lines += [
        "",
        f"{cmp.paired} questions in both runs; right {cmp.right[0]} → {cmp.right[1]}, "
        f"gold in the top 5 {cmp.hit_at_5[0]} → {cmp.hit_at_5[1]}",
    ]
    if cmp.only_a or cmp.only_b:
        lines.append(f"only in A: {len(cmp.only_a)}, only in B: {len(cmp.only_b)}")
    for key, title in CHANGES:
        rows = cmp.changes.get(key) or []
        if not rows:
            continue
        lines += ["", f"{title} ({len(rows)})"]
        for r in rows:
            lines.append(f"  {r['id']}: {r.get('question') or ''}"[:120])
            if "a" in r:
                lines.append(f"      A ({r['from']}): {r['a']}")
                lines.append(f"      B ({r['to']}): {r['b']}")
    if not any(cmp.changes.values()):
        lines += ["", "no question changed"]
    return "\n".join(lines)
