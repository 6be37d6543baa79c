"""The exception tree. Every message says what was expected, what was found and what to do."""

from __future__ import annotations


class RagError(Exception):
    """Root of every error Byline raises on purpose."""


class ConfigError(RagError):
    """The configuration is invalid (unknown key, bad value, unreadable file)."""


class IndexMissingError(RagError):
    """No index exists where one was expected."""

    def __init__(self, where: str) -> None:
        super().__init__(f"no index at {where}: run `byline ingest PATH` first")
        self.where = where


class IndexLockedError(RagError):
    """Another process is writing to the same embedded index."""


class LoaderError(RagError):
    """One input file or record could not be turned into an article."""

    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.reason = reason
        self.line = line


class ModelError(RagError):
    """A model is missing, corrupt or cannot be loaded."""


class ServiceError(RagError):
    """A remote service (Chroma server, LLM endpoint) could not be reached or refused."""
