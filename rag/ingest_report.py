"""What an ingest did, as the CLI, the API and the web page report it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rag.articles import Article
from rag.manifest import Entry


@dataclass
class IngestReport:
    """What an ingest did. ``failed`` lists each skipped file or record (and each id conflict)
    with its reason; ``warnings`` what was ingested with less (e.g. undated); ``kept`` the
    indexed articles left as they were because their file failed to load."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    kept: int = 0
    recovered: int = 0
    # Files passed over unread, their size and modification time as recorded.
    skipped_files: int = 0
    articles: int = 0
    chunks: int = 0
    seconds: float = 0.0
    # Seconds of work per part (reading, chunking, embedding, each write); the parts overlap.
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "failed": self.failed,
            "warnings": self.warnings,
            "kept": self.kept,
            "recovered": self.recovered,
            "skipped_files": self.skipped_files,
            "articles": self.articles,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
            "stages": {name: round(s, 3) for name, s in sorted(self.stages.items())},
        }


def conflict(article: Article, old: Entry) -> dict[str, Any]:
    """The report of an article kept out because its id is indexed from another file."""
    line = article.extra.get("line")
    return {
        "path": article.path,
        "line": line,
        "error": (
            f"article id {article.id!r} is already indexed from {old.path}; kept that copy. "
            "To replace it with this one, ingest again with --replace (Python: "
            "replace=True), or remove it from the other file first"
        ),
    }
