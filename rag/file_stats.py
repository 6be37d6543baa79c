"""Which files an ingest may pass over unread, and when a file's stat may be recorded.

A file whose size and modification time (in nanoseconds) are what they were when it was last
read in full still holds what it held then: the articles the manifest lists under its path,
with the hashes recorded for them. Such a file is not opened; its articles count as unchanged
(and as seen, so ``prune`` keeps them). Any other file is read, and each article's content hash
decides, as before, what is written again.

A stat is recorded only for a file read in full without a failure or an id conflict, so that
the articles listed under its path are exactly the articles it holds, and only once those are
committed: with the write batch that holds the last of its changed articles, or, for a file
that no longer holds some indexed article, after that article is removed. A crash therefore
never leaves a file recorded as unchanged whose articles are missing or stale. Whatever moves
an article off its file's list (a removal, a replacement from another file, a rebuilt manifest)
forgets that file's stat (``rag.manifest``), so the file is read again.

A file modified within ``RACY_NS`` of the moment it was read is not trusted: a write in the same
clock tick, just after the read, would leave size and time as they were. It is read again next
time, when its stat is older than that.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.manifest import Entry, Manifest

# Two seconds covers the coarsest timestamps in common use (FAT's), and writes that land in
# the same tick as a read on filesystems with kernel-tick timestamps.
RACY_NS = 2_000_000_000


@dataclass(frozen=True)
class FileStat:
    """A file's size and modification time, and the wall-clock time they were taken, just
    before the file was read."""

    path: str
    size: int
    mtime_ns: int
    read_ns: int


def stat_of(path: Path, where: str) -> FileStat | None:
    """The stat of ``path`` (recorded under ``where``, its resolved name); None if it cannot
    be taken, in which case the loader reports the file."""
    read_ns = time.time_ns()
    try:
        st = path.stat()
    except OSError:
        return None
    return FileStat(where, st.st_size, st.st_mtime_ns, read_ns)


def is_unchanged(old: FileStat | None, now: FileStat) -> bool:
    """Whether a file stat'ed as ``now`` may be taken to hold what it held when ``old`` was
    recorded."""
    return (
        old is not None
        and old.size == now.size
        and old.mtime_ns == now.mtime_ns
        and old.mtime_ns < old.read_ns - RACY_NS
    )


@dataclass
class FileBook:
    """The files of one ingest: which to pass over, and which stats are due to be recorded.

    ``recorded`` holds the stats the manifest has (empty when every file is to be read again);
    ``by_path`` the indexed articles under each file's path."""

    recorded: dict[str, FileStat]
    by_path: dict[str, list[Entry]]
    # Due with the next write batch: files all of whose articles are written by then.
    ready: list[FileStat] = field(default_factory=list)
    # Due after this ingest's removals: files that no longer hold an indexed article.
    after_removals: list[FileStat] = field(default_factory=list)
    conflicted: set[str] = field(default_factory=set)
    passed_over: set[str] = field(default_factory=set)

    @classmethod
    def open(
        cls, manifest: Manifest, known: dict[str, Entry], max_bytes: int, trust: bool
    ) -> FileBook:
        """The book for an ingest of an index whose articles are ``known``: with the recorded
        stats when ``trust`` is on and they were recorded under this file size limit (a file
        over one limit may be under another), else with none, so every file is read."""
        limit = str(max_bytes)
        if manifest.get_meta("files_max_bytes") != limit:
            manifest.forget_files()
            manifest.set_meta("files_max_bytes", limit)
        by_path: dict[str, list[Entry]] = {}
        for entry in known.values():
            by_path.setdefault(entry.path, []).append(entry)
        return cls(manifest.files() if trust else {}, by_path)

    def unchanged(self, now: FileStat) -> bool:
        return is_unchanged(self.recorded.get(now.path), now)

    def passed(self, where: str) -> list[Entry]:
        """A file passed over unread: the articles it holds (none the second time it is named)."""
        if where in self.passed_over:
            return []
        self.passed_over.add(where)
        return self.by_path.get(where, [])

    def read_in_full(self, stat: FileStat | None, seen: set[tuple[str, str]]) -> None:
        """A file read without a failure: its stat is due now, after the removals, or never
        (an id conflict, or no stat)."""
        if stat is None or stat.path in self.conflicted:
            return
        gone = any((stat.path, e.id) not in seen for e in self.by_path.get(stat.path, []))
        (self.after_removals if gone else self.ready).append(stat)

    def take_ready(self) -> list[FileStat]:
        ready, self.ready = self.ready, []
        return ready
