"""Markdown generated from result files and the registry, for evals/README.md.

``latest_numbers`` tabulates runs (provenance, then their headline metrics side by side);
``metrics_reference`` lists every registered metric. ``replace_block`` writes either between
its ``<!-- NAME:start -->`` / ``<!-- NAME:end -->`` markers, so nothing there is typed by hand.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evals.registry import GROUPS, HEADLINE, METRICS, STAGE_DESCRIPTION, show


class SummaryError(ValueError):
    """A README without the markers a generated block goes between."""


def command_of(doc: dict[str, Any]) -> str:
    """The command that made a run: as recorded, else rebuilt from its options."""
    if doc.get("command"):
        return str(doc["command"])
    opts = doc.get("options") or {}
    parts = ["byline eval", f"--suite {str(doc.get('suite', '?')).removesuffix('-sample')}"]
    if opts.get("sample_corpus"):
        parts.append("--sample-corpus")
    if opts.get("retrieval_only"):
        parts.append("--retrieval-only")
    for key in ("limit", "sample"):
        if opts.get(key) is not None:
            parts.append(f"--{key} {opts[key]}")
    return " ".join(parts)


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|")


def latest_numbers(docs: Sequence[dict[str, Any]]) -> str:
    """A Markdown table of the runs, then one of their headline metrics (a column per run)."""
    heads = [f"{i}" for i in range(1, len(docs) + 1)]
    lines = [
        "| run | suite | date | commit | command | questions | chat model | prompt |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for head, doc in zip(heads, docs, strict=True):
        agg = doc.get("aggregate") or {}
        models = doc.get("models") or {}
        answer_models = ", ".join(models.get("answer_models") or []) or "— (retrieval only)"
        prompt = doc.get("prompt_hash")
        lines.append(
            "| "
            + " | ".join(
                _cell(v)
                for v in (
                    head,
                    doc.get("suite", "?"),
                    str(doc.get("date", "?"))[:10],
                    f"`{str(doc.get('git_commit', '?'))[:10]}`",
                    f"`{command_of(doc)}`",
                    agg.get("n_items", len(doc.get("items") or [])),
                    answer_models,
                    f"`{prompt}`" if isinstance(prompt, str) else "—",
                )
            )
            + " |"
        )
    rows = [
        name
        for name in HEADLINE
        if any((d.get("aggregate") or {}).get(name) is not None for d in docs)
    ]
    lines += ["", "| metric | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    for name in rows:
        values = [show(name, (d.get("aggregate") or {}).get(name)) for d in docs]
        lines.append(f"| `{name}` | " + " | ".join(values) + " |")
    return "\n".join(lines)


def metrics_reference() -> str:
    """Every registered metric by group: name, which way is better, what it measures."""
    out: list[str] = []
    for group, title in GROUPS.items():
        metrics = [m for m in METRICS.values() if m.group == group]
        if not metrics:
            continue
        out += [f"{title}:", "", "| metric | better | what it measures |", "|---|---|---|"]
        for m in metrics:
            better = {"higher": "higher", "lower": "lower", "neither": "—"}[m.better]
            out.append(f"| `{m.name}` | {better} | {_cell(m.description)} |")
        if group == "latency":
            out.append(f"| `latency_<stage>_p50/p95` | lower | {_cell(STAGE_DESCRIPTION)} |")
        out.append("")
    return "\n".join(out).rstrip()


def replace_block(text: str, name: str, content: str) -> str:
    """``text`` with the block between ``<!-- name:start -->`` and ``<!-- name:end -->``
    replaced by ``content``."""
    pattern = re.compile(
        rf"(<!-- {re.escape(name)}:start -->\n)(?:.*?\n)?(<!-- {re.escape(name)}:end -->)", re.S
    )
    if not pattern.search(text):
        raise SummaryError(
            f"no <!-- {name}:start --> ... <!-- {name}:end --> markers found: add them where "
            "the generated block should go"
        )
    return pattern.sub(lambda m: m[1] + content.strip("\n") + "\n" + m[2], text, count=1)


def write_blocks(readme: Path, blocks: dict[str, str]) -> bool:
    """Replace each named block in ``readme``; returns whether the file changed."""
    before = readme.read_text(encoding="utf-8")
    after = before
    for name, content in blocks.items():
        after = replace_block(after, name, content)
    if after != before:
        readme.write_text(after, encoding="utf-8")
    return after != before
