"""The Chroma server mode for real: `chroma run` on loopback with a temp path."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag import Byline
from rag.errors import ServiceError
from tests.helpers import write_articles

pytestmark = pytest.mark.server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory):
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    if not Path(exe).exists():
        pytest.skip("the chroma command is not installed")
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [exe, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma run did not start within 60 s")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)


def test_ingest_and_search_through_a_chroma_server(tmp_path: Path, chroma_url, embedder) -> None:
    byline = Byline.open(
        tmp_path / "idx",
        embedder=embedder,
        embed_model="hash",
        chroma_url=chroma_url,
        collection="server_test",
    )
    report = byline.ingest([write_articles(tmp_path / "docs")])
    assert report.added == 3
    assert not (tmp_path / "idx" / "chroma").exists(), "vectors live on the server"
    assert byline.store.count() == report.chunks
    assert byline.search("Anthropic Trainium", k=1)[0].article_id == "anthropic"
    again = byline.ingest([tmp_path / "docs"])
    assert again.unchanged == 3 and byline.store.count() == report.chunks


def test_unreachable_server_names_the_url(tmp_path: Path, embedder) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    byline = Byline.open(tmp_path / "idx", embedder=embedder, embed_model="hash", chroma_url=url)
    with pytest.raises(ServiceError, match=url):
        byline.ingest([write_articles(tmp_path / "docs")])
