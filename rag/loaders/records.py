"""JSON and JSONL news records in the common shapes (title/body/url/..., doc_id/text/...).

JSONL is read line by line, so a file of any size costs the memory of one record; the size
limit applies to each line. A JSON document is read whole, within the file size limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.articles import Article
from rag.errors import LoaderError
from rag.loaders.common import article_from_record, read_text

_BOM = b"\xef\xbb\xbf"


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
    except Exception as exc:  # one odd record never stops the file
        return LoaderError(str(path), _reason(exc), line)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply to read"
    if isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON: {exc.msg}"
    if isinstance(exc, ValueError):
        return str(exc)
    return f"unreadable record ({exc.__class__.__name__}: {exc})"[:300]


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply to read") from None


def load_records(path: Path, max_bytes: int) -> Iterator[Article | LoaderError]:
    """JSONL: one record per line (bad lines reported by number). JSON: records by position."""
    if path.suffix.lower() == ".json":
        raw = read_text(path, max_bytes)
        try:
            data = _parse(raw)
        except json.JSONDecodeError as exc:
            yield LoaderError(str(path), f"invalid JSON: {exc.msg}", exc.lineno)
            return
        except ValueError as exc:
            yield LoaderError(str(path), str(exc))
            return
        for i, record in enumerate(_records_of(data), start=1):
            yield _convert(record, path, i)
        return
    yield from _stream_lines(path, max_bytes)


def _stream_lines(path: Path, max_bytes: int) -> Iterator[Article | LoaderError]:
    seen_any = False
    with path.open("rb") as fh:
        head = fh.read(8192)
        if b"\x00" in head:
            raise LoaderError(str(path), "looks like a binary file, not text")
        fh.seek(0)
        lineno = 0
        while True:
            data = fh.readline(max_bytes + 1)
            if not data:
                break
            lineno += 1
            if len(data) > max_bytes and not data.endswith(b"\n"):
                # Skip the rest of an oversized line without holding it.
                while data and not data.endswith(b"\n"):
                    data = fh.readline(1 << 20)
                yield LoaderError(
                    str(path),
                    f"line is over the {max_bytes / 1e6:.3g} MB limit (raise max_file_mb)",
                    lineno,
                )
                continue
            if lineno == 1 and data.startswith(_BOM):
                data = data[len(_BOM) :]
            if not data.strip():
                continue
            seen_any = True
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield LoaderError(
                    str(path), f"not UTF-8 text (bad byte at column {exc.start})", lineno
                )
                continue
            try:
                record = _parse(text)
            except json.JSONDecodeError as exc:
                yield LoaderError(str(path), f"invalid JSON on this line: {exc.msg}", lineno)
                continue
            except ValueError as exc:
                yield LoaderError(str(path), str(exc), lineno)
                continue
            yield _convert(record, path, lineno)
    if not seen_any:
        raise LoaderError(str(path), "file is empty")
