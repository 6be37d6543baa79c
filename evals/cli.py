"""``byline eval`` (also ``python -m evals``): run a suite, write result.json + report.md.

``byline eval report | compare | baseline`` work on result files (``evals.commands``).
Exit codes: 0 done (and thresholds and the regression band met with ``--check`` /
``--baseline``), 1 a gate failed, 2 a usage, configuration or data error (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals import commands
from evals.band import check_band
from evals.checkpoint import CHECKPOINT
from evals.compare import CHANGES
from evals.corpus import DEFAULT_CACHE, index_key, prepare_index, sample_corpus
from evals.datasets import (
    FORMATS,
    SUITES,
    DatasetError,
    detect_format,
    file_sha256,
    load_items,
)
from evals.judge import Judge
from evals.report import headline_table
from evals.results import (
    DEFAULT_OUT,
    ResultError,
    git_commit,
    load_result,
    new_run_dir,
    write_outputs,
)
from evals.runner import run_suite
from evals.selection import select_items
from evals.summary import SummaryError
from evals.thresholds import THRESHOLDS, check_thresholds, load_thresholds
from rag.local_model import usable_cores


class UsageError(Exception):
    """A problem with the command line or the data it names."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="byline eval",
        description=(
            "Run an eval suite against a Byline index and write <out>/<suite>-<time>/result.json "
            "and report.md (with plots). Suites: "
            + "; ".join(f"{s.name}: {s.description}" for s in SUITES.values())
            + ". Also: byline eval report RUN_DIR... | compare RUN_A RUN_B | baseline RUN_DIR "
            "(each with --help)."
        ),
    )
    p.add_argument("--suite", choices=sorted(SUITES), help="A named suite (default smoke).")
    p.add_argument(
        "--dataset", type=Path, metavar="PATH", help="An eval set file instead of the suite's."
    )
    p.add_argument(
        "--format", choices=FORMATS, help="Format of --dataset (guessed from the file if omitted)."
    )
    p.add_argument(
        "--corpus",
        type=Path,
        metavar="PATH",
        nargs="+",
        action="extend",
        help="Corpus files or folders to index (default: the suite's corpus).",
    )
    p.add_argument(
        "--index",
        type=Path,
        metavar="DIR",
        help="Index folder to use (default: a cached one under .byline-eval/ keyed by corpus "
        "and embedding model).",
    )
    p.add_argument(
        "--llm", metavar="SPEC", help="Chat model spec, e.g. local:qwen2.5-coder-1.5b, fake:cite."
    )
    p.add_argument(
        "--limit", type=int, metavar="N", help="Only the first N questions (or N sampled)."
    )
    p.add_argument("--sample", type=int, metavar="SEED", help="Random sample with this seed.")
    p.add_argument(
        "--sample-corpus",
        action="store_true",
        help="Index only the selected questions' gold articles and the articles retrieved for "
        "them (RealTime QA corpora): a small index for quick runs, easier than the full corpus. "
        "The run is named <suite>-sample.",
    )
    p.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="Questions evaluated in parallel."
    )
    p.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, metavar="DIR", help="Where run folders go."
    )
    p.add_argument(
        "--resume",
        type=Path,
        metavar="RUN_DIR",
        help="Continue an interrupted run in this run folder: questions already answered in its "
        "records.jsonl are kept, the rest are run, and the results are written there.",
    )
    p.add_argument(
        "--retrieval-only", action="store_true", help="Skip the LLM: retrieval metrics only."
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="Compare the aggregate metrics with evals/thresholds.toml; exit 1 on a miss.",
    )
    p.add_argument(
        "--section",
        metavar="NAME",
        help="The evals/thresholds.toml section --check uses (default: the run's name), e.g. "
        "one set for a sample.",
    )
    p.add_argument(
        "--baseline",
        type=Path,
        metavar="PATH",
        help="Also gate on the regression band: compare with this baseline (e.g. "
        "evals/baselines/smoke.json) question by question; exit 1 when the run loses more "
        "questions than [band.<section>] in evals/thresholds.toml allows.",
    )
    p.add_argument("--thresholds", type=Path, default=THRESHOLDS, help=argparse.SUPPRESS)
    p.add_argument(
        "--shared-data",
        type=Path,
        metavar="PATH",
        help="Folder of the third-party eval data (default: ../shared/data beside the project).",
    )
    p.add_argument("--judge", metavar="SPEC", help="Also grade answers with this chat model.")
    p.add_argument("--no-progress", action="store_true", help="No progress bars.")
    return p


def _dataset(args: argparse.Namespace) -> tuple[str, Path, str | None, list[Path]]:
    """(name, dataset path, format, corpus paths) from the options."""
    suite = SUITES[args.suite or "smoke"] if (args.suite or not args.dataset) else None
    if args.dataset:
        name = suite.name if suite else args.dataset.stem
        path, fmt = args.dataset, args.format
    else:
        assert suite is not None
        name, path, fmt = suite.name, suite.dataset_path(args.shared_data), suite.format
    if args.corpus:
        corpus = list(args.corpus)
    elif suite is not None:
        corpus = suite.corpus_paths(args.shared_data)
    else:
        raise UsageError("--dataset without --suite needs --corpus PATH ... (what to index)")
    if suite is not None and suite.base == "shared" and not path.exists():
        where = args.shared_data or path.parents[1]
        raise UsageError(
            f"the {suite.name} data is not at {path}: pass --shared-data PATH (the folder "
            f"that holds realtimeqa/ and multihop-rag-subset/; looked in {where})"
        )
    for c in corpus:
        if not Path(c).exists():
            hint = (
                " (pass --shared-data PATH or --corpus PATH ...)"
                if suite is not None and suite.base == "shared" and not args.corpus
                else ""
            )
            raise UsageError(f"corpus path {c} does not exist{hint}")
    return name, path, fmt, corpus


def run(args: argparse.Namespace, byline: Any = None, argv: Sequence[str] = ()) -> int:
    """The eval, given parsed options; ``byline`` may be injected (already opened)."""
    from rag.app import Byline
    from rag.config import Settings

    name, path, fmt, corpus = _dataset(args)
    items = load_items(path, fmt)
    fmt = fmt or detect_format(path)
    items = select_items(items, args.limit, args.sample)
    if not items:
        raise UsageError(f"{path} holds no questions")
    progress = False if args.no_progress else None
    if args.sample_corpus:
        try:
            corpus = [sample_corpus(items, corpus, DEFAULT_CACHE)]
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        name = f"{name}-sample"

    if args.baseline:  # fail now, not after a long run, when the band cannot be checked
        section = args.section or name
        if not (load_thresholds(args.thresholds).get("band") or {}).get(section):
            raise UsageError(f"{args.thresholds} has no [band.{section}] section for --baseline")
        load_result(args.baseline)

    if byline is None:
        settings = Settings.load(llm=args.llm)
        index_dir = args.index or DEFAULT_CACHE / f"{name}-{index_key(corpus, settings)}"
        byline = Byline.open(index_dir, llm=args.llm)
    print(f"indexing {len(corpus)} corpus path(s) into {byline.index_dir} …", file=sys.stderr)
    report = prepare_index(byline, corpus, progress=progress)
    if report.failed:
        print(f"warning: {len(report.failed)} corpus file(s)/record(s) skipped", file=sys.stderr)
    print(
        f"index: {report.articles} articles, {report.chunks} chunks "
        f"({report.added} added, {report.unchanged} unchanged, {report.seconds:.1f}s)",
        file=sys.stderr,
    )

    judge = None
    if args.judge:
        model, judge_name = byline.chat_model(args.judge)
        judge = Judge(model, judge_name)
    if not args.retrieval_only and not hasattr(byline, "stream") and not hasattr(byline, "ask"):
        raise UsageError("this Byline cannot answer yet (no ask/stream): use --retrieval-only")

    if args.resume:
        run_dir = args.resume
        if not (run_dir / CHECKPOINT).is_file():
            raise UsageError(f"{run_dir} holds no {CHECKPOINT} to resume from")
        print(f"resuming {run_dir}", file=sys.stderr)
    else:
        run_dir = new_run_dir(args.out, name)
    result = run_suite(
        items,
        byline,
        retrieval_only=args.retrieval_only,
        judge=judge,
        jobs=max(1, args.jobs),
        progress=progress,
        checkpoint=run_dir / CHECKPOINT,
    )
    settings = byline.settings
    try:  # the hash of the prompts the chain would use, also for retrieval-only runs
        chain_prompt_hash = byline.chain().prompt_hash
    except Exception:
        chain_prompt_hash = None
    meta = {
        "suite": name,
        "command": " ".join(["byline eval", *argv]),
        "git_commit": git_commit(),
        "dataset": {
            "path": str(Path(path).resolve()),
            "format": fmt,
            "sha256": file_sha256(path),
            "items_in_file": len(load_items(path, fmt)),
        },
        "corpus": [str(Path(c).resolve()) for c in corpus],
        "index": str(byline.index_dir),
        "index_stats": {"articles": report.articles, "chunks": report.chunks},
        "config": settings.public_dict(),
        "usable_cores": usable_cores(),  # the embedded model's default thread counts follow it
        "prompt_hash": chain_prompt_hash,
        "models": {
            "llm": None if args.retrieval_only else settings.llm,
            "embed_model": settings.embed_model,
            "judge": args.judge,
        },
        "options": {
            "retrieval_only": bool(args.retrieval_only),
            "limit": args.limit,
            "sample": args.sample,
            "jobs": args.jobs,
            "check": bool(args.check),
            "sample_corpus": bool(args.sample_corpus),
        },
    }
    doc = write_outputs(result, run_dir, meta)
    missing = result.gold_check.get("missing") or []
    if missing:
        print(
            f"warning: {len(missing)} gold article id(s) not in the index, e.g. {missing[:3]}",
            file=sys.stderr,
        )
    print(headline_table(result.aggregate))
    if result.aggregate["n_errors"]:
        print(f"{result.aggregate['n_errors']} question(s) failed; see result.json")
    print(f"wrote {run_dir / 'result.json'} and {run_dir / 'report.md'}")

    section = args.section or name
    code = 0
    if args.check:
        code = max(code, _check(result.aggregate, args.thresholds, section))
    if args.baseline:
        code = max(code, _band(doc, args.baseline, args.thresholds, section))
    return code


def _check(aggregate: dict[str, Any], path: Path, name: str) -> int:
    """The fixed thresholds of section ``name``: 0 met, 1 failed."""
    section = load_thresholds(path).get(name)
    if not section:
        raise UsageError(f"{path} has no [{name}] section to check against")
    failures, notes = check_thresholds(aggregate, section)
    for note in notes:
        print(f"note: {note}")
    if failures:
        print(f"FAILED {len(failures)} threshold(s) of [{name}]:")
        for f in failures:
            print(f"  {f}")
        return 1
    print(f"all {len(section) - len(notes)} checked threshold(s) of [{name}] met")
    return 0


def _band(doc: dict[str, Any], baseline_path: Path, path: Path, name: str) -> int:
    """The regression band of section ``name`` against a baseline: 0 within, 1 outside."""
    band = (load_thresholds(path).get("band") or {}).get(name)
    if not band:
        raise UsageError(f"{path} has no [band.{name}] section for --baseline to use")
    failures, notes, cmp = check_band(load_result(baseline_path), doc, band)
    for key, title in CHANGES:
        rows = cmp.changes.get(key) or []
        if rows:
            print(f"{title} ({len(rows)}): " + ", ".join(r["id"] for r in rows))
    for note in notes:
        print(f"note: {note}")
    if failures:
        print(f"FAILED the regression band of [band.{name}] against {baseline_path}:")
        for f in failures:
            print(f"  {f}")
        return 1
    print(f"within the regression band of [band.{name}] against {baseline_path}")
    return 0


def main(argv: Sequence[str] | None = None, byline: Any = None) -> int:
    """Entry point of ``byline eval`` and ``python -m evals``."""
    from rag.errors import RagError

    argv = list(argv) if argv is not None else sys.argv[1:]
    if argv and argv[0] in commands.SUBCOMMANDS:
        try:
            return commands.run(argv)
        except (ResultError, SummaryError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed
        return int(exc.code or 0)
    if args.limit is not None and args.limit < 1:
        print("error: --limit must be at least 1", file=sys.stderr)
        return 2
    try:
        return run(args, byline, argv)
    except (UsageError, DatasetError, ResultError, RagError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
