"""The smoke suite's retrieval gate: the demo corpus with the real embedder, checked against
``evals/thresholds.toml`` on every test run (answer metrics need the chat model: not here)."""

from __future__ import annotations

import json

import pytest

from evals.cli import main as eval_main


@pytest.mark.model
def test_smoke_retrieval_meets_its_thresholds(tmp_path, capsys):
    out = tmp_path / "out"
    code = eval_main(
        [
            "--suite",
            "smoke",
            "--retrieval-only",
            "--check",
            "--index",
            str(tmp_path / "index"),
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    (run_dir,) = out.iterdir()
    doc = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    assert doc["gold_check"]["missing"] == []
    assert doc["aggregate"]["n_errors"] == 0
