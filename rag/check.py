"""Do the store, the manifest and the lexical index agree? Report differences, and repair them.

Ingest keeps them in step with a write-ahead intent per article (see ``rag.ingest``), so after
any crash the next ingest puts things right. This check is the independent proof, and the fix
for anything else (chunks written by hand, a store restored from a backup, an older version).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.lexical import LexicalIndex
from rag.manifest import Manifest
from rag.store import ChunkStore

if TYPE_CHECKING:
    from rag.ingest import Ingestor


@dataclass
class CheckReport:
    """Differences found (and, after a repair, what was done about them)."""

    pending: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    lexical_missing: int = 0
    lexical_extra: int = 0
    repaired: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (
            self.pending
            or self.orphans
            or self.mismatched
            or self.lexical_missing
            or self.lexical_extra
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}

    def lines(self) -> list[str]:
        """One line per kind of difference, for the terminal."""
        out = []
        if self.pending:
            out.append(
                f"{len(self.pending)} article writes were cut short (e.g. {self.pending[0]})"
            )
        if self.orphans:
            out.append(
                f"{len(self.orphans)} articles have chunks in the store but are not in the "
                f"manifest (e.g. {self.orphans[0]})"
            )
        if self.mismatched:
            out.append(
                f"{len(self.mismatched)} articles have a different number of chunks in the "
                f"store than the manifest records (e.g. {self.mismatched[0]})"
            )
        if self.lexical_missing or self.lexical_extra:
            out.append(
                f"the lexical index lacks {self.lexical_missing} stored chunks and holds "
                f"{self.lexical_extra} that the store does not"
            )
        return out


def check_index(index_dir: Path, store: ChunkStore, manifest: Manifest) -> CheckReport:
    """Compare what the store holds with the manifest and the lexical index."""
    report = CheckReport(pending=[i.id for i in manifest.pending()])
    stored = store.chunk_ids_by_article()
    entries = manifest.entries()
    report.orphans = sorted(a for a in stored if a not in entries)
    report.mismatched = sorted(
        e.id for e in entries.values() if len(stored.get(e.id, [])) != e.chunks
    )
    chunk_ids = {c for ids in stored.values() for c in ids}
    lexical = set(LexicalIndex.load(index_dir).ids)
    report.lexical_missing = len(chunk_ids - lexical)
    report.lexical_extra = len(lexical - chunk_ids)
    return report


def repair_index(ingestor: Ingestor, found: CheckReport) -> dict[str, int]:
    """Make the store, the manifest and the lexical index agree, losing nothing readable.

    Cut-short writes and articles whose chunks do not match are cleared and read again from
    their files; chunks no manifest entry owns are deleted, and their files (named in the
    chunks' metadata) read again. The lexical index is rebuilt from the store.
    """
    store, manifest = ingestor.store, ingestor.manifest
    recovered, again = ingestor.recover()
    stored = store.chunk_ids_by_article()
    entries = manifest.entries()
    orphans = [a for a in found.orphans if a in stored and a not in entries]
    for first in store.get([stored[a][0] for a in orphans]):
        path = str(first.metadata.get("path") or "")
        if path and Path(path).exists():
            again.append(path)
    bad = [a for a in found.mismatched if a in entries]
    again += [entries[a].path for a in bad if Path(entries[a].path).exists()]
    manifest.set_meta("lexical_stale", "1")
    store.delete_articles(orphans + bad)
    manifest.remove(bad)
    # Read in full: a file passed over as unchanged would not give back what was cleared.
    reread = ingestor.ingest(sorted(set(again)), progress=False, rehash=True) if again else None
    if manifest.get_meta("lexical_stale") == "1":
        ingestor.rebuild_lexical()
    return {
        "cut_short": recovered,
        "orphans_deleted": len(orphans),
        "mismatched_cleared": len(bad),
        "files_read_again": len(set(again)),
        "articles_restored": (reread.added + reread.updated) if reread else 0,
    }
