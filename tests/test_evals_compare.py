"""Comparing runs, the regression band, and the Markdown generated from result files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evals.aggregate import aggregate
from evals.band import check_band, write_baseline
from evals.cli import main as eval_main
from evals.compare import compare, outcome
from evals.registry import METRICS
from evals.results import ResultError, load_result
from evals.summary import SummaryError, latest_numbers, metrics_reference, replace_block
from evals.thresholds import THRESHOLDS, check_thresholds, load_thresholds

EVALS_README = Path(__file__).resolve().parents[1] / "evals" / "README.md"


def _rec(qid: str, state: str, answerable: bool = True, hit: float = 1.0) -> dict:
    """A finished answer record: state is right, wrong or abstained."""
    abstained = state == "abstained"
    correct = state == "right" and answerable
    crag = {"right": 1, "wrong": -1, "abstained": 0 if answerable else 1}[state]
    return {
        "id": qid,
        "type": "factoid" if answerable else "unanswerable",
        "question": f"question {qid}?",
        "answerable": answerable,
        "gold_ids": [f"g{qid}"] if answerable else [],
        "error": None,
        "ranking": [f"g{qid}"] if hit else ["other"],
        "search_ranking": [f"g{qid}"],
        "hit_at_5": hit if answerable else None,
        "reciprocal_rank": hit if answerable else None,
        "response": "The articles don't say." if abstained else f"answer {qid} [1].",
        "abstained": abstained,
        "correct": correct,
        "crag": crag,
        "token_f1": 1.0 if correct else 0.0,
        "context_ids": [f"g{qid}"],
        "cited_ids": [] if abstained else [f"g{qid}"],
        "model_cited_ids": [],
        "n_citations": 0 if abstained else 1,
        "n_attributed": 0,
        "sentences_supported": [] if abstained else [True],
        "seconds": 1.0,
        "ttft": 0.5,
        "timings": {"generate": 0.5},
    }


def _doc(records: list[dict], suite: str = "tiny") -> dict:
    return {
        "suite": suite,
        "date": "2026-12-01T10:00:00+00:00",
        "git_commit": "abc1234def",
        "options": {"retrieval_only": False, "limit": None, "sample": None},
        "models": {"answer_models": ["fake:cite"]},
        "prompt_hash": "p1",
        "aggregate": aggregate(records),
        "items": records,
    }


def _write(tmp_path: Path, name: str, doc: dict) -> Path:
    run = tmp_path / name
    run.mkdir()
    (run / "result.json").write_text(json.dumps(doc), encoding="utf-8")
    return run


@pytest.fixture
def runs() -> tuple[dict, dict]:
    a = [
        _rec("1", "right"),
        _rec("2", "wrong"),
        _rec("3", "right"),
        _rec("4", "abstained"),
        _rec("5", "abstained", answerable=False),
        _rec("6", "right"),
    ]
    b = [
        _rec("1", "wrong"),
        _rec("2", "right"),
        _rec("3", "abstained"),
        _rec("4", "right"),
        _rec("5", "wrong", answerable=False),
        _rec("7", "right", hit=0.0),
    ]
    b[0]["hit_at_5"] = 0.0
    return _doc(a), _doc(b)


def test_outcome_reads_right_wrong_and_abstained():
    assert outcome(_rec("1", "right")) == "right"
    assert outcome(_rec("1", "abstained")) == "abstained"
    assert outcome(_rec("1", "abstained", answerable=False)) == "right"  # the right reply
    assert outcome({"id": "1", "error": "boom"}) is None
    assert outcome({"id": "1", "error": None, "hit_at_5": 1.0}) is None  # retrieval only


def test_compare_pairs_questions_by_id_and_sorts_the_changes(runs):
    cmp = compare(*runs)
    assert cmp.paired == 5 and cmp.only_a == ["6"] and cmp.only_b == ["7"]
    ids = {key: [r["id"] for r in rows] for key, rows in cmp.changes.items()}
    assert ids["right_to_wrong"] == ["1", "5"]  # 5: unanswerable, abstained then answered
    assert ids["wrong_to_right"] == ["2"]
    assert ids["answered_to_abstained"] == ["3"]
    assert ids["abstained_to_answered"] == ["4"]
    assert ids["gold_lost_from_top_5"] == ["1"]
    assert cmp.right == (3, 2)  # paired questions scored right: 1, 3, 5 → 2, 4


def test_metric_deltas_follow_each_metrics_direction():
    a = _doc([_rec("1", "right"), _rec("2", "right")])
    b = _doc([_rec("1", "right"), _rec("2", "abstained")])
    deltas = {d.metric: d for d in compare(a, b).deltas}
    assert deltas["accuracy"].delta == pytest.approx(-0.5) and deltas["accuracy"].verdict == "worse"
    fa = deltas["false_abstention_rate"]
    assert fa.delta == pytest.approx(0.5) and fa.verdict == "worse"  # lower is better
    assert deltas["hit_at_5"].verdict == "same"
    assert "model_citation_recall" not in deltas  # headline only by default
    assert "model_citation_recall" in {d.metric for d in compare(a, b, every=True).deltas}


def test_compare_command_prints_the_changes_and_json(runs, tmp_path, capsys):
    run_a, run_b = _write(tmp_path, "a", runs[0]), _write(tmp_path, "b", runs[1])
    assert eval_main(["compare", str(run_a), str(run_b)]) == 0
    out = capsys.readouterr().out
    assert "right → wrong (2)" in out and "abstained → answered (1)" in out
    assert re.search(r"crag_score\s+0\.500\s+0\.167\s+-0\.333\s+worse", out)
    assert eval_main(["compare", str(run_a), str(run_b / "result.json"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in doc["changes"]["wrong_to_right"]] == ["2"]
    assert doc["paired"] == 5


def test_compare_of_a_folder_without_a_result_is_a_usage_error(tmp_path, capsys):
    assert eval_main(["compare", str(tmp_path), str(tmp_path)]) == 2
    assert "no result at" in capsys.readouterr().err
    (tmp_path / "result.json").write_text("{", encoding="utf-8")
    with pytest.raises(ResultError, match="not valid JSON"):
        load_result(tmp_path)


def test_band_fails_on_a_drop_larger_than_allowed(runs):
    baseline, current = runs
    failures, _, _ = check_band(baseline, current, {"max_drop_right": 1})
    assert failures == []  # 3 → 2 right: a drop of one
    failures, _, _ = check_band(baseline, current, {"max_drop_right": 0, "max_drop_hit_at_5": 0})
    assert failures == [
        "questions scored right: 3 in the baseline, 2 now, a drop of 1 (at most 0 allowed)",
        "questions with gold in the top 5: 4 in the baseline, 3 now, a drop of 1 "
        "(at most 0 allowed)",
    ]


def test_band_of_a_retrieval_only_run_checks_retrieval_alone(runs):
    baseline, _ = runs
    retrieval = [
        {k: v for k, v in r.items() if k in ("id", "question", "error", "hit_at_5")}
        for r in baseline["items"]
    ]
    for r in retrieval:
        r["hit_at_5"] = 0.0 if r["hit_at_5"] is not None else None
    failures, notes, _ = check_band(
        baseline,
        {"items": retrieval, "aggregate": {}},
        {"max_drop_right": 0, "max_drop_hit_at_5": 1},
    )
    assert failures and "gold in the top 5: 5 in the baseline, 0 now" in failures[0]
    assert "max_drop_right: not measured in this run" in notes


def test_a_baseline_keeps_what_the_band_and_compare_need(runs, tmp_path):
    path = write_baseline(runs[0], tmp_path / "baselines" / "tiny.json", "evals/results/x")
    base = load_result(path)
    assert base["baseline_of"] == "evals/results/x"
    assert base["aggregate"] == runs[0]["aggregate"]
    assert "timings" not in base["items"][0] and base["items"][0]["crag"] == 1
    assert compare(base, runs[0]).changes == compare(runs[0], runs[0]).changes
    assert len(path.read_text(encoding="utf-8").splitlines()) > len(base["items"])


def test_baseline_command_writes_the_suites_file(runs, tmp_path, capsys):
    run = _write(tmp_path, "run", runs[0])
    out = tmp_path / "b.json"
    assert eval_main(["baseline", str(run), "--out", str(out)]) == 0
    assert "6 questions" in capsys.readouterr().out
    assert [r["id"] for r in json.loads(out.read_text())["items"]] == ["1", "2", "3", "4", "5", "6"]


def test_latest_numbers_tabulate_runs_side_by_side(runs):
    retrieval_only = _doc(runs[0]["items"], suite="other")
    retrieval_only["aggregate"] = aggregate(runs[0]["items"], retrieval_only=True)
    retrieval_only["options"]["retrieval_only"] = True
    text = latest_numbers([runs[0], retrieval_only])
    assert "`byline eval --suite tiny`" in text
    assert "`byline eval --suite other --retrieval-only`" in text
    assert "| `accuracy` | 0.600 | — |" in text
    assert "| `hit_at_5` | 1.000 | 1.000 |" in text


def test_report_command_writes_between_the_markers(runs, tmp_path, capsys):
    run = _write(tmp_path, "run", runs[0])
    readme = tmp_path / "README.md"
    readme.write_text(
        "# x\n<!-- metrics:start -->\nSTALE\n<!-- metrics:end -->\nkept\n"
        "<!-- latest-numbers:start -->\nSTALE\n<!-- latest-numbers:end -->\n",
        encoding="utf-8",
    )
    assert eval_main(["report", str(run), "--write", str(readme)]) == 0
    text = readme.read_text(encoding="utf-8")
    assert "STALE" not in text and "kept" in text
    assert "| `crag_score` |" in text and "`abc1234def`" in text
    assert eval_main(["report"]) == 2
    with pytest.raises(SummaryError, match="markers"):
        replace_block("no markers", "metrics", "x")


def test_the_metrics_reference_in_evals_readme_is_generated_from_the_registry():
    text = EVALS_README.read_text(encoding="utf-8")
    assert replace_block(text, "metrics", metrics_reference()) == text, (
        "evals/README.md is stale: run `byline eval report --write`"
    )
    for name in METRICS:
        assert f"`{name}`" in text


def test_every_committed_threshold_names_a_registered_metric_the_right_way():
    for section, limits in load_thresholds(THRESHOLDS).items():
        if section == "band":
            assert set(limits) >= {"smoke"}
            continue
        failures, _ = check_thresholds(dict.fromkeys(METRICS), limits)
        assert failures == [], section


def test_a_minimum_on_a_lower_is_better_metric_fails():
    failures, _ = check_thresholds({"false_abstention_rate": 0.1}, {"false_abstention_rate": 0.2})
    assert failures == ["false_abstention_rate: a minimum on a lower-is-better metric"]
