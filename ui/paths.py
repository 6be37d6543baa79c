"""What the Ingest tab may read: uploads of the loaders' file types, and paths inside set roots.

A folder path typed into the page is untrusted: it must stay inside one of the allowed roots
(by default the working directory and the demo corpus), may not use ``..``, and may not reach
outside through a symbolic link, neither itself nor any article file under it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rag.errors import RagError
from rag.loaders import LOADERS

UPLOAD_DIR = "uploads"
MAX_WALK_ENTRIES = 200_000


def supported_extensions() -> list[str]:
    """The file endings the loaders read, e.g. ``.md``, ``.html``, ``.jsonl``."""
    return sorted(LOADERS)


def _inside(path: Path, roots: Iterable[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def _show(roots: Sequence[Path]) -> str:
    return ", ".join(str(r) for r in roots)


def resolve_allowed(raw: str, roots: Sequence[Path]) -> Path:
    """The real path ``raw`` names, if it and every article file under it are inside ``roots``.

    Relative paths are taken from the working directory. Raises ``RagError`` with a message
    that says what is wrong and what is allowed.
    """
    text = (raw or "").strip().strip("\"'")
    if not text:
        raise RagError("give the path of a folder or file to ingest")
    if "\x00" in text:
        raise RagError("the path contains a NUL character")
    given = Path(text).expanduser()
    if ".." in given.parts:
        raise RagError(
            f"{text!r} uses '..': give a path inside the allowed folders ({_show(roots)}) "
            "without '..'"
        )
    real_roots = [Path(r).resolve() for r in roots]
    absolute = given if given.is_absolute() else Path.cwd() / given
    if not absolute.exists():
        raise RagError(f"{text!r}: no such file or folder")
    real = absolute.resolve()
    if not _inside(real, real_roots):
        lexically_inside = _inside(absolute, [Path(r).absolute() for r in roots]) or _inside(
            absolute, real_roots
        )
        if lexically_inside:
            raise RagError(
                f"{text!r} leads outside the allowed folders through a symbolic link "
                f"(to {real}): only {_show(real_roots)} may be ingested from the page"
            )
        raise RagError(
            f"{text!r} is outside the allowed folders: only {_show(real_roots)} "
            "may be ingested from the page"
        )
    if real.is_dir():
        _check_links_under(real, real_roots)
    return real


def _check_links_under(folder: Path, real_roots: Sequence[Path]) -> None:
    """Refuse a folder holding an article file that is a symbolic link to outside the roots."""
    seen = 0
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]  # the loaders skip these
        for name in filenames:
            seen += 1
            if seen > MAX_WALK_ENTRIES:
                raise RagError(
                    f"{folder} holds more than {MAX_WALK_ENTRIES} files: ingest a smaller folder"
                )
            if name.startswith(".") or Path(name).suffix.lower() not in LOADERS:
                continue
            path = Path(dirpath) / name
            if path.is_symlink() and not _inside(path.resolve(), real_roots):
                raise RagError(
                    f"{path} is a symbolic link to {path.resolve()}, outside the allowed "
                    "folders: remove the link or ingest another folder"
                )


def safe_name(name: str) -> str:
    """A plain file name for a stored upload: no folders, no leading dots, no odd characters."""
    base = Path(str(name).replace("\\", "/")).name
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).lstrip(".")
    return cleaned or "upload"


def upload_problem(path: Path, name: str, max_bytes: int) -> str | None:
    """Why an uploaded file cannot be ingested, or ``None`` if it can."""
    suffix = Path(name).suffix.lower()
    if suffix not in LOADERS:
        return (
            f"unsupported file type {suffix or '(none)'!r}; supported: "
            f"{', '.join(supported_extensions())}"
        )
    size = path.stat().st_size
    if size > max_bytes:
        return (
            f"file is {size / 1_000_000:.1f} MB, over the {max_bytes / 1_000_000:g} MB limit "
            "(max_file_mb)"
        )
    if size == 0:
        return "file is empty"
    return None


def _content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def stage_uploads(
    files: Sequence[Any] | None, dest: Path, max_bytes: int
) -> tuple[list[Path], list[dict[str, Any]]]:
    """Copy acceptable uploads into ``dest``, each in a folder named by its content hash.

    Two uploads that share a file name never overwrite each other's stored copy (and so never
    remove each other's articles); the same file uploaded again lands on the same copy and is
    unchanged. An upload whose article ids are already indexed is reported as a conflict.
    """
    accepted: list[Path] = []
    rejected: list[dict[str, Any]] = []
    for item in files or []:
        path = Path(getattr(item, "name", None) or str(item))
        name = safe_name(path.name)
        problem = upload_problem(path, name, max_bytes) if path.is_file() else "upload is missing"
        if problem:
            rejected.append({"path": path.name, "line": None, "error": problem})
            continue
        target = dest / _content_hash(path) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        accepted.append(target)
    return accepted, rejected
