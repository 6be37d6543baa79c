"""``byline bench`` (also ``python -m evals.bench``): ingest, retrieval and answer latency.

1. The ingest benchmark of ``evals.bench_ingest`` (ours vs the naive LangChain recipe).
2. Retrieval latency p50/p95 on that index over RealTime QA questions: the answer chain's
   retriever (plan, soft filters, re-rank) and plain hybrid search.
3. Time to first token and full-answer time with the configured chat model (the embedded one
   by default) on a few questions; skipped with a message when that model is not available
   or with ``--no-llm``.

Prints a table and writes ``evals/results/bench-<timestamp>.json``. Nothing here asserts a time.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals import metrics as M
from evals.bench_ingest import (
    base_parser,
    ingest_rows,
    peak_rss_mb,
    print_table,
    run_ingest_bench,
    write_json,
)
from evals.datasets import SUITES, load_items
from evals.results import git_commit
from rag.local_model import usable_cores


def questions(shared_data: Path | None, n: int) -> list[Any]:
    suite = SUITES["realtimeqa"]
    return load_items(suite.dataset_path(shared_data), suite.format)[:n]


def open_index(path: Path) -> Any:
    """An existing index to time retrieval and answers on; a clear error when there is none."""
    from rag.app import Byline
    from rag.errors import IndexMissingError

    byline = Byline.open(path)
    if not byline.exists():
        raise IndexMissingError(str(path))
    return byline


def index_size(byline: Any) -> dict[str, Any]:
    stats = byline.stats()
    return {"articles": stats.get("articles"), "chunks": stats.get("chunks")}


def bench_retrieval(byline: Any, items: Sequence[Any]) -> dict[str, Any]:
    """Per-question latency of the chain's retriever and of plain search (after one warm-up)."""
    from datetime import date

    if not items:
        return {"questions": 0}
    t0 = time.perf_counter()
    byline.retriever().retrieve(items[0].question)
    cold = time.perf_counter() - t0
    retrieve, search = [], []
    for item in items:
        as_of = date.fromisoformat(item.as_of) if item.as_of else None
        t0 = time.perf_counter()
        byline.retriever().retrieve(item.question, k=byline.settings.candidates, as_of=as_of)
        retrieve.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        byline.search(item.question, k=10)
        search.append(time.perf_counter() - t0)
    return {
        "questions": len(items),
        "first_query_seconds": round(cold, 4),
        "retriever_p50": M.percentile(retrieve, 50),
        "retriever_p95": M.percentile(retrieve, 95),
        "search_p50": M.percentile(search, 50),
        "search_p95": M.percentile(search, 95),
    }


def llm_unavailable(byline: Any, spec: str | None) -> str | None:
    """Why the chat model cannot run here, or None when it loaded."""
    from rag.errors import RagError
    from rag.llms import parse_spec

    spec = spec or byline.settings.llm
    try:
        provider, _ = parse_spec(spec)
    except RagError as exc:
        return str(exc)
    if provider == "local" and importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (pip install 'byline[local]')"
    try:
        byline.chat_model(spec)
    except (RagError, ImportError) as exc:
        return str(exc)
    return None


def bench_answers(byline: Any, items: Sequence[Any], spec: str | None) -> dict[str, Any]:
    """How long a reader waits for each event of a streamed answer: the sources
    (``Retrieved``), the quoted evidence, the first token and the checked answer."""
    from rag.answer import Answer
    from rag.events import Evidence, Retrieved, Token

    waits: dict[str, list[float | None]] = {k: [] for k in EVENT_WAITS}
    generated_ttft: list[float | None] = []
    abstained = 0
    model = None
    # as the chat page does at start-up: the fixed prompt start is read once, not per question
    warm_up_seconds = byline.warm_up(spec)
    for item in items:
        started = time.perf_counter()
        seen: dict[str, float] = {}
        final = None
        for event in byline.stream(item.question, as_of=item.as_of, llm=spec):
            kind = {Retrieved: "retrieved", Evidence: "evidence", Token: "ttft"}.get(type(event))
            if isinstance(event, Answer):
                final = event
            elif kind and kind not in seen:
                seen[kind] = time.perf_counter() - started
        seen["answer"] = time.perf_counter() - started
        for k in EVENT_WAITS:
            waits[k].append(seen.get(k))
        if final is not None:
            model = final.model
            if final.abstained and "generate" not in final.timings:
                abstained += 1  # abstained before the model was asked: no generation timed
            else:
                generated_ttft.append(seen.get("ttft"))
    out: dict[str, Any] = {
        "model": model,
        "questions": len(items),
        "warm_up_seconds": round(warm_up_seconds, 3),
        "abstained_without_model": abstained,
        "ttft_generated_p50": M.percentile(generated_ttft, 50),
    }
    for k, values in waits.items():
        out[f"{k}_p50"] = M.percentile(values, 50)
        out[f"{k}_p95"] = M.percentile(values, 95)
    return out


#: The events a reader waits for, in order (``ttft`` is the first token).
EVENT_WAITS = ("retrieved", "evidence", "ttft", "answer")


def _fmt(value: Any, unit: str = "s") -> str:
    return "—" if value is None else f"{value:.3f} {unit}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = base_parser(
        "byline bench",
        "Benchmark ingest (vs the naive LangChain recipe), retrieval latency and answer latency.",
    )
    parser.add_argument("--questions", type=int, default=50, help="Retrieval-latency questions.")
    parser.add_argument("--answers", type=int, default=10, help="Questions answered by the LLM.")
    parser.add_argument("--no-llm", action="store_true", help="Skip the answer timings.")
    parser.add_argument("--llm", help="Chat model spec (default: the configured one).")
    parser.add_argument(
        "--index",
        type=Path,
        help="Time retrieval and answers on this existing index (e.g. the full RealTime QA "
        "index an eval run cached) instead of the one the ingest step just built.",
    )
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:
        return int(exc.code or 0)
    from rag.errors import RagError

    doc: dict[str, Any] = {"kind": "bench", "git_commit": git_commit()}
    try:
        with tempfile.TemporaryDirectory(prefix="byline-bench-") as tmp:
            ingest, byline = run_ingest_bench(
                args.shared_data,
                args.limit,
                Path(tmp),
                naive=not args.no_naive,
                backends=args.backends.split(",") if args.backends else None,
            )
            doc["ingest"] = ingest
            if args.index is not None:
                byline.close()
                byline = open_index(args.index)
            doc["index"] = {"path": str(args.index or "ingested above"), **index_size(byline)}
            items = questions(args.shared_data, max(args.questions, args.answers))
            doc["retrieval"] = bench_retrieval(byline, items[: args.questions])
            reason = "--no-llm" if args.no_llm else llm_unavailable(byline, args.llm)
            if reason:
                doc["answers"] = {"skipped": reason}
            else:
                doc["answers"] = bench_answers(byline, items[: args.answers], args.llm)
            doc["config"] = byline.settings.public_dict()
            doc["usable_cores"] = usable_cores()
            doc["peak_rss_mb_total"] = round(peak_rss_mb(), 1)  # with the chat model loaded
            byline.close()
    except (FileNotFoundError, RagError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    rows = ingest_rows(doc["ingest"])
    r = doc["retrieval"]
    ix = doc["index"]
    rows += [
        ("latency index (articles / chunks)", f"{ix['articles']} / {ix['chunks']}"),
        (f"retriever latency p50 / p95 ({r['questions']} q)", ""),
        ("  chain retriever", f"{_fmt(r.get('retriever_p50'))} / {_fmt(r.get('retriever_p95'))}"),
        ("  plain search", f"{_fmt(r.get('search_p50'))} / {_fmt(r.get('search_p95'))}"),
    ]
    a = doc["answers"]
    if "skipped" in a:
        rows.append(("answers", f"skipped: {a['skipped']}"))
    else:
        rows += [
            (f"answers ({a['questions']} q, {a['model']})", ""),
            ("  model warm-up (once, before the first question)", _fmt(a["warm_up_seconds"])),
            (
                "  sources shown p50 / p95",
                f"{_fmt(a['retrieved_p50'])} / {_fmt(a['retrieved_p95'])}",
            ),
            (
                "  evidence quoted p50 / p95",
                f"{_fmt(a['evidence_p50'])} / {_fmt(a['evidence_p95'])}",
            ),
            ("  time to first token p50 / p95", f"{_fmt(a['ttft_p50'])} / {_fmt(a['ttft_p95'])}"),
            ("  full answer p50 / p95", f"{_fmt(a['answer_p50'])} / {_fmt(a['answer_p95'])}"),
            ("  abstained before generation", str(a["abstained_without_model"])),
        ]
    rows.append(("peak RSS, whole run (MB)", f"{doc['peak_rss_mb_total']:.0f}"))
    print_table("Byline benchmark (RealTime QA corpus)", rows)
    print(f"wrote {write_json(doc, args.out, 'bench')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
