"""👍/👎 on answers, appended to ``<index_dir>/feedback.jsonl`` one JSON object a line."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FEEDBACK_FILE = "feedback.jsonl"


def turn_record(
    question: str, answer: Any, as_of: str | None = None, filters: dict | None = None
) -> dict[str, Any]:
    """What a vote is about: the question, the answer text and what it cited."""
    return {
        "question": question,
        "answer": answer.text,
        "abstained": bool(answer.abstained),
        "citations": [
            {
                "n": c.n,
                "article_id": c.article_id,
                "chunk_id": c.chunk_id,
                "title": c.title,
                "source": c.source,
                "url": c.url,
                "published_at": c.published_at,
                "support": c.support,
                "attributed": c.attributed,
            }
            for c in answer.citations
        ],
        "model": answer.model,
        "prompt_hash": answer.prompt_hash,
        "as_of": as_of,
        "filters": filters or {},
    }


def vote_name(liked: Any) -> str:
    """Gradio's like value as a word: ``up``, ``down`` or ``none`` (a vote taken back)."""
    if liked is True:
        return "up"
    if liked is False:
        return "down"
    return str(liked) if liked else "none"


class FeedbackLog:
    """Appends votes to a JSONL file; safe to share between the server's threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def record(self, turn: dict[str, Any], vote: str) -> dict[str, Any]:
        entry = {"timestamp": datetime.now(UTC).isoformat(timespec="seconds"), "vote": vote}
        entry.update(turn)
        line = json.dumps(entry, ensure_ascii=False, default=str)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line + "\n")
        return entry

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
