"""Shared fixtures: no test reaches a remote service, and models load once per run."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

from rag.testing import HashEmbeddings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SHARED_DATA = ROOT.parent / "shared" / "data"

_real_connect = socket.socket.connect


def _is_local(address: object) -> bool:
    if isinstance(address, str):  # unix socket path
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_remote_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach a non-loopback address fails the test instead of leaving the box."""

    def guarded(self: socket.socket, address: object) -> object:
        if not _is_local(address):
            raise RuntimeError(f"test tried to reach a remote address {address!r}")
        return _real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def embedder() -> HashEmbeddings:
    """The deterministic word-overlap embedder, fresh per test so call counts start at zero."""
    return HashEmbeddings()


@pytest.fixture(scope="session")
def real_embedder():
    """The packaged all-MiniLM-L6-v2 model, loaded once for the whole run."""
    from rag.embeddings import SentenceTransformerEmbeddings

    return SentenceTransformerEmbeddings("all-MiniLM-L6-v2")


@pytest.fixture
def index(tmp_path: Path, embedder) -> Path:
    """An index of the small test articles (``tests.helpers.write_articles``), hash-embedded."""
    from rag import Byline
    from tests.helpers import write_articles

    path = tmp_path / "idx"
    Byline.open(path, embedder=embedder, embed_model="hash").ingest(
        [write_articles(tmp_path / "docs")]
    )
    return path
