"""Incremental ingestion: load → chunk → embed → upsert, with a manifest that makes it resumable.

Order of work per batch: delete the article's old chunks, upsert the new ones, publish them to
the lexical index (which tombstones the old ones), then record the new hash in the manifest. A
crash anywhere leaves the manifest behind the store and the lexical index, never ahead of them,
so the next run redoes at most one batch; deterministic chunk ids make that redo idempotent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings
from tqdm.auto import tqdm

from rag.articles import Article
from rag.chunking import Chunk, Chunker, embedding_text
from rag.lexical import LexicalDoc, docs_from_chunks
from rag.lexical_writer import MAX_SEGMENTS, LexicalWriter
from rag.loaders import load_paths
from rag.manifest import Entry, Manifest
from rag.store import ChunkStore

BATCH_ARTICLES = 128


@dataclass
class IngestReport:
    """What an ingest did. ``failed`` lists each skipped file or record with its reason."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    articles: int = 0
    chunks: int = 0
    seconds: float = 0.0

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
            "articles": self.articles,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
        }


def chunk_metadata(article: Article, chunk: Chunk) -> dict[str, Any]:
    """Chroma metadata for one chunk: the article's fields plus position (no None values)."""
    meta: dict[str, Any] = {
        "article_id": article.id,
        "chunk_index": chunk.index,
        "start": chunk.start,
        "end": chunk.end,
        "title": article.title,
        "source": article.source,
        "url": article.url,
        "authors": ", ".join(article.authors),
        "path": article.path,
    }
    if article.published_at is not None:
        meta["published_at"] = article.published_at.isoformat()
        meta["published_ts"] = int(article.published_at.timestamp())
    return meta


def _entry(article: Article, chunks: int) -> Entry:
    ts = int(article.published_at.timestamp()) if article.published_at else None
    return Entry(
        article.id,
        article.content_hash,
        chunks,
        article.path,
        article.title,
        article.source,
        article.url,
        ts,
    )


class Ingestor:
    """Writes articles into the store, the manifest and the lexical index, incrementally."""

    def __init__(
        self,
        index_dir: Path,
        store: ChunkStore,
        manifest: Manifest,
        embedder: Embeddings,
        chunker: Chunker,
        max_bytes: int,
        lexical_max_segments: int = MAX_SEGMENTS,
    ) -> None:
        self.index_dir = index_dir
        self.store = store
        self.manifest = manifest
        self.embedder = embedder
        self.chunker = chunker
        self.max_bytes = max_bytes
        self.lexical = LexicalWriter(index_dir, lexical_max_segments)

    def ingest(
        self,
        paths: Sequence[str | Path],
        prune: bool = False,
        progress: bool | None = None,
        on_article: Callable[[int, int], None] | None = None,
    ) -> IngestReport:
        """Bring the index in line with ``paths``; see the module docstring for crash safety."""
        started = time.perf_counter()
        report = IngestReport()
        loaded = load_paths(paths, self.max_bytes)
        report.failed = [
            {"path": f.path, "line": f.line, "error": f.reason} for f in loaded.failures
        ]
        known = self.manifest.entries()
        todo: list[Article] = []
        for article in loaded.articles:
            old = known.get(article.id)
            if old is not None and old.hash == article.content_hash:
                report.unchanged += 1
            else:
                todo.append(article)
                if old is None:
                    report.added += 1
                else:
                    report.updated += 1

        # Articles that a re-read file no longer contains, and (with prune) files that are gone.
        seen_ids = {a.id for a in loaded.articles}
        read_paths = set(loaded.paths)
        gone = [
            e.id
            for e in known.values()
            if e.id not in seen_ids
            and (e.path in read_paths or (prune and not Path(e.path).exists()))
        ]
        # An index from before segments (or one whose lexical side was lost) is rebuilt once
        # from the store; after that every batch updates the lexical index in place.
        lost = len(self.lexical) == 0 and bool(known) and self.store.count() > 0
        if self.manifest.get_meta("lexical_stale") == "1" or self.lexical.legacy or lost:
            self.rebuild_lexical()
        self._write(todo, progress, on_article)
        if gone:
            self.store.delete_articles(gone)
            self.lexical.remove(gone)
            self.manifest.remove(gone)
            report.removed = len(gone)
        report.articles, report.chunks = self.manifest.counts()
        report.seconds = time.perf_counter() - started
        return report

    def _write(
        self,
        todo: list[Article],
        progress: bool | None,
        on_article: Callable[[int, int], None] | None,
    ) -> None:
        bar = tqdm(
            total=len(todo),
            unit="article",
            desc="Embedding",
            disable=progress is False if progress is not None else None,
            leave=False,
        )
        done = 0
        try:
            for i in range(0, len(todo), BATCH_ARTICLES):
                batch = todo[i : i + BATCH_ARTICLES]
                self._write_batch(batch)
                done += len(batch)
                bar.update(len(batch))
                if on_article:
                    on_article(done, len(todo))
        finally:
            bar.close()

    def _write_batch(self, batch: list[Article]) -> None:
        ids: list[str] = []
        texts: list[str] = []
        docs: list[str] = []
        metas: list[dict[str, Any]] = []
        entries: list[Entry] = []
        lexical: list[LexicalDoc] = []
        for article in batch:
            chunks = self.chunker.split(article)
            ts = int(article.published_at.timestamp()) if article.published_at else None
            for chunk in chunks:
                ids.append(chunk.id)
                texts.append(embedding_text(article, chunk))
                docs.append(chunk.text)
                metas.append(chunk_metadata(article, chunk))
                lexical.append(
                    LexicalDoc(chunk.id, f"{article.title}\n{chunk.text}", article.source, ts)
                )
            entries.append(_entry(article, len(chunks)))
        vectors = self._embed_unique(texts)
        # Always clear first: a run that crashed after its upsert may have left chunks that the
        # manifest does not know of, and the article may now have fewer chunks.
        self.store.delete_articles([a.id for a in batch])
        self.store.upsert(ids, vectors, docs, metas)
        self.lexical.replace([a.id for a in batch], lexical)
        self.manifest.put(entries)

    def _embed_unique(self, texts: list[str]) -> list[list[float]]:
        """Embed each distinct text once: news feeds repeat boilerplate passages verbatim."""
        position: dict[str, int] = {}
        unique: list[str] = []
        for text in texts:
            if text not in position:
                position[text] = len(unique)
                unique.append(text)
        vectors = self.embedder.embed_documents(unique)
        return [vectors[position[t]] for t in texts]

    def rebuild_lexical(self) -> None:
        """Rebuild BM25 from what the store holds, so it matches the vectors again."""
        self.lexical.rebuild(docs_from_chunks(self.store.iter_all()))
        self.manifest.set_meta("lexical_stale", "0")
