"""Ingest benchmark: Byline's ingest vs the naive LangChain recipe, on the same chunks and model.

``python -m evals.bench_ingest [--limit N] [--shared-data PATH] [--no-naive] [--backends B,..]``

Indexes the RealTime QA corpus (gold + distractor articles) into a fresh temporary index once
per embedding backend (default: int8 and torch, the fp32 model in sentence-transformers) and
reports articles/s, chunks/s and seconds; then re-ingests the unchanged corpus; then builds
``langchain_chroma.Chroma.from_documents(documents, HuggingFaceEmbeddings(model_name=<the same
model folder>))`` in another temporary folder from exactly the chunks Byline made (Byline's own
loader and chunker), in the same run, and reports our chunks/s over the recipe's for each
backend. Peak RSS comes from ``resource.getrusage``. The models are loaded (and the int8 export
made) before the clocks start, so no side is charged for loading; load times are reported apart.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from evals.datasets import SUITES
from evals.results import DEFAULT_OUT, git_commit

CORPUS = SUITES["realtimeqa"]


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def corpus_files(shared_data: Path | None, limit: int | None, workdir: Path) -> list[Path]:
    """The corpus files; with ``limit``, one JSONL file of the first ``limit`` records."""
    paths = CORPUS.corpus_paths(shared_data)
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(
            f"RealTime QA corpus not found ({missing[0]}): pass --shared-data PATH"
        )
    if limit is None:
        return paths
    lines: list[str] = []
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    lines.append(line.rstrip("\n"))
                if len(lines) == limit:
                    break
        if len(lines) == limit:
            break
    subset = workdir / "subset.jsonl"
    subset.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [subset]


def bench_byline(
    files: Sequence[Path], index_dir: Path, backend: str | None = None
) -> tuple[dict[str, Any], Any]:
    """First ingest into an empty index, then an unchanged re-ingest. Returns (numbers, byline)."""
    from rag.app import Byline

    byline = Byline.open(index_dir, embed_backend=backend)
    t0 = time.perf_counter()
    _ = byline.embedder  # load the model outside the timed ingest
    load_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    first = byline.ingest([str(f) for f in files])
    first_seconds = time.perf_counter() - t0
    rss_after = peak_rss_mb()

    t0 = time.perf_counter()
    again = byline.ingest([str(f) for f in files])
    again_seconds = time.perf_counter() - t0
    return (
        {
            "embed_model": byline.settings.embed_model,
            "embed_backend": byline.settings.embed_backend,
            "model_load_seconds": round(load_seconds, 3),
            "articles": first.articles,
            "chunks": first.chunks,
            "failed": len(first.failed),
            "seconds": round(first_seconds, 3),
            "articles_per_second": round(first.articles / first_seconds, 2),
            "chunks_per_second": round(first.chunks / first_seconds, 2),
            "reingest_seconds": round(again_seconds, 3),
            "reingest_unchanged": again.unchanged,
            "reingest_ratio": round(again_seconds / first_seconds, 4),
            "peak_rss_mb_after_ingest": round(rss_after, 1),
        },
        byline,
    )


def naive_documents(files: Sequence[Path], settings: Any) -> list[Any]:
    """LangChain Documents holding exactly the text Byline embeds for each of its chunks."""
    from langchain_core.documents import Document

    from rag.chunking import Chunker
    from rag.ingest import chunk_metadata
    from rag.loaders import load_paths

    loaded = load_paths(files, int(settings.max_file_mb * 1_000_000))
    chunker = Chunker(settings.chunk_size, settings.chunk_overlap, settings.embed_title)
    docs: list[Document] = []
    for article in loaded.articles:
        for chunk in chunker.split(article):
            # The same metadata Byline stores, so both stores hold the same records.
            docs.append(
                Document(
                    page_content=chunker.embedding_text(article, chunk),
                    id=chunk.id,
                    metadata=chunk_metadata(article, chunk),
                )
            )
    return docs


def bench_naive(files: Sequence[Path], settings: Any, persist_dir: Path) -> dict[str, Any]:
    """``Chroma.from_documents`` with ``HuggingFaceEmbeddings`` on the same chunks and model."""
    try:
        from langchain_chroma import Chroma
        from langchain_huggingface import HuggingFaceEmbeddings
    except ImportError:
        from rag.errors import RagError

        raise RagError(
            "the naive LangChain recipe needs the bench extra: pip install '.[bench]' "
            "(or run with --no-naive)"
        ) from None

    from rag.embeddings import resolve_model_path

    docs = naive_documents(files, settings)
    t0 = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(
        model_name=resolve_model_path(settings.embed_model), model_kwargs={"device": "cpu"}
    )
    load_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    store = Chroma.from_documents(
        docs,
        embeddings,
        ids=[d.id for d in docs],
        collection_name="naive",
        persist_directory=str(persist_dir),
    )
    seconds = time.perf_counter() - t0
    count = store._collection.count()
    return {
        "model_load_seconds": round(load_seconds, 3),
        "chunks": len(docs),
        "stored": count,
        "seconds": round(seconds, 3),
        "chunks_per_second": round(len(docs) / seconds, 2),
        "peak_rss_mb_after": round(peak_rss_mb(), 1),
    }


def run_ingest_bench(
    shared_data: Path | None,
    limit: int | None,
    workdir: Path,
    naive: bool = True,
    backends: Sequence[str] | None = None,
) -> tuple[dict[str, Any], Any]:
    """The ingest numbers: ours with each of ``backends`` (default: the configured one) and,
    unless ``naive`` is False, the naive recipe's on the same chunks. ``byline`` holds the
    first backend's numbers; the Byline returned is the one indexed with it."""
    files = corpus_files(shared_data, limit, workdir)
    runs: dict[str, dict[str, Any]] = {}
    first = None
    for backend in backends or [None]:
        ours, byline = bench_byline(files, workdir / f"byline-index-{backend}", backend)
        print(f"byline ingest: {json.dumps(ours)}", file=sys.stderr, flush=True)
        runs[ours["embed_backend"]] = ours
        if first is None:
            first = byline
        else:
            byline.close()
    assert first is not None
    out: dict[str, Any] = {
        "corpus": [str(f) for f in files],
        "limit": limit,
        "byline": next(iter(runs.values())),
        "byline_by_backend": runs,
    }
    if naive:
        theirs = bench_naive(files, first.settings, workdir / "naive-chroma")
        out["naive"] = theirs
        out["ours_over_naive_seconds"] = round(out["byline"]["seconds"] / theirs["seconds"], 3)
        out["chunks_per_second_over_naive"] = {
            b: round(r["chunks_per_second"] / theirs["chunks_per_second"], 3)
            for b, r in runs.items()
        }
        out["same_chunks"] = all(r["chunks"] == theirs["chunks"] for r in runs.values())
    out["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return out, first


def ingest_rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    b = result["byline"]
    rows = [
        ("embedder", f"{b['embed_model']} ({b.get('embed_backend')})"),
        ("articles / chunks", f"{b['articles']} / {b['chunks']}"),
        ("ingest seconds", f"{b['seconds']:.1f}"),
        ("articles/s", f"{b['articles_per_second']:.1f}"),
        ("chunks/s", f"{b['chunks_per_second']:.1f}"),
        ("unchanged re-ingest seconds", f"{b['reingest_seconds']:.2f}"),
        ("re-ingest / first ingest", f"{b['reingest_ratio']:.3f}"),
        ("peak RSS after our ingest (MB)", f"{b['peak_rss_mb_after_ingest']:.0f}"),
    ]
    for backend, run in list(result.get("byline_by_backend", {}).items())[1:]:
        rows += [
            (f"{backend}: chunks/s", f"{run['chunks_per_second']:.1f}"),
            (f"{backend}: re-ingest / first ingest", f"{run['reingest_ratio']:.3f}"),
        ]
    if "naive" in result:
        n = result["naive"]
        rows += [
            ("naive Chroma.from_documents seconds", f"{n['seconds']:.1f}"),
            ("naive chunks/s", f"{n['chunks_per_second']:.1f}"),
            ("ours / naive (seconds)", f"{result['ours_over_naive_seconds']:.2f}"),
            *(
                (f"chunks/s {backend} / naive", f"{ratio:.2f}")
                for backend, ratio in result.get("chunks_per_second_over_naive", {}).items()
            ),
            ("same chunks both sides", str(result["same_chunks"])),
        ]
    rows.append(("peak RSS (MB)", f"{result['peak_rss_mb']:.0f}"))
    return rows


def print_table(title: str, rows: Sequence[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    print(title)
    print("-" * (width + 14))
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")


def write_json(data: dict[str, Any], out_dir: Path, name: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = out_dir / f"{name}-{stamp}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def base_parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--limit", type=int, help="Ingest only the first N articles (quick run).")
    p.add_argument(
        "--shared-data",
        type=Path,
        help="Folder of the third-party eval data (default: ../shared/data beside the project).",
    )
    p.add_argument("--no-naive", action="store_true", help="Skip the naive LangChain recipe.")
    p.add_argument(
        "--backends",
        default=None,
        help="Comma-separated embedding backends to ingest with, each into its own index "
        "(default: int8,torch for bench_ingest; the configured one for bench).",
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Folder for the JSON result.")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = base_parser(
        "python -m evals.bench_ingest", "Benchmark ingest against the naive LangChain recipe."
    )
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:
        return int(exc.code or 0)
    from rag.errors import RagError

    try:
        with tempfile.TemporaryDirectory(prefix="byline-bench-") as tmp:
            result, byline = run_ingest_bench(
                args.shared_data,
                args.limit,
                Path(tmp),
                naive=not args.no_naive,
                backends=(args.backends or "int8,torch").split(","),
            )
            byline.close()
    except (FileNotFoundError, RagError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    doc = {"kind": "bench-ingest", "git_commit": git_commit(), "ingest": result}
    print_table("Ingest benchmark (RealTime QA corpus)", ingest_rows(result))
    print(f"wrote {write_json(doc, args.out, 'bench-ingest')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
