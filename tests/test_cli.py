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
        "skipped_files",
        "articles",
        "chunks",
        "seconds",
        "stages",
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
    res = runner.invoke(app, ["config", "--index", "elsewhere", "--json"])
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


def test_config_prints_toml_that_byline_toml_accepts(
    tmp_path: Path, runner: CliRunner, monkeypatch
) -> None:
    import tomllib

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BYLINE_TOP_K", "7")
    res = runner.invoke(app, ["config"])
    assert res.exit_code == 0, res.output
    pasted = tomllib.loads(res.stdout)
    assert pasted["top_k"] == 7 and "chroma_url" not in pasted  # unset: commented out
    assert "# chroma_url = (not set)" in res.stdout
    monkeypatch.delenv("BYLINE_TOP_K")
    (tmp_path / "byline.toml").write_text(res.stdout, encoding="utf-8")
    again = json.loads(runner.invoke(app, ["config", "--json"]).stdout)
    assert again == {**json.loads(runner.invoke(app, ["config", "--json"]).stdout), "top_k": 7}
    assert again["top_k"] == 7 and again["chroma_url"] is None


@pytest.mark.parametrize(
    "command", [[], ["ingest"], ["search"], ["ask"], ["chat"], ["config"], ["check"]]
)
def test_help_shows_no_value_type_on_flags(runner: CliRunner, command: list[str]) -> None:
    import re

    res = runner.invoke(app, [*command, "--help"], terminal_width=120)
    assert res.exit_code == 0
    assert "--help" in res.stdout and "<bool>" not in res.stdout
    # a plain flag is one name, not a --x / --no-x pair (a flag may be named --no-auth)
    for name in re.findall(r"--no-([a-z][a-z-]*)", res.stdout):
        assert not re.search(rf"--{name}(?![\w-])", res.stdout), f"--{name} has a --no- twin"


def test_search_groups_passages_by_article_and_explains_the_score(
    tmp_path: Path, runner: CliRunner
) -> None:
    docs = write_articles(tmp_path / "docs")
    paragraphs = [
        f"Paragraph {n}: work at the Stargate site in Abilene went on." for n in range(60)
    ]
    (docs / "long.md").write_text(
        "---\nid: long\ntitle: Abilene site diary\nsource: Compute Ledger\n"
        "published_at: 2025-02-01T00:00:00+00:00\n---\n" + "\n\n".join(paragraphs) + "\n",
        encoding="utf-8",
    )
    index = str(tmp_path / "idx")
    assert runner.invoke(app, ["ingest", str(docs), "--index", index]).exit_code == 0
    res = runner.invoke(app, ["search", "Stargate Abilene", "--index", index, "--json"])
    groups = json.loads(res.stdout)
    ids = [g["article_id"] for g in groups]
    assert len(ids) == len(set(ids)) == 4 and {"stargate", "long"} <= set(ids)
    passages = {g["article_id"]: g["matching_passages"] for g in groups}
    assert passages["long"] > 1 and passages["rofr"] == 1

    res = runner.invoke(app, ["search", "Stargate Abilene", "--index", index, "-k", "2"])
    assert res.exit_code == 0, res.output
    assert res.stdout.count("\n[") == 1 and res.stdout.startswith("[1] ")  # two articles
    assert "matching passage" in res.stdout and "similarity" in res.stdout
    assert "score: rank fusion" in res.stdout and "first in both" in res.stdout


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
