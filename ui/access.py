"""Who may reach the page: a login off loopback, the Ingest tab only where it is safe.

Bound to loopback (127.0.0.1, localhost, ::1) the page serves this machine's user alone. Bound
to any other interface it serves whoever reaches it, so it needs a login (Gradio's ``auth``,
with credentials from a file or from an environment variable the settings name) unless the
user says, with an explicit flag, that they accept none; it warns either way. Off loopback the
Ingest tab is off unless enabled: it reads files from the server's own folders.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from rag.config import Settings
from rag.errors import ConfigError

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the page on this machine."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _pairs(lines: list[str], where: str) -> list[tuple[str, str]]:
    """``user:password`` entries; a bad one is named by its position, never by its text."""
    pairs = []
    for number, raw in enumerate(lines, start=1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        user, sep, password = entry.partition(":")
        if not sep or not user.strip() or not password:
            raise ConfigError(
                f"{where}, entry {number}: expected 'user:password' with both parts, found "
                "something else: fix that entry"
            )
        pairs.append((user.strip(), password))
    return pairs


def read_credentials(settings: Settings, auth_file: Path | None = None) -> list[tuple[str, str]]:
    """Login pairs from ``auth_file`` (or ``page_auth_file``) and from the environment
    variable that ``page_auth_env`` names; empty when neither is set."""
    pairs: list[tuple[str, str]] = []
    path = auth_file or settings.page_auth_file
    if path is not None:
        try:
            text = Path(path).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot read the login file {path}: {exc.strerror or exc}: give a readable "
                "file of 'user:password' lines"
            ) from None
        pairs += _pairs(text.splitlines(), f"login file {path}")
        if not pairs:
            raise ConfigError(f"the login file {path} holds no 'user:password' line: add one")
    name = settings.page_auth_env
    if name:
        value = os.environ.get(name, "")
        if not value.strip():
            raise ConfigError(
                f"page_auth_env names {name}, which is not set: export {name}='user:password'"
            )
        pairs += _pairs(value.split(","), f"environment variable {name}")
    return pairs


@dataclass
class PageAccess:
    """How the page is served: its login (None = open), whether ingest is on, and warnings."""

    host: str
    auth: list[tuple[str, str]] | None
    ingest: bool
    warnings: list[str] = field(default_factory=list)


def page_access(
    host: str,
    settings: Settings,
    *,
    no_auth: bool = False,
    ingest: bool | None = None,
    auth_file: Path | None = None,
) -> PageAccess:
    """Decide login and ingest for serving on ``host``; a ConfigError when the page would be
    open beyond this machine without the user saying so (``no_auth``)."""
    pairs = read_credentials(settings, auth_file)
    if is_loopback(host):
        return PageAccess(host, pairs or None, True if ingest is None else ingest)
    if not pairs and not no_auth:
        raise ConfigError(
            f"--host {host} serves the page beyond this machine, and no login is set: give a "
            "file of 'user:password' lines (--auth-file, or the page_auth_file setting) or the "
            "name of an environment variable holding them (page_auth_env), or pass --no-auth "
            f"to serve it without a login to anyone who can reach {host}"
        )
    ingest = bool(ingest)
    warnings = []
    if pairs:
        warnings.append(
            f"serving on {host}: visitors must log in ({len(pairs)} account(s)); the page speaks "
            "plain HTTP, so put a TLS proxy in front of it on any network you do not trust"
        )
    else:
        warnings.append(
            f"serving on {host} WITHOUT a login (--no-auth): anyone who can reach it can ask "
            "questions and read the indexed articles"
        )
    if ingest:
        warnings.append(
            "the Ingest tab is on (--ingest): visitors can add files to the index, and read "
            "back supported files from the server's working folder"
        )
    else:
        warnings.append("the Ingest tab is off off-loopback; --ingest turns it on")
    return PageAccess(host, pairs or None, ingest, warnings)
