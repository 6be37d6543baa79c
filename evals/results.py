"""Provenance and result files: the git commit, run folders, ``result.json`` and reading it back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals.datasets import PROJECT_ROOT
from evals.report import write_report

DEFAULT_OUT = PROJECT_ROOT / "evals" / "results"
RESULT = "result.json"


class ResultError(ValueError):
    """A result file that cannot be read; the message names the path and what to pass instead."""


def git_commit(root: Path = PROJECT_ROOT) -> str:
    """The checked-out commit, read from the repository files; "unknown" outside a repository."""
    try:
        git = root / ".git"
        if git.is_file():  # a worktree: "gitdir: <path>"
            git = (root / git.read_text().split(":", 1)[1].strip()).resolve()
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head
        ref = head.split(":", 1)[1].strip()
        common = git
        if (git / "commondir").is_file():
            common = (git / (git / "commondir").read_text().strip()).resolve()
        for base in (git, common):
            loose = base / ref
            if loose.is_file():
                return loose.read_text().strip()
        packed = common / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                if line.endswith(" " + ref):
                    return line.split(" ", 1)[0]
    except OSError:
        pass
    return "unknown"


def new_run_dir(out: Path, suite: str) -> Path:
    """A fresh ``<out>/<suite>-<YYYYmmdd-HHMMSS>`` folder (suffixed when that one exists)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run = out / f"{suite}-{stamp}"
    n = 2
    while run.exists():
        run = out / f"{suite}-{stamp}-{n}"
        n += 1
    run.mkdir(parents=True)
    return run


def result_document(result: Any, meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON result of a ``RunResult``: provenance first, then metrics, then the records."""
    models = sorted({r["model"] for r in result.records if r.get("model")})
    hashes = sorted({r["prompt_hash"] for r in result.records if r.get("prompt_hash")})
    return {
        **meta,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "models": {
            **meta.get("models", {}),
            "answer_models": models,
        },
        "prompt_hash": hashes[0] if len(hashes) == 1 else (hashes or meta.get("prompt_hash")),
        "seconds": round(result.seconds, 3),
        "gold_check": result.gold_check,
        "aggregate": result.aggregate,
        "per_type": result.per_type,
        "curves": result.curves,
        "items": result.records,
    }


def write_outputs(result: Any, run_dir: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Write result.json, the plots and report.md into ``run_dir``; returns the document."""
    doc = result_document(result, meta)
    (run_dir / RESULT).write_text(
        json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    write_report(doc, run_dir)
    return doc


def load_result(path: Path) -> dict[str, Any]:
    """A result document from a run folder (its result.json) or a result/baseline JSON file."""
    file = path / RESULT if path.is_dir() else path
    if not file.is_file():
        raise ResultError(
            f"no result at {file}: pass a run folder holding {RESULT} (written by `byline eval`) "
            "or a result or baseline JSON file"
        )
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ResultError(f"{file} is not valid JSON ({exc}); was the run interrupted?") from None
    if not isinstance(doc, dict) or "aggregate" not in doc or "items" not in doc:
        raise ResultError(f"{file} is not a Byline eval result (no aggregate and items)")
    doc.setdefault("source", str(file))
    return doc
