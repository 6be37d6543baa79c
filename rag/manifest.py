"""The manifest: which articles the index holds, their content hashes, and index-wide facts.

SQLite gives every batch an atomic commit, so a crash leaves either the old or the new entry.
Before the store is touched for an article, a write-ahead intent (``pending``) names it; the
commit that records the outcome clears it. An intent left behind means a write was cut short:
the next ingest (or ``byline check --repair``) clears that article's chunks and reads it again.

Each source file read in full has its size and modification time recorded (``files``), so an
unchanged file need not be read again (``rag.file_stats``). Any change that moves an article off
its file's list forgets that file's stat, in the same commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rag.file_stats import FileStat

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

# Schema changes since the first version, each applied once (and each safe to apply twice,
# should two processes open an old manifest at once), in one transaction with the
# version number, so a manifest is either wholly migrated or not at all. A manifest from before
# a version simply has no rows in what it adds: version 1's files are each read once more.
_MIGRATIONS = [
    """
    CREATE TABLE IF NOT EXISTS files (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        read_ns INTEGER NOT NULL
    );
    """,
]

# Forget the stat of each file an article is moved off (bound: the article's id).
_FORGET_FILE_OF = "DELETE FROM files WHERE path IN (SELECT path FROM articles WHERE id = ?)"


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
        self._migrate()

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(_MIGRATIONS[version:], start=version + 1):
            try:
                self._db.executescript(
                    f"BEGIN IMMEDIATE; {script} PRAGMA user_version = {number}; COMMIT;"
                )
            except sqlite3.Error:
                if self._db.in_transaction:
                    self._db.rollback()
                raise

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

    def put(self, entries: Iterable[Entry], files: Iterable[FileStat] = ()) -> None:
        """Record written articles and clear their intents, in one commit; with them the stats
        of ``files``, whose articles are all written once these are."""
        entries = list(entries)
        with self._db:
            self._db.executemany("DELETE FROM pending WHERE id = ?", [(e.id,) for e in entries])
            # An article that moves to another file leaves its old file's list.
            self._db.executemany(
                _FORGET_FILE_OF + " AND path != ?", [(e.id, e.path) for e in entries]
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (e.id, e.hash, e.chunks, e.path, e.title, e.source, e.url, e.published_ts)
                    for e in entries
                ],
            )
            self._put_files(files)

    def _put_files(self, files: Iterable[FileStat]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)",
            [(f.path, f.size, f.mtime_ns, f.read_ns) for f in files],
        )

    def put_files(self, files: Iterable[FileStat]) -> None:
        """Record the stats of files whose articles are all committed already."""
        with self._db:
            self._put_files(files)

    def files(self) -> dict[str, FileStat]:
        """The recorded stat of each file read in full, by path."""
        rows = self._db.execute("SELECT path, size, mtime_ns, read_ns FROM files")
        return {row[0]: FileStat(*row) for row in rows}

    def forget_files(self) -> None:
        """Drop every recorded stat, so every file is read again."""
        with self._db:
            self._db.execute("DELETE FROM files")

    def replace_all(self, entries: Iterable[Entry]) -> None:
        """Make the article list exactly ``entries``, in one commit (a cache rebuilt)."""
        rows = [
            (e.id, e.hash, e.chunks, e.path, e.title, e.source, e.url, e.published_ts)
            for e in entries
        ]
        with self._db:
            self._db.execute("DELETE FROM articles")
            self._db.execute("DELETE FROM files")  # what each file holds is unknown again
            self._db.executemany("INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def remove(self, ids: Iterable[str]) -> None:
        """Forget articles and their intents, in one commit."""
        rows = [(i,) for i in ids]
        with self._db:
            self._db.executemany(_FORGET_FILE_OF, rows)
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
