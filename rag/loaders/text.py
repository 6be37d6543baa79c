"""Markdown and plain-text articles, with optional YAML front matter for metadata."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import frontmatter
import yaml

from rag.articles import Article
from rag.errors import LoaderError
from rag.loaders.common import article_from_record

_HEADING = re.compile(r"^\s*#\s+(.+?)\s*#*\s*$", re.M)


def load_text(path: Path, raw: str) -> Iterator[Article | LoaderError]:
    """One article per file; the title comes from front matter, a leading heading or the name."""
    try:
        post = frontmatter.loads(raw)
    except yaml.YAMLError as exc:
        yield LoaderError(str(path), f"front matter is not valid YAML: {exc}".splitlines()[0])
        return
    meta = dict(post.metadata)
    body = post.content.strip()
    if not meta.get("title"):
        m = _HEADING.match(body)
        if m:
            meta["title"] = m.group(1)
            body = body[m.end() :].strip()
        else:
            meta["title"] = path.stem.replace("-", " ").replace("_", " ")
    meta["text"] = body
    meta.pop("body", None)
    try:
        yield article_from_record(meta, path)
    except ValueError as exc:
        yield LoaderError(str(path), str(exc))
