"""One writer at a time on an index: a file lock with a clear error for the second writer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from rag.errors import IndexLockedError

LOCK_FILE = "write.lock"


@contextmanager
def writer_lock(index_dir: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the index's write lock, or raise at once (after ``wait`` seconds) if another has it."""
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / LOCK_FILE))
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        raise IndexLockedError(
            f"another process is writing to the index at {index_dir}: wait for it to finish, "
            "then try again (one writer at a time, on a Chroma server too; reading goes on)"
        ) from None
    try:
        yield
    finally:
        lock.release()
