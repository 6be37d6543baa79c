"""The web app over a tiny index, driven like programs and pages drive it: gradio_client and events.

Every app here runs with the word-overlap embedder and the scripted chat model, whose ``cite``
mode answers with the first sentence of source [1]: questions aimed at different articles get
different answers, which is what the concurrency test checks.
"""

from __future__ import annotations

import html
import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from rag import Byline
from rag.testing import FakeChatModel, HashEmbeddings
from tests.helpers import ARTICLES, write_articles
from ui.app import ChatService, build_app, build_filters
from ui.paths import resolve_allowed, stage_uploads

# More tiny articles beside the three in helpers: (title, publisher, date, body).
EXTRA = {
    "colossus": (
        "xAI switches on Colossus in Memphis",
        "Silicon Tribune",
        "2024-09-03T10:00:00+00:00",
        "The Colossus supercomputer of xAI runs in a Memphis warehouse. It came online in "
        "September.",
    ),
    "crane": (
        "Three Mile Island unit to restart as Crane",
        "Grid Gazette",
        "2024-09-20T10:00:00+00:00",
        "Constellation will rename Three Mile Island Unit 1 the Crane Clean Energy Center. "
        "Microsoft buys its power.",
    ),
    "kairos": (
        "Google orders small modular reactors",
        "Grid Gazette",
        "2024-10-14T10:00:00+00:00",
        "Kairos Power will build the small modular reactors that Google ordered. The first "
        "should run by 2030.",
    ),
    "coreweave": (
        "CoreWeave signs OpenAI compute contract",
        "Market Wire",
        "2025-03-10T10:00:00+00:00",
        "CoreWeave signed a contract worth up to eleven point nine billion dollars with OpenAI. "
        "It runs five years.",
    ),
    "rainier": (
        "Project Rainier links Trainium2 chips",
        "Compute Ledger",
        "2024-12-03T10:00:00+00:00",
        "Project Rainier links hundreds of thousands of Trainium2 chips in Indiana. Anthropic "
        "trains on it.",
    ),
}

# One question per article, with the start of the answer the scripted model must give.
QUESTIONS = {
    "rofr": (
        "Who holds a right of first refusal on new OpenAI capacity?",
        "Microsoft is no longer the exclusive cloud provider for OpenAI",
    ),
    "stargate": (
        "Which venture will spend on data centres starting in Abilene?",
        "SoftBank, OpenAI and Oracle announced Stargate",
    ),
    "anthropic": (
        "How many billions did Amazon invest in Anthropic?",
        "Amazon invested another four billion dollars in Anthropic",
    ),
    "colossus": (
        "Where does the xAI Colossus supercomputer run?",
        "The Colossus supercomputer of xAI runs in a Memphis warehouse",
    ),
    "crane": (
        "What will Constellation rename Three Mile Island Unit 1?",
        "Constellation will rename Three Mile Island Unit 1 the Crane Clean Energy Center",
    ),
    "kairos": (
        "Who will build the small modular reactors Google ordered?",
        "Kairos Power will build the small modular reactors",
    ),
    "coreweave": (
        "How much is the CoreWeave contract with OpenAI worth?",
        "CoreWeave signed a contract worth up to eleven point nine billion dollars",
    ),
    "rainier": (
        "Which chips does Project Rainier link in Indiana?",
        "Project Rainier links hundreds of thousands of Trainium2 chips",
    ),
}


def write_extra(folder: Path) -> None:
    for key, (title, source, date, body) in EXTRA.items():
        (folder / f"{key}.md").write_text(
            f'---\nid: {key}\ntitle: "{title}"\nsource: {source}\n'
            f"url: https://{source.split()[0].lower()}.example/{key}\n"
            f"published_at: {date}\n---\n{body}\n",
            encoding="utf-8",
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def open_byline(index: Path, chat_model: FakeChatModel | None = None) -> Byline:
    return Byline.open(
        index,
        embedder=HashEmbeddings(),
        embed_model="hash",
        chat_model=chat_model or FakeChatModel(),
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = write_articles(tmp_path_factory.mktemp("articles"))
    write_extra(folder)
    return folder


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Iterator[SimpleNamespace]:
    """One app on a free port over all eight articles, shared by the client tests."""
    byline = open_byline(tmp_path_factory.mktemp("index"))
    report = byline.ingest([corpus])
    assert report.articles == len(ARTICLES) + len(EXTRA)
    page = build_app(byline)
    port = free_port()
    page.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}/", byline=byline, page=page)
    finally:
        page.close()
        byline.close()


# --------------------------------------------------------------------------- gradio_client
def test_chat_endpoint_takes_the_message_and_returns_cited_text(served: SimpleNamespace) -> None:
    client = Client(served.url, verbose=False)
    info = client.view_api(print_info=False, return_format="dict")
    params = info["named_endpoints"]["/chat"]["parameters"]
    assert params[0]["parameter_name"] == "message"
    assert [p["parameter_name"] for p in params if not p["parameter_has_default"]] == ["message"]
    question, expected = QUESTIONS["rofr"]
    text = client.predict(question, api_name="/chat")
    assert isinstance(text, str)
    assert text.startswith(expected)
    assert "[1]" in text
    assert "<" not in text  # plain text with markers, not the page's HTML


def test_ask_endpoint_returns_the_whole_answer(served: SimpleNamespace) -> None:
    client = Client(served.url, verbose=False)
    question, expected = QUESTIONS["kairos"]
    data = client.predict(question, api_name="/ask")
    assert data["text"].startswith(expected)
    assert data["abstained"] is False
    assert data["citations"][0]["article_id"] == "kairos"
    assert data["citations"][0]["passage"]


def test_eight_concurrent_clients_each_get_their_own_answer(served: SimpleNamespace) -> None:
    keys = list(QUESTIONS)
    assert len(keys) == 8
    barrier = threading.Barrier(len(keys))
    results: dict[str, str] = {}
    errors: list[BaseException] = []

    def ask(key: str) -> None:
        try:
            client = Client(served.url, verbose=False)
            barrier.wait(timeout=60)
            results[key] = client.predict(QUESTIONS[key][0], api_name="/chat")
        except BaseException as exc:  # reported below, with the key
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(k,)) for k in keys]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert not errors, errors
    assert set(results) == set(keys)
    for key, text in results.items():
        assert text.startswith(QUESTIONS[key][1]), (key, text)
        assert "[1]" in text
    assert len(set(results.values())) == len(keys)


def test_filters_reach_the_chain_through_the_endpoint(served: SimpleNamespace) -> None:
    client = Client(served.url, verbose=False)
    with pytest.raises(AppError, match="not a date: use YYYY-MM-DD"):
        client.predict("Who builds reactors?", since="last spring", api_name="/chat")
    text = client.predict(
        "Who builds reactors for Google?", publisher="Grid Gazette", api_name="/chat"
    )
    assert "Kairos Power" in text


def test_errors_come_back_as_readable_messages(tmp_path: Path) -> None:
    byline = open_byline(tmp_path / "nothing-here")  # no index was ever built
    page = build_app(byline)
    port = free_port()
    page.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        with pytest.raises(AppError) as caught:
            client.predict("Who holds a right of first refusal?", api_name="/chat")
        message = str(caught.value)
        assert "no index at" in message and "byline ingest" in message
        assert "Traceback" not in message
        with pytest.raises(AppError, match="question is empty"):
            client.predict("   ", api_name="/chat")
    finally:
        page.close()
        byline.close()


# --------------------------------------------------------------------------- the page's events
def run_turn(service: ChatService, message: str, state: dict, **filters: str) -> list[tuple]:
    """Drive the chat event like the page does; returns every update it yielded."""
    updates = list(
        service.respond(
            message,
            state["chat"],
            state["history"],
            state["turns"],
            filters.get("publishers"),
            filters.get("since", ""),
            filters.get("until", ""),
            filters.get("as_of", ""),
        )
    )
    final = updates[-1]
    state["chat"] = final[1]
    if isinstance(final[2], list):
        state["history"], state["turns"] = final[2], final[3]
    return updates


def new_state() -> dict:
    return {"chat": [], "history": [], "turns": {}}


@pytest.fixture
def service(tmp_path: Path, corpus: Path) -> Iterator[ChatService]:
    fake = FakeChatModel()
    byline = open_byline(tmp_path / "index", fake)
    byline.ingest([corpus])
    yield ChatService(byline, ingest_roots=[tmp_path, corpus])
    byline.close()


def test_chat_event_streams_then_shows_the_rendered_answer(service: ChatService) -> None:
    state = new_state()
    updates = run_turn(service, QUESTIONS["crane"][0], state)
    assert updates[0][0] == ""  # the question box is cleared at once
    shown = [u[1][-1]["content"] for u in updates[:-1]]
    # first a stage line with the quoted evidence, then the model's words as they come
    assert "byline-pending" in shown[0] and "Searching" in shown[0]
    assert any("byline-quote" in s and "What the articles say" in s for s in shown)
    streamed = [s for s in shown if "byline-streaming" in s]
    assert len(streamed) > 3 and "Crane" in streamed[-1]
    first_word = shown.index(streamed[0])
    assert all("byline-pending" in s for s in shown[:first_word])
    # the sources panel fills before the first word
    panels = [u[4] for u in updates[:first_word] if isinstance(u[4], str)]
    assert panels and "Reading" in panels[0] and 'id="read-1"' in panels[0]
    final = updates[-1]
    bubble = final[1][-1]["content"]
    assert "byline-streaming" not in bubble and 'href="#src-1"' in bubble
    assert 'id="src-1"' in final[4] and "<mark class=" in final[4]
    assert final[2] == [
        {"role": "user", "content": QUESTIONS["crane"][0]},
        {
            "role": "assistant",
            "content": final[2][1]["content"],
            "article_ids": final[2][1]["article_ids"],
        },
    ]
    assert final[2][1]["article_ids"]  # the next question's retrieval starts from them
    assert "[1]" in final[2][1]["content"] and "<" not in final[2][1]["content"]


def test_follow_up_questions_carry_the_conversation(service: ChatService) -> None:
    fake = service.byline.chat_model()[0]
    state = new_state()
    run_turn(service, QUESTIONS["kairos"][0], state)
    assert not any("standalone question" in p for p in fake.prompts)
    run_turn(service, "When should the first one run?", state)
    rewrites = [p for p in fake.prompts if "standalone question" in p]
    assert rewrites, "the follow-up was not rewritten with the conversation"
    assert "Google ordered" in rewrites[-1]  # the earlier question is in the rewrite prompt
    assert len(state["history"]) == 4 and len(state["chat"]) == 4


def test_page_errors_show_in_the_chat_not_as_tracebacks(service: ChatService) -> None:
    state = new_state()
    updates = run_turn(service, "Who builds reactors?", state, as_of="someday")
    bubble = updates[-1][1][-1]["content"]
    assert "byline-error" in bubble and "as of date" in bubble and "YYYY-MM-DD" in bubble
    assert "Traceback" not in bubble
    updates = run_turn(service, "Who?", state, since="2025-02-01", until="2025-01-01")
    assert "date range is empty" in updates[-1][1][-1]["content"]


def test_publisher_filter_and_date_filters_narrow_the_answer(service: ChatService) -> None:
    state = new_state()
    updates = run_turn(service, "Who builds what?", state, publishers=["Grid Gazette"])
    panel = updates[-1][4]
    assert "Grid Gazette" in panel and "Market Wire" not in panel
    assert build_filters([], "", "") is None
    assert build_filters("Market Wire", "2025-01-01", "") == {
        "sources": ["Market Wire"],
        "since": "2025-01-01",
        "until": None,
    }


def test_votes_go_to_the_feedback_file(service: ChatService) -> None:
    state = new_state()
    run_turn(service, QUESTIONS["rainier"][0], state)
    index = len(state["chat"]) - 1
    service.like(state["turns"], SimpleNamespace(index=index, liked=True, value=None))
    service.like(state["turns"], SimpleNamespace(index=index, liked=False, value=None))
    service.like(state["turns"], SimpleNamespace(index=0, liked=True, value=None))  # a question
    lines = (service.byline.index_dir / "feedback.jsonl").read_text().splitlines()
    assert len(lines) == 2
    up, down = (json.loads(line) for line in lines)
    assert (up["vote"], down["vote"]) == ("up", "down")
    assert up["question"] == QUESTIONS["rainier"][0]
    assert up["answer"].startswith(QUESTIONS["rainier"][1]) and "[1]" in up["answer"]
    assert up["citations"][0]["article_id"] == "rainier"
    assert up["timestamp"].endswith("+00:00")


def test_examples_and_publishers_come_from_the_index(service: ChatService) -> None:
    header, publishers, stats, *buttons = service.page_state()
    assert "8 articles" in header
    assert {"Grid Gazette", "Market Wire", "Compute Ledger"} <= {
        c[0] if isinstance(c, tuple | list) else c for c in publishers.choices
    }
    assert "<td>8</td>" in stats
    shown = [b.value for b in buttons if b.visible]
    assert len(buttons) == 5 and len(shown) == 5
    assert all(q.startswith("What do the articles say about") for q in shown)


# --------------------------------------------------------------------------- ingest tab
def test_ingest_from_an_allowed_folder_updates_the_index(
    service: ChatService, tmp_path: Path
) -> None:
    more = tmp_path / "more"
    more.mkdir()
    (more / "note.md").write_text(
        "---\nid: note\ntitle: Orbital data centres\nsource: Space Desk\n"
        "published_at: 2025-02-02\n---\nA startup plans orbital data centres.\n",
        encoding="utf-8",
    )
    (more / "broken.json").write_text("{not json", encoding="utf-8")
    summary, rows, header, publishers, stats, *_ = service.ingest_path(str(more))
    assert "1 added" in summary and "1 skipped" in summary
    assert len(rows) == 1 and rows[0][0].endswith("broken.json")
    assert "9 articles" in header and "<td>9</td>" in stats


def test_ingest_paths_are_confined_to_the_allowed_roots(
    service: ChatService, tmp_path: Path
) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "secret.md").write_text("---\ntitle: secret\n---\nsecret text\n")
    inside = tmp_path / "inside"
    inside.mkdir()

    def message(raw: str) -> str:
        return html.unescape(service.ingest_path(raw)[0])

    assert "uses '..'" in message(str(tmp_path / "inside" / ".." / ".." / outside.name))
    assert "outside the allowed folders" in message(str(outside))
    assert "no such file" in message(str(tmp_path / "missing"))
    assert "give the path" in message("  ")
    os.symlink(outside, tmp_path / "link-out")
    assert "through a symbolic link" in message(str(tmp_path / "link-out"))
    os.symlink(outside / "secret.md", inside / "secret.md")
    assert "is a symbolic link" in message(str(inside))
    # nothing from outside reached the index
    assert "secret" not in json.dumps(service.byline.stats())
    with pytest.raises(Exception, match="outside the allowed"):
        resolve_allowed(str(outside / "secret.md"), [inside])


def test_uploads_are_checked_for_type_and_size(tmp_path: Path) -> None:
    good = tmp_path / "good.md"
    good.write_text("---\ntitle: Good\n---\nFine text.\n")
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ")
    big = tmp_path / "big.txt"
    big.write_text("x" * 2000)
    accepted, rejected = stage_uploads([str(good), str(exe), str(big)], tmp_path / "up", 1000)
    (stored,) = accepted
    assert stored.name == "good.md" and stored.parent.parent == tmp_path / "up"
    reasons = {r["path"]: r["error"] for r in rejected}
    assert "unsupported file type '.exe'" in reasons["tool.exe"]
    assert "over the 0.001 MB limit" in reasons["big.txt"]


def test_uploaded_files_are_ingested(service: ChatService, tmp_path: Path) -> None:
    upload = tmp_path / "gradio-tmp" / "fresh.md"
    upload.parent.mkdir()
    upload.write_text(
        "---\nid: fresh\ntitle: Fresh upload\nsource: Upload Desk\n---\nUploaded text here.\n"
    )
    summary, rows, header, *_ = service.ingest_uploads([str(upload), str(tmp_path / "x.pdf")])
    assert "1 added" in summary and "1 skipped" in summary
    assert rows[0][0] == "x.pdf"
    assert list((service.byline.index_dir / "uploads").glob("*/fresh.md"))
    assert "9 articles" in header


# --------------------------------------------------------------------------- launch
def test_launch_with_demo_indexes_the_corpus_then_serves_locally(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import ui.app

    corpus = write_articles(tmp_path / "corpus")
    opened: list[Byline] = []
    served: dict = {}

    real_open = Byline.open

    def fake_open(index: Path | None = None, **overrides: object) -> Byline:
        opened.append(
            real_open(
                index,
                embedder=HashEmbeddings(),
                embed_model="hash",
                chat_model=FakeChatModel(),
            )
        )
        return opened[-1]

    def fake_launch(self: object, *args: object, **kwargs: object) -> None:
        served.update(kwargs)

    monkeypatch.setattr(ui.app, "CORPUS_DIR", corpus)
    monkeypatch.setattr(ui.app.Byline, "open", staticmethod(fake_open))
    monkeypatch.setattr(ui.app.BylinePage, "launch", fake_launch)
    ui.app.launch(index=tmp_path / "index", port=7999, demo=True)
    assert opened[0].exists() and opened[0].stats()["articles"] == len(ARTICLES)
    assert served["server_name"] == "127.0.0.1" and served["server_port"] == 7999
    out = capsys.readouterr().out
    assert "Indexing the demo corpus" in out and "http://127.0.0.1:7999" in out
    # a second start finds the index and does not ingest again
    ui.app.launch(index=tmp_path / "index", port=7999, demo=True)
    assert "Indexing the demo corpus" not in capsys.readouterr().out
    for b in opened:
        b.close()


def test_launch_warm_up_logs_success_and_failure(tmp_path: Path, caplog) -> None:
    import logging

    from ui.app import _warm_up

    fake = FakeChatModel(mode="cite")
    byline = Byline.open(tmp_path / "idx", embedder=HashEmbeddings(), chat_model=fake)
    with caplog.at_level(logging.INFO, logger="byline.ui"):
        _warm_up(byline, None)
        _warm_up(byline, "nonsense-spec")  # a bad spec: logged, the page still starts
    assert len(fake.prompts) == 1
    messages = [r.getMessage() for r in caplog.records]
    assert any("read the fixed prompt start" in m for m in messages)
    assert any("could not warm up" in m for m in messages)


def test_two_uploads_with_one_name_keep_each_others_articles(
    service: ChatService, tmp_path: Path
) -> None:
    before = service.byline.stats()["articles"]
    alice = tmp_path / "alice" / "news.md"
    bob = tmp_path / "bob" / "news.md"
    for who, path in (("Alice", alice), ("Bob", bob)):
        path.parent.mkdir()
        path.write_text(f"---\ntitle: {who} story\nsource: {who} Desk\n---\n{who} wrote this.\n")
    first, *_ = service.ingest_uploads([str(alice)])
    second, *_ = service.ingest_uploads([str(bob)])
    assert "1 added" in first and "1 added" in second and "0 removed" in second
    assert service.byline.stats()["articles"] == before + 2
    again, *_ = service.ingest_uploads([str(alice)])
    assert "1 unchanged" in again and service.byline.stats()["articles"] == before + 2
