"""Small builders the tests share: demo-like articles written into a temp folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ARTICLES = {
    "rofr": (
        "Microsoft keeps first refusal on OpenAI capacity",
        "Compute Ledger",
        "2025-01-21T18:00:00+00:00",
        "Microsoft is no longer the exclusive cloud provider for OpenAI. Under the new "
        "arrangement Microsoft holds a right of first refusal on new capacity.",
    ),
    "stargate": (
        "Stargate venture pledges data centres in Texas",
        "Silicon Tribune",
        "2025-01-22T09:00:00+00:00",
        "SoftBank, OpenAI and Oracle announced Stargate, a venture that plans to spend "
        "one hundred billion dollars at first on data centres, starting in Abilene.",
    ),
    "anthropic": (
        "Amazon adds billions to Anthropic stake",
        "Market Wire",
        "2024-11-22T12:00:00+00:00",
        "Amazon invested another four billion dollars in Anthropic, which named AWS "
        "its primary training partner for Trainium chips.",
    ),
}


def write_articles(folder: Path, keys: list[str] | None = None) -> Path:
    """One Markdown file per article with front matter; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for key in keys or list(ARTICLES):
        title, source, date, body = ARTICLES[key]
        (folder / f"{key}.md").write_text(
            f'---\nid: {key}\ntitle: "{title}"\nsource: {source}\n'
            f"url: https://{source.split()[0].lower()}.example/{key}\n"
            f"published_at: {date}\n---\n{body}\n",
            encoding="utf-8",
        )
    return folder


def index_articles(tmp_path: Path, embedder: Any, articles: dict[str, tuple[str, ...]]) -> Path:
    """An index at ``tmp_path/idx`` of ``articles`` (id: title, source, published_at, body),
    one Markdown file each, embedded with ``embedder``."""
    from rag import Byline

    docs = tmp_path / "docs"
    docs.mkdir()
    for key, (title, source, day, body) in articles.items():
        (docs / f"{key}.md").write_text(
            f'---\nid: {key}\ntitle: "{title}"\nsource: {source}\n'
            f"url: https://example.com/{key}\npublished_at: {day}\n---\n{body}\n",
            encoding="utf-8",
        )
    path = tmp_path / "idx"
    Byline.open(path, embedder=embedder, embed_model="hash").ingest([docs])
    return path


def open_fake(index: Path, embedder: Any, fake: Any, **overrides: Any) -> Any:
    """A Byline on ``index`` answering with the scripted ``fake`` model (a low abstention
    floor, since the hash embedder's similarities run lower than a real model's)."""
    from rag import Byline

    overrides.setdefault("abstain_threshold", 0.05)
    return Byline.open(
        index, embedder=embedder, embed_model="hash", chat_model=fake, llm="fake:cite", **overrides
    )


def write_records(path: Path, ids: list[str], tag: str = "v1") -> Path:
    """A JSONL file of one short article per id; ``tag`` marks a version of their text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join(
            json.dumps({"id": i, "title": f"Title {i}", "text": f"Story {i} {tag} about grids."})
            + "\n"
            for i in ids
        ),
        encoding="utf-8",
    )
    return path
