"""Split articles into sentence-aware, overlapping chunks that remember where they came from."""

from __future__ import annotations

from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from rag.articles import Article

# Paragraphs first, then sentence ends, then clauses: a chunk rarely stops mid-sentence.
_SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]


@dataclass(frozen=True)
class Chunk:
    """A passage of one article; ``article.text[start:end] == text``."""

    id: str
    article_id: str
    index: int
    text: str
    start: int
    end: int


def chunk_id(article_id: str, index: int) -> str:
    """Deterministic, so re-ingesting an article overwrites its chunks instead of adding more."""
    return f"{article_id}:{index}"


class Chunker:
    """Sentence-aware splitter with overlap and exact character offsets into the article."""

    def __init__(
        self, chunk_size: int = 800, chunk_overlap: int = 120, embed_title: bool = True
    ) -> None:
        self.embed_title = embed_title
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=chunk_size,
            chunk_overlap=min(chunk_overlap, chunk_size // 2),
            separators=_SEPARATORS,
            keep_separator="end",
            strip_whitespace=True,
        )

    def split(self, article: Article) -> list[Chunk]:
        """Chunks in reading order, each located in the article text by its offsets."""
        chunks: list[Chunk] = []
        cursor = 0
        for piece in self._splitter.split_text(article.text):
            start = article.text.find(piece, cursor)
            if start < 0:  # cannot happen with strip-only splitting; fail loudly if it ever does
                raise AssertionError(f"chunk not found in article {article.id}")
            end = start + len(piece)
            chunks.append(
                Chunk(chunk_id(article.id, len(chunks)), article.id, len(chunks), piece, start, end)
            )
            cursor = start + 1
        return chunks

    def embedding_text(self, article: Article, chunk: Chunk) -> str:
        """What gets embedded for ``chunk``: see :func:`embedding_text`."""
        return embedding_text(article, chunk, self.embed_title)


def embedding_text(article: Article, chunk: Chunk, title: bool = True) -> str:
    """What gets embedded: the title (unless ``title`` is False) gives every passage its
    context (docs/decisions/0102-ingest-pipeline-and-token-batches.md)."""
    return f"{article.title}\n{chunk.text}" if title and article.title else chunk.text
