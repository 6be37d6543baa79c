"""The Chroma server mode for real: `chroma run` on loopback with a temp path."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from rag import Byline
from rag.errors import IndexLockedError, RagError, ServiceError
from rag.server import LEASE_KEY, write_lease
from rag.testing import FakeChatModel, HashEmbeddings
from tests.helpers import write_articles

pytestmark = pytest.mark.server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, data: Path) -> subprocess.Popen:
    """`chroma run` on loopback, waited for until it accepts connections."""
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    if not Path(exe).exists():
        pytest.skip("the chroma command is not installed")
    proc = subprocess.Popen(
        [exe, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.2)
    proc.kill()
    pytest.fail("chroma run did not start within 60 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory):
    port = free_port()
    proc = start_server(port, tmp_path_factory.mktemp("chroma-server"))
    yield f"http://127.0.0.1:{port}"
    stop_server(proc)


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


# --------------------------------------------------------------------------- many processes
def _node(tmp_path: Path, name: str, url: str, collection: str, **kw) -> Byline:
    """One Byline with its own index folder on the shared collection (a machine of its own)."""
    return Byline.open(
        tmp_path / name,
        embedder=kw.pop("embedder", None) or HashEmbeddings(),
        embed_model="hash",
        chroma_url=url,
        collection=collection,
        **kw,
    )


def _ids(hits) -> set[str]:
    return {h.article_id for h in hits}


def test_a_second_folder_answers_from_the_servers_current_state(tmp_path, chroma_url) -> None:
    coll = f"two-{uuid.uuid4().hex[:8]}"
    writer = _node(tmp_path, "a", chroma_url, coll)
    reader = _node(tmp_path, "b", chroma_url, coll)
    docs = write_articles(tmp_path / "docs")
    writer.ingest([docs])
    assert reader.stats()["articles"] == 3, "a fresh folder builds its caches from the server"
    assert reader.search("Anthropic Trainium", k=1)[0].article_id == "anthropic"
    # changed through the writer: the reader's dense and lexical sides both see the new text
    path = docs / "rofr.md"
    path.write_text(path.read_text().replace("right of first refusal", "veto"))
    writer.ingest([docs])
    (hit,) = reader.search("veto", k=1)
    assert hit.article_id == "rofr" and "veto" in hit.text
    assert reader.lexical().search("veto", k=3), "the lexical cache was rebuilt"
    # removed through the writer: gone from the reader's stats and answers
    (docs / "anthropic.md").unlink()
    assert writer.ingest([docs], prune=True).removed == 1
    assert reader.stats()["articles"] == 2
    assert "anthropic" not in _ids(reader.search("Anthropic Amazon Trainium", k=5))
    assert reader.check().ok


def test_an_article_removed_elsewhere_is_restored_by_its_writer(tmp_path, chroma_url) -> None:
    coll = f"restore-{uuid.uuid4().hex[:8]}"
    a = _node(tmp_path, "a", chroma_url, coll)
    b = _node(tmp_path, "b", chroma_url, coll)
    docs = write_articles(tmp_path / "docs")
    a.ingest([docs])
    b.store.delete_articles(["stargate"])  # another machine removes one
    assert a.stats()["articles"] == 2, "A's manifest follows the server, not its own past"
    again = a.ingest([docs])
    assert again.added == 1 and again.unchanged == 2
    assert b.stats()["articles"] == 3 and b.search("Stargate Abilene", k=1)


def test_one_writer_at_a_time_across_folders(tmp_path, chroma_url) -> None:
    coll = f"lease-{uuid.uuid4().hex[:8]}"
    a = _node(tmp_path, "a", chroma_url, coll)
    b = _node(tmp_path, "b", chroma_url, coll)
    docs = write_articles(tmp_path / "docs")
    a.ingest([docs])
    with write_lease(a.store, "host-a:123:abc", seconds=2):
        with pytest.raises(IndexLockedError) as err:
            b.ingest([docs])
        message = str(err.value)
        assert "host-a:123:abc" in message and chroma_url in message and "\n" not in message
        assert b.search("Stargate", k=1), "readers go on while a writer holds the lease"
    with write_lease(a.store, "gone-writer:1:x", seconds=0.5):
        pass
    a.store.set_metadata({LEASE_KEY: "gone-writer:1:x|0"})  # a writer that died long ago
    assert b.ingest([docs]).unchanged == 3, "an expired lease is taken over"


def test_an_embedder_of_another_dimension_is_one_line(tmp_path, chroma_url) -> None:
    coll = f"dim-{uuid.uuid4().hex[:8]}"
    _node(tmp_path, "a", chroma_url, coll).ingest([write_articles(tmp_path / "docs")])
    other = _node(tmp_path, "b", chroma_url, coll, embedder=HashEmbeddings(dimension=64))
    for call in (lambda: other.search("Stargate"), lambda: other.ingest([tmp_path / "new"])):
        (tmp_path / "new").mkdir(exist_ok=True)
        (tmp_path / "new" / "n.md").write_text("---\nid: n\n---\nNew text.\n")
        with pytest.raises(RagError) as err:
            call()
        assert "dimension 512" in str(err.value) and "64" in str(err.value)
        assert "\n" not in str(err.value)


def test_server_down_mid_ingest_is_one_line_and_ingest_resumes(tmp_path) -> None:
    import rag.ingest

    port = free_port()
    data = tmp_path / "server"
    proc = start_server(port, data)
    url = f"http://127.0.0.1:{port}"
    docs = tmp_path / "many"
    docs.mkdir()
    for i in range(12):
        (docs / f"a{i:02d}.md").write_text(
            f"---\nid: a{i:02d}\n---\nStory about grids in town{i}.\n"
        )
    node = _node(tmp_path, "a", url, "down")
    stopped = []

    def stop_after_first_batch(self, name: str) -> None:
        if name == "committed" and not stopped:
            stop_server(proc)
            stopped.append(True)

    original = (rag.ingest.Ingestor.phase, rag.ingest.BATCH_ARTICLES)
    rag.ingest.Ingestor.phase, rag.ingest.BATCH_ARTICLES = stop_after_first_batch, 4
    try:
        with pytest.raises(ServiceError) as err:
            node.ingest([docs])
    finally:
        rag.ingest.Ingestor.phase, rag.ingest.BATCH_ARTICLES = original
    assert url in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ServiceError, match=url):
        node.search("Story about grids")
    with pytest.raises(ServiceError, match=f"Chroma server at {url}"):
        node.ask("What about grids?", llm=FakeChatModel())  # not blamed on the LLM
    proc = start_server(port, data)
    try:
        report = node.ingest([docs])
        assert report.articles == 12 and node.check().ok
        assert node.search("grids town7", k=1)[0].article_id == "a07"
    finally:
        stop_server(proc)


LEASE_HOLDER = """
import sys, time
from rag import Byline
from rag.testing import FakeChatModel, HashEmbeddings

class Slow(HashEmbeddings):
    def embed_documents(self, texts):
        print("writing", flush=True)
        time.sleep(4)
        return super().embed_documents(texts)

b = Byline.open(sys.argv[1], embedder=Slow(), embed_model="hash", chroma_url=sys.argv[2],
                collection=sys.argv[3])
b.ingest([sys.argv[4]], progress=False)
"""


def test_a_writer_in_another_process_holds_the_lease(tmp_path, chroma_url) -> None:
    coll = f"proc-{uuid.uuid4().hex[:8]}"
    docs = write_articles(tmp_path / "docs")
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen(
        [sys.executable, "-c", LEASE_HOLDER, str(tmp_path / "a"), chroma_url, coll, str(docs)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "writing"
        b = _node(tmp_path, "b", chroma_url, coll)
        with pytest.raises(IndexLockedError, match="holds the write lease"):
            b.ingest([docs])
    finally:
        assert proc.wait(timeout=120) == 0
    assert b.stats()["articles"] == 3 and b.ingest([docs]).unchanged == 3
