"""Export a local sentence-transformers model to ONNX (and int8) once, and verify it.

Everything comes from the model's own files: PyTorch traces the weights, ONNX Runtime's
dynamic quantiser turns the weights of the matrix products into int8 (per channel), and the
result is kept only if its vectors match the PyTorch model's on a fixed sample. Nothing is
fetched. See docs/decisions/0100-int8-embedder.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from filelock import FileLock

from rag.errors import ModelError

# The least cosine similarity allowed between an exported model's vector and the PyTorch
# model's, over the sample below (observed: 0.985 on 384 real news chunks for int8).
MIN_COSINE = {"int8": 0.97, "onnx": 0.9999}

# A fixed sample in the register of the corpus: names, figures, dates, short and long.
SAMPLE = [
    "Microsoft keeps a right of first refusal on new OpenAI capacity.",
    "The central bank raised its benchmark rate by 0.75 percentage points on Wednesday.",
    "Shares of the chipmaker fell 12% after it cut its forecast for the third quarter.",
    "Storm flooding closed 40 schools across three counties, officials said.",
    "Who won the election for governor?",
    "The league suspended the striker for four matches after the incident in Madrid.",
    "A spokesperson declined to comment on the talks, which began in September 2022.",
    "Regulators in Brussels opened an antitrust inquiry into the $69 billion deal. "
    "The companies said they expect approval next year and will cooperate fully. " * 3,
]


def _fingerprint(model_path: Path) -> str:
    """A hash of the weight and config files, so a changed model gets a new export."""
    digest = hashlib.sha256()
    for name in sorted(os.listdir(model_path)):
        if name.endswith((".safetensors", ".bin", "config.json", "tokenizer.json")):
            digest.update(name.encode())
            with (model_path / name).open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:12]


def export_folder(model_path: Path, cache_dir: Path) -> Path:
    """Where the exports of ``model_path`` are cached."""
    return cache_dir / f"onnx-{model_path.name}-{_fingerprint(model_path)}"


def ensure_onnx(model_path: Path, cache_dir: Path, kind: str) -> Path:
    """The verified ONNX file of ``kind`` ("onnx": fp32, "int8") for a local model folder,
    exported and checked on first use; later calls only check that it is there."""
    folder = export_folder(model_path, cache_dir)
    target = folder / ("model-int8.onnx" if kind == "int8" else "model.onnx")
    verified = target.with_suffix(".verified.json")
    if target.is_file() and verified.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder / ".export.lock")):
        if target.is_file() and verified.is_file():  # another process finished it meanwhile
            return target
        fp32 = folder / "model.onnx"
        with _quiet():
            if not fp32.is_file():
                _export_fp32(model_path, fp32)
            if kind == "int8":
                _quantize(fp32, target)
        cosines = _compare_with_torch(model_path, target)
        if float(cosines.min()) < MIN_COSINE[kind]:
            target.unlink(missing_ok=True)
            raise ModelError(
                f"the {kind} export of {model_path} gives vectors too far from the PyTorch "
                f"model's (least cosine {cosines.min():.4f}, expected >= {MIN_COSINE[kind]}): "
                "set embed_backend = 'torch'"
            )
        record = {
            "kind": kind,
            "source": str(model_path),
            "sample": len(SAMPLE),
            "min_cosine": round(float(cosines.min()), 6),
            "mean_cosine": round(float(cosines.mean()), 6),
        }
        verified.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return target


@contextmanager
def _quiet() -> Iterator[None]:
    """The tracer and the quantiser warn about things that do not apply to this model (the
    comparison with PyTorch below is the check that counts)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def _export_fp32(model_path: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(str(model_path)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(model_path))

    class Encoder(torch.nn.Module):
        """The transformer's token vectors; pooling is done outside, as sentence-transformers
        does it."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN201
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    enc = tokenizer(SAMPLE[:2], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    tmp = target.with_suffix(".tmp")
    with torch.no_grad():
        torch.onnx.export(
            Encoder(),
            tuple(enc[n] for n in names),
            str(tmp),
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
            opset_version=17,
            dynamo=False,
        )
    os.replace(tmp, target)


def _quantize(fp32: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_suffix(".tmp")
    # Per-channel int8 weights: per-tensor scales lost too much (decision record 0100).
    quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
    os.replace(tmp, target)


def _compare_with_torch(model_path: Path, onnx_file: Path) -> np.ndarray:
    """Cosine similarity, text by text, of the ONNX model's vectors and the PyTorch model's."""
    from rag.embeddings import OnnxEmbeddings, load_sentence_transformer

    reference = load_sentence_transformer(str(model_path), "cpu").encode(
        SAMPLE, normalize_embeddings=True, show_progress_bar=False
    )
    ours = np.asarray(OnnxEmbeddings.from_file(model_path, onnx_file).embed_documents(SAMPLE))
    return (ours * reference).sum(axis=1)
