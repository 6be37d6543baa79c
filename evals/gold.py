"""Gold-id repair: each question's gold article ids checked against the index.

Eval sets name their gold articles by id; when an id differs from the one the loader gave the
article (a dataset that derives ids another way), it is repaired by URL or title, and what
cannot be found is reported, so a mapping bug shows in the result instead of scoring zero.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from evals import metrics as M
from evals.datasets import EvalItem


def resolve_gold(items: Sequence[EvalItem], byline: Any) -> dict[str, Any]:
    """Check each gold id against the index; repair by URL or title where the id differs.

    Returns counts and the ids that could not be found (``{"checked": False}`` for an index
    without a manifest). The items' ``gold_ids`` are updated in place.
    """
    try:
        entries = byline.manifest.entries()
    except Exception:  # an injected stand-in without a manifest
        return {"checked": False}
    from rag.articles import normalise_url

    by_url: dict[str, str] = {}
    by_title: dict[str, str] = {}
    for e in entries.values():
        if e.url:
            by_url[normalise_url(e.url)] = e.id
        if e.title:
            by_title.setdefault(_title_key(e.title), e.id)
    repaired, missing = 0, []
    for item in items:
        fixed: list[str] = []
        urls = item.extra.get("gold_urls") or []
        titles = item.extra.get("gold_titles") or []
        for i, gid in enumerate(item.gold_ids):
            if gid in entries:
                fixed.append(gid)
                continue
            alt = None
            if i < len(urls) and urls[i]:
                alt = by_url.get(normalise_url(str(urls[i])))
            if alt is None and i < len(titles) and titles[i]:
                alt = by_title.get(_title_key(titles[i]))
            if alt is not None:
                repaired += 1
                fixed.append(alt)
            else:
                missing.append(gid)
                fixed.append(gid)
        item.gold_ids = M.dedupe(fixed)
    return {"checked": True, "repaired": repaired, "missing": sorted(set(missing))}


def _title_key(title: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", title.lower()).split())
