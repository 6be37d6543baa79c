"""The fault suite: an ingest killed (SIGKILL) at every phase, and bad inputs of every kind.

After each fault the next plain run must finish the job: `byline check` finds nothing, and no
article that the files hold is missing. Run as a script it prints the table kept in
docs/robustness.md: ``python -m tests.test_faults``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rag import Byline
from rag.file_stats import is_unchanged, stat_of
from rag.loaders import load_paths
from rag.manifest import Manifest
from rag.testing import HashEmbeddings
from tests.helpers import write_records

ROOT = Path(__file__).resolve().parent.parent

# A child process that ingests (or repairs) and SIGKILLs itself the nth time it passes a phase.
KILL_SCRIPT = """
import os, signal, sys
import rag.ingest
from rag import Byline
from rag.testing import HashEmbeddings

index, docs, phase, nth, mode = sys.argv[1:6]
count = {"n": 0}

def phase_hook(self, name):
    if name == phase:
        count["n"] += 1
        if count["n"] == int(nth):
            os.kill(os.getpid(), signal.SIGKILL)

rag.ingest.Ingestor.phase = phase_hook
rag.ingest.BATCH_ARTICLES = 4
b = Byline.open(index, embedder=HashEmbeddings(), embed_model="hash")
if mode == "ingest":
    b.ingest([docs], prune=True, progress=False)
else:
    b.check(repair=True)
sys.exit(3)  # the kill point was never reached
"""

# Every point at which an ingest changes the store or the manifest, with the occurrence to
# kill at (the second batch for per-batch phases: some work done, some not).
KILL_POINTS = [
    ("embedded", 2),
    ("intent", 2),
    ("deleted", 2),
    ("upserted", 2),
    ("committed", 2),
    ("remove-intent", 1),
    ("remove-deleted", 1),
    ("removed", 1),
    ("written", 1),
    ("files-recorded", 1),
    ("lexical", 1),
    # The first batch holds half of c.jsonl's new articles: no stat for it may be recorded yet.
    ("committed", 1),
]


def _age(docs: Path, seconds_ago: float) -> None:
    """Date the files back, so that their stats, once recorded, are trusted (a file modified
    just before it was read is read again anyway): unchanged files are then passed over."""
    when = time.time() - seconds_ago
    for path in docs.iterdir():
        os.utime(path, (when, when))


def _articles(index: Path) -> Byline:
    return Byline.open(index, embedder=HashEmbeddings(), embed_model="hash")


def setup_changes(tmp: Path) -> tuple[Path, Path, set[str]]:
    """An index of 13 articles, then files changed so that an ingest adds 6, updates 2 and
    removes 5 (4 records dropped from a file, one file deleted). Returns the expected ids."""
    docs, index = tmp / "docs", tmp / "idx"
    write_records(docs / "a.jsonl", [f"r{i}" for i in range(10)], "v1")
    write_records(docs / "b.jsonl", ["b0", "b1"], "v1")
    write_records(docs / "gone.jsonl", ["g0"], "v1")
    _age(docs, 3600)
    first = _articles(index)
    assert first.ingest([docs], progress=False).articles == 13
    first.close()
    write_records(docs / "a.jsonl", [f"r{i}" for i in range(6)], "v1")
    a = (docs / "a.jsonl").read_text().replace("Story r0 v1", "Story r0 v2")
    (docs / "a.jsonl").write_text(a.replace("Story r1 v1", "Story r1 v2"), encoding="utf-8")
    write_records(docs / "c.jsonl", [f"n{i}" for i in range(6)], "v1")
    (docs / "gone.jsonl").unlink()
    for name in ("a.jsonl", "c.jsonl"):  # b.jsonl is as it was: the ingest passes it over
        os.utime(docs / name, (time.time() - 1800, time.time() - 1800))
    expected = {f"r{i}" for i in range(6)} | {"b0", "b1"} | {f"n{i}" for i in range(6)}
    return docs, index, expected


def kill_at(index: Path, docs: Path, phase: str, nth: int, mode: str = "ingest") -> int:
    proc = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(index), str(docs), phase, str(nth), mode],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=300,
    )
    return proc.returncode


@dataclass
class Outcome:
    """What a fault left behind and what the next run made of it."""

    differences_after_kill: list[str]
    consistent_after_resume: bool
    lost: set[str]
    stale_text: set[str]
    extra: set[str] = field(default_factory=set)
    # Files the next ingest would pass over while the index does not hold what they hold.
    misrecorded: list[str] = field(default_factory=list)


def misrecorded_files(index: Path) -> list[str]:
    """Files whose recorded stat would let an ingest pass them over although the manifest,
    the intents or the store do not hold exactly their articles as they are now."""
    manifest = Manifest(index)
    entries = manifest.entries()
    pending = {i.path for i in manifest.pending()}
    recorded = manifest.files()
    manifest.close()
    b = _articles(index)
    stored = b.store.chunk_ids_by_article()
    b.close()
    wrong = []
    for path, old in recorded.items():
        now = stat_of(Path(path), path)
        if now is None or not is_unchanged(old, now):
            continue  # it would be read
        holds = {(a.id, a.content_hash) for a in load_paths([path], 1 << 30).articles}
        listed = {(e.id, e.hash) for e in entries.values() if e.path == path}
        if holds != listed or path in pending or any(i not in stored for i, _ in listed):
            wrong.append(Path(path).name)
    return sorted(wrong)


def state(index: Path, expected: set[str]) -> Outcome:
    b = _articles(index)
    found = b.check()
    ids = set(b.manifest.entries())
    stored = set(b.store.chunk_ids_by_article())
    texts = b.store.article_texts(sorted(ids))
    stale = {i for i in ("r0", "r1") if "v2" not in texts.get(i, "")}
    b.close()
    return Outcome(
        found.lines(), found.ok, (expected - ids) | (expected - stored), stale, ids - expected
    )


def run_kill(tmp: Path, phase: str, nth: int, resume: str = "ingest") -> Outcome:
    docs, index, expected = setup_changes(tmp)
    code = kill_at(index, docs, phase, nth)
    assert code == -signal.SIGKILL, f"the ingest should die at {phase} (exit {code})"
    misrecorded = misrecorded_files(index)
    b = _articles(index)
    after_kill = b.check().lines()
    if resume == "ingest":
        report = b.ingest([docs], prune=True, progress=False)
        assert not report.failed
    else:
        assert b.check(repair=True).ok
        b.ingest([docs], prune=True, progress=False)
    b.close()
    outcome = state(index, expected)
    outcome.differences_after_kill = after_kill
    outcome.misrecorded = misrecorded
    return outcome


@pytest.mark.parametrize(("phase", "nth"), KILL_POINTS)
def test_killed_at_each_phase_the_next_ingest_finishes_the_job(tmp_path, phase, nth) -> None:
    outcome = run_kill(tmp_path, phase, nth)
    assert outcome.consistent_after_resume, "byline check finds nothing after the next run"
    assert not outcome.lost and not outcome.stale_text
    assert not outcome.extra, "what the files no longer hold is gone"
    assert not outcome.misrecorded, "no file is recorded as unchanged ahead of its articles"
    if phase in ("deleted", "upserted", "remove-deleted"):
        assert outcome.differences_after_kill, "the kill left a difference that check reports"


# A JSONL file whose 10 new articles span three batches of 4, then a file of 3: big.jsonl's
# stat is due with the third batch (which also holds z0 and z1), z.jsonl's after the last.
SPANNING_KILLS = [
    ("committed", 1),
    ("committed", 2),
    ("intent", 3),
    ("upserted", 3),
    ("committed", 3),
    ("written", 1),
    ("files-recorded", 1),
]


@pytest.mark.parametrize(("phase", "nth"), SPANNING_KILLS)
def test_a_file_spanning_batches_is_recorded_only_once_all_its_articles_are(
    tmp_path: Path, phase: str, nth: int
) -> None:
    docs, index = tmp_path / "docs", tmp_path / "idx"
    write_records(docs / "big.jsonl", [f"b{i}" for i in range(10)], "v1")
    write_records(docs / "z.jsonl", ["z0", "z1", "z2"], "v1")
    _age(docs, 3600)
    assert kill_at(index, docs, phase, nth) == -signal.SIGKILL
    assert misrecorded_files(index) == [], "no file is recorded as unchanged ahead of its articles"
    b = _articles(index)
    assert not b.ingest([docs], prune=True, progress=False).failed
    expected = {f"b{i}" for i in range(10)} | {"z0", "z1", "z2"}
    assert set(b.manifest.entries()) == expected and b.check().ok
    assert set(b.store.chunk_ids_by_article()) == expected
    again = b.ingest([docs], progress=False)
    assert again.skipped_files == 2 and again.unchanged == 13, "both stats are recorded now"
    b.close()


@pytest.mark.parametrize(("phase", "nth"), [("upserted", 2), ("deleted", 2), ("remove-deleted", 1)])
def test_an_ingest_of_other_files_still_finishes_the_killed_one(tmp_path, phase, nth) -> None:
    docs, index, expected = setup_changes(tmp_path)
    assert kill_at(index, docs, phase, nth) == -signal.SIGKILL
    write_records(tmp_path / "other" / "o.jsonl", ["o1"], "v1")
    b = _articles(index)
    report = b.ingest([tmp_path / "other"], progress=False)
    assert report.recovered >= 1 and b.check().ok
    ids = set(b.manifest.entries())
    b.close()
    if phase == "remove-deleted":
        assert not ids & {"r6", "r7", "r8", "r9", "g0"}, "the cut-short removal was finished"
    else:
        assert "o1" in ids and {"n0", "n1", "n2", "n3"} & ids, "cut-short writes read again"


@pytest.mark.parametrize(("phase", "nth"), [("upserted", 2), ("deleted", 1)])
def test_check_repair_alone_restores_a_killed_ingest(tmp_path, phase, nth) -> None:
    docs, index, expected = setup_changes(tmp_path)
    assert kill_at(index, docs, phase, nth) == -signal.SIGKILL
    b = _articles(index)
    before = b.check()
    assert not before.ok and before.pending
    after = b.check(repair=True)
    assert after.ok and after.repaired["cut_short"] == len(before.pending)
    assert after.repaired["articles_restored"] >= 1
    b.close()


def test_a_repair_killed_midway_is_finished_by_the_next_run(tmp_path: Path) -> None:
    docs, index, expected = setup_changes(tmp_path)
    assert kill_at(index, docs, "upserted", 2) == -signal.SIGKILL
    assert kill_at(index, docs, "recover-deleted", 1, mode="repair") == -signal.SIGKILL
    b = _articles(index)
    assert b.ingest([docs], prune=True, progress=False).recovered >= 1
    b.close()
    outcome = state(index, expected)
    assert outcome.consistent_after_resume and not outcome.lost


def test_orphan_chunks_without_an_intent_are_found_and_removed(tmp_path: Path) -> None:
    docs, index, _ = setup_changes(tmp_path)
    b = _articles(index)
    b.store.upsert(
        ["ghost:0"],
        HashEmbeddings().embed_documents(["ghost story"]),
        ["ghost story"],
        [{"article_id": "ghost", "chunk_index": 0, "path": str(tmp_path / "nowhere.md")}],
    )
    found = b.check()
    assert found.orphans == ["ghost"] and found.lexical_missing == 1
    fixed = b.check(repair=True)
    assert fixed.ok and fixed.repaired["orphans_deleted"] == 1
    assert "ghost" not in b.store.chunk_ids_by_article()


def test_check_command_reports_and_repairs(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from rag.cli import app

    monkeypatch.setenv("BYLINE_EMBED_MODEL", "hash")
    docs, index, _ = setup_changes(tmp_path)
    assert kill_at(index, docs, "upserted", 1) == -signal.SIGKILL
    runner = CliRunner()
    res = runner.invoke(app, ["check", "--index", str(index)])
    assert res.exit_code == 1 and "cut short" in res.output and "--repair" in res.output
    res = runner.invoke(app, ["check", "--index", str(index), "--repair"])
    assert res.exit_code == 0, res.output
    assert "consistent" in runner.invoke(app, ["check", "--index", str(index)]).output


# --------------------------------------------------------------------------- bad inputs
def _append(path: Path, data: bytes) -> None:
    with path.open("ab") as fh:
        fh.write(data)


def _line(record: dict) -> bytes:
    return (json.dumps(record) + "\n").encode()


# Each damages the indexed files or adds a bad one next to them; name -> what to do to docs/.
BAD_INPUTS = {
    "bad byte appended to a JSONL file": lambda d: _append(d / "feed.jsonl", b"\xff\xfe\n"),
    "JSONL truncated mid-record": lambda d: (d / "feed.jsonl").write_bytes(
        (d / "feed.jsonl").read_bytes()[:-25]
    ),
    "Markdown grown past max_file_mb": lambda d: _append(d / "note.md", b"x" * 1_100_000),
    "Markdown emptied": lambda d: (d / "note.md").write_text(""),
    "Markdown re-saved as Latin-1": lambda d: (d / "note.md").write_bytes(
        "---\nid: note\n---\ncaf\xe9".encode("latin-1")
    ),
    "front matter date 2025-02-30": lambda d: (d / "note.md").write_text(
        "---\nid: note\ndate: 2025-02-30\n---\nA note.\n"
    ),
    "front matter date 2025-13-01": lambda d: (d / "note.md").write_text(
        "---\nid: note\ndate: 2025-13-01\n---\nA note.\n"
    ),
    "front matter date 'yesterday'": lambda d: (d / "note.md").write_text(
        "---\nid: note\ndate: yesterday\n---\nA note.\n"
    ),
    "front matter not valid YAML": lambda d: (d / "note.md").write_text(
        "---\nid: [note\n---\nA note.\n"
    ),
    "front matter nested 50,000 deep": lambda d: (d / "deep.md").write_text(
        "---\nx: " + "[" * 50_000 + "]" * 50_000 + "\n---\nBody."
    ),
    "epoch 1e20": lambda d: _append(
        d / "feed.jsonl", b'{"id": "e1", "text": "E.", "date": 1e20}\n'
    ),
    "epoch -1e18": lambda d: _append(
        d / "feed.jsonl", b'{"id": "e2", "text": "E.", "date": -1e18}\n'
    ),
    "lone surrogate \\ud800": lambda d: _append(
        d / "feed.jsonl", b'{"id": "s1", "title": "\\ud800", "text": "S \\udfff."}\n'
    ),
    "JSON nested 100,000 deep": lambda d: (d / "deep.json").write_text(
        "[" * 100_000 + "]" * 100_000
    ),
    "JSONL line nested 100,000 deep": lambda d: _append(
        d / "feed.jsonl", ('{"a":' * 100_000 + "1" + "}" * 100_000 + "\n").encode()
    ),
    "JSONL line over max_file_mb": lambda d: _append(
        d / "feed.jsonl", _line({"id": "big", "text": "y" * 1_100_000})
    ),
    "JSONL record that is not an object": lambda d: _append(d / "feed.jsonl", b"[1, 2]\n"),
    "JSONL record without text": lambda d: _append(d / "feed.jsonl", _line({"id": "t"})),
    "same id twice in one file": lambda d: _append(
        d / "feed.jsonl", _line({"id": "f0", "text": "Twice."})
    ),
    "same id in two files of one run": lambda d: (d / "other.jsonl").write_bytes(
        _line({"id": "f1", "text": "An impostor."})
    ),
    # Returning a path means: ingest that path alone, in a run after the first.
    "id already indexed from another file": lambda d: _elsewhere(
        d, _line({"id": "f1", "text": "An impostor."})
    ),
    "binary file named .txt": lambda d: (d / "bin.txt").write_bytes(b"\x89PNG\x00\x00\x01"),
    "HTML page with no article text": lambda d: (d / "p.html").write_text("<html><body>"),
    "feed that is not XML": lambda d: (d / "f.xml").write_text("<rss><channel><item>"),
    "feed whose text is a local path": lambda d: (d / "f.rss").write_text("/etc/passwd"),
    "title with terminal escape sequences": lambda d: _append(
        d / "feed.jsonl", _line({"id": "esc", "title": "\x1b[2J\x1b]0;pwn\x07", "text": "E."})
    ),
}


def _elsewhere(docs: Path, data: bytes) -> Path:
    other = docs.parent / "elsewhere" / "other.jsonl"
    other.parent.mkdir(parents=True, exist_ok=True)
    other.write_bytes(data)
    return other


@dataclass
class InputOutcome:
    reported: str
    survived: bool
    lost: int


def run_bad_input(tmp: Path, name: str) -> InputOutcome:
    """Index good files, apply one bad input, ingest again; count what the index lost."""
    docs, index = tmp / "docs", tmp / "idx"
    write_records(docs / "feed.jsonl", [f"f{i}" for i in range(5)], "v1")
    (docs / "note.md").write_text("---\nid: note\ntitle: Note\n---\nA note.\n")
    b = Byline.open(index, embedder=HashEmbeddings(), embed_model="hash", max_file_mb=1)
    assert b.ingest([docs], progress=False).articles == 6
    before = set(b.manifest.entries())
    target = BAD_INPUTS[name](docs)
    report = b.ingest([target if isinstance(target, Path) else docs], progress=False)
    lost = before - set(b.manifest.entries())
    issues = report.failed + report.warnings
    reported = issues[0]["error"].replace(f"{tmp}/", "") if issues else "nothing to report"
    survived = b.check().ok and len(b.search("story note", k=3)) > 0
    b.close()
    return InputOutcome(" ".join(reported.split())[:90], survived, len(lost))


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_each_bad_input_loses_nothing(tmp_path: Path, name: str) -> None:
    outcome = run_bad_input(tmp_path, name)
    assert outcome.survived and outcome.lost == 0
    if name != "title with terminal escape sequences":
        assert outcome.reported != "nothing to report", "every bad input is reported"


# --------------------------------------------------------------------------- the table
def main() -> None:
    """Run every kill point and bad input; print the Markdown table of docs/robustness.md."""
    import tempfile

    rows = []
    for phase, nth in KILL_POINTS:
        with tempfile.TemporaryDirectory() as tmp:
            o = run_kill(Path(tmp), phase, nth)
        rows.append(
            (
                f"SIGKILL at `{phase}` (#{nth})",
                "; ".join(o.differences_after_kill) or "none",
                "yes" if o.consistent_after_resume else "NO",
                str(len(o.lost | o.stale_text)),
            )
        )
    for name in BAD_INPUTS:
        with tempfile.TemporaryDirectory() as tmp:
            o = run_bad_input(Path(tmp), name)
        rows.append((f"bad input: {name}", o.reported, "yes" if o.survived else "NO", str(o.lost)))
    print(
        "| fault or input | left behind / reported | survived, index consistent | articles lost |"
    )
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")


if __name__ == "__main__":
    main()
