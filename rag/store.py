"""The vector store: a Chroma collection in cosine space, embedded on disk or on a server.

Every call is guarded: a server that stops answering becomes one ``ServiceError`` naming its
URL, and vectors of the wrong dimension one ``ConfigError``, instead of a client traceback.
On a server, each write also bumps a version stamp in the collection's metadata, so every
process can tell that its local caches (manifest, lexical index) are behind.
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

from rag.errors import ConfigError, RagError, ServiceError

CHROMA_DIR = "chroma"
_PAGE = 2000
VERSION_KEY = "byline_version"

F = TypeVar("F", bound=Callable[..., Any])


def _guarded(fn: F) -> F:
    """Translate a store call's low-level failure into Byline's error (generators too)."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(self: ChunkStore, *args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(self, *args, **kwargs)
            except RagError:
                raise
            except Exception as exc:
                raise self.translate(exc) from None

        return gen_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(self: ChunkStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except RagError:
            raise
        except Exception as exc:
            raise self.translate(exc) from None

    return wrapper  # type: ignore[return-value]


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as Chroma returns it: text, metadata and (for queries) cosine similarity."""

    id: str
    text: str
    metadata: dict[str, Any]
    similarity: float | None = None


def where_clause(
    sources: Sequence[str] | None = None,
    since_ts: int | None = None,
    until_ts: int | None = None,
    article_ids: Sequence[str] | None = None,
) -> dict[str, Any] | None:
    """Chroma's ``where`` for publisher, date-range and article filters (None when unfiltered)."""
    parts: list[dict[str, Any]] = []
    if sources:
        parts.append({"source": {"$in": list(sources)}})
    if since_ts is not None:
        parts.append({"published_ts": {"$gte": int(since_ts)}})
    if until_ts is not None:
        parts.append({"published_ts": {"$lte": int(until_ts)}})
    if article_ids:
        parts.append({"article_id": {"$in": list(article_ids)}})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


class ChunkStore:
    """Owns the Chroma client and collection; embeddings are always passed in, never computed."""

    def __init__(
        self, index_dir: Path, collection: str, hnsw_ef: int = 300, url: str | None = None
    ) -> None:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        settings = ChromaSettings(anonymized_telemetry=False)
        self.url = url
        self.name = collection
        if url:
            parsed = urlparse(url if "://" in url else f"http://{url}")
            try:
                self.client = chromadb.HttpClient(
                    host=parsed.hostname or "127.0.0.1",
                    port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                    ssl=parsed.scheme == "https",
                    settings=settings,
                )
                self.client.heartbeat()
            except Exception as exc:
                raise self.unreachable(exc) from None
        else:
            self.client = chromadb.PersistentClient(
                path=str(index_dir / CHROMA_DIR), settings=settings
            )
        self._open(hnsw_ef)

    @_guarded
    def _open(self, hnsw_ef: int) -> None:
        self.collection = self.client.get_or_create_collection(
            self.name,
            embedding_function=None,
            configuration={
                "hnsw": {"space": "cosine", "ef_search": hnsw_ef, "ef_construction": 200}
            },
        )
        current = (self.collection.configuration or {}).get("hnsw") or {}
        if current.get("ef_search") not in (None, hnsw_ef):
            self.collection.modify(configuration={"hnsw": {"ef_search": hnsw_ef}})

    def unreachable(self, exc: BaseException) -> ServiceError:
        return ServiceError(
            f"cannot reach the Chroma server at {self.url} ({exc.__class__.__name__}): check "
            "that `chroma run` is up and the URL is right; an interrupted ingest picks up where "
            "it stopped when run again"
        )

    def translate(self, exc: BaseException) -> Exception:
        """The Byline error a failed store call means (the original when it means nothing)."""
        text = str(exc)
        found = re.search(r"dimension of (\d+), got (\d+)", text)
        if found:
            where = f" on {self.url}" if self.url else ""
            return ConfigError(
                f"the collection {self.name!r}{where} holds vectors of dimension "
                f"{found.group(1)}, but this embedder makes {found.group(2)}: set embed_model to "
                "the one the collection was built with, or use another collection"
            )
        httpx = sys.modules.get("httpx")
        transport = httpx is not None and isinstance(exc, httpx.TransportError)
        if self.url and (transport or isinstance(exc, ConnectionError | TimeoutError)):
            return self.unreachable(exc)
        if self.url and "could not connect" in text.lower():
            return self.unreachable(exc)
        return exc if isinstance(exc, Exception) else RuntimeError(text)

    # -- the version stamp (server mode) ----------------------------------------------------
    @_guarded
    def metadata(self) -> dict[str, Any]:
        """The collection's metadata as the server has it now (not a cached copy)."""
        return dict(self.client.get_collection(self.name).metadata or {})

    @_guarded
    def set_metadata(self, updates: dict[str, Any]) -> None:
        """Change some keys of the collection's metadata, keeping the others."""
        merged = {**self.metadata(), **updates}
        self.client.get_collection(self.name).modify(metadata=merged)

    def version(self) -> int:
        """How many writes the collection has seen (0 when embedded: one process owns it)."""
        if not self.url:
            return 0
        return int(self.metadata().get(VERSION_KEY, 0) or 0)

    def _bump(self) -> None:
        if self.url:
            self.set_metadata({VERSION_KEY: self.version() + 1})

    @_guarded
    def count(self) -> int:
        return self.collection.count()

    @_guarded
    def upsert(
        self,
        ids: list[str],
        embeddings: list[list[float]],
        documents: list[str],
        metadatas: list[dict[str, Any]],
    ) -> None:
        # Bumped before and after: a reader that looks between the two rebuilds again later.
        self._bump()
        for i in range(0, len(ids), _PAGE):
            sl = slice(i, i + _PAGE)
            self.collection.upsert(
                ids=ids[sl],
                embeddings=embeddings[sl],
                documents=documents[sl],
                metadatas=metadatas[sl],
            )
        self._bump()

    @_guarded
    def delete_articles(self, article_ids: Sequence[str]) -> None:
        ids = list(article_ids)
        if not ids:
            return
        self._bump()
        for i in range(0, len(ids), 500):
            self.collection.delete(where={"article_id": {"$in": ids[i : i + 500]}})
        self._bump()

    @_guarded
    def article_texts(self, article_ids: Sequence[str]) -> dict[str, str]:
        """The whole stored text of each article (its chunks joined), by article id."""
        ids = list(dict.fromkeys(article_ids))
        if not ids:
            return {}
        page = self.collection.get(
            where={"article_id": {"$in": ids}}, include=["documents", "metadatas"]
        )
        parts: dict[str, list[str]] = {}
        for doc, meta in zip(page["documents"], page["metadatas"], strict=True):
            parts.setdefault(str((meta or {}).get("article_id")), []).append(doc or "")
        return {a: "\n".join(parts[a]) for a in ids if a in parts}

    @_guarded
    def iter_all(self) -> Iterator[StoredChunk]:
        """Every chunk with its text and metadata, page by page."""
        offset = 0
        while True:
            page = self.collection.get(
                include=["documents", "metadatas"], limit=_PAGE, offset=offset
            )
            if not page["ids"]:
                return
            for cid, doc, meta in zip(
                page["ids"], page["documents"], page["metadatas"], strict=True
            ):
                yield StoredChunk(cid, doc or "", dict(meta or {}))
            offset += len(page["ids"])

    @_guarded
    def iter_metadata(self) -> Iterator[StoredChunk]:
        """Every chunk's id and metadata (no text), page by page."""
        offset = 0
        while True:
            page = self.collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
            if not page["ids"]:
                return
            for cid, meta in zip(page["ids"], page["metadatas"], strict=True):
                yield StoredChunk(cid, "", dict(meta or {}))
            offset += len(page["ids"])

    @_guarded
    def chunk_ids_by_article(self) -> dict[str, list[str]]:
        """Every chunk id, grouped by its article id (metadata only, page by page)."""
        found: dict[str, list[str]] = {}
        offset = 0
        while True:
            page = self.collection.get(include=["metadatas"], limit=_PAGE, offset=offset)
            if not page["ids"]:
                return found
            for cid, meta in zip(page["ids"], page["metadatas"], strict=True):
                found.setdefault(str((meta or {}).get("article_id", "")), []).append(cid)
            offset += len(page["ids"])

    @_guarded
    def get(self, ids: Sequence[str], with_embeddings: bool = False) -> list[StoredChunk]:
        """Chunks by id, in the order asked; missing ids are left out."""
        if not ids:
            return []
        include = ["documents", "metadatas"] + (["embeddings"] if with_embeddings else [])
        page = self.collection.get(ids=list(ids), include=include)
        found: dict[str, StoredChunk] = {}
        embs = page.get("embeddings") if with_embeddings else None
        for n, cid in enumerate(page["ids"]):
            meta = dict(page["metadatas"][n] or {})
            if embs is not None:
                meta["_embedding"] = list(embs[n])
            found[cid] = StoredChunk(cid, page["documents"][n] or "", meta)
        return [found[i] for i in ids if i in found]

    @_guarded
    def query(
        self, embedding: list[float], k: int, where: dict[str, Any] | None = None
    ) -> list[StoredChunk]:
        """Nearest chunks by cosine similarity (1 - cosine distance)."""
        n = self.count()
        if n == 0:
            return []
        res = self.collection.query(
            query_embeddings=[embedding],
            n_results=min(k, n),
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            StoredChunk(cid, doc or "", dict(meta or {}), 1.0 - float(dist))
            for cid, doc, meta, dist in zip(
                res["ids"][0],
                res["documents"][0],
                res["metadatas"][0],
                res["distances"][0],
                strict=True,
            )
        ]
