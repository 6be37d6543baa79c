"""Markdown and plain-text articles, with optional YAML front matter for metadata."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import frontmatter
import yaml
from frontmatter.default_handlers import YAMLHandler

from rag.articles import Article
from rag.errors import LoaderError
from rag.loaders.common import article_from_record, read_text

_HEADING = re.compile(r"^\s*#\s+(.+?)\s*#*\s*$", re.M)


class _NoTimestampLoader(yaml.SafeLoader):
    """YAML without implicit timestamps: a date stays text, so one parser reads every date
    (and an impossible ``2025-02-30`` becomes an undated article, not an unreadable file)."""


_NoTimestampLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Handler(YAMLHandler):
    def load(self, fm: str, **kwargs: object) -> object:
        return yaml.load(fm, Loader=_NoTimestampLoader)  # noqa: S506 - a SafeLoader subclass


def load_text(path: Path, max_bytes: int) -> Iterator[Article | LoaderError]:
    """One article per file; the title comes from front matter, a leading heading or the name."""
    raw = read_text(path, max_bytes)
    try:
        post = frontmatter.loads(raw, handler=_Handler())
    except yaml.YAMLError as exc:
        yield LoaderError(str(path), f"front matter is not valid YAML: {exc}".splitlines()[0])
        return
    meta = post.metadata if isinstance(post.metadata, dict) else {}
    meta = dict(meta)
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
