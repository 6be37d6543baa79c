"""The scale benchmark runs end to end at a tiny size (no timing is asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from evals import bench_scale


def test_corpus_maker_is_deterministic_and_news_like(tmp_path: Path) -> None:
    first = bench_scale.CorpusMaker().article(3)
    assert first == bench_scale.CorpusMaker().article(3)
    assert first["source"] in bench_scale.OUTLETS and first["published_at"].startswith("202")
    assert len(first["body"]) > 1500 and first["body"].count("\n\n") == 3


def test_bench_scale_measures_each_step(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert bench_scale.main(["--sizes", "60", "--queries", "3", "--out", str(out)]) == 0
    assert "hybrid search p50 / p95 ms" in capsys.readouterr().out
    (path,) = out.glob("bench-scale-*.json")
    (size,) = json.loads(path.read_text())["sizes"]
    assert size["chunks"] >= 40 and size["unchanged"] == size["articles"]
    assert (size["added"], size["removed"]) == (10, 10)
    assert size["serving"]["queries"] == 3 and size["serving"]["search_p50_ms"] > 0
    assert size["disk_mb"]["lexical"] > 0 and size["lexical_segments"] >= 1
