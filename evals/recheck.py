"""Run a finished eval run's recorded drafts through the current checks again, with no model.

    python -m evals.recheck evals/results/multihop-rag-20261201-144927 [--ids a,b] [--show]

What the model wrote stays as recorded; retrieval, evidence, the check steps and the recoveries
that need no model run with the current code on the run's own index. The question-by-question
delta it prints is what a change to those steps does, measured on drafts written before the
change. Not rechecked, and kept as recorded: questions a guard abstained on before the model
(no draft; those the guards would now let through are listed), follow-ups (their rewrite needs
the model), and drafts a recovery that needs the model wrote (a second reading or an overruled
refusal). Writes ``recheck.json`` beside the run's records.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from evals.datasets import EvalItem, load_items
from evals.scoring import score_answer
from rag.retrieval.filters import Filters


def rechecked(chain: Any, item: EvalItem, rec: dict[str, Any]) -> dict[str, Any] | None:
    """The record's answer made again from its draft, or None when it cannot be (above)."""
    if rec.get("error") or not rec.get("draft") or item.history:
        return None
    if rec.get("focused") or rec.get("overruled"):
        return None
    prep = chain.prepare(item.question, None, item.as_of, Filters(), None)
    if prep.abstain_reason:  # a guard now abstains before the model would have been asked
        out = {"abstained": True, "response": "", "abstain_reason": prep.abstain_reason}
    else:
        answer = chain.recheck(prep, rec["draft"])
        out = {
            "abstained": answer.abstained,
            "response": answer.text,
            "abstain_reason": answer.abstain_reason,
        }
    score_answer(out, item)
    return out


def reaches_model(chain: Any, item: EvalItem, rec: dict[str, Any]) -> bool:
    """Whether a question a guard abstained on before the model (no draft) would now be put
    to the model: its answer needs a new run."""
    if rec.get("error") or rec.get("draft") or item.history or not rec.get("abstained"):
        return False
    prep = chain.prepare(item.question, None, item.as_of, Filters(), None)
    return prep.abstain_reason is None


def compare(records: list[dict[str, Any]], new: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Counts before and after, over every record (those not rechecked count as recorded)."""

    def count(pick: Any) -> dict[str, int]:
        right = abstained = false_abst = 0
        for r in records:
            x = pick(r)
            right += bool(x.get("correct"))
            abstained += bool(x.get("abstained"))
            false_abst += bool(x.get("abstained")) and bool(r.get("answerable"))
        return {"correct": right, "abstained": abstained, "false_abstentions": false_abst}

    before = count(lambda r: r)
    after = count(lambda r: new.get(r["id"], r))
    changed = [
        {
            "id": r["id"],
            "correct": [bool(r.get("correct")), bool(new[r["id"]].get("correct"))],
            "abstained": [bool(r.get("abstained")), bool(new[r["id"]]["abstained"])],
            "response": new[r["id"]]["response"],
            "abstain_reason": new[r["id"]].get("abstain_reason"),
        }
        for r in records
        if r["id"] in new
        and (
            bool(r.get("correct")) != bool(new[r["id"]].get("correct"))
            or bool(r.get("abstained")) != bool(new[r["id"]]["abstained"])
        )
    ]
    moved = {c["id"] for c in changed}
    # the same verdict in other words: a quote added or dropped, a name completed
    reworded = [
        {"id": r["id"], "before": r.get("response") or "", "after": new[r["id"]]["response"]}
        for r in records
        if r["id"] in new
        and r["id"] not in moved
        and (r.get("response") or "") != new[r["id"]]["response"]
    ]
    return {
        "n": len(records),
        "rechecked": len(new),
        "before": before,
        "after": after,
        "changed": changed,
        "reworded": reworded,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evals.recheck", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("run", type=Path, help="a run folder (with result.json, records.jsonl)")
    parser.add_argument("--ids", help="only these question ids, comma-separated")
    parser.add_argument("--show", action="store_true", help="print each changed answer")
    args = parser.parse_args(argv)
    result_path, records_path = args.run / "result.json", args.run / "records.jsonl"
    if not result_path.is_file() or not records_path.is_file():
        print(f"error: {args.run} is not a finished run (result.json and records.jsonl)")
        return 2
    result = json.loads(result_path.read_text(encoding="utf-8"))
    index = Path(result["index"])
    if not index.is_dir():
        print(f"error: the run's index {index} is gone: run the suite again to rebuild it")
        return 2
    from rag import Byline

    items = {i.id: i for i in load_items(result["dataset"]["path"], result["dataset"]["format"])}
    records = [json.loads(line) for line in records_path.open(encoding="utf-8") if line.strip()]
    wanted = set(args.ids.split(",")) if args.ids else None
    chain = Byline.open(index).chain()  # one chain (retriever, lexical index) for every question
    new: dict[str, dict[str, Any]] = {}
    to_the_model: list[str] = []
    for k, rec in enumerate(records, 1):
        item = items.get(rec["id"])
        if item is None or (wanted and rec["id"] not in wanted):
            continue
        out = rechecked(chain, item, rec)
        if out is not None:
            new[rec["id"]] = out
        elif reaches_model(chain, item, rec):
            to_the_model.append(rec["id"])
        if k % 25 == 0:
            print(f"rechecked {k}/{len(records)}", file=sys.stderr)
    report = compare([r for r in records if not wanted or r["id"] in wanted], new)
    report["now_reach_the_model"] = to_the_model
    b, a = report["before"], report["after"]
    print(f"{report['rechecked']} of {report['n']} recorded drafts rechecked")
    for key in ("correct", "abstained", "false_abstentions"):
        print(f"  {key:<18} {b[key]:>4} -> {a[key]}")
    for c in report["changed"]:
        print(f"  {c['id']}: correct {c['correct'][0]} -> {c['correct'][1]}, abstained "
              f"{c['abstained'][0]} -> {c['abstained'][1]}")  # fmt: skip
        if args.show:
            print(f"      {c['abstain_reason'] or c['response'][:300]}")
    print(f"  {len(report['reworded'])} answers reworded, their verdicts unchanged")
    for c in report["reworded"] if args.show else []:
        print(f"  {c['id']}:\n      was {c['before'][:300]}\n      now {c['after'][:300]}")
    if to_the_model:
        print(f"  {len(to_the_model)} a guard abstained on now reach the model (run them "
              f"again): {', '.join(to_the_model)}")  # fmt: skip
    out_path = args.run / "recheck.json"
    out_path.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
