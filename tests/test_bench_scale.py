"""The scale benchmark runs end to end at a tiny size (no timing is asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals import bench_scale


def test_corpus_maker_is_deterministic_and_news_like(tmp_path: Path) -> None:
    first = bench_scale.CorpusMaker().article(3)
    assert first == bench_scale.CorpusMaker().article(3)
    assert first["source"] in bench_scale.OUTLETS and first["published_at"].startswith("202")
    assert len(first["body"]) > 1500 and first["body"].count("\n\n") == 3


def _one_size(out: Path, *args: str) -> dict:
    assert bench_scale.main(["--sizes", "60", "--queries", "3", "--out", str(out), *args]) == 0
    (path,) = out.glob("bench-scale-*.json")
    assert path.with_suffix(".png").stat().st_size > 0, "the plot is written beside the JSON"
    (size,) = json.loads(path.read_text())["sizes"]
    return size


def _measured_each_step(size: dict) -> None:
    assert size["chunks"] >= 40 and size["unchanged"] == size["articles"]
    assert (size["added"], size["removed"], size["added_named"]) == (10, 10, 10)
    assert size["serving"]["queries"] == 3 and size["serving"]["search_p50_ms"] > 0
    assert size["disk_mb"]["lexical"] > 0 and size["lexical_segments"] >= 1


def test_bench_scale_measures_each_step(tmp_path: Path, capsys) -> None:
    size = _one_size(tmp_path / "out", "--stores", "embedded")
    assert "hybrid search p50 / p95 ms" in capsys.readouterr().out
    assert size["store"] == "embedded" and not size["stopped_by_budget"]
    _measured_each_step(size)


def test_a_budget_stops_the_first_ingest_and_the_rest_is_measured_on_what_it_held(
    tmp_path: Path,
) -> None:
    size = _one_size(tmp_path / "out", "--stores", "embedded", "--budget-minutes", "0.00001")
    assert size["stopped_by_budget"]
    # The ingest stops after its first committed batch; the corpus is cut to match, so the
    # unchanged re-ingest finds every article it holds and adds none.
    assert 0 < size["articles"] <= 12 and size["unchanged"] == size["articles"]
    assert (size["added"], size["removed"]) == (10, 10)


def test_keep_first_cuts_the_corpus_to_its_first_records(tmp_path: Path) -> None:
    maker = bench_scale.CorpusMaker()
    files = maker.write(tmp_path / "c", 2500)
    bench_scale.keep_first(tmp_path / "c", 1200)
    left = sorted((tmp_path / "c").iterdir())
    assert left == files[:2]
    ids = [json.loads(line)["id"] for f in left for line in f.read_text().splitlines()]
    assert ids == [f"a{n:07d}" for n in range(1200)]


@pytest.mark.server
def test_bench_scale_on_a_chroma_server(tmp_path: Path) -> None:
    size = _one_size(tmp_path / "out", "--stores", "server")
    assert size["store"] == "server" and size["server_peak_rss_mb"] > 0
    assert size["disk_mb"]["chroma"] > 0
    _measured_each_step(size)


def test_a_kept_workdir_is_reused_and_its_index_carried_on(tmp_path: Path) -> None:
    work = tmp_path / "work"
    first = _one_size(tmp_path / "out1", "--stores", "embedded", "--workdir", str(work))
    corpus = sorted((work / "embedded-60" / "corpus").iterdir())
    stamps = [p.stat().st_mtime_ns for p in corpus]
    second = _one_size(tmp_path / "out2", "--stores", "embedded", "--workdir", str(work))
    assert first["resumed_from_chunks"] == 0
    assert second["resumed_from_chunks"] == first["chunks"], "only the corpus was left indexed"
    assert second["corpus_write_seconds"] == 0 and second["seconds_per_1000_chunks"] is None
    assert [p.stat().st_mtime_ns for p in corpus] == stamps, "the corpus is not rewritten"
    _measured_each_step(second)


def test_the_embedder_and_the_corpus_are_recorded(tmp_path: Path) -> None:
    size = _one_size(tmp_path / "out", "--stores", "embedded", "--embedder", "hash")
    (path,) = (tmp_path / "out").glob("bench-scale-*.json")
    doc = json.loads(path.read_text())
    assert (doc["embedder"], doc["embed_model"], doc["corpus"]) == ("hash", "hash", "synthetic")
    assert (size["embedder"], size["embed_model"], size["corpus"]) == ("hash", "hash", "synthetic")


@pytest.mark.parametrize(
    "args",
    [
        ["--embedder", "minilm"],
        ["--corpus", "multihop"],
        ["--corpus", "realtimeqa", "--budget-minutes", "1"],  # it would cut files not ours
    ],
)
def test_unknown_or_unsafe_options_are_refused(tmp_path: Path, args: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        bench_scale.main(["--out", str(tmp_path), *args])
    assert exited.value.code == 2 and not list(tmp_path.iterdir())


def test_the_default_embedder_leaves_byline_its_own_settings() -> None:
    assert bench_scale.embed_overrides("hash") == {"embed_model": "hash"}
    assert bench_scale.embed_overrides("default") == {}


def test_the_realtimeqa_corpus_is_ingested_where_it_lies(tmp_path: Path, monkeypatch) -> None:
    files = bench_scale.realtimeqa_files()
    if not all(f.is_file() for f in files):
        pytest.skip("no RealTime QA articles in the shared data folder")
    gold = [f for f in files if f.name == "articles_gold.jsonl"]
    monkeypatch.setattr(bench_scale, "realtimeqa_files", lambda: gold)  # the smaller file alone
    out = tmp_path / "out"
    argv = ["--corpus", "realtimeqa", "--sizes", "60", "--queries", "3", "--out", str(out)]
    assert bench_scale.main([*argv, "--stores", "embedded"]) == 0
    (path,) = out.glob("bench-scale-*.json")
    doc = json.loads(path.read_text())
    (size,) = doc["sizes"]
    assert (doc["corpus"], size["corpus"], size["embedder"]) == ("realtimeqa", "realtimeqa", "hash")
    articles = len(gold[0].read_text(encoding="utf-8").splitlines())
    assert size["target_chunks"] is None and size["articles"] == articles
    assert size["unchanged"] == articles and (size["added"], size["removed"]) == (10, 10)
    assert size["serving"]["queries"] == 3
