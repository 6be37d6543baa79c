"""Incremental ingestion: load → chunk → embed → upsert, with a manifest that makes it resumable.

Order of work per batch: record a write-ahead intent for its articles, delete their old chunks,
upsert the new ones, publish them to the lexical index (a new segment; the old chunks become
tombstones), then record the new hashes and clear the intents in one commit. A crash anywhere
leaves intents behind; the next ingest clears those articles' chunks, rebuilds the lexical index
from the store and reads their files again, so the store, the lexical index and the manifest
agree again (``byline check`` verifies it).

Three stages run at once (``rag.pipeline``), each a step ahead of the next: reading, checking
and chunking articles on one thread; embedding on another, several batches together sorted by
token count; writing on the calling thread, which alone changes the store, the lexical index
and the manifest, batch by batch in the order above. Memory holds a few batches, whatever the
corpus size.

A file whose size and modification time are as recorded when it was last read in full is not
opened: its articles count as unchanged (``rag.file_stats``, which also says when a file's stat
is recorded so that a crash never leaves one recorded ahead of its articles); ``rehash`` reads
every file again.

Nothing is removed that could not be read: an article leaves the index only when the file that
held it was read in full without a failure and no longer holds it, or, with ``prune``, when that
file is gone. An id already indexed from another existing file is a conflict, not a replacement.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings
from tqdm.auto import tqdm

from rag.articles import Article
from rag.chunking import Chunk, Chunker
from rag.file_stats import FileBook, FileStat
from rag.ingest_report import IngestReport, conflict
from rag.lexical import LexicalDoc, docs_from_chunks
from rag.lexical_writer import MAX_SEGMENTS, LexicalWriter
from rag.loaders import LoadResult, iter_articles
from rag.manifest import Entry, Intent, Manifest
from rag.pipeline import Clock, stage
from rag.store import ChunkStore

BATCH_ARTICLES = 128
# Texts embedded together (whole batches, at least this many), sorted by token count: a
# wider window pads less; docs/decisions/0102-ingest-pipeline-and-token-batches.md.
EMBED_WINDOW = 4096


@dataclass
class Batch:
    """A batch of new or changed articles, chunked and ready to embed and write; ``files``
    are the stats to record with it, of files all of whose articles are written once it is."""

    articles: list[Article]
    files: list[FileStat] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    docs: list[str] = field(default_factory=list)
    metas: list[dict[str, Any]] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    lexical: list[LexicalDoc] = field(default_factory=list)


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


def _windows(batches: Generator[Batch, None, None]) -> Iterator[list[Batch]]:
    """Whole batches, grouped until they hold ``EMBED_WINDOW`` texts or the batches end."""
    window: list[Batch] = []
    texts = 0
    with closing(batches):  # stopped early, the stage before stops too
        for batch in batches:
            window.append(batch)
            texts += len(batch.texts)
            if texts >= EMBED_WINDOW:
                yield window
                window, texts = [], 0
    if window:
        yield window


def _not_covered(extra: list[str], given: Sequence[str | Path]) -> list[str]:
    """Files from ``extra`` that no path in ``given`` already includes."""
    roots = [Path(g).resolve() for g in given]
    return [p for p in extra if not any(Path(p) == r or Path(p).is_relative_to(r) for r in roots)]


class Ingestor:
    """Writes articles into the store, the manifest and the lexical index, incrementally.

    ``embedder`` is called for the embedder when there is something to embed, so an ingest
    that finds nothing new never loads a model."""

    def __init__(
        self,
        index_dir: Path,
        store: ChunkStore,
        manifest: Manifest,
        embedder: Callable[[], Embeddings],
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

        # Called before each batch is written: a server-mode writer renews its lease here.
        self.keep_alive: Callable[[], None] | None = None
        self.clock = Clock()

    def phase(self, name: str) -> None:
        """Called after each step that changes the store or the manifest; a no-op. The fault
        tests replace it to kill the process at an exact point."""

    def recover(self) -> tuple[int, list[str]]:
        """Finish what a killed ingest left: clear the chunks of articles whose write or removal
        never committed. Returns how many, and the files to read again for the writes."""
        pending = self.manifest.pending()
        if not pending:
            return 0, []
        self.manifest.set_meta("lexical_stale", "1")
        ids = [i.id for i in pending]
        self.store.delete_articles(ids)
        self.phase("recover-deleted")
        self.manifest.remove(ids)
        again = sorted({i.path for i in pending if i.op == "write" and Path(i.path).exists()})
        return len(ids), again

    def ingest(
        self,
        paths: Sequence[str | Path],
        prune: bool = False,
        progress: bool | None = None,
        on_article: Callable[[int, int], None] | None = None,
        replace: bool = False,
        rehash: bool = False,
    ) -> IngestReport:
        """Bring the index in line with ``paths``; see the module docstring for crash safety.

        ``replace`` lets an article whose id is already indexed from another file be replaced
        by the copy read now, instead of being reported as a conflict. ``rehash`` reads every
        file, including those whose size and modification time are as recorded.
        """
        started = time.perf_counter()
        self.clock = Clock()
        report = IngestReport(stages=self.clock.seconds)
        report.recovered, again = self.recover()
        paths = list(paths) + _not_covered(again, paths)
        known = self.manifest.entries()
        # An index from before segments (or one whose lexical side was lost or left behind by a
        # killed run) is rebuilt once from the store; after that every batch updates it in place.
        lost = len(self.lexical) == 0 and bool(known) and self.store.count() > 0
        if self.manifest.get_meta("lexical_stale") == "1" or self.lexical.legacy or lost:
            with self.clock.part("lexical_rebuild"):
                self.rebuild_lexical()
        loaded = LoadResult()
        seen: set[tuple[str, str]] = set()
        conflicted: set[str] = set()
        book = FileBook.open(self.manifest, known, self.max_bytes, trust=not rehash)
        bar = tqdm(
            unit="article",
            desc="Ingesting",
            disable=progress is False if progress is not None else None,
            leave=False,
        )
        # Three stages at once, each a batch ahead of the next: reading and chunking, then
        # embedding, then writing here, where every change to the store and the manifest
        # happens in the same order as with one thread.
        changed = self._changed(paths, known, replace, report, loaded, seen, conflicted, book)
        batches = stage(self._prepare, changed, name="byline-read")
        embedded = stage(self._embedded, _windows(batches), name="byline-embed")
        done = 0
        try:
            with closing(embedded):
                for window in embedded:
                    for batch, vectors in window:
                        self.phase("embedded")
                        done += self._flush(batch, vectors, bar, on_article, done)
        finally:
            bar.close()
        report.failed = [
            {"path": f.path, "line": f.line, "error": f.reason} for f in loaded.failures
        ] + report.failed
        report.warnings = [
            {"path": w.path, "line": w.line, "error": w.reason} for w in loaded.warnings
        ]
        read_in_full = set(loaded.paths)
        gone = [
            e
            for e in known.values()
            if (e.path, e.id) not in seen
            and e.id not in conflicted
            and (e.path in read_in_full or (prune and not Path(e.path).exists()))
        ]
        failed_files = {str(Path(f.path).resolve()) for f in loaded.failures}
        report.kept = sum(
            1
            for e in known.values()
            if e.path in failed_files and e.path not in read_in_full and (e.path, e.id) not in seen
        )
        if gone:
            with self.clock.part("remove"):
                self._remove(gone)
            report.removed = len(gone)
        self.phase("written")
        # Files whose last changed article came in no batch, and files whose gone articles are
        # removed only now: every article of theirs is committed at this point.
        with self.clock.part("manifest"):
            self.manifest.put_files(book.take_ready() + book.after_removals)
        self.phase("files-recorded")
        report.skipped_files = len(book.passed_over)
        if self.manifest.get_meta("lexical_stale") == "1":
            with self.clock.part("lexical_rebuild"):
                self.rebuild_lexical()
        self.phase("lexical")
        report.articles, report.chunks = self.manifest.counts()
        report.seconds = time.perf_counter() - started
        return report

    def _changed(
        self,
        paths: Sequence[str | Path],
        known: dict[str, Entry],
        replace: bool,
        report: IngestReport,
        loaded: LoadResult,
        seen: set[tuple[str, str]],
        conflicted: set[str],
        book: FileBook,
    ) -> Iterator[Batch]:
        """The new and changed articles under ``paths``, a batch at a time; counts the rest
        in ``report`` and records what was read in ``loaded``, ``seen``, ``conflicted`` and
        ``book`` (read only once the batches are exhausted: this runs on the reading thread)."""
        batch: list[Article] = []
        articles = iter_articles(paths, self.max_bytes, loaded, book.unchanged)
        passed = done = 0  # of loaded.unchanged and loaded.paths, how many are accounted for
        while True:
            # Timed apart from the waits at ``yield``, when the next stage is behind.
            t0 = time.perf_counter()
            article = next(articles, None)
            self.clock.add("read", time.perf_counter() - t0)
            # Files finished since the last article: passed over, or read in full.
            for where in loaded.unchanged[passed:]:
                for entry in book.passed(where):
                    seen.add((where, entry.id))
                    report.unchanged += 1
            for where in loaded.paths[done:]:
                book.read_in_full(loaded.stats.get(where), seen)
            passed, done = len(loaded.unchanged), len(loaded.paths)
            if article is None:
                break
            seen.add((article.path, article.id))
            old = known.get(article.id)
            if old is not None and old.path != article.path and Path(old.path).exists():
                if old.hash == article.content_hash:  # the same article in two files
                    report.unchanged += 1
                    conflicted.add(article.id)  # held here, so never "gone" this run
                    book.conflicted.add(article.path)  # it holds more than is listed under it
                    continue
                if not replace:
                    conflicted.add(article.id)
                    book.conflicted.add(article.path)
                    report.failed.append(conflict(article, old))
                    continue
            if old is not None and old.hash == article.content_hash and old.path == article.path:
                report.unchanged += 1
                continue
            if old is None:
                report.added += 1
            else:
                report.updated += 1
                if old.path != article.path:  # moved here from a file gone or replaced
                    conflicted.add(article.id)  # so its entry under the old path is not "gone"
            batch.append(article)
            if len(batch) >= BATCH_ARTICLES:
                yield Batch(batch, book.take_ready())
                batch = []
        if batch:
            yield Batch(batch, book.take_ready())

    def _prepare(self, batch: Batch) -> Batch:
        """Chunks, texts to embed, metadata and lexical documents of a batch of articles."""
        with self.clock.part("chunk"):
            return self._chunked(batch)

    def _chunked(self, batch: Batch) -> Batch:
        for article in batch.articles:
            chunks = self.chunker.split(article)
            ts = int(article.published_at.timestamp()) if article.published_at else None
            for chunk in chunks:
                batch.ids.append(chunk.id)
                batch.texts.append(self.chunker.embedding_text(article, chunk))
                batch.docs.append(chunk.text)
                # Hash and count let a manifest be rebuilt from the store alone (server mode).
                meta = chunk_metadata(article, chunk)
                meta.update(hash=article.content_hash, chunks=len(chunks))
                batch.metas.append(meta)
                batch.lexical.append(
                    LexicalDoc(chunk.id, f"{article.title}\n{chunk.text}", article.source, ts)
                )
            batch.entries.append(_entry(article, len(chunks)))
        return batch

    def _embedded(self, window: list[Batch]) -> list[tuple[Batch, list[list[float]]]]:
        """Each batch of a window with its vectors, all embedded in one call."""
        with self.clock.part("embed"):
            vectors = self._embed_unique([t for batch in window for t in batch.texts])
        out = []
        start = 0
        for batch in window:
            out.append((batch, vectors[start : start + len(batch.texts)]))
            start += len(batch.texts)
        return out

    def _flush(
        self,
        batch: Batch,
        vectors: list[list[float]],
        bar: Any,
        on_article: Callable[[int, int], None] | None,
        done: int,
    ) -> int:
        if self.keep_alive:
            self.keep_alive()
        self._write_batch(batch, vectors)
        bar.update(len(batch.articles))
        if on_article:
            on_article(done + len(batch.articles), 0)
        return len(batch.articles)

    def _remove(self, gone: list[Entry]) -> None:
        self.manifest.begin(Intent(e.id, e.path, "delete") for e in gone)
        self.phase("remove-intent")
        self.store.delete_articles([e.id for e in gone])
        self.phase("remove-deleted")
        self.lexical.remove([e.id for e in gone])
        self.manifest.remove([e.id for e in gone])
        self.phase("removed")

    def _write_batch(self, batch: Batch, vectors: list[list[float]]) -> None:
        ids = [a.id for a in batch.articles]
        clock = self.clock
        with clock.part("manifest"):
            self.manifest.begin(Intent(a.id, a.path, "write") for a in batch.articles)
        self.phase("intent")
        # Always clear first: the article may now have fewer chunks than before.
        with clock.part("store_delete"):
            self.store.delete_articles(ids)
        self.phase("deleted")
        with clock.part("store_upsert"):
            self.store.upsert(batch.ids, vectors, batch.docs, batch.metas)
        self.phase("upserted")
        with clock.part("lexical"):
            self.lexical.replace(ids, batch.lexical)
        self.phase("lexical-written")
        with clock.part("manifest"):
            self.manifest.put(batch.entries, batch.files)
        self.phase("committed")

    def _embed_unique(self, texts: list[str]) -> list[list[float]]:
        """Embed each distinct text once: news feeds repeat boilerplate passages verbatim."""
        position: dict[str, int] = {}
        unique: list[str] = []
        for text in texts:
            if text not in position:
                position[text] = len(unique)
                unique.append(text)
        vectors = self.embedder().embed_documents(unique)
        return [vectors[position[t]] for t in texts]

    def rebuild_lexical(self) -> None:
        """Rebuild BM25 from what the store holds, so it matches the vectors again."""
        self.lexical.rebuild(docs_from_chunks(self.store.iter_all()))
        self.manifest.set_meta("lexical_stale", "0")
