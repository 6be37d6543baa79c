"""Server mode: the Chroma server holds the truth; what an index folder keeps are caches.

Many processes, on many machines, may share one collection on a ``chroma run`` server, each
with its own index folder. Three things keep them honest:

- a **version stamp** in the collection's metadata, bumped by every write (see ``rag.store``):
  a process whose manifest was built at another version rebuilds its manifest and lexical
  index from the collection before it answers;
- a **write lease** in the same metadata (holder and expiry): one writer at a time across
  machines, renewed while it works, taken over only once it has expired;
- each chunk's metadata carries its article's content hash and chunk count, so the manifest
  can be rebuilt from the collection alone.

Chroma has no compare-and-swap, so the lease is claimed by writing it, waiting a moment and
reading it back: of two claims that race, the later write wins and the other backs off.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace

from rag.errors import IndexLockedError
from rag.manifest import Entry, Manifest
from rag.store import ChunkStore

LEASE_KEY = "byline_lease"
EMBED_KEY = "byline_embed_model"
LEASE_SECONDS = 60.0  # a writer that dies holds the server this long at most
SETTLE_SECONDS = 0.3  # between writing a claim and reading it back


def holder_name() -> str:
    """Who is writing: host, process and a random part (two objects in one process differ)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _parse_lease(value: object) -> tuple[str, float]:
    holder, _, expires = str(value or "").rpartition("|")
    try:
        return holder, float(expires)
    except ValueError:
        return "", 0.0


class Lease:
    """The write lease on a collection, held by ``holder`` until it expires or is released."""

    def __init__(self, store: ChunkStore, holder: str, seconds: float = LEASE_SECONDS) -> None:
        self.store = store
        self.holder = holder
        self.seconds = seconds

    def _claim(self) -> None:
        self.store.set_metadata({LEASE_KEY: f"{self.holder}|{time.time() + self.seconds:.3f}"})

    def _refuse(self, holder: str, expires: float) -> IndexLockedError:
        left = max(0.0, expires - time.time())
        return IndexLockedError(
            f"another writer ({holder}) holds the write lease on collection "
            f"{self.store.name!r} at {self.store.url} for {left:.0f} s more: wait for its "
            f"ingest to finish (or, if that process is gone, for the lease to expire), then "
            "try again"
        )

    def acquire(self) -> None:
        """Take the lease, or raise ``IndexLockedError`` naming the current holder."""
        holder, expires = _parse_lease(self.store.metadata().get(LEASE_KEY))
        if holder and holder != self.holder and expires > time.time():
            raise self._refuse(holder, expires)
        self._claim()
        time.sleep(SETTLE_SECONDS)
        holder, expires = _parse_lease(self.store.metadata().get(LEASE_KEY))
        if holder != self.holder:
            raise self._refuse(holder, expires)

    def renew(self) -> None:
        """Extend the lease; raise if it was lost (expired and taken by another writer)."""
        holder, expires = _parse_lease(self.store.metadata().get(LEASE_KEY))
        if holder != self.holder:
            raise IndexLockedError(
                f"lost the write lease on collection {self.store.name!r} at {self.store.url} "
                f"to {holder or 'nobody'}: this ingest stopped; run it again to finish"
            )
        self._claim()

    def release(self) -> None:
        holder, _ = _parse_lease(self.store.metadata().get(LEASE_KEY))
        if holder == self.holder:
            self.store.set_metadata({LEASE_KEY: ""})


@contextmanager
def write_lease(store: ChunkStore, holder: str, seconds: float = LEASE_SECONDS) -> Iterator[Lease]:
    """Hold the collection's write lease for the block (a no-op lease when embedded)."""
    lease = Lease(store, holder, seconds)
    if not store.url:
        yield lease
        return
    lease.acquire()
    try:
        yield lease
    finally:
        with suppress(Exception):  # a server gone now lets the lease expire by itself
            lease.release()


def entries_from_store(store: ChunkStore) -> dict[str, Entry]:
    """The manifest as the collection implies it: one entry per article seen in the chunks."""
    found: dict[str, Entry] = {}
    counts: dict[str, int] = {}
    for chunk in store.iter_metadata():
        meta = chunk.metadata
        aid = str(meta.get("article_id", ""))
        counts[aid] = counts.get(aid, 0) + 1
        if aid in found:
            continue
        ts = meta.get("published_ts")
        found[aid] = Entry(
            aid,
            str(meta.get("hash", "")),
            int(meta.get("chunks", 0) or 0),
            str(meta.get("path", "")),
            str(meta.get("title", "")),
            str(meta.get("source", "")),
            str(meta.get("url", "")),
            int(ts) if ts is not None else None,
        )
    # An article with chunks missing (a write cut short elsewhere) gets an empty hash, so the
    # next ingest of its file writes it again; check reports it until then.
    return {a: e if counts[a] == e.chunks else replace(e, hash="") for a, e in found.items()}


def rebuild_manifest(store: ChunkStore, manifest: Manifest, version: int) -> None:
    """Make the manifest a copy of what the collection holds, as of ``version``."""
    manifest.replace_all(entries_from_store(store).values())
    embed = store.metadata().get(EMBED_KEY)
    if embed:
        manifest.set_meta("embed_model", str(embed))
    manifest.set_meta("lexical_stale", "1")
    manifest.set_meta("server_version", str(version))
