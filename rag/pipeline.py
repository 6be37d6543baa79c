"""Run the stages of an ingest at the same time: each stage on its own thread, one bounded
queue between neighbours, so memory holds a few batches whatever the corpus size.

The stages that overlap are native code most of the time (JSON parsing and chunking are the
exception): ONNX Runtime and the tokenizer release the GIL while they work, so reading the
next batch costs the embedder little. See docs/decisions/0102-ingest-pipeline-and-token-batches.md.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_DONE = object()


class _Failed:
    """An exception raised in the producing thread, carried to the consuming one."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def stage(
    fn: Callable[[T], R], items: Iterable[T], depth: int = 1, name: str = "stage"
) -> Generator[R, None, None]:
    """Yield ``fn(item)`` for each of ``items``, computed on a background thread that keeps
    at most ``depth`` results ready.

    An exception raised there is raised here, where its result would have come. When the
    consumer stops early (an error, a ``break``, ``close()``), the thread stops after the
    item in hand and closes ``items``, so a chain of stages winds down stage by stage.
    """
    ready: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        source = iter(items)
        try:
            for item in source:
                if not put(fn(item)):
                    return
            put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - every failure goes to the consumer
            put(_Failed(exc))
        finally:
            # Closed on the thread that runs it, so a stage it wraps stops its own thread too.
            close = getattr(source, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name=name, daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


class Clock:
    """Seconds of work per named part of an ingest, summed over every call and thread. The
    stages overlap, so the parts add up to more than the wall time; what they show is where
    the work goes (the write thread's parts are its whole share)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, name: str, seconds: float) -> None:
        with self._lock:
            self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        """Time the block as part ``name``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - started)
