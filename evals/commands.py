"""``byline eval report | compare | baseline``: work on result files, never on an index.

- ``report RUN_DIR...`` prints the "latest numbers" Markdown of the runs; ``--write`` puts it,
  and the metrics reference generated from the registry, into evals/README.md.
- ``compare RUN_A RUN_B`` prints per-metric deltas and the questions that changed, paired by id.
- ``baseline RUN_DIR`` writes the run as the committed baseline the regression band uses.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from evals.band import write_baseline
from evals.compare import compare, render
from evals.datasets import PROJECT_ROOT
from evals.results import load_result
from evals.summary import latest_numbers, metrics_reference, write_blocks

EVALS_README = PROJECT_ROOT / "evals" / "README.md"
BASELINES = PROJECT_ROOT / "evals" / "baselines"
SUBCOMMANDS = ("report", "compare", "baseline")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="byline eval", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser(
        "report",
        help="Markdown of the runs' headline numbers (for evals/README.md).",
        description="Print the 'latest numbers' Markdown of the runs (a run folder holds "
        "result.json). With --write, put it and the metrics reference (generated from the "
        "metrics registry) between their markers in evals/README.md.",
    )
    r.add_argument("runs", nargs="*", type=Path, metavar="RUN_DIR", help="Run folders or files.")
    r.add_argument(
        "--write",
        nargs="?",
        type=Path,
        const=EVALS_README,
        metavar="README",
        help="Write the blocks into this file (default evals/README.md).",
    )
    c = sub.add_parser(
        "compare",
        help="Per-metric deltas and the questions that changed between two runs.",
        description="Compare run B with run A: metric deltas (better/worse by the metric's "
        "direction) and the questions paired by id that went right→wrong, wrong→right, "
        "answered→abstained or abstained→answered, or lost/found a gold article in the top 5.",
    )
    c.add_argument("run_a", type=Path, metavar="RUN_A", help="The earlier run (or a baseline).")
    c.add_argument("run_b", type=Path, metavar="RUN_B", help="The later run.")
    c.add_argument("--all", action="store_true", help="Every metric, not only the headline.")
    c.add_argument("--json", action="store_true", help="Print one JSON document.")
    b = sub.add_parser(
        "baseline",
        help="Write a run as the committed baseline of its suite.",
        description="Write the run's aggregate and slimmed per-question records to "
        "evals/baselines/<suite>.json, the baseline `byline eval --baseline` compares with.",
    )
    b.add_argument("run", type=Path, metavar="RUN_DIR", help="The run folder (or result.json).")
    b.add_argument(
        "--out", type=Path, help="Where to write (default evals/baselines/<suite>.json)."
    )
    return p


def run(argv: Sequence[str]) -> int:
    """Parse and run one subcommand; errors propagate to the caller's single handler."""
    try:
        args = build_parser().parse_args(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    if args.command == "report":
        if not args.runs and args.write is None:
            print(
                "error: name at least one RUN_DIR (or --write to refresh the metrics list)",
                file=sys.stderr,
            )
            return 2
        blocks = {"metrics": metrics_reference()}
        if args.runs:
            table = latest_numbers([load_result(p) for p in args.runs])
            blocks["latest-numbers"] = table
            print(table)
        if args.write is not None:
            changed = write_blocks(args.write, blocks)
            print(f"{'updated' if changed else 'unchanged'}: {args.write}", file=sys.stderr)
        return 0
    if args.command == "compare":
        cmp = compare(load_result(args.run_a), load_result(args.run_b), every=args.all)
        if args.json:
            print(json.dumps(cmp.to_dict(), indent=2, ensure_ascii=False, default=str))
        else:
            print(render(cmp))
        return 0
    doc = load_result(args.run)
    out = args.out or BASELINES / f"{doc.get('suite', 'run')}.json"
    try:
        source = str(args.run.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        source = str(args.run)
    write_baseline(doc, out, source)
    print(f"wrote {out} ({len(doc['items'])} questions)")
    return 0
