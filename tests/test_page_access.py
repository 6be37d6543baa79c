"""The page off loopback: a login unless waived, ingest off unless enabled, and input limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from typer.testing import CliRunner

from rag import Byline
from rag.cli import app as cli_app
from rag.config import Settings
from rag.errors import ConfigError, RagError
from rag.testing import FakeChatModel, HashEmbeddings
from tests.helpers import write_articles
from ui.access import is_loopback, page_access, read_credentials
from ui.app import ChatService, build_app


def open_byline(index: Path, **overrides: object) -> Byline:
    return Byline.open(
        index, embedder=HashEmbeddings(), embed_model="hash", chat_model=FakeChatModel(),
        llm="fake:cite", abstain_threshold=0.05, **overrides,
    )  # fmt: skip


@pytest.fixture
def logins(tmp_path: Path) -> Path:
    path = tmp_path / "logins.txt"
    path.write_text("# who may read\nalice:s3cret:with:colons\n\nbob:hunter2\n", encoding="utf-8")
    return path


def test_loopback_hosts() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2", "LOCALHOST"):
        assert is_loopback(host)
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.org", ""):
        assert not is_loopback(host)


def test_off_loopback_needs_a_login_or_an_explicit_waiver() -> None:
    settings = Settings.load()
    with pytest.raises(ConfigError, match="no login is set.*--no-auth"):
        page_access("0.0.0.0", settings)
    waived = page_access("0.0.0.0", settings, no_auth=True)
    assert waived.auth is None and not waived.ingest
    assert any("WITHOUT a login" in w for w in waived.warnings)
    local = page_access("127.0.0.1", settings)
    assert local.auth is None and local.ingest and not local.warnings


def test_a_login_from_a_file_or_a_named_variable(
    logins: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    access = page_access("0.0.0.0", Settings.load(), auth_file=logins, ingest=True)
    assert access.auth == [("alice", "s3cret:with:colons"), ("bob", "hunter2")]
    assert access.ingest and any("must log in" in w for w in access.warnings)
    assert any("Ingest tab is on" in w for w in access.warnings)
    # the variable's name is a setting, and a BYLINE_ name it gives is not an unknown setting
    monkeypatch.setenv("BYLINE_PAGE_AUTH_ENV", "BYLINE_PAGE_LOGINS")
    monkeypatch.setenv("BYLINE_PAGE_LOGINS", "carol:pw1, dave:pw2")
    settings = Settings.load()
    assert read_credentials(settings) == [("carol", "pw1"), ("dave", "pw2")]
    monkeypatch.setenv("BYLINE_PAGE_NOTHING", "x")
    with pytest.raises(ConfigError, match="BYLINE_PAGE_NOTHING"):
        Settings.load()


def test_bad_login_entries_are_named_without_their_secret(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_text("alice:ok\njustapassword-topsecret\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_credentials(Settings.load(), path)
    assert "entry 2" in str(caught.value) and "topsecret" not in str(caught.value)
    with pytest.raises(ConfigError, match="cannot read the login file"):
        read_credentials(Settings.load(), tmp_path / "missing.txt")
    settings = Settings.load(page_auth_env="BYLINE_UNSET_LOGINS")
    with pytest.raises(ConfigError, match="not set"):
        read_credentials(settings)


def test_the_cli_refuses_an_open_page_off_loopback(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli_app, ["chat", "--index", str(tmp_path / "idx"), "--host", "0.0.0.0"]
    )
    assert res.exit_code == 2
    assert "no login is set" in res.output and "Traceback" not in res.output


def test_launch_off_loopback_serves_with_the_login_and_no_ingest_tab(
    tmp_path: Path, logins: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    import ui.app

    served: dict = {}
    opened: list[Byline] = []

    real_open = Byline.open

    def fake_open(index: Path | None = None, **overrides: object) -> Byline:
        opened.append(
            real_open(
                index, embedder=HashEmbeddings(), embed_model="hash", chat_model=FakeChatModel()
            )
        )
        return opened[-1]

    def fake_launch(self: object, *args: object, **kwargs: object) -> None:
        served.update(kwargs, page=self)

    monkeypatch.setattr(ui.app.Byline, "open", staticmethod(fake_open))
    monkeypatch.setattr(ui.app.BylinePage, "launch", fake_launch)
    ui.app.launch(index=tmp_path / "idx", host="0.0.0.0", port=7999, auth_file=logins)
    assert served["server_name"] == "0.0.0.0" and served["auth"][0] == (
        "alice",
        "s3cret:with:colons",
    )
    tabs = [b for b in served["page"].blocks.values() if getattr(b, "id", None) == "ingest"]
    assert tabs and tabs[0].visible is False
    err = capsys.readouterr().err
    assert "must log in" in err and "Ingest tab is off" in err
    for b in opened:
        b.close()


def test_a_served_page_with_a_login_answers_only_after_it(tmp_path: Path) -> None:
    from tests.test_ui_app import free_port

    byline = open_byline(tmp_path / "idx", max_question_chars=200)
    byline.ingest([write_articles(tmp_path / "docs")])
    page = build_app(byline, ingest=False)
    port = free_port()
    page.launch(
        prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
        auth=[("alice", "s3cret")],
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        with pytest.raises(Exception):  # noqa: B017 - the client cannot even read the API
            Client(url, verbose=False).predict("Who holds first refusal?", api_name="/chat")
        client = Client(url, auth=("alice", "s3cret"), verbose=False)
        text = client.predict("Who holds a right of first refusal?", api_name="/chat")
        assert "[1]" in text
        with pytest.raises(AppError, match="over the limit of 200"):
            client.predict("Who? " * 100, api_name="/chat")
    finally:
        page.close()
        byline.close()


def test_ingest_off_is_refused_even_when_called_directly(tmp_path: Path) -> None:
    byline = open_byline(tmp_path / "idx")
    docs = write_articles(tmp_path / "docs")
    service = ChatService(byline, ingest_roots=[tmp_path], ingest_enabled=False)
    summary, *_ = service.ingest_path(str(docs))
    assert "ingest is off" in summary and not byline.exists()
    summary, *_ = service.ingest_uploads([str(p) for p in docs.iterdir()])
    assert "ingest is off" in summary and not byline.exists()
    byline.close()


def test_uploads_over_the_count_limit_are_refused_with_the_limit(tmp_path: Path) -> None:
    byline = open_byline(tmp_path / "idx", page_max_uploads=2)
    docs = write_articles(tmp_path / "docs")
    service = ChatService(byline, ingest_roots=[tmp_path])
    summary, *_ = service.ingest_uploads([str(p) for p in sorted(docs.iterdir())])
    assert "3 files chosen, at most 2" in summary and not byline.exists()
    summary, *_ = service.ingest_uploads([str(p) for p in sorted(docs.iterdir())[:2]])
    assert byline.exists() and byline.stats()["articles"] == 2
    byline.close()


def test_the_python_api_refuses_an_overlong_question(tmp_path: Path) -> None:
    byline = open_byline(tmp_path / "idx")
    byline.ingest([write_articles(tmp_path / "docs")])
    with pytest.raises(RagError, match="10,001 characters long, over the limit of 2,000"):
        byline.ask("x" * 10_001)
    assert not byline.ask("Who holds a right of first refusal?").abstained
    byline.close()
