"""Scale benchmark: ingest, incremental changes and hybrid retrieval as the archive grows.

``python -m evals.bench_scale [--sizes 10000,100000] [--stores embedded,server] [--queries 50]
[--embedder hash|default] [--corpus synthetic|realtimeqa] [--budget-minutes M] [--out DIR]``

For each size, a synthetic news-like corpus (outlets, dates over three years, a Zipf-shaped
vocabulary with names and figures, about 4 chunks an article) is written as JSONL files and
ingested into a fresh index with the hash test embedder, so the numbers isolate everything
but the embedding model; once into the embedded store and once through a `chroma run` server
on loopback (``--stores``). Measured, on one index per size and store: first ingest (seconds
per 1,000 chunks, overall and stretch by stretch as the index grows), an unchanged
re-ingest, adding 10 articles (naming the whole corpus, and naming only their file),
removing 10 (``--prune``), and in a fresh serving process: hybrid retrieval p50/p95 (plain
search, and the news retriever with planning and re-ranking), the lexical side alone, and
that process's peak RSS; plus the index's size on disk and the server's peak RSS. With
``--budget-minutes`` a first ingest that runs longer stops there, and everything else is
measured on what it had indexed. With ``--workdir`` the corpus and the index of each size
are kept there, and a later run with the same folder reuses the corpus and carries on from
the index (an ingest skips what the index holds, so a first ingest that was killed resumes;
one that was complete is then a re-read). ``--embedder default`` embeds with Byline's default
embedding settings (the int8 MiniLM export) instead of the hash embedder. ``--corpus
realtimeqa`` ingests the RealTime QA articles where they lie in the shared data folder (one
size: the corpus as it is), adds and removes 10 synthetic articles in its stead, and times
the RealTime QA dev questions. Prints a table and writes JSON and, beside it, a plot of
ingest seconds per 1,000 chunks against the index's size. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from evals.bench_ingest import peak_rss_mb, print_table, write_json
from evals.chroma_server import ChromaServer, chroma_server, vm_hwm_mb
from evals.datasets import SUITES, load_items
from evals.results import DEFAULT_OUT, git_commit
from evals.scale_plot import plot_ingest

OUTLETS = [
    f"{name} {kind}"
    for name in ("Metro", "Harbor", "Capital", "Valley", "Northern")
    for kind in ("Times", "Herald", "Wire", "Post")
]
CHUNKS_PER_ARTICLE = 5  # about: bodies of ~3,800 characters with 800-character chunks
FILE_ARTICLES = 1000
EMBEDDERS = ("hash", "default")
CORPORA = ("synthetic", "realtimeqa")


def embed_overrides(embedder: str) -> dict[str, str]:
    """Settings for ``embedder``: the hash test embedder, or none (Byline's defaults)."""
    return {"embed_model": "hash"} if embedder == "hash" else {}


def realtimeqa_files(shared_data: Path | None = None) -> list[Path]:
    """The RealTime QA article files, read where they lie (never copied)."""
    return SUITES["realtimeqa"].corpus_paths(shared_data)


def realtimeqa_queries(count: int, shared_data: Path | None = None) -> list[str]:
    """``count`` RealTime QA dev questions, repeated in turn when more are asked for."""
    questions = [i.question for i in load_items(SUITES["realtimeqa"].dataset_path(shared_data))]
    return [questions[n % len(questions)] for n in range(count)]


class CorpusMaker:
    """Deterministic news-like articles: a Zipf vocabulary of made-up words, plus names,
    figures and dates, so BM25 postings have the long tail real news has."""

    def __init__(self, seed: int = 7, vocabulary: int = 40_000) -> None:
        self.rng = random.Random(seed)
        syllables = "ka lo mer tan vi sul dra pen or ist bel qu ro fen ga tis mo ul ne sar".split()
        words: set[str] = set()
        while len(words) < vocabulary:
            words.add("".join(self.rng.choice(syllables) for _ in range(self.rng.randint(2, 4))))
        self.words = sorted(words)
        self.rng.shuffle(self.words)
        self.cum_weights = list(accumulate(1 / (rank + 1) for rank in range(len(self.words))))
        self.names = [w.capitalize() for w in self.words[5000:7000]]
        self.start = datetime(2022, 1, 1, tzinfo=UTC)

    def sentence(self) -> str:
        n = self.rng.randint(8, 22)
        words = self.rng.choices(self.words, cum_weights=self.cum_weights, k=n)
        words[0] = self.rng.choice(self.names)
        if self.rng.random() < 0.4:
            words.insert(self.rng.randint(1, n - 1), f"{self.rng.randint(2, 999)}")
        return " ".join(words).capitalize() + "."

    def article(self, n: int, prefix: str = "a") -> dict[str, Any]:
        paragraphs = [
            " ".join(self.sentence() for _ in range(self.rng.randint(3, 5))) for _ in range(4)
        ]
        day = self.start + timedelta(minutes=self.rng.randint(0, 3 * 365 * 24 * 60))
        return {
            "id": f"{prefix}{n:07d}",
            "title": " ".join(self.sentence().split()[:8]),
            "source": self.rng.choice(OUTLETS),
            "url": f"https://news.example/{prefix}/{n}",
            "published_at": day.isoformat(),
            "body": "\n\n".join(paragraphs),
        }

    def write(self, folder: Path, articles: int, prefix: str = "a") -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        files = []
        for start in range(0, articles, FILE_ARTICLES):
            path = folder / f"{prefix}-{start // FILE_ARTICLES:05d}.jsonl"
            with path.open("w", encoding="utf-8") as fh:
                for n in range(start, min(articles, start + FILE_ARTICLES)):
                    fh.write(json.dumps(self.article(n, prefix)) + "\n")
            files.append(path)
        return files

    def queries(self, count: int) -> list[str]:
        return [" ".join(self.sentence().split()[:6]) for _ in range(count)]


def _timed(fn: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


class OutOfTime(Exception):
    """Raised from the progress callback to stop a first ingest that ran past its budget."""


class Progress:
    """Samples (chunks indexed, seconds) during a first ingest, and stops it past a budget.

    Called after each committed batch; counts chunks from the manifest at most every
    ``every`` seconds, so the sampling costs the ingest almost nothing."""

    def __init__(self, byline: Any, budget: float | None, every: float = 10.0) -> None:
        self.byline = byline
        self.budget = budget
        self.every = every
        self.started = time.perf_counter()
        self.last = self.started
        self.samples: list[tuple[int, float]] = [(0, 0.0)]
        self.articles = 0

    def __call__(self, articles: int, _total: int) -> None:
        self.articles = articles
        now = time.perf_counter()
        if now - self.last >= self.every:
            self.last = now
            self.samples.append((self.byline.manifest.counts()[1], now - self.started))
        if self.budget is not None and now - self.started > self.budget:
            raise OutOfTime

    def curve(self) -> list[dict[str, float]]:
        """Seconds per 1,000 chunks over each sampled stretch, against the index's size."""
        out = []
        for (c0, t0), (c1, t1) in itertools.pairwise(self.samples):
            if c1 > c0:
                out.append(
                    {
                        "chunks": c1,
                        "seconds_per_1000_chunks": round((t1 - t0) / (c1 - c0) * 1000, 3),
                    }
                )
        return out


def keep_first(corpus: Path, articles: int) -> None:
    """Cut the corpus files down to their first ``articles`` records (what an ingest stopped
    early holds: files and lines are read in order)."""
    left = articles
    for path in sorted(corpus.iterdir()):
        if left <= 0:
            path.unlink()
            continue
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        if len(lines) > left:
            path.write_text("".join(lines[:left]), encoding="utf-8")
        left -= min(left, len(lines))


def bench_size(
    chunks: int | None,
    workdir: Path,
    queries: int,
    server: ChromaServer | None = None,
    budget: float | None = None,
    kept: bool = False,
    embedder: str = "hash",
    real: list[Path] | None = None,
) -> dict[str, Any]:
    """Every measurement for one corpus size, on the embedded store or on ``server``. With
    ``budget`` (seconds), the first ingest stops after it and the rest is measured on what
    was indexed by then. A ``kept`` workdir's index is left holding the corpus alone. With
    ``real`` (article files), those are the corpus instead of a synthetic one of ``chunks``."""
    from rag.app import Byline

    maker = CorpusMaker()
    corpus = workdir / "corpus"
    make_seconds = 0.0
    if real is None and (not corpus.is_dir() or not any(corpus.iterdir())):  # else reused
        _, make_seconds = _timed(
            lambda: maker.write(corpus, max(1, (chunks or 0) // CHUNKS_PER_ARTICLE))
        )
    sources: list[Path] = real if real is not None else [corpus]
    index = workdir / "index"
    where = {"chroma_url": server.url, "collection": "scale"} if server else {}
    byline = Byline.open(index, **embed_overrides(embedder), **where)
    resumed_chunks = byline.manifest.counts()[1]
    progress = Progress(byline, budget)
    progress.samples = [(resumed_chunks, 0.0)]
    t0 = time.perf_counter()
    first_stages: dict[str, float] = {}
    try:
        first_stages = byline.ingest(sources, progress=False, on_progress=progress).to_dict()[
            "stages"
        ]
        stopped = False
    except OutOfTime:
        stopped = True
        keep_first(corpus, progress.articles)  # never reached with ``real``: main refuses it
    first_s = time.perf_counter() - t0
    first_articles, first_chunks = byline.manifest.counts()
    progress.samples.append((first_chunks, first_s))
    again, again_s = _timed(lambda: byline.ingest(sources, progress=False))
    extra = workdir / "extra"
    maker.write(extra, 10, prefix="extra")
    added, add_s = _timed(lambda: byline.ingest([*sources, extra], progress=False))
    for f in extra.iterdir():
        f.unlink()
    removed, remove_s = _timed(lambda: byline.ingest([*sources, extra], prune=True, progress=False))
    # A name of its own each run, so a kept index never holds these articles already.
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    newer = workdir / f"newer-{stamp}"
    maker.write(newer, 10, prefix=f"newer{stamp}-")
    named, named_s = _timed(lambda: byline.ingest([newer], progress=False))
    ingest_rss = peak_rss_mb()
    if kept:  # leave the kept index holding the corpus alone, for the next run
        for f in newer.iterdir():
            f.unlink()
        newer.rmdir()
        byline.ingest(sources, prune=True, progress=False)
    segments = len(json.loads((index / "lexical.json").read_text())["segments"])
    embed_model = byline.manifest.get_meta("embed_model")
    byline.close()
    lexical = lexical_only(index, maker)
    asked = realtimeqa_queries(queries) if real is not None else maker.queries(queries)
    serving = serve_in_subprocess(index, asked, server, embedder)
    disk = {
        "chroma": round(disk_mb(server.data if server else index / "chroma"), 1),
        "lexical": round(disk_mb(index / "lexical"), 1),
    }
    disk["total"] = round(disk_mb(index) + (disk["chroma"] if server else 0.0), 1)
    return {
        "store": "server" if server else "embedded",
        "corpus": "synthetic" if real is None else "realtimeqa",
        "embedder": embedder,
        "embed_model": embed_model,
        "target_chunks": chunks,
        "stopped_by_budget": stopped,
        "articles": first_articles,
        "chunks": first_chunks,
        "corpus_write_seconds": round(make_seconds, 2),
        "first_ingest_seconds": round(first_s, 2),
        "resumed_from_chunks": resumed_chunks,
        # None when a kept index held everything already: its "first ingest" only re-read.
        "seconds_per_1000_chunks": (
            round(first_s / (first_chunks - resumed_chunks) * 1000, 3)
            if first_chunks > resumed_chunks
            else None
        ),
        "first_ingest_stages": first_stages,
        "add_10_stages": added.stages,
        "ingest_curve": progress.curve(),
        "unchanged_reingest_seconds": round(again_s, 2),
        "unchanged_reingest_share": round(again_s / first_s, 4) if not resumed_chunks else None,
        "unchanged": again.unchanged,
        "add_10_seconds": round(add_s, 2),
        "added": added.added,
        "remove_10_seconds": round(remove_s, 2),
        "removed": removed.removed,
        "add_10_named_seconds": round(named_s, 2),
        "added_named": named.added,
        "lexical_segments": segments,
        "lexical_alone": lexical,
        "ingest_process_peak_rss_mb": round(ingest_rss, 1),
        "server_peak_rss_mb": server.peak_rss_mb() if server else None,
        "disk_mb": disk,
        "serving": serving,
    }


def serve_in_subprocess(
    index: Path, queries: list[str], server: ChromaServer | None = None, embedder: str = "hash"
) -> dict[str, Any]:
    """Open the index in a fresh process (a server's view) and time searches there."""
    command = [sys.executable, "-m", "evals.bench_scale", "--serve", str(index)]
    command += ["--embedder", embedder]
    if server:
        command += ["--url", server.url]
    proc = subprocess.run(command, input=json.dumps(queries), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the serving process failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def serve(
    index: Path, queries: list[str], url: str | None = None, embedder: str = "hash"
) -> dict[str, Any]:
    """Latencies (ms) of hybrid search, the news retriever and the lexical side alone (the
    first query, timed apart, also loads the embedding model)."""
    from rag.app import Byline

    where = {"chroma_url": url, "collection": "scale"} if url else {}
    byline = Byline.open(index, **embed_overrides(embedder), **where)
    _, open_s = _timed(lambda: (byline.search(queries[0], k=10), byline.retriever()))
    retriever = byline.retriever()
    timings: dict[str, list[float]] = {"search": [], "retriever": [], "lexical": []}
    for q in queries:
        timings["search"].append(_timed(lambda q=q: byline.search(q, k=10))[1])
        timings["retriever"].append(_timed(lambda q=q: retriever.retrieve(q, k=10))[1])
        timings["lexical"].append(_timed(lambda q=q: byline.lexical().search(q, 40))[1])
    out: dict[str, Any] = {"queries": len(queries), "first_query_seconds": round(open_s, 2)}
    for name, values in timings.items():
        ms = sorted(v * 1000 for v in values)
        out[f"{name}_p50_ms"] = round(statistics.median(ms), 1)
        out[f"{name}_p95_ms"] = round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1)
    out["peak_rss_mb"] = round(vm_hwm_mb() or peak_rss_mb(), 1)
    return out


def lexical_only(index: Path, maker: CorpusMaker) -> dict[str, float]:
    """What adding and removing 10 articles costs the lexical index alone (opening its writer
    included): the part of an incremental ingest this project's code owns besides Chroma."""
    from rag.chunking import Chunker
    from rag.lexical_segment import LexicalDoc
    from rag.lexical_writer import LexicalWriter
    from rag.loaders.common import article_from_record

    chunker = Chunker()
    docs = []
    ids = []
    for n in range(10):
        record = maker.article(n, prefix="lex")
        article = article_from_record(record, Path(f"lex-{n}.jsonl"))
        ids.append(article.id)
        docs += [
            LexicalDoc(c.id, f"{article.title}\n{c.text}", article.source, None)
            for c in chunker.split(article)
        ]
    writer, open_s = _timed(lambda: LexicalWriter(index))
    _, add_s = _timed(lambda: writer.replace(ids, docs))
    _, remove_s = _timed(lambda: writer.remove(ids))
    return {
        "open_writer_seconds": round(open_s, 3),
        "add_10_seconds": round(add_s, 3),
        "remove_10_seconds": round(remove_s, 3),
    }


def _number(value: float | None, places: int) -> str:
    """A figure, or a dash where a carried-on run has none (nothing was left to ingest)."""
    return "-" if value is None else f"{value:.{places}f}"


def rows_of(results: list[dict[str, Any]]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for r in results:
        s = r["serving"]
        cut = " (stopped by the budget)" if r.get("stopped_by_budget") else ""
        if r.get("resumed_from_chunks"):
            cut += f" (carried on from {r['resumed_from_chunks']:,} chunks)"
        rows += [
            (f"{r['store']}: {r['chunks']:,} chunks ({r['articles']:,} articles){cut}", ""),
            ("  first ingest s / 1,000 chunks", _number(r["seconds_per_1000_chunks"], 2)),
            (
                "  unchanged re-ingest s (share)",
                f"{r['unchanged_reingest_seconds']:.1f} "
                f"({_number(r['unchanged_reingest_share'], 3)})",
            ),
            ("  add 10 articles s (whole corpus named)", f"{r['add_10_seconds']:.2f}"),
            ("  remove 10 articles s (--prune)", f"{r['remove_10_seconds']:.2f}"),
            ("  add 10 articles s (their file alone)", f"{r['add_10_named_seconds']:.2f}"),
            (
                "  lexical index alone: add / remove 10 s",
                f"{r['lexical_alone']['add_10_seconds']:.3f} / "
                f"{r['lexical_alone']['remove_10_seconds']:.3f}",
            ),
            ("  hybrid search p50 / p95 ms", f"{s['search_p50_ms']} / {s['search_p95_ms']}"),
            ("  news retriever p50 / p95 ms", f"{s['retriever_p50_ms']} / {s['retriever_p95_ms']}"),
            ("  lexical alone p50 / p95 ms", f"{s['lexical_p50_ms']} / {s['lexical_p95_ms']}"),
            ("  serving peak RSS MB", f"{s['peak_rss_mb']:.0f}"),
            ("  ingest peak RSS MB", f"{r['ingest_process_peak_rss_mb']:.0f}"),
            (
                "  disk MB (chroma / lexical)",
                f"{r['disk_mb']['total']:.0f} "
                f"({r['disk_mb']['chroma']:.0f} / {r['disk_mb']['lexical']:.0f})",
            ),
            ("  lexical segments", str(r["lexical_segments"])),
        ]
        if r.get("server_peak_rss_mb") is not None:
            rows.append(("  chroma server peak RSS MB", f"{r['server_peak_rss_mb']:.0f}"))
    return rows


def run_one(
    size: int | None,
    store: str,
    queries: int,
    budget: float | None,
    keep: Path | None = None,
    embedder: str = "hash",
    real: list[Path] | None = None,
) -> dict[str, Any]:
    """One size (or the ``real`` corpus) on one store, in a temporary folder or in
    ``keep / f"{store}-{size}"`` (a fresh server for the server store, its data kept there
    too)."""
    options = {"embedder": embedder, "real": real}
    if keep is not None:
        work = keep / f"{store}-{size if real is None else 'realtimeqa'}"
        work.mkdir(parents=True, exist_ok=True)
        if store == "server":
            with chroma_server(work / "server-data") as server:
                return bench_size(size, work, queries, server, budget, kept=True, **options)
        return bench_size(size, work, queries, None, budget, kept=True, **options)
    with tempfile.TemporaryDirectory(prefix="byline-scale-") as tmp:
        work = Path(tmp)
        if store == "server":
            with chroma_server(work / "server-data") as server:
                return bench_size(size, work, queries, server, budget, **options)
        return bench_size(size, work, queries, None, budget, **options)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.bench_scale", description=__doc__)
    p.add_argument(
        "--sizes",
        default="10000,100000",
        help="Synthetic corpus sizes in chunks (ignored with --corpus realtimeqa).",
    )
    p.add_argument(
        "--stores",
        default="embedded,server",
        help="Comma-separated: embedded (PersistentClient) and/or server (`chroma run` on "
        "loopback).",
    )
    p.add_argument("--queries", type=int, default=50, help="Timed queries per size.")
    p.add_argument(
        "--embedder",
        choices=EMBEDDERS,
        default="hash",
        help="hash: the hash test embedder (everything but the model measured); default: "
        "Byline's default embedding settings (the int8 MiniLM export).",
    )
    p.add_argument(
        "--corpus",
        choices=CORPORA,
        default="synthetic",
        help="synthetic: a generated corpus of each size; realtimeqa: the RealTime QA "
        "articles in the shared data folder, as they are (adding and removing 10 synthetic "
        "articles).",
    )
    p.add_argument(
        "--budget-minutes",
        type=float,
        default=None,
        help="Stop each first ingest after this long and measure the rest on what it indexed.",
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Folder for the JSON result.")
    p.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="Keep each size's corpus and index here (default: a temporary folder); a later "
        "run reuses them.",
    )
    p.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # the serving subprocess
    p.add_argument("--url", help=argparse.SUPPRESS)  # ... and its Chroma server
    args = p.parse_args(list(argv) if argv is not None else None)
    if args.serve is not None:
        queries = json.loads(sys.stdin.read())
        print(json.dumps(serve(args.serve, queries, args.url, args.embedder)))
        return 0
    stores = [s for s in args.stores.split(",") if s]
    unknown = sorted(set(stores) - {"embedded", "server"})
    if unknown:
        p.error(f"unknown store(s) {', '.join(unknown)}: use embedded and/or server")
    budget = args.budget_minutes * 60 if args.budget_minutes else None
    real: list[Path] | None = None
    sizes: list[int | None] = [int(s) for s in args.sizes.split(",") if s]
    if args.corpus == "realtimeqa":
        if budget is not None:
            # A stopped ingest cuts the corpus files to what it held; these are not ours.
            p.error("--budget-minutes applies to the synthetic corpus only")
        real = realtimeqa_files()
        missing = [str(f) for f in real if not f.is_file()]
        if missing:
            p.error(f"no RealTime QA articles at {', '.join(missing)}")
        sizes = [None]
    results = []
    for size in sizes:
        for store in stores:
            result = run_one(size, store, args.queries, budget, args.workdir, args.embedder, real)
            print(json.dumps(result), file=sys.stderr, flush=True)
            results.append(result)
    doc = {
        "kind": "bench-scale",
        "git_commit": git_commit(),
        "embedder": args.embedder,
        "embed_model": results[0]["embed_model"] if results else None,
        "corpus": args.corpus,
        "sizes": results,
    }
    corpus = "synthetic news" if real is None else "RealTime QA"
    embedder = "hash embedder" if args.embedder == "hash" else "default embedder"
    print_table(f"Scale benchmark ({corpus}, {embedder})", rows_of(results))
    path = write_json(doc, args.out, "bench-scale")
    print(f"wrote {path} and {plot_ingest(results, path.with_suffix('.png'))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
