"""The manifest: which articles the index holds, their content hashes, and index-wide facts.

SQLite gives every batch an atomic commit, so a crash leaves either the old or the new entry.
Before the store is touched for an article, a write-ahead intent (``pending``) names it; the
commit that records the outcome clears it. An intent left behind means a write was cut short:
the next ingest (or ``byline check --repair``) clears that article's chunks and reads it again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    chunks INTEGER NOT NULL,
    path TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    published_ts INTEGER
);
CREATE INDEX IF NOT EXISTS articles_path ON articles(path);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending (
    id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    op TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Entry:
    """One indexed article as the manifest knows it."""

    id: str
    hash: str
    chunks: int
    path: str
    title: str = ""
    source: str = ""
    url: str = ""
    published_ts: int | None = None


@dataclass(frozen=True)
class Intent:
    """An article about to be written (``op="write"``) or removed (``op="delete"``)."""

    id: str
    path: str
    op: str


class Manifest:
    """Article id → hash, chunk count and source path; plus key/value facts about the index."""

    FILENAME = "manifest.sqlite"

    def __init__(self, index_dir: Path) -> None:
        self.path = index_dir / self.FILENAME
        self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    @staticmethod
    def exists(index_dir: Path) -> bool:
        return (index_dir / Manifest.FILENAME).is_file()

    def close(self) -> None:
        self._db.close()

    def entries(self) -> dict[str, Entry]:
        rows = self._db.execute(
            "SELECT id, hash, chunks, path, title, source, url, published_ts FROM articles"
        )
        return {row[0]: Entry(*row) for row in rows}

    def begin(self, intents: Iterable[Intent]) -> None:
        """Record, before touching the store, which articles are about to be written or removed."""
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO pending VALUES (?, ?, ?)",
                [(i.id, i.path, i.op) for i in intents],
            )

    def pending(self) -> list[Intent]:
        """Intents whose outcome was never committed: writes cut short by a crash."""
        rows = self._db.execute("SELECT id, path, op FROM pending ORDER BY id")
        return [Intent(*row) for row in rows]

    def put(self, entries: Iterable[Entry]) -> None:
        """Record written articles and clear their intents, in one commit."""
        entries = list(entries)
        with self._db:
            self._db.executemany("DELETE FROM pending WHERE id = ?", [(e.id,) for e in entries])
            self._db.executemany(
                "INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (e.id, e.hash, e.chunks, e.path, e.title, e.source, e.url, e.published_ts)
                    for e in entries
                ],
            )

    def replace_all(self, entries: Iterable[Entry]) -> None:
        """Make the article list exactly ``entries``, in one commit (a cache rebuilt)."""
        rows = [
            (e.id, e.hash, e.chunks, e.path, e.title, e.source, e.url, e.published_ts)
            for e in entries
        ]
        with self._db:
            self._db.execute("DELETE FROM articles")
            self._db.executemany("INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def remove(self, ids: Iterable[str]) -> None:
        """Forget articles and their intents, in one commit."""
        rows = [(i,) for i in ids]
        with self._db:
            self._db.executemany("DELETE FROM articles WHERE id = ?", rows)
            self._db.executemany("DELETE FROM pending WHERE id = ?", rows)

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def counts(self) -> tuple[int, int]:
        """(articles, chunks)."""
        row = self._db.execute("SELECT COUNT(*), COALESCE(SUM(chunks), 0) FROM articles").fetchone()
        return int(row[0]), int(row[1])

    def publishers(self) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT source, COUNT(*) FROM articles GROUP BY source ORDER BY COUNT(*) DESC"
        )
        return {src: n for src, n in rows}

    def date_span(self) -> tuple[int | None, int | None]:
        row = self._db.execute(
            "SELECT MIN(published_ts), MAX(published_ts) FROM articles"
        ).fetchone()
        return row[0], row[1]
