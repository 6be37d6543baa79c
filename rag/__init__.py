"""Byline: question answering over news articles, every claim cited to its article."""

from rag.answer import Answer, Citation, StepRecord
from rag.app import Byline
from rag.articles import Article
from rag.config import Settings
from rag.errors import RagError
from rag.events import Evidence, Quote, Retrieved, Stage, Token
from rag.ingest import IngestReport
from rag.retrieval.filters import Filters
from rag.retrieval.hits import Hit

__all__ = [
    "Answer",
    "Article",
    "Byline",
    "Citation",
    "Evidence",
    "Filters",
    "Hit",
    "IngestReport",
    "Quote",
    "RagError",
    "Retrieved",
    "Settings",
    "Stage",
    "StepRecord",
    "Token",
]
