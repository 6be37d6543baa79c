"""Plain-text shapes the CLI prints: the configuration as TOML, search hits grouped by article."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rag.retrieval.fusion import RRF_K
from rag.retrieval.hits import Hit

TOML_HEADER = (
    "# The resolved configuration (defaults < byline.toml < BYLINE_* variables < flags).\n"
    "# Paste any of these lines into byline.toml; unset values are shown commented out.\n"
)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):  # an inline table
        items = ", ".join(f"{_toml_value(str(k))} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string


TUNING_HEADER = (
    "# ---- Tuning: numbers chosen by measurement, each with its decision record in\n"
    "# docs/decisions/; change one only with a run that compares (byline eval compare)."
)


def to_toml(
    values: Mapping[str, Any],
    comments: Mapping[str, str | None] | None = None,
    tuning_from: str | None = None,
) -> str:
    """Flat settings as TOML lines, each with its description as a comment; None values (not
    set) are commented out, since TOML has no null. ``tuning_from`` names the first setting of
    the tuning section, which gets its header."""
    comments = comments or {}
    lines = [TOML_HEADER.rstrip("\n")]
    for key, value in values.items():
        if key == tuning_from:
            lines += ["", TUNING_HEADER]
        note = comments.get(key)
        if note:
            lines.append(f"# {' '.join(note.split())}")
        if value is None:
            lines.append(f"# {key} = (not set)")
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


@dataclass
class ArticleHits:
    """One article's passages among the hits: the best one first."""

    best: Hit
    passages: int

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.best.to_dict(),
            "matching_passages": self.passages,
            "similarity": round(self.best.similarity, 4),
            "dense_rank": int(self.best.signals.get("dense_rank", 0)) or None,
            "lexical_rank": int(self.best.signals.get("lexical_rank", 0)) or None,
        }


def group_by_article(hits: Sequence[Hit], k: int) -> list[ArticleHits]:
    """The first ``k`` articles of the hits in rank order, each with its best passage and the
    number of its passages that matched."""
    groups: dict[str, ArticleHits] = {}
    for hit in hits:
        if hit.article_id in groups:
            groups[hit.article_id].passages += 1
        else:
            groups[hit.article_id] = ArticleHits(hit, 1)
    return list(groups.values())[:k]


def score_note() -> str:
    """What the search score means, printed under the hits."""
    best = 2 / (RRF_K + 1)
    return (
        "score: rank fusion of the meaning (embedding) and keyword (BM25) searches, "
        f"1/({RRF_K} + rank) from each;\n"
        f"       {best:.4f} is first in both; only the order matters, not the size. "
        "similarity: cosine of question and passage."
    )


def render_search(groups: Sequence[ArticleHits]) -> list[str]:
    """Lines for the terminal: one block per article."""
    lines: list[str] = []
    for n, g in enumerate(groups, start=1):
        h = g.best
        date = (h.published_at or "")[:10]
        more = f"{g.passages} matching passages" if g.passages > 1 else "1 matching passage"
        ranks = []
        if h.signals.get("dense_rank"):
            ranks.append(f"meaning #{int(h.signals['dense_rank'])}")
        if h.signals.get("lexical_rank"):
            ranks.append(f"keywords #{int(h.signals['lexical_rank'])}")
        lines.append(f"[{n}] {h.title or '(untitled)'} — {h.source} {date}  ({more})")
        lines.append(f"    {h.url}")
        lines.append(
            f"    score {h.score:.4f}, similarity {h.similarity:.2f}"
            + (f" ({', '.join(ranks)})" if ranks else "")
        )
        lines.append("    “" + " ".join(h.text.split())[:240] + "”")
    if groups:
        lines += ["", score_note()]
    return lines
