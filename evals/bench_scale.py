"""Scale benchmark: ingest, incremental changes and hybrid retrieval as the archive grows.

``python -m evals.bench_scale [--sizes 10000,100000] [--queries 50] [--out DIR]``

For each size, a synthetic news-like corpus (outlets, dates over three years, a Zipf-shaped
vocabulary with names and figures, about 4 chunks an article) is written as JSONL files and
ingested into a fresh embedded index with the hash test embedder, so the numbers isolate
everything but the embedding model. Measured, on one index per size: first ingest (seconds
per 1,000 chunks), an unchanged re-ingest, adding 10 articles, removing 10 (``--prune``), and
in a fresh serving process: hybrid retrieval p50/p95 (plain search, and the news retriever
with planning and re-ranking), the lexical side alone, and that process's peak RSS; plus the
index's size on disk. Prints a table and writes JSON. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
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
from evals.results import DEFAULT_OUT, git_commit

OUTLETS = [
    f"{name} {kind}"
    for name in ("Metro", "Harbor", "Capital", "Valley", "Northern")
    for kind in ("Times", "Herald", "Wire", "Post")
]
CHUNKS_PER_ARTICLE = 5  # about: bodies of ~3,800 characters with 800-character chunks
FILE_ARTICLES = 1000


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


def bench_size(chunks: int, workdir: Path, queries: int) -> dict[str, Any]:
    """Every measurement for one corpus size."""
    from rag.app import Byline

    maker = CorpusMaker()
    corpus = workdir / "corpus"
    _, make_seconds = _timed(lambda: maker.write(corpus, max(1, chunks // CHUNKS_PER_ARTICLE)))
    index = workdir / "index"
    byline = Byline.open(index, embed_model="hash")
    first, first_s = _timed(lambda: byline.ingest([corpus], progress=False))
    again, again_s = _timed(lambda: byline.ingest([corpus], progress=False))
    extra = workdir / "extra"
    maker.write(extra, 10, prefix="extra")
    added, add_s = _timed(lambda: byline.ingest([corpus, extra], progress=False))
    for f in extra.iterdir():
        f.unlink()
    removed, remove_s = _timed(lambda: byline.ingest([corpus, extra], prune=True, progress=False))
    ingest_rss = peak_rss_mb()
    segments = len(json.loads((index / "lexical.json").read_text())["segments"])
    byline.close()
    lexical = lexical_only(index, maker)
    serving = serve_in_subprocess(index, maker.queries(queries))
    return {
        "target_chunks": chunks,
        "articles": first.articles,
        "chunks": first.chunks,
        "corpus_write_seconds": round(make_seconds, 2),
        "first_ingest_seconds": round(first_s, 2),
        "seconds_per_1000_chunks": round(first_s / first.chunks * 1000, 3),
        "unchanged_reingest_seconds": round(again_s, 2),
        "unchanged_reingest_share": round(again_s / first_s, 4),
        "unchanged": again.unchanged,
        "add_10_seconds": round(add_s, 2),
        "added": added.added,
        "remove_10_seconds": round(remove_s, 2),
        "removed": removed.removed,
        "lexical_segments": segments,
        "lexical_alone": lexical,
        "ingest_process_peak_rss_mb": round(ingest_rss, 1),
        "disk_mb": {
            "total": round(disk_mb(index), 1),
            "chroma": round(disk_mb(index / "chroma"), 1),
            "lexical": round(disk_mb(index / "lexical"), 1),
        },
        "serving": serving,
    }


def serve_in_subprocess(index: Path, queries: list[str]) -> dict[str, Any]:
    """Open the index in a fresh process (a server's view) and time searches there."""
    proc = subprocess.run(
        [sys.executable, "-m", "evals.bench_scale", "--serve", str(index)],
        input=json.dumps(queries),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the serving process failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def serve(index: Path, queries: list[str]) -> dict[str, Any]:
    """Latencies (ms) of hybrid search, the news retriever and the lexical side alone."""
    from rag.app import Byline

    byline = Byline.open(index, embed_model="hash")
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
    out["peak_rss_mb"] = round(own_peak_rss_mb(), 1)
    return out


def own_peak_rss_mb() -> float:
    """This process's peak RSS since it started. Linux carries ``ru_maxrss`` over from the
    parent across exec, so a child reads its own high-water mark from /proc instead."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mb()


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


def rows_of(results: list[dict[str, Any]]) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for r in results:
        s = r["serving"]
        rows += [
            (f"{r['chunks']:,} chunks ({r['articles']:,} articles)", ""),
            ("  first ingest s / 1,000 chunks", f"{r['seconds_per_1000_chunks']:.2f}"),
            (
                "  unchanged re-ingest s (share)",
                f"{r['unchanged_reingest_seconds']:.1f} ({r['unchanged_reingest_share']:.3f})",
            ),
            ("  add 10 articles s", f"{r['add_10_seconds']:.2f}"),
            ("  remove 10 articles s", f"{r['remove_10_seconds']:.2f}"),
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
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.bench_scale", description=__doc__)
    p.add_argument("--sizes", default="10000,100000", help="Corpus sizes in chunks.")
    p.add_argument("--queries", type=int, default=50, help="Timed queries per size.")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Folder for the JSON result.")
    p.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # the serving subprocess
    args = p.parse_args(list(argv) if argv is not None else None)
    if args.serve is not None:
        print(json.dumps(serve(args.serve, json.loads(sys.stdin.read()))))
        return 0
    results = []
    for size in [int(s) for s in args.sizes.split(",") if s]:
        with tempfile.TemporaryDirectory(prefix="byline-scale-") as tmp:
            result = bench_size(size, Path(tmp), args.queries)
        print(json.dumps(result), file=sys.stderr, flush=True)
        results.append(result)
    doc = {"kind": "bench-scale", "git_commit": git_commit(), "embedder": "hash", "sizes": results}
    print_table("Scale benchmark (synthetic news, hash embedder)", rows_of(results))
    print(f"wrote {write_json(doc, args.out, 'bench-scale')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
