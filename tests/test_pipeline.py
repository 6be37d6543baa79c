"""The ingest pipeline's stages: order kept, work overlapped, failures carried, early stops clean."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag import Byline
from rag.pipeline import stage
from rag.testing import HashEmbeddings

WORDS = (
    "amber basalt cobalt delta ember fjord garnet harbor indigo jasper kelp lagoon marble "
    "nickel onyx pewter quartz russet sienna topaz"
).split()
WAIT = 10.0  # seconds: only ever reached when the behaviour under test is missing


def test_results_come_in_order_of_the_items() -> None:
    assert list(stage(lambda n: n * n, range(50))) == [n * n for n in range(50)]


def test_the_next_item_is_computed_while_the_consumer_holds_this_one() -> None:
    started: dict[int, threading.Event] = {n: threading.Event() for n in range(3)}

    def work(n: int) -> int:
        started[n].set()
        return n

    results = stage(work, range(3), depth=1)
    assert next(results) == 0
    # Item 0 is in our hands and not released: item 1 is already being made.
    assert started[1].wait(WAIT)
    assert list(results) == [1, 2]


def test_at_most_depth_results_wait_ahead_of_the_consumer() -> None:
    made: list[int] = []
    results = stage(lambda n: made.append(n) or n, range(100), depth=2)
    assert next(results) == 0
    # Item 0 taken; then at most 2 waiting in the queue and 1 blocked on putting.
    time.sleep(0.3)  # long enough for an unbounded stage to run far ahead
    assert len(made) <= 4
    results.close()


def test_a_failure_in_the_stage_is_raised_where_its_result_would_come() -> None:
    def work(n: int) -> int:
        if n == 3:
            raise ValueError("bad item 3")
        return n

    got: list[int] = []
    with pytest.raises(ValueError, match="bad item 3"):
        for n in stage(work, range(10)):
            got.append(n)
    assert got == [0, 1, 2]


def test_stopping_early_stops_every_stage_of_a_chain_and_closes_the_source() -> None:
    closed = threading.Event()
    seen: list[int] = []

    def source() -> Iterator[int]:
        try:
            for n in range(10_000):
                seen.append(n)
                yield n
        finally:
            closed.set()

    before = threading.active_count()
    chain = stage(lambda n: n + 1, stage(lambda n: n * 2, source(), name="a"), name="b")
    assert next(chain) == 1
    chain.close()
    assert closed.is_set()  # the innermost source was closed, on its own thread
    assert len(seen) < 20  # nothing ran on once the consumer stopped
    assert threading.active_count() == before


class ThreadNoting(HashEmbeddings):
    """The test embedder, noting which thread each call ran on."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[str] = set()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.threads.add(threading.current_thread().name)
        return super().embed_documents(texts)


def test_ingest_embeds_windows_off_the_writing_thread_and_writes_batches_in_order(
    tmp_path: Path, monkeypatch
) -> None:
    import rag.ingest

    monkeypatch.setattr(rag.ingest, "BATCH_ARTICLES", 3)
    monkeypatch.setattr(rag.ingest, "EMBED_WINDOW", 4)  # two batches of one chunk an article
    docs = tmp_path / "docs"
    docs.mkdir()
    for i, word in enumerate(WORDS):
        (docs / f"a{i:02d}.md").write_text(
            f"---\nid: a{i:02d}\ntitle: Title {word}\n---\nStory about the {word} grid.\n"
        )
    embedder = ThreadNoting()
    b = Byline.open(tmp_path / "idx", embedder=embedder, embed_model="hash")
    seen: list[int] = []
    report = b.ingest([docs], progress=False, on_progress=lambda done, _: seen.append(done))
    assert embedder.threads == {"byline-embed"}
    assert seen == [3, 6, 9, 12, 15, 18, 20]
    assert report.added == report.articles == 20 and b.store.count() == 20
    # Batches of 3, 3, 3, 3, 3, 3, 2 articles, embedded in windows of two batches.
    assert (embedder.calls, embedder.texts_embedded) == (4, 20)
    for i, word in enumerate(WORDS):
        hit = b.search(f"the {word} grid", k=1)[0]
        assert (hit.article_id, hit.text) == (f"a{i:02d}", f"Story about the {word} grid.")
    b.close()


def test_a_loader_stage_failure_is_raised_by_ingest_and_nothing_half_written(
    tmp_path: Path, monkeypatch
) -> None:
    import rag.ingest

    monkeypatch.setattr(rag.ingest, "BATCH_ARTICLES", 2)
    monkeypatch.setattr(rag.ingest, "EMBED_WINDOW", 1)
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(6):
        (docs / f"a{i}.md").write_text(f"---\nid: a{i}\n---\nStory {i} about grids.\n")
    prepare = rag.ingest.Ingestor._prepare

    def prepare_then_fail(self, batch):  # noqa: ANN001, ANN202
        if any(a.id == "a4" for a in batch.articles):
            raise RuntimeError("chunking failed on a4")
        return prepare(self, batch)

    monkeypatch.setattr(rag.ingest.Ingestor, "_prepare", prepare_then_fail)
    b = Byline.open(tmp_path / "idx", embedder=HashEmbeddings(), embed_model="hash")
    with pytest.raises(RuntimeError, match="chunking failed on a4"):
        b.ingest([docs], progress=False)
    assert not [t for t in threading.enumerate() if t.name in ("byline-read", "byline-embed")]
    check = b.check()
    assert check.ok, check.lines()
    assert b.manifest.counts()[0] == 4  # the two batches before the failure, whole
    monkeypatch.undo()
    assert b.ingest([docs], progress=False).articles == 6
    b.close()


class Recording(HashEmbeddings):
    """The test embedder, keeping every text it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.seen += texts
        return super().embed_documents(texts)


@pytest.mark.parametrize("embed_title", [True, False])
def test_embed_title_decides_whether_the_title_line_is_embedded(
    tmp_path: Path, embed_title: bool
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("---\nid: a\ntitle: Harbor deal\n---\nThe port signed it.\n")
    embedder = Recording()
    b = Byline.open(
        tmp_path / "idx", embedder=embedder, embed_model="hash", embed_title=embed_title
    )
    b.ingest([docs], progress=False)
    expected = "Harbor deal\nThe port signed it." if embed_title else "The port signed it."
    assert embedder.seen == [expected]
    assert b.search("port signed", k=1)[0].text == "The port signed it."
    b.close()


def test_an_ingest_with_nothing_to_embed_never_loads_the_model(tmp_path: Path, monkeypatch) -> None:
    import rag.embeddings

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("---\nid: a\ntitle: Harbor deal\n---\nThe port signed it.\n")
    first = Byline.open(tmp_path / "idx", embedder=HashEmbeddings(), embed_model="hash")
    first.ingest([docs], progress=False)
    first.close()

    def no_model(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the embedding model was loaded")

    monkeypatch.setattr(rag.embeddings, "make_embedder", no_model)
    again = Byline.open(tmp_path / "idx", embed_model="hash")
    assert again.ingest([docs], progress=False).unchanged == 1
    (docs / "b.md").write_text("---\nid: b\n---\nA new story.\n")
    with pytest.raises(AssertionError, match="model was loaded"):
        again.ingest([docs], progress=False)  # now there is something to embed
    again.close()
