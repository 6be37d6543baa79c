"""Changes to the lexical index: append a segment, tombstone chunks, merge, publish.

Only the process holding the index's writer lock makes one. Every change writes new files
(a segment folder, a tombstone mask) and then replaces the pointer file in one rename, so a
crash at any point leaves the last published generation whole; files no pointer names are
removed on a later publish. See docs/decisions/0101-growing-bm25.md.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Sequence
from itertools import islice
from pathlib import Path

import numpy as np

from rag.lexical import FOLDER, FORMAT, POINTER, is_legacy, read_pointer
from rag.lexical_segment import LexicalDoc, Segment, save_dead, write_synced

# Defaults of the tuning settings ``lexical_max_segments`` and ``lexical_merge_factor``.
MAX_SEGMENTS = 8
MERGE_FACTOR = 4
# A segment with more than this share of its chunks tombstoned is rewritten without them.
MAX_DEAD_SHARE = 0.5
REBUILD_BATCH = 50_000


def article_of(chunk_id: str) -> str:
    """The article a chunk belongs to: chunk ids are ``article_id:n`` (rag.chunking)."""
    return chunk_id.rsplit(":", 1)[0]


class LexicalWriter:
    """The writer's view of the lexical index: its segments, tombstones and chunk locations."""

    def __init__(
        self,
        index_dir: Path,
        max_segments: int = MAX_SEGMENTS,
        merge_factor: int = MERGE_FACTOR,
    ) -> None:
        self.index_dir = index_dir
        self.folder = index_dir / FOLDER
        self.max_segments = max(1, max_segments)
        self.merge_factor = max(2, merge_factor)
        pointer = read_pointer(index_dir)
        self.legacy = is_legacy(pointer)
        self.generation = 0
        self._next = 1
        self._published: set[str] = set()
        self._segments: list[Segment] = []
        self._dead: dict[str, np.ndarray | None] = {}
        self._dead_file: dict[str, str | None] = {}
        if pointer is not None and not self.legacy:
            self.generation = int(pointer["generation"])
            self._next = int(pointer.get("next_segment", 1))
            self._published = _named_files(pointer)
            for entry in pointer["segments"]:
                folder = self.folder / entry["name"]
                dead = np.load(folder / entry["dead"]) if entry.get("dead") else None
                self._add(Segment.load(folder), dead, entry.get("dead"))
        self._where: dict[str, list[tuple[str, int]]] | None = None

    def __len__(self) -> int:
        return sum(self._live(s) for s in self._segments)

    @property
    def segment_count(self) -> int:
        return len(self._segments)

    # -- changes ----------------------------------------------------------------------------
    def replace(self, article_ids: Sequence[str], docs: Sequence[LexicalDoc]) -> None:
        """Drop every chunk of ``article_ids``, add ``docs`` (their new chunks), publish."""
        self._tombstone(article_ids)
        if docs:
            seg = Segment.build(self._new_name(), docs)
            seg.save(self.folder / seg.name)
            self._add(seg, None, None)
            self._index_locations(seg)
        self._merge_if_needed()
        self.publish()

    def remove(self, article_ids: Sequence[str]) -> None:
        """Drop every chunk of ``article_ids`` and publish."""
        self.replace(article_ids, [])

    def rebuild(self, docs: Iterable[LexicalDoc]) -> None:
        """Replace everything with ``docs``, read in bounded batches, published once at the end."""
        self._segments, self._dead, self._dead_file = [], {}, {}
        self._where = {}
        it = iter(docs)
        while batch := list(islice(it, REBUILD_BATCH)):
            seg = Segment.build(self._new_name(), batch)
            seg.save(self.folder / seg.name)
            self._add(seg, None, None)
            self._index_locations(seg)
            self._merge_if_needed()
        self.legacy = False
        self.publish()

    def compact(self) -> None:
        """Merge every segment into one without tombstones (a full rebuild's layout)."""
        if len(self._segments) > 1 or any(d is not None for d in self._dead.values()):
            self._merge(list(self._segments))
        self.publish()

    # -- internals --------------------------------------------------------------------------
    def _add(self, seg: Segment, dead: np.ndarray | None, dead_file: str | None) -> None:
        self._segments.append(seg)
        self._dead[seg.name] = dead
        self._dead_file[seg.name] = dead_file

    def _live(self, seg: Segment) -> int:
        dead = self._dead[seg.name]
        return len(seg) - (0 if dead is None else int(dead.sum()))

    def _new_name(self) -> str:
        name = f"seg-{self._next:06d}"
        self._next += 1
        orphan = self.folder / name
        if orphan.exists():  # written by a run that crashed before publishing it
            shutil.rmtree(orphan)
        return name

    def _locations(self) -> dict[str, list[tuple[str, int]]]:
        """Article id → (segment, position) of each of its live chunks, built on first use."""
        if self._where is None:
            self._where = {}
            for seg in self._segments:
                self._index_locations(seg)
        return self._where

    def _index_locations(self, seg: Segment) -> None:
        if self._where is None:
            return
        dead = self._dead[seg.name]
        for pos, cid in enumerate(seg.ids):
            if dead is None or not dead[pos]:
                self._where.setdefault(article_of(cid), []).append((seg.name, pos))

    def _tombstone(self, article_ids: Sequence[str]) -> None:
        where = self._locations()
        for article in article_ids:
            for name, pos in where.pop(article, ()):
                dead = self._dead[name]
                if dead is None:
                    seg = next(s for s in self._segments if s.name == name)
                    dead = self._dead[name] = np.zeros(len(seg), dtype=bool)
                dead[pos] = True
                self._dead_file[name] = None  # to be written at publish

    def _merge_if_needed(self) -> None:
        for seg in [s for s in self._segments if self._live(s) == 0]:
            self._drop(seg)
        worn = [s for s in self._segments if self._live(s) < (1 - MAX_DEAD_SHARE) * len(s)]
        if worn:
            self._merge(worn)
        while len(self._segments) > self.max_segments:
            smallest = sorted(self._segments, key=self._live)[: self.merge_factor]
            self._merge([s for s in self._segments if s in smallest])

    def _drop(self, seg: Segment) -> None:
        self._segments.remove(seg)
        del self._dead[seg.name], self._dead_file[seg.name]

    def _merge(self, group: list[Segment]) -> None:
        merged = Segment.merge(self._new_name(), [(s, self._dead[s.name]) for s in group])
        merged.save(self.folder / merged.name)
        names = {s.name for s in group}
        at = min(self._segments.index(s) for s in group)
        for seg in group:
            self._drop(seg)
        self._segments.insert(at, merged)
        self._dead[merged.name] = None
        self._dead_file[merged.name] = None
        if self._where is not None:
            for article in {article_of(c) for c in merged.ids}:
                self._where[article] = [p for p in self._where[article] if p[0] not in names]
            self._index_locations(merged)

    def publish(self) -> None:
        """Write pending tombstones, switch the pointer atomically, then clear unnamed files."""
        self.generation += 1
        entries = []
        for seg in self._segments:
            dead, file = self._dead[seg.name], self._dead_file[seg.name]
            if dead is not None and file is None:
                file = f"dead-{self.generation:06d}.npy"
                save_dead(self.folder / seg.name / file, dead)
                self._dead_file[seg.name] = file
            entries.append({"name": seg.name, "dead": file, "chunks": len(seg)})
        pointer = {
            "format": FORMAT,
            "generation": self.generation,
            "next_segment": self._next,
            "segments": entries,
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.index_dir / (POINTER + ".tmp")
        write_synced(tmp, json.dumps(pointer).encode("utf-8"))
        os.replace(tmp, self.index_dir / POINTER)
        _fsync_dir(self.index_dir)
        named = _named_files(pointer)
        # A reader may be opening what the pointer just replaced named: keep that one round.
        self._collect_garbage(named | self._published)
        self._published = named

    def _collect_garbage(self, keep: set[str]) -> None:
        for old in self.index_dir.glob("lexical-*"):  # the whole-corpus format's folders
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
        if not self.folder.is_dir():
            return
        for seg_dir in self.folder.iterdir():
            if seg_dir.name not in keep:
                shutil.rmtree(seg_dir, ignore_errors=True)
                continue
            for f in seg_dir.glob("dead-*.npy"):
                if f"{seg_dir.name}/{f.name}" not in keep:
                    f.unlink(missing_ok=True)


def _named_files(pointer: dict) -> set[str]:
    """Segment folders and tombstone files (``segment/file``) that a pointer names."""
    named: set[str] = set()
    for entry in pointer.get("segments", []):
        named.add(entry["name"])
        if entry.get("dead"):
            named.add(f"{entry['name']}/{entry['dead']}")
    return named


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
