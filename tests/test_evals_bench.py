"""The benchmarks run end to end on a tiny stand-in corpus (no timing is asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals import bench, bench_ingest


def _records(n: int, prefix: str) -> str:
    lines = []
    for i in range(n):
        body = " ".join(
            f"Paragraph {j} of story {i}: the city council voted on the budget for parks."
            for j in range(12)
        )
        lines.append(
            json.dumps(
                {
                    "doc_id": f"{prefix}-{i}",
                    "url": f"https://news.example/{prefix}/{i}",
                    "title": f"Story {i} from {prefix}",
                    "authors": ["A. Writer"],
                    "publish_date": f"2022/06/1{i % 10}",
                    "source": "CNN",
                    "text": body,
                }
            )
        )
    return "\n".join(lines) + "\n"


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    data = tmp_path / "shared"
    rt = data / "realtimeqa"
    rt.mkdir(parents=True)
    (rt / "articles_gold.jsonl").write_text(_records(3, "gold"), encoding="utf-8")
    (rt / "articles_distractors.jsonl").write_text(_records(3, "dis"), encoding="utf-8")
    question = {
        "question_id": "q0",
        "question_date": "2022/06/17",
        "question": "What did the city council vote on this week?",
        "answer": "the budget",
        "gold_doc_ids": ["gold-0"],
    }
    (rt / "questions_dev.jsonl").write_text(json.dumps(question) + "\n", encoding="utf-8")
    return data


@pytest.fixture
def hash_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYLINE_EMBED_MODEL", "hash")


def _only_json(out: Path) -> dict:
    (path,) = out.glob("*.json")
    return json.loads(path.read_text(encoding="utf-8"))


def test_bench_ingest_limit_without_naive(shared, tmp_path, hash_model, capsys):
    out = tmp_path / "out"
    code = bench_ingest.main(
        ["--limit", "4", "--shared-data", str(shared), "--no-naive", "--out", str(out)]
    )
    assert code == 0
    assert "articles/s" in capsys.readouterr().out
    ours = _only_json(out)["ingest"]["byline"]
    assert ours["articles"] == 4 and ours["chunks"] >= 4
    assert ours["reingest_unchanged"] == 4


def test_full_bench_without_llm(shared, tmp_path, hash_model, capsys):
    out = tmp_path / "out"
    code = bench.main(["--shared-data", str(shared), "--no-naive", "--no-llm", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "skipped: --no-llm" in printed
    doc = _only_json(out)
    assert doc["retrieval"]["questions"] == 1
    assert doc["answers"] == {"skipped": "--no-llm"}
    assert doc["ingest"]["byline"]["articles"] == 6


def test_missing_corpus_is_reported(tmp_path, capsys):
    code = bench_ingest.main(["--shared-data", str(tmp_path / "none"), "--out", str(tmp_path)])
    assert code == 2
    assert "--shared-data" in capsys.readouterr().err


@pytest.mark.model
def test_naive_recipe_indexes_the_same_chunks(shared, tmp_path, capsys):
    out = tmp_path / "out"
    code = bench_ingest.main(["--limit", "2", "--shared-data", str(shared), "--out", str(out)])
    assert code == 0
    result = _only_json(out)["ingest"]
    assert result["same_chunks"] is True
    assert result["naive"]["stored"] == result["byline"]["chunks"]


def test_bench_times_latency_on_an_existing_index(shared, tmp_path, hash_model, capsys):
    from rag.app import Byline

    big = tmp_path / "big-index"
    corpus = tmp_path / "more.jsonl"
    corpus.write_text(_records(9, "more"), encoding="utf-8")
    byline = Byline.open(big)
    byline.ingest([corpus], progress=False)
    byline.close()
    out = tmp_path / "out"
    code = bench.main(
        ["--shared-data", str(shared), "--limit", "2", "--no-naive", "--no-llm"]
        + ["--index", str(big), "--out", str(out)]
    )
    assert code == 0
    doc = _only_json(out)
    assert doc["ingest"]["byline"]["articles"] == 2
    assert doc["index"]["path"] == str(big)
    assert doc["index"]["articles"] == 9
    assert "latency index (articles / chunks)  9 /" in capsys.readouterr().out


def test_bench_reports_a_missing_latency_index(shared, tmp_path, hash_model, capsys):
    code = bench.main(
        ["--shared-data", str(shared), "--limit", "2", "--no-naive", "--no-llm"]
        + ["--index", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]
    )
    assert code == 2
    assert "no index at" in capsys.readouterr().err


def test_bench_times_answers_after_one_warm_up(shared, tmp_path, hash_model, capsys):
    out = tmp_path / "out"
    code = bench.main(
        ["--shared-data", str(shared), "--limit", "3", "--no-naive", "--llm", "fake:cite"]
        + ["--answers", "1", "--questions", "1", "--out", str(out)]
    )
    assert code == 0
    answers = _only_json(out)["answers"]
    assert answers["questions"] == 1 and answers["model"] == "fake:cite"
    assert answers["warm_up_seconds"] >= 0 and answers["ttft_p50"] is not None
    assert "model warm-up" in capsys.readouterr().out
    assert _only_json(out)["peak_rss_mb_total"] > 0
