"""Turn files and folders into articles. Each bad file or record is reported and skipped."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rag.articles import Article
from rag.errors import LoaderError
from rag.file_stats import FileStat, stat_of
from rag.loaders.feeds import load_feed
from rag.loaders.html import load_html
from rag.loaders.records import load_records
from rag.loaders.text import load_text

# A loader reads a file (within a size limit) and yields articles or per-record errors.
Loader = Callable[[Path, int], Iterator[Article | LoaderError]]

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
    """What a load produced: articles, per-file failures, and files passed over in folders.

    ``paths`` lists only files read in full without a single failure: the articles seen from
    them are everything they hold now. A file with any failure is not in it, so nothing that
    file used to hold is taken to be gone. ``stats`` holds each such file's size and
    modification time as they were just before it was read; ``unchanged`` the files passed over
    unread because those were as recorded.
    """

    articles: list[Article] = field(default_factory=list)
    failures: list[LoaderError] = field(default_factory=list)
    warnings: list[LoaderError] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    stats: dict[str, FileStat] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)


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


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply to read"
    if isinstance(exc, MemoryError):
        return "too large to read in memory"
    return f"could not be read ({exc.__class__.__name__}: {exc})"[:300]


def iter_articles(
    paths: Iterable[str | Path],
    max_bytes: int,
    result: LoadResult,
    unchanged: Callable[[FileStat], bool] | None = None,
) -> Iterator[Article]:
    """Yield articles one at a time, recording failures and cleanly read files in ``result``.

    Nothing a loader raises escapes: it becomes a failure of that file, and the walk goes on.
    A duplicate id keeps the first and reports the rest. A file for whose stat ``unchanged``
    says yes is not opened (see ``rag.file_stats``).
    """
    first_seen: dict[str, str] = {}
    for path in iter_files(paths, result):
        where = str(path.resolve())
        stat = stat_of(path, where)
        if unchanged is not None and stat is not None and unchanged(stat):
            result.unchanged.append(where)
            continue
        before = len(result.failures)
        try:
            for item in LOADERS[path.suffix.lower()](path, max_bytes):
                if isinstance(item, LoaderError):
                    result.failures.append(item)
                    continue
                item.path = where
                line = item.extra.get("line")
                for warning in item.warnings:
                    result.warnings.append(LoaderError(str(path), warning, line))
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
                yield item
        except LoaderError as exc:
            result.failures.append(exc)
        except Exception as exc:  # a loader bug or odd input must not end the run
            result.failures.append(LoaderError(str(path), _describe(exc)))
        if len(result.failures) == before:
            result.paths.append(where)
            if stat is not None:
                result.stats[where] = stat


def load_paths(paths: Iterable[str | Path], max_bytes: int) -> LoadResult:
    """Load every article under ``paths`` into memory (see :func:`iter_articles`)."""
    result = LoadResult()
    result.articles.extend(iter_articles(paths, max_bytes, result))
    return result


__all__ = ["LOADERS", "LoadResult", "iter_articles", "load_paths"]
