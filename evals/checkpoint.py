"""The run's checkpoint: ``records.jsonl``, one finished record per line, appended as they come.

A killed run loses at most the questions in progress; ``--resume`` reads the rest back.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

CHECKPOINT = "records.jsonl"


def load_checkpoint(path: Path, answers: bool = False) -> dict[str, dict[str, Any]]:
    """Finished records of a checkpoint file by question id. A torn last line (a killed run)
    and failed records are skipped; with ``answers``, so are records without an answer."""
    done: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return done
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(rec, dict) or "id" not in rec or rec.get("error") is not None:
            continue
        if answers and "response" not in rec:
            continue
        done[str(rec["id"])] = rec
    return done


class CheckpointWriter:
    """Appends records to a checkpoint file, one line each, safe to call from worker threads."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._sink = path.open("a", encoding="utf-8") if path is not None else None

    def write(self, rec: dict[str, Any]) -> None:
        if self._sink is None:
            return
        with self._lock:
            self._sink.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
            self._sink.flush()

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
