"""Embedding backends: int8 export made once and verified, the index's record of its vectors,
and the device choice."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import rag.embeddings as embeddings
import rag.onnx_export as onnx_export
from rag import Byline
from rag.config import Settings
from rag.embeddings import embed_identity, make_embedder, resolve_device
from rag.errors import ConfigError, ModelError
from rag.testing import HashEmbeddings
from tests.helpers import write_articles

TEXTS = [
    "The central bank raised interest rates by half a point to fight inflation.",
    "The striker scored twice as the home side won the cup final.",
    "OpenAI signed a cloud capacity deal with Oracle worth billions of dollars.",
]


def test_int8_vectors_have_their_own_identity() -> None:
    assert embed_identity("all-MiniLM-L6-v2", "int8") == "all-MiniLM-L6-v2+int8"
    assert embed_identity("all-MiniLM-L6-v2", "onnx") == "all-MiniLM-L6-v2"
    assert embed_identity("all-MiniLM-L6-v2", "torch") == "all-MiniLM-L6-v2"
    assert Settings.load(embed_backend="int8").embed_identity.endswith("+int8")
    with pytest.raises(ConfigError, match="embed_backend"):
        Settings.load(embed_backend="fp16")


def test_an_index_is_not_searched_with_another_backend(tmp_path: Path) -> None:
    docs = write_articles(tmp_path / "docs")
    built = Byline.open(
        tmp_path / "idx",
        embedder=HashEmbeddings(),
        embed_model="all-MiniLM-L6-v2",
        embed_backend="torch",
    )
    built.ingest([docs])
    assert built.search("Abilene", k=1)
    other = Byline.open(
        tmp_path / "idx",
        embedder=HashEmbeddings(),
        embed_model="all-MiniLM-L6-v2",
        embed_backend="int8",
    )
    with pytest.raises(ConfigError, match=r"\+int8"):
        other.search("Abilene", k=1)
    with pytest.raises(ConfigError, match=r"\+int8"):
        other.ingest([docs])


def test_auto_device_takes_a_gpu_only_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "gpu_available", lambda: True)
    assert resolve_device("auto") == "cuda"
    assert resolve_device("cpu") == "cpu"
    monkeypatch.setattr(embeddings, "gpu_available", lambda: False)
    assert resolve_device("auto") == "cpu"


def test_an_unknown_backend_is_refused() -> None:
    with pytest.raises(ModelError, match="embed_backend must be one of"):
        make_embedder("all-MiniLM-L6-v2", backend="fp16")


@pytest.mark.model
def test_int8_export_is_made_once_verified_and_close_to_fp32(tmp_path: Path, real_embedder) -> None:
    int8 = make_embedder("all-MiniLM-L6-v2", backend="int8", model_dir=tmp_path)
    (folder,) = tmp_path.iterdir()
    record = json.loads((folder / "model-int8.verified.json").read_text())
    assert record["min_cosine"] >= onnx_export.MIN_COSINE["int8"]
    stamp = (folder / "model-int8.onnx").stat().st_mtime_ns
    make_embedder("all-MiniLM-L6-v2", backend="int8", model_dir=tmp_path)
    assert (folder / "model-int8.onnx").stat().st_mtime_ns == stamp, "exported only once"

    ours = np.asarray(int8.embed_documents(TEXTS))
    reference = np.asarray(real_embedder.embed_documents(TEXTS))
    assert (ours * reference).sum(axis=1).min() >= 0.97
    query = np.asarray(int8.embed_query("interest rate rise by the central bank"))
    assert int((ours @ query).argmax()) == 0


@pytest.mark.model
def test_an_export_too_far_from_fp32_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(onnx_export.MIN_COSINE, "int8", 1.01)
    with pytest.raises(ModelError, match="too far"):
        make_embedder("all-MiniLM-L6-v2", backend="int8", model_dir=tmp_path)
    (folder,) = tmp_path.iterdir()
    assert not (folder / "model-int8.onnx").exists()
    assert not (folder / "model-int8.verified.json").exists()
