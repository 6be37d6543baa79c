"""Prompts ship as files in the package; every answer records a short hash of the ones it used."""

from __future__ import annotations

import hashlib
import re
from functools import cache
from importlib import resources

NOT_IN_ARTICLES = "The articles don't say."


@cache
def load_prompt(name: str) -> str:
    """The text of ``rag/prompts/<name>.md``."""
    return resources.files(__package__).joinpath(f"{name}.md").read_text(encoding="utf-8").strip()


def prompt_hash(*names: str) -> str:
    """A 12-hex-digit hash over the named prompts, to trace a score to the prompt that made it."""
    digest = hashlib.sha256()
    for name in names:
        digest.update(load_prompt(name).encode("utf-8") + b"\0")
    return digest.hexdigest()[:12]


_TURN = re.compile(r"^## (user|assistant)\s*$", re.M)


def parse_examples(text: str) -> tuple[tuple[str, str], ...]:
    """Worked example turns: ``## user`` and ``## assistant`` headings, each followed by that
    turn's text, as (role, text) pairs in order; a clear error for any other shape."""
    parts = _TURN.split(text.strip())
    if parts[0].strip():
        raise ValueError("worked examples must start with a '## user' heading")
    turns = tuple((role, body.strip()) for role, body in zip(parts[1::2], parts[2::2], strict=True))
    roles = [role for role, _ in turns]
    if not turns or roles != ["user", "assistant"] * (len(turns) // 2):
        raise ValueError("worked examples must alternate '## user' and '## assistant' turns")
    if not all(body for _, body in turns):
        raise ValueError("every worked example turn needs text under its heading")
    return turns


@cache
def load_examples(name: str = "examples") -> tuple[tuple[str, str], ...]:
    """The worked example turns in ``rag/prompts/<name>.md`` (see ``parse_examples``)."""
    return parse_examples(load_prompt(name))
