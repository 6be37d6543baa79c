"""The page in a real headless Chromium: ask, watch the answer stream in, read the sources, vote.

Needs Debian's browser (``apt-get install chromium``) and the ``playwright`` package; it never
downloads a browser of its own. A screenshot of the answered page goes to ``test-output/``.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rag import Byline
from rag.testing import FakeChatModel, HashEmbeddings
from tests.helpers import write_articles
from ui.app import build_app
from ui.screenshot import CHROMIUM_ARGS

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = Path(__file__).resolve().parent.parent / "test-output"
QUESTION = "Who holds a right of first refusal on new OpenAI capacity?"


class SlowFakeChatModel(FakeChatModel):
    """The scripted model, pausing between words so the page visibly streams."""

    delay: float = 0.08
    reading: float = 2.0  # before the first word, as a real model reads its prompt

    def _stream(self, *args: Any, **kwargs: Any):  # noqa: ANN202
        time.sleep(self.reading)
        for chunk in super()._stream(*args, **kwargs):
            time.sleep(self.delay)
            yield chunk


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"no browser at {CHROMIUM}: apt-get install chromium chromium-driver")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed"
    )
    with sync_api.sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[tuple[str, Byline]]:
    articles = write_articles(tmp_path / "articles")
    byline = Byline.open(
        tmp_path / "index",
        embedder=HashEmbeddings(),
        embed_model="hash",
        chat_model=SlowFakeChatModel(),
    )
    byline.ingest([articles])
    page = build_app(byline)
    port = free_port()
    page.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/", byline
    finally:
        page.close()
        byline.close()


def test_ask_stream_cite_and_vote_in_a_real_browser(
    browser: Any, app_url: tuple[str, Byline]
) -> None:
    url, byline = app_url
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if "127.0.0.1" not in r.url else None)
    page.goto(url)
    box = page.locator("#byline-question textarea")
    box.wait_for(timeout=30_000)
    box.fill(QUESTION)
    box.press("Enter")

    # While the model reads: a stage line, the passages being read and quoted evidence, all
    # before the first word, and no feedback buttons under the unfinished answer.
    page.wait_for_selector("#byline-chat .byline-pending .byline-quote", timeout=30_000)
    page.wait_for_selector("#byline-sources .src-near", timeout=5_000)
    assert page.locator("#byline-chat .byline-streaming").count() == 0
    assert "Reading" in page.locator("#byline-chat .byline-stage").last.inner_text()
    assert "right of first refusal" in page.locator("#byline-chat .byline-quote").first.inner_text()
    assert page.locator('#byline-chat button[aria-label="Like"]:visible').count() == 0
    # the stage line's clock moves on while the model reads
    page.wait_for_function(
        "() => /[1-9] s$/.test(document.querySelector('#byline-chat .byline-stage')?.innerText)",
        timeout=10_000,
    )

    # Words appear while the model writes, before the checked answer replaces them.
    page.wait_for_selector("#byline-chat .byline-streaming", timeout=30_000)
    page.wait_for_selector("#byline-sources #src-1", timeout=60_000)
    assert page.locator("#byline-chat .byline-streaming").count() == 0

    answer = page.locator("#byline-chat .byline-answer").last
    assert "Microsoft is no longer the exclusive cloud provider for OpenAI" in answer.inner_text()
    marker = answer.locator('a.cite[href="#src-1"]').first
    assert marker.inner_text() == "[1]"

    card = page.locator("#byline-sources #src-1")
    assert "Microsoft keeps first refusal on OpenAI capacity" in card.inner_text()
    assert "Compute Ledger" in card.inner_text()
    assert "right of first refusal" in card.locator("mark").inner_text()
    assert card.locator("a.src-title").get_attribute("href") == "https://compute.example/rofr"

    marker.click()  # jumps to (and flashes) the source card, not away from the page
    page.wait_for_selector("#src-1.src-flash", timeout=5_000)
    assert page.url.startswith(url)

    page.locator('#byline-chat button[aria-label="Like"]').last.click()
    feedback = byline.index_dir / "feedback.jsonl"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not feedback.exists():
        time.sleep(0.2)
    lines = feedback.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    vote = json.loads(lines[0])
    assert vote["vote"] == "up" and vote["question"] == QUESTION
    assert "[1]" in vote["answer"] and vote["citations"][0]["article_id"] == "rofr"

    OUTPUT.mkdir(exist_ok=True)
    shot = OUTPUT / "ui-answer.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert not outside, f"the page fetched from outside the machine: {outside}"


def test_ingest_tab_shows_index_stats(browser: Any, app_url: tuple[str, Byline]) -> None:
    url, _ = app_url
    page = browser.new_page(viewport={"width": 1360, "height": 900})
    page.goto(url)
    page.get_by_role("tab", name="Ingest").click()
    stats = page.locator("#byline-stats")
    stats.wait_for(timeout=30_000)
    text = stats.inner_text()
    assert "Articles" in text and "3" in text
    assert "Market Wire" in text and "2024-11-22 – 2025-01-22" in text
    page.get_by_label("Or a folder or file on this machine").fill("../../etc")
    page.get_by_role("button", name="Ingest path").click()
    page.wait_for_selector("#byline-ingest-status .byline-error", timeout=30_000)
    assert "uses '..'" in page.locator("#byline-ingest-status").inner_text()
