"""The vector store: a Chroma collection in cosine space, embedded on disk or on a server."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from rag.errors import ServiceError

CHROMA_DIR = "chroma"
_PAGE = 2000


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
                raise ServiceError(
                    f"cannot reach the Chroma server at {url} ({exc.__class__.__name__}): "
                    "check that `chroma run` is up and the URL is right"
                ) from None
        else:
            self.client = chromadb.PersistentClient(
                path=str(index_dir / CHROMA_DIR), settings=settings
            )
        self.collection = self.client.get_or_create_collection(
            collection,
            embedding_function=None,
            configuration={
                "hnsw": {"space": "cosine", "ef_search": hnsw_ef, "ef_construction": 200}
            },
        )
        current = (self.collection.configuration or {}).get("hnsw") or {}
        if current.get("ef_search") not in (None, hnsw_ef):
            self.collection.modify(configuration={"hnsw": {"ef_search": hnsw_ef}})

    def count(self) -> int:
        return self.collection.count()

    def upsert(
        self,
        ids: list[str],
        embeddings: list[list[float]],
        documents: list[str],
        metadatas: list[dict[str, Any]],
    ) -> None:
        for i in range(0, len(ids), _PAGE):
            sl = slice(i, i + _PAGE)
            self.collection.upsert(
                ids=ids[sl],
                embeddings=embeddings[sl],
                documents=documents[sl],
                metadatas=metadatas[sl],
            )

    def delete_articles(self, article_ids: Sequence[str]) -> None:
        ids = list(article_ids)
        for i in range(0, len(ids), 500):
            self.collection.delete(where={"article_id": {"$in": ids[i : i + 500]}})

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
