"""The real CLI through Typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag.cli import app
from tests.helpers import write_articles


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("BYLINE_EMBED_MODEL", "hash")
    return CliRunner()


def test_ingest_search_stats_json(tmp_path: Path, runner: CliRunner) -> None:
    docs = write_articles(tmp_path / "docs")
    index = str(tmp_path / "idx")
    res = runner.invoke(app, ["ingest", str(docs), "--index", index, "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert set(report) == {
        "added",
        "updated",
        "unchanged",
        "removed",
        "failed",
        "warnings",
        "kept",
        "recovered",
        "articles",
        "chunks",
        "seconds",
    }
    assert report["added"] == 3 and report["failed"] == []

    res = runner.invoke(app, ["search", "Stargate Abilene", "--index", index, "-k", "2", "--json"])
    assert res.exit_code == 0, res.output
    hits = json.loads(res.stdout)
    assert len(hits) == 2 and hits[0]["article_id"] == "stargate"

    res = runner.invoke(app, ["stats", "--index", index, "--json"])
    stats = json.loads(res.stdout)
    assert stats["articles"] == 3
    assert set(stats["publishers"]) == {"Compute Ledger", "Silicon Tribune", "Market Wire"}


def test_ingest_reports_failures_with_exit_code(tmp_path: Path, runner: CliRunner) -> None:
    docs = write_articles(tmp_path / "docs", ["rofr"])
    (docs / "bad.jsonl").write_text('{"title": "x"}\n', encoding="utf-8")
    res = runner.invoke(app, ["ingest", str(docs), "--index", str(tmp_path / "idx"), "--json"])
    assert res.exit_code == 1
    failed = json.loads(res.stdout)["failed"]
    assert failed[0]["path"].endswith("bad.jsonl") and failed[0]["line"] == 1


def test_errors_are_one_line_without_traceback(tmp_path: Path, runner: CliRunner) -> None:
    res = runner.invoke(app, ["search", "x", "--index", str(tmp_path / "none")])
    assert res.exit_code == 2
    assert res.stderr.strip().startswith("error: no index at")
    assert "Traceback" not in res.output


def test_config_precedence(tmp_path: Path, runner: CliRunner, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "byline.toml").write_text("top_k = 4\ncandidates = 11\n", encoding="utf-8")
    monkeypatch.setenv("BYLINE_CANDIDATES", "22")
    res = runner.invoke(app, ["config", "--index", "elsewhere"])
    cfg = json.loads(res.stdout)
    assert (cfg["top_k"], cfg["candidates"], cfg["index_dir"]) == (4, 22, "elsewhere")


def test_unknown_config_key_is_an_error(tmp_path: Path, runner: CliRunner, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "byline.toml").write_text("top_kk = 4\n", encoding="utf-8")
    res = runner.invoke(app, ["config"])
    assert res.exit_code == 2 and "top_kk" in res.stderr
    (tmp_path / "byline.toml").unlink()
    monkeypatch.setenv("BYLINE_NOPE", "1")
    res = runner.invoke(app, ["config"])
    assert res.exit_code == 2 and "BYLINE_NOPE" in res.stderr


def test_search_and_ask_never_print_terminal_escapes(tmp_path: Path, runner: CliRunner) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "esc.jsonl").write_text(
        json.dumps(
            {
                "id": "esc",
                "title": "Grid \x1b[2J\x1b]0;owned\x07 warning",
                "source": "Wire\x1b[31m",
                "text": "The grid operator warned\r\x1b[1A of strain on Tuesday evening.",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    index = str(tmp_path / "idx")
    assert runner.invoke(app, ["ingest", str(docs), "--index", index]).exit_code == 0
    for args in (
        ["search", "grid operator strain"],
        ["ask", "What did the grid operator warn of?", "--llm", "fake:cite"],
    ):
        res = runner.invoke(app, [*args, "--index", index])
        assert res.exit_code == 0, res.output
        assert "\x1b" not in res.output and "\r" not in res.output and "\x07" not in res.output
        assert "\\x1b" in res.output, "shown as a visible escape, not dropped"
