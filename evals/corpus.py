"""The corpus a run indexes: a cached index per corpus and embedder, and sampled corpora.

A sampled corpus holds only the articles the selected questions concern, so a quick run over
a large corpus (RealTime QA) builds a small index.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.datasets import EvalItem

DEFAULT_CACHE = Path(".byline-eval")


def index_key(corpus: Sequence[str | Path], settings: Any) -> str:
    """A short key for a corpus + embedding setup, naming its cached index folder."""
    parts = sorted(str(Path(p).resolve()) for p in corpus)
    parts += [
        # the embeddings' identity (model and backend): an index is never searched with others
        f"embed={getattr(settings, 'embed_identity', settings.embed_model)}",
        f"chunk={settings.chunk_size}/{settings.chunk_overlap}",
        *([] if getattr(settings, "embed_title", True) else ["untitled"]),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:10]


def sample_corpus(items: Sequence[EvalItem], corpus: Sequence[str | Path], out_dir: Path) -> Path:
    """A JSONL corpus of only the articles the selected questions concern: their gold articles
    and the articles listed as retrieved for them (RealTime QA's ``retrieved_for``).

    It makes a quick run's index small; the run is easier than over the whole corpus, because
    the other questions' articles are missing. Written once per selection, atomically."""
    ids = sorted({item.id for item in items})
    gold = {g for item in items for g in item.gold_ids}
    files = [Path(p) for p in corpus]
    for f in files:
        if not (f.is_file() and f.suffix == ".jsonl"):
            raise ValueError(
                f"a sampled corpus is read from JSONL article files with doc_id/retrieved_for "
                f"fields (the RealTime QA format); {f} is not one"
            )
    stamp = [f"{f.resolve()}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files]
    key = hashlib.sha256("\n".join([*ids, *stamp]).encode()).hexdigest()[:10]
    target = out_dir / f"corpus-{key}.jsonl"
    if target.is_file():
        return target
    wanted = set(ids)
    kept: list[str] = []
    for f in files:
        with f.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                doc_id = str(rec.get("doc_id") or rec.get("id") or "")
                if doc_id in gold or wanted & set(rec.get("retrieved_for") or []):
                    kept.append(line.rstrip("\n"))
    if not kept:
        raise ValueError("the sampled corpus is empty: no gold or retrieved-for articles found")
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text("\n".join(kept) + "\n", encoding="utf-8")
    tmp.replace(target)
    return target


def prepare_index(byline: Any, corpus: Sequence[str | Path], progress: bool | None = None) -> Any:
    """Bring the index up to date with the corpus (incremental: unchanged articles are skipped)."""
    return byline.ingest([str(p) for p in corpus], progress=progress)
