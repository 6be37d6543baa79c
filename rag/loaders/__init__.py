"""Turn files and folders into articles. Each bad file or record is reported and skipped."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rag.articles import Article
from rag.errors import LoaderError
from rag.loaders.common import read_text
from rag.loaders.feeds import load_feed
from rag.loaders.html import load_html
from rag.loaders.records import load_records
from rag.loaders.text import load_text

Loader = Callable[[Path, str], Iterator[Article | LoaderError]]

LOADERS: dict[str, Loader] = {
    ".md": load_text,
    ".markdown": load_text,
    ".txt": load_text,
    ".html": load_html,
    ".htm": load_html,
    ".json": load_records,
    ".jsonl": load_records,
    ".ndjson": load_records,
    ".xml": load_feed,
    ".rss": load_feed,
    ".atom": load_feed,
}

# Files a folder walk passes over: documentation about the folder, not news.
_FOLDER_NOTES = {"readme", "license", "licence", "changelog", "notes"}


@dataclass
class LoadResult:
    """What a load produced: articles, per-file failures, and files passed over in folders."""

    articles: list[Article] = field(default_factory=list)
    failures: list[LoaderError] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


def iter_files(paths: Iterable[str | Path], result: LoadResult) -> Iterator[Path]:
    """Expand folders recursively (sorted, hidden entries skipped); report missing paths."""
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            result.failures.append(LoaderError(str(path), "no such file or folder"))
        elif path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if any(part.startswith(".") for part in rel.parts) or not child.is_file():
                    continue
                if child.suffix.lower() not in LOADERS or child.stem.lower() in _FOLDER_NOTES:
                    result.skipped.append(str(child))
                    continue
                yield child
        elif path.suffix.lower() not in LOADERS:
            known = ", ".join(sorted(LOADERS))
            result.failures.append(
                LoaderError(
                    str(path),
                    f"unsupported file type {path.suffix or '(none)'!r}; supported: {known}",
                )
            )
        else:
            yield path


def load_paths(paths: Iterable[str | Path], max_bytes: int) -> LoadResult:
    """Load every article under ``paths``; a duplicate id keeps the first and reports the rest."""
    result = LoadResult()
    first_seen: dict[str, str] = {}
    for path in iter_files(paths, result):
        where = str(path.resolve())
        result.paths.append(where)
        try:
            text = read_text(path, max_bytes)
        except LoaderError as exc:
            result.failures.append(exc)
            continue
        for item in LOADERS[path.suffix.lower()](path, text):
            if isinstance(item, LoaderError):
                result.failures.append(item)
                continue
            item.path = where
            line = item.extra.get("line")
            here = f"{path}:{line}" if line else str(path)
            if item.id in first_seen:
                result.failures.append(
                    LoaderError(
                        str(path),
                        f"duplicate article id {item.id!r} (first seen at "
                        f"{first_seen[item.id]}); kept the first",
                        line,
                    )
                )
                continue
            first_seen[item.id] = here
            result.articles.append(item)
    return result


__all__ = ["LOADERS", "LoadResult", "load_paths"]
