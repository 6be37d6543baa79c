"""Example questions for the page, drawn from what is actually in the index."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Questions about the bundled demo corpus, each offered only when its article is indexed.
DEMO_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("msft-openai-rofr-2025", "Who gets a right of first refusal on new OpenAI cloud capacity?"),
    ("stargate-launch-2025", "In which Texas city is the first Stargate data-center campus?"),
    (
        "coreweave-openai-contract-2025",
        "How much is CoreWeave's five-year contract with OpenAI worth?",
    ),
    (
        "msft-constellation-tmi-2024",
        "What will Three Mile Island Unit 1 be called after its restart?",
    ),
    ("google-kairos-smr-2024", "Who will build the small reactors in Google's nuclear deal?"),
    ("xai-colossus-2024", "Where is xAI's Colossus supercomputer?"),
)
MIN_CURATED = 3


def _field(entry: Any, name: str) -> Any:
    return entry.get(name) if isinstance(entry, Mapping) else getattr(entry, name, None)


def title_question(title: str) -> str | None:
    """A neutral question about an article, from its title."""
    clean = re.sub(r"\s+", " ", title or "").strip().rstrip(".!?:;,")
    if len(clean) < 8:
        return None
    if len(clean) > 90:
        clean = clean[:90].rsplit(" ", 1)[0] + "…"
    return f"What do the articles say about “{clean}”?"


def example_questions(entries: Mapping[str, Any], limit: int = 5) -> list[str]:
    """Curated demo questions whose articles are indexed, topped up from recent titles.

    ``entries`` maps article id to something with ``title`` and ``published_ts`` (the
    manifest's entries, or plain dicts).
    """
    questions = [q for article_id, q in DEMO_QUESTIONS if article_id in entries]
    if len(questions) >= MIN_CURATED:
        return questions[:limit]
    recent = sorted(entries.values(), key=lambda e: _field(e, "published_ts") or 0, reverse=True)
    for entry in recent:
        if len(questions) >= limit:
            break
        question = title_question(str(_field(entry, "title") or ""))
        if question and question not in questions:
            questions.append(question)
    return questions[:limit]
