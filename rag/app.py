"""``Byline``: one object opened on an index, the way into everything from Python."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable, RunnableConfig

from rag.answer import Answer
from rag.chain import AnswerChain
from rag.check import CheckReport, check_index, repair_index
from rag.chunking import Chunker
from rag.config import Settings
from rag.errors import ConfigError, IndexLockedError, IndexMissingError, RagError
from rag.events import Event
from rag.ingest import Ingestor, IngestReport
from rag.lexical import LexicalIndex, docs_from_chunks, is_legacy, read_pointer
from rag.lock import writer_lock
from rag.manifest import Manifest
from rag.prompting import warm_up
from rag.retrieval.filters import Filters, parse_filters
from rag.retrieval.hits import Hit
from rag.retrieval.hybrid import HybridSearcher
from rag.retrieval.rerank import CrossEncoderReranker, SignalReranker
from rag.retrieval.retriever import BylineRetriever, NewsRetriever
from rag.server import EMBED_KEY, holder_name, rebuild_manifest, write_lease
from rag.store import ChunkStore


class Byline:
    """An index of news articles that can be ingested into, searched and asked questions.

    Build it with :meth:`open` (from configuration) or directly from parts in tests.
    """

    def __init__(
        self,
        settings: Settings,
        embedder: Embeddings | None = None,
        chat_model: BaseChatModel | None = None,
    ) -> None:
        self.settings = settings
        self.index_dir = Path(settings.index_dir)
        self._embedder = embedder
        self._chat_models: dict[str, BaseChatModel] = {}
        if chat_model is not None:
            self._chat_models[settings.llm] = chat_model
        # llama.cpp contexts are not thread-safe, and two generations at once on two cores
        # only slow each other down: answers are generated one at a time per process.
        self._generation_lock = threading.Lock()
        self._reranker: SignalReranker | CrossEncoderReranker | None = None
        self._store: ChunkStore | None = None
        self._manifest: Manifest | None = None
        self._lexical: LexicalIndex | None = None
        self._holder = holder_name()

    @classmethod
    def open(cls, index_dir: str | Path | None = None, **overrides: Any) -> Byline:
        """Open (or prepare to create) the index at ``index_dir`` with config overrides."""
        embedder = overrides.pop("embedder", None)
        chat_model = overrides.pop("chat_model", None)
        settings = Settings.load(index_dir=index_dir, **overrides)
        return cls(settings, embedder=embedder, chat_model=chat_model)

    # -- parts, created on first use --------------------------------------------------------
    @property
    def embedder(self) -> Embeddings:
        if self._embedder is None:
            from rag.embeddings import make_embedder

            self._embedder = make_embedder(
                self.settings.embed_model,
                self.settings.embed_batch_size,
                self.settings.embed_backend,
                self.settings.embed_device,
                self.settings.model_dir,
            )
        return self._embedder

    @property
    def manifest(self) -> Manifest:
        if self._manifest is None:
            self.index_dir.mkdir(parents=True, exist_ok=True)
            self._manifest = Manifest(self.index_dir)
        return self._manifest

    @property
    def store(self) -> ChunkStore:
        if self._store is None:
            self._store = ChunkStore(
                self.index_dir,
                self.settings.collection,
                self.settings.hnsw_ef,
                self.settings.chroma_url,
            )
        return self._store

    def exists(self) -> bool:
        """Whether an index with at least one article is here."""
        return Manifest.exists(self.index_dir) and self.manifest.counts()[0] > 0

    def _require_index(self) -> None:
        self._refresh()
        if not self.exists():
            raise IndexMissingError(str(self.index_dir))
        built_with = self.manifest.get_meta("embed_model")
        if built_with and built_with != self.settings.embed_identity:
            raise ConfigError(
                f"the index at {self.index_dir} was built with embeddings {built_with!r}, not "
                f"{self.settings.embed_identity!r} (embed_model, and '+int8' for "
                "embed_backend='int8'): set them back or ingest into a new index"
            )

    def lexical(self) -> LexicalIndex:
        """The BM25 index, reloaded (keeping unchanged segments) whenever an ingest has
        published a new generation."""
        pointer = read_pointer(self.index_dir)
        if is_legacy(pointer):  # written before segments: the next ingest converts it
            if self._lexical is None:
                self._lexical = LexicalIndex.build(docs_from_chunks(self.store.iter_all()))
            return self._lexical
        generation = int(pointer["generation"]) if pointer else 0
        if self._lexical is None or generation != self._lexical.generation:
            self._lexical = LexicalIndex.load(self.index_dir, previous=self._lexical)
        return self._lexical

    # -- ingestion --------------------------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[str | Path] | str | Path,
        prune: bool = False,
        progress: bool | None = None,
        on_progress: Any = None,
        replace: bool = False,
        rehash: bool = False,
    ) -> IngestReport:
        """Add new, replace changed and (with ``prune``) drop vanished articles from ``paths``.

        A file that fails to load keeps its indexed articles. An id already indexed from another
        file is reported as a conflict unless ``replace`` lets the copy read now win. A file
        whose size and modification time are as recorded when it was last read is not read
        again; ``rehash`` reads every file (after upgrading Byline, or if a tool rewrites files
        keeping their size and time)."""
        if isinstance(paths, str | Path):
            paths = [paths]
        with self._writing() as ingestor:
            built_with = self.manifest.get_meta("embed_model")
            if built_with and built_with != self.settings.embed_identity and self.exists():
                self._require_index()  # raises the mismatch error
            report = ingestor.ingest(
                paths,
                prune=prune,
                progress=progress,
                on_article=on_progress,
                replace=replace,
                rehash=rehash,
            )
            if report.articles:
                self.manifest.set_meta("embed_model", self.settings.embed_identity)
                if self.settings.chroma_url:
                    self.store.set_metadata({EMBED_KEY: self.settings.embed_identity})
        return report

    @contextmanager
    def _writing(self) -> Iterator[Ingestor]:
        """The one writer: this folder's lock and, in server mode, the server's write lease,
        with the caches brought up to the server's state first and stamped with it after."""
        served = bool(self.settings.chroma_url)
        with writer_lock(self.index_dir), write_lease(self.store, self._holder) as lease:
            if served:
                self._refresh(locked=True)
            ingestor = self._ingestor()
            ingestor.keep_alive = lease.renew if served else None
            yield ingestor
            if served:
                self.manifest.set_meta("server_version", str(self.store.version()))

    def _refresh(self, locked: bool = False) -> None:
        """In server mode, rebuild this folder's manifest and lexical index from the collection
        when its version stamp has moved since they were built."""
        if not self.settings.chroma_url:
            return
        version = self.store.version()
        if self.manifest.get_meta("server_version") == str(version):
            return
        try:
            with nullcontext() if locked else writer_lock(self.index_dir):
                rebuild_manifest(self.store, self.manifest, version)
                self._ingestor().rebuild_lexical()
        except IndexLockedError:
            pass  # a writer in this folder is bringing these caches up to date itself

    def _ingestor(self) -> Ingestor:
        return Ingestor(
            self.index_dir,
            self.store,
            self.manifest,
            lambda: self.embedder,  # loaded only if something needs embedding
            Chunker(
                self.settings.chunk_size, self.settings.chunk_overlap, self.settings.embed_title
            ),
            int(self.settings.max_file_mb * 1_000_000),
            self.settings.lexical_max_segments,
        )

    def check(self, repair: bool = False) -> CheckReport:
        """Whether the store, the manifest and the lexical index agree; ``repair`` makes them
        agree (reading affected articles again from their files) and then checks again."""
        self._refresh()
        if not Manifest.exists(self.index_dir):
            raise IndexMissingError(str(self.index_dir))
        found = check_index(self.index_dir, self.store, self.manifest)
        if not repair or found.ok:
            return found
        with self._writing() as ingestor:
            done = repair_index(ingestor, found)
        after = check_index(self.index_dir, self.store, self.manifest)
        after.repaired = done
        return after

    # -- search -----------------------------------------------------------------------------
    def searcher(self) -> HybridSearcher:
        return HybridSearcher(self.store, self.embedder, self.lexical, self.settings.candidates)

    def search(
        self, query: str, k: int = 10, filters: Filters | dict[str, Any] | None = None
    ) -> list[Hit]:
        """Hybrid (dense + BM25, rank-fused) search over the indexed chunks."""
        self._require_index()
        return self.searcher().search(query, k, parse_filters(filters))

    # -- answering --------------------------------------------------------------------------
    def chat_model(self, llm: str | BaseChatModel | None = None) -> tuple[BaseChatModel, str]:
        """The chat model for a spec (default: the configured one), built once per spec."""
        if isinstance(llm, BaseChatModel):
            return llm, getattr(llm, "model_name", None) or llm._llm_type
        spec = llm or self.settings.llm
        if spec not in self._chat_models:
            from rag.llms import make_chat_model

            self._chat_models[spec] = make_chat_model(
                self.settings.model_copy(update={"llm": spec})
            )
        return self._chat_models[spec], spec

    def retriever(self) -> NewsRetriever:
        """The news retriever (planning, soft filters, re-ranking) over this index."""
        self._require_index()
        if self._reranker is None:
            path = self.settings.reranker
            self._reranker = CrossEncoderReranker(path) if path else SignalReranker()
        _, hi = self.manifest.date_span()
        latest = datetime.fromtimestamp(hi, tz=UTC).date() if hi is not None else None
        return NewsRetriever(
            self.searcher(), list(self.manifest.publishers()), self._reranker, latest=latest
        )

    def as_retriever(self, k: int | None = None, as_of: date | None = None) -> BylineRetriever:
        """A LangChain ``BaseRetriever`` over this index."""
        return BylineRetriever(retriever=self.retriever(), k=k or self.settings.top_k, as_of=as_of)

    def chain(self) -> AnswerChain:
        return AnswerChain(self.retriever(), self.embedder, self.settings)

    def stream(
        self,
        question: str,
        history: Sequence[Any] | None = None,
        as_of: date | datetime | str | None = None,
        filters: Filters | dict[str, Any] | None = None,
        llm: str | BaseChatModel | None = None,
    ) -> Iterator[Event]:
        """Yield typed events as the answer is made (``rag.events``): ``Stage``, then
        ``Retrieved`` (the sources, before any model call), ``Evidence`` (verbatim sentences
        that best answer the question), ``Token`` (the model's text as it writes), and last
        the checked :class:`Answer`. An abstention decided before generation yields
        ``Retrieved`` (the closest articles) and then the ``Answer``."""
        from rag.llms import wrap_service_errors

        if not question or not question.strip():
            raise RagError("the question is empty: ask something about the indexed articles")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise RagError(
                f"the question is {len(question):,} characters long, over the limit of "
                f"{limit:,} (max_question_chars): ask it in fewer words"
            )
        model, name = self.chat_model(llm)
        chain = self.chain()
        where = (
            self.settings.model_copy(update={"llm": name})
            if not isinstance(llm, BaseChatModel)
            else None
        )
        with wrap_service_errors(where):
            yield from chain.stream(
                question.strip(),
                model,
                name,
                history=history,
                as_of=as_of,
                filters=parse_filters(filters),
                lock=self._generation_lock,
            )

    def warm_up(self, llm: str | BaseChatModel | None = None) -> float:
        """Load the chat model and let it read the fixed start of the answer prompt, so the
        first question waits only for its own sources; returns the seconds it took. Worth it
        for the embedded model, whose prompt cache keeps that start; a hosted model would only
        be billed for it."""
        started = time.perf_counter()
        model, _ = self.chat_model(llm)
        with self._generation_lock:
            warm_up(model)
        return time.perf_counter() - started

    async def astream(
        self,
        question: str,
        history: Sequence[Any] | None = None,
        as_of: date | datetime | str | None = None,
        filters: Filters | dict[str, Any] | None = None,
        llm: str | BaseChatModel | None = None,
    ) -> AsyncIterator[Event]:
        """``stream`` for asyncio code: the same events, in the same order. The answer is made
        in a worker thread (retrieval and the embedded model block), so the event loop stays
        free while the model reads."""
        events = iter(self.stream(question, history, as_of, filters, llm))
        done = object()
        try:
            while True:
                event = await asyncio.to_thread(next, events, done)
                if event is done:
                    return
                yield event
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                await asyncio.to_thread(close)

    def ask(
        self,
        question: str,
        history: Sequence[Any] | None = None,
        as_of: date | datetime | str | None = None,
        filters: Filters | dict[str, Any] | None = None,
        llm: str | BaseChatModel | None = None,
    ) -> Answer:
        """Answer a question with cited claims, or abstain and list the closest articles."""
        final = None
        for item in self.stream(question, history, as_of, filters, llm):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final

    def as_runnable(self) -> Runnable:
        """``ask`` as a LangChain Runnable: the input is a question or a dict of ask's arguments;
        ``.invoke()`` returns the Answer, ``.stream()`` yields the events of ``stream``."""
        return AskRunnable(self)

    def stats(self) -> dict[str, Any]:
        """Articles, chunks, publishers and date span of the index."""
        self._refresh()
        if not Manifest.exists(self.index_dir):
            raise IndexMissingError(str(self.index_dir))
        articles, chunks = self.manifest.counts()
        lo, hi = self.manifest.date_span()

        def day(ts: int | None) -> str | None:
            return datetime.fromtimestamp(ts, tz=UTC).date().isoformat() if ts is not None else None

        return {
            "index": str(self.index_dir),
            "articles": articles,
            "chunks": chunks,
            "publishers": self.manifest.publishers(),
            "first_published": day(lo),
            "last_published": day(hi),
            "embed_model": self.manifest.get_meta("embed_model"),
            "chroma": self.settings.chroma_url or str(self.index_dir / "chroma"),
        }

    def close(self) -> None:
        if self._manifest is not None:
            self._manifest.close()
            self._manifest = None


def _ask_args(value: Any) -> dict[str, Any]:
    return {"question": value} if isinstance(value, str) else dict(value)


class AskRunnable(Runnable[Any, Answer]):
    """A Byline index as a Runnable, so it composes with other LangChain pieces."""

    def __init__(self, byline: Byline) -> None:
        self.byline = byline

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Answer:
        return self.byline.ask(**_ask_args(input))

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Event]:
        yield from self.byline.stream(**_ask_args(input))

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Event]:
        async for event in self.byline.astream(**_ask_args(input)):
            yield event
