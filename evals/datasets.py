"""Eval sets: three on-disk formats read into one ``EvalItem`` shape, and the named suites.

Formats
- ``byline``: our own JSONL (``evals/datasets/smoke.jsonl``): id, question, answer, aliases,
  gold_ids, as_of, type. An item is unanswerable when its type is ``unanswerable`` or
  ``near_miss``, or it has neither an answer nor gold articles. Optional fields for the trust
  slices (``evals/datasets/trust.jsonl``): ``history`` (earlier user/assistant turns of a
  follow-up) and the behaviour fields kept in ``extra``: ``changed_from`` (an update's earlier
  state), ``later_state`` (what an answer as of a past date must not give), ``reports`` (each
  publisher's figure in a conflict) and ``forbidden`` (strings an answer must not contain).
- ``realtimeqa``: RealTime QA ``questions_dev.jsonl``: question_id, question_date (the as-of
  date, ``2022/06/17``), question, answer, gold_doc_ids (the corpus ``doc_id`` values).
- ``multihop-rag``: MultiHop-RAG ``queries_dev.json``: query, answer, question_type,
  evidence_list. Gold articles are identified by URL, exactly as the loader derives ids for
  records without one; ``null_query`` items must be answered with an abstention.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rag.articles import make_article_id, normalise_url, parse_date

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
FORMATS = ("byline", "realtimeqa", "multihop-rag")
#: Item types whose right reply is an abstention (besides items with no answer and no gold).
UNANSWERABLE_TYPES = frozenset({"unanswerable", "near_miss"})
HISTORY_ROLES = ("user", "assistant")

#: MultiHop-RAG questions carry no asking date. None lets Byline do what it does for any such
#: question: days named without a year ("on October 1st") resolve against the newest article
#: in the index, and no recency preference is applied (an invented as-of date would add one).
MULTIHOP_AS_OF: str | None = None


class DatasetError(ValueError):
    """An eval set that cannot be read; the message names the file (and line) and the problem."""


@dataclass
class EvalItem:
    """One question with its gold answer and the articles that answer it."""

    id: str
    question: str
    answer: str = ""
    aliases: list[str] = field(default_factory=list)
    gold_ids: list[str] = field(default_factory=list)
    as_of: str | None = None
    type: str = "factoid"
    answerable: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    #: Earlier turns of a conversation, oldest first: ``{"role": "user"|"assistant",
    #: "content": ...}`` (an assistant turn may carry the ``article_ids`` its answer cited).
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def answers(self) -> list[str]:
        """The gold answer followed by its accepted aliases (empty strings dropped)."""
        return [a for a in [self.answer, *self.aliases] if a and a.strip()]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _iso_day(value: Any, where: str) -> str | None:
    """A date in any shape news data uses, as ``YYYY-MM-DD`` (None stays None)."""
    if value in (None, ""):
        return None
    try:
        parsed = parse_date(str(value))
    except ValueError:
        raise DatasetError(f"{where}: unreadable date {value!r}") from None
    return parsed.date().isoformat() if parsed else None


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise DatasetError(f"{path}:{lineno}: expected a JSON object")
            yield lineno, record


def _str_list(value: Any, where: str, key: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise DatasetError(f"{where}: {key} must be a list of strings")
    return [str(v) for v in value if str(v).strip()]


def _need(record: dict[str, Any], key: str, where: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise DatasetError(f"{where}: missing or empty {key!r}")
    return value.strip()


def _history(value: Any, where: str) -> list[dict[str, Any]]:
    """A follow-up's earlier turns, checked: each a dict with a known role and text content."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise DatasetError(f"{where}: history must be a list of {{role, content}} turns")
    turns: list[dict[str, Any]] = []
    for n, turn in enumerate(value, start=1):
        if (
            not isinstance(turn, dict)
            or turn.get("role") not in HISTORY_ROLES
            or not isinstance(turn.get("content"), str)
            or not turn["content"].strip()
        ):
            raise DatasetError(
                f'{where}: history turn {n} must be {{"role": "user"|"assistant", '
                f'"content": text}}, found {turn!r}'
            )
        turns.append(dict(turn))
    return turns


def _reports(value: Any, where: str) -> list[dict[str, str]]:
    """A conflict's reports: one ``{source, answer}`` per publisher."""
    if not isinstance(value, list) or not all(
        isinstance(r, dict) and str(r.get("source") or "").strip() and str(r.get("answer") or "")
        for r in value
    ):
        raise DatasetError(f"{where}: reports must be a list of {{source, answer}} objects")
    return [{"source": str(r["source"]).strip(), "answer": str(r["answer"]).strip()} for r in value]


#: The trust slices' behaviour fields: how each is read into ``EvalItem.extra``.
_BEHAVIOUR_FIELDS = {
    "changed_from": lambda v, where: _str_list(v, where, "changed_from"),
    "later_state": lambda v, where: _str_list(v, where, "later_state"),
    "forbidden": lambda v, where: _str_list(v, where, "forbidden"),
    "reports": _reports,
}


# --------------------------------------------------------------------------- readers
def read_byline(path: str | Path) -> list[EvalItem]:
    """Our JSONL eval format (see the module docstring)."""
    path = Path(path)
    items: list[EvalItem] = []
    for lineno, rec in _jsonl(path):
        where = f"{path}:{lineno}"
        answer = str(rec.get("answer") or "").strip()
        gold = _str_list(rec.get("gold_ids"), where, "gold_ids")
        kind = str(rec.get("type") or "factoid")
        answerable = rec.get("answerable")
        if answerable is None:
            answerable = kind not in UNANSWERABLE_TYPES and bool(answer or gold)
        extra = {
            key: read(rec[key], where)
            for key, read in _BEHAVIOUR_FIELDS.items()
            if rec.get(key) not in (None, "", [])
        }
        items.append(
            EvalItem(
                id=str(rec.get("id") or f"{path.stem}-{lineno}"),
                question=_need(rec, "question", where),
                answer=answer,
                aliases=_str_list(rec.get("aliases"), where, "aliases"),
                gold_ids=gold,
                as_of=_iso_day(rec.get("as_of"), where),
                type=kind,
                answerable=bool(answerable),
                extra=extra,
                history=_history(rec.get("history"), where),
            )
        )
    return items


def _first_index(value: Any) -> int | None:
    """RealTime QA's ``answer_index`` is a list of one index (or an int in some copies)."""
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, int) else None


def read_realtimeqa(path: str | Path) -> list[EvalItem]:
    """RealTime QA questions; the quiz date is the as-of date and every item is answerable."""
    path = Path(path)
    items: list[EvalItem] = []
    for lineno, rec in _jsonl(path):
        where = f"{path}:{lineno}"
        answer = _need(rec, "answer", where)
        stripped = answer.strip("\"'“”‘’ ")
        items.append(
            EvalItem(
                id=str(rec.get("question_id") or f"{path.stem}-{lineno}"),
                question=_need(rec, "question", where),
                answer=answer,
                aliases=[stripped] if stripped != answer else [],
                gold_ids=_str_list(rec.get("gold_doc_ids"), where, "gold_doc_ids"),
                as_of=_iso_day(rec.get("question_date"), where),
                type="realtimeqa",
                answerable=True,
                extra={
                    "choices": rec.get("choices") or [],
                    "answer_index": _first_index(rec.get("answer_index")),
                    "gold_urls": rec.get("gold_urls") or [],
                },
            )
        )
    return items


_NULL_ANSWER = re.compile(r"^\s*insufficient information\.?\s*$", re.I)


def multihop_gold_id(evidence: dict[str, Any]) -> str | None:
    """The article id the loader gives the evidence's article (derived from its URL)."""
    url = str(evidence.get("url") or "").strip()
    return make_article_id(url=normalise_url(url)) if url else None


def read_multihop(path: str | Path) -> list[EvalItem]:
    """MultiHop-RAG queries; gold ids come from the evidence URLs, null queries are unanswerable."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
    if isinstance(data, dict):
        data = data.get("queries") or data.get("data") or [data]
    if not isinstance(data, list):
        raise DatasetError(f"{path}: expected a list of queries")
    items: list[EvalItem] = []
    for n, rec in enumerate(data, start=1):
        where = f"{path}: query {n}"
        if not isinstance(rec, dict):
            raise DatasetError(f"{where}: expected a JSON object")
        kind = str(rec.get("question_type") or "unknown")
        answer = str(rec.get("answer") or "").strip()
        unanswerable = kind == "null_query" or bool(_NULL_ANSWER.match(answer))
        evidence = rec.get("evidence_list") or []
        gold: list[str] = []
        titles: list[str] = []
        urls: list[str] = []
        for ev in evidence:
            if not isinstance(ev, dict):
                raise DatasetError(f"{where}: evidence_list entries must be objects")
            gid = multihop_gold_id(ev)
            if gid and gid not in gold:
                gold.append(gid)
                urls.append(str(ev.get("url")))
                titles.append(str(ev.get("title") or ""))
        items.append(
            EvalItem(
                id=f"mh-{rec.get('subset_id', n)}",
                question=_need(rec, "query", where),
                answer="" if unanswerable else answer,
                gold_ids=[] if unanswerable else gold,
                as_of=MULTIHOP_AS_OF,
                type=kind,
                answerable=not unanswerable,
                extra={"gold_urls": urls, "gold_titles": titles},
            )
        )
    return items


READERS = {"byline": read_byline, "realtimeqa": read_realtimeqa, "multihop-rag": read_multihop}


def detect_format(path: str | Path) -> str:
    """Guess a file's format from its first record."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        return "multihop-rag"
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                try:
                    first = json.loads(line)
                except json.JSONDecodeError:
                    break
                if isinstance(first, dict) and "question_id" in first:
                    return "realtimeqa"
                if isinstance(first, dict) and "query" in first and "question" not in first:
                    return "multihop-rag"
                break
    return "byline"


def load_items(path: str | Path, fmt: str | None = None) -> list[EvalItem]:
    """Read an eval set in ``fmt`` (guessed from the file when None)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such dataset file")
    fmt = fmt or detect_format(path)
    if fmt not in READERS:
        raise DatasetError(f"unknown dataset format {fmt!r}: use one of {', '.join(FORMATS)}")
    return READERS[fmt](path)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- suites
@dataclass(frozen=True)
class Suite:
    """A named eval: a dataset file, its format and the corpus it is asked over.

    ``base`` says where the relative paths live: ``project`` (this repository) or ``shared``
    (the third-party data folder beside it).
    """

    name: str
    dataset: str
    format: str
    corpus: tuple[str, ...]
    base: str = "project"
    description: str = ""

    def root(self, shared_data: Path | None = None) -> Path:
        return PROJECT_ROOT if self.base == "project" else (shared_data or DEFAULT_SHARED_DATA)

    def dataset_path(self, shared_data: Path | None = None) -> Path:
        return self.root(shared_data) / self.dataset

    def corpus_paths(self, shared_data: Path | None = None) -> list[Path]:
        return [self.root(shared_data) / p for p in self.corpus]


SUITES: dict[str, Suite] = {
    "smoke": Suite(
        "smoke",
        "evals/datasets/smoke.jsonl",
        "byline",
        ("corpus",),
        "project",
        "35 questions on the bundled demo corpus (factoid, multi-article, temporal, "
        "update, unanswerable)",
    ),
    "trust": Suite(
        "trust",
        "evals/datasets/trust.jsonl",
        "byline",
        ("corpus",),
        "project",
        "26 questions on the demo corpus that need a trustworthy answer (update, as-of-past, "
        "conflict, follow-up with history, instruction in the question, near-miss "
        "unanswerable)",
    ),
    "realtimeqa": Suite(
        "realtimeqa",
        "realtimeqa/questions_dev.jsonl",
        "realtimeqa",
        ("realtimeqa/articles_gold.jsonl", "realtimeqa/articles_distractors.jsonl"),
        "shared",
        "103 RealTime QA dev questions over 1,649 real news articles (gold + distractors)",
    ),
    "multihop-rag": Suite(
        "multihop-rag",
        "multihop-rag-subset/queries_dev.json",
        "multihop-rag",
        ("multihop-rag-subset/articles_from_facts.json",),
        "shared",
        "250 MultiHop-RAG dev queries (inference, comparison, temporal, null) over 326 "
        "evidence-only articles",
    ),
}
