"""Prompts ship as files in the package; every answer records a short hash of the ones it used."""

from __future__ import annotations

import hashlib
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
