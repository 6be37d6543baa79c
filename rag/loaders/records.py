"""JSON and JSONL news records in the common shapes (title/body/url/..., doc_id/text/...)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.articles import Article
from rag.errors import LoaderError
from rag.loaders.common import article_from_record


def _records_of(data: Any) -> list[Any]:
    """A JSON document holds one record, a list of them, or a dict wrapping a list."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in ("articles", "records", "items", "data", "documents"):
            if isinstance(data.get(key), list):
                return data[key]
        return [data]
    return [data]


def _convert(record: Any, path: Path, line: int) -> Article | LoaderError:
    if not isinstance(record, dict):
        return LoaderError(
            str(path), f"expected a JSON object, found {type(record).__name__}", line
        )
    try:
        return article_from_record(record, path, line)
    except ValueError as exc:
        return LoaderError(str(path), str(exc), line)


def load_records(path: Path, raw: str) -> Iterator[Article | LoaderError]:
    """JSONL: one record per line (bad lines reported by number). JSON: records by position."""
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield LoaderError(str(path), f"invalid JSON: {exc.msg}", exc.lineno)
            return
        for i, record in enumerate(_records_of(data), start=1):
            yield _convert(record, path, i)
        return
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield LoaderError(str(path), f"invalid JSON on this line: {exc.msg}", lineno)
            continue
        yield _convert(record, path, lineno)
