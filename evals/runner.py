"""Run an eval set against a Byline index: retrieval rankings, streamed answers, metrics.

``run_suite(items, byline, ...)`` takes a built ``Byline`` (tests inject one with the hash
embedder and the scripted chat model) and returns per-item records plus the aggregate metrics.
``prepare_index`` builds or refreshes a cached index for a corpus; ``write_outputs`` writes
``result.json``, ``report.md`` and the plots; ``check_thresholds`` compares against
``evals/thresholds.toml``.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
import tomllib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from evals import metrics as M
from evals.datasets import PROJECT_ROOT, EvalItem
from rag.dates import parse_day

RANK_DEPTH = 10  # article ids kept per ranking; hit@k / recall@k for k = 1..10
SEARCH_CHUNKS = 40  # chunks asked of search to fill RANK_DEPTH distinct articles
HEADLINE_K = (1, 3, 5, 10)
DEFAULT_CACHE = Path(".byline-eval")
DEFAULT_OUT = PROJECT_ROOT / "evals" / "results"
CHECKPOINT = "records.jsonl"  # per-question records, appended as they finish
THRESHOLDS = Path(__file__).resolve().parent / "thresholds.toml"

JUDGE_PROMPT = """You grade answers to news questions.
Question: {question}
Gold answer: {gold}
Response: {response}
Does the response give the gold answer (same meaning; extra detail is fine, a different or
missing answer is not)? Reply with one word: CORRECT or INCORRECT."""


# --------------------------------------------------------------------------- selection
def select_items(
    items: Sequence[EvalItem], limit: int | None = None, seed: int | None = None
) -> list[EvalItem]:
    """The first ``limit`` items, or with ``seed`` a reproducible random sample of that many."""
    chosen = list(items)
    if seed is not None:
        n = len(chosen) if limit is None else min(limit, len(chosen))
        return random.Random(seed).sample(chosen, n)
    return chosen if limit is None else chosen[:limit]


# --------------------------------------------------------------------------- index
def index_key(corpus: Sequence[str | Path], settings: Any) -> str:
    """A short key for a corpus + embedding setup, naming its cached index folder."""
    parts = sorted(str(Path(p).resolve()) for p in corpus)
    parts += [
        f"embed={getattr(settings, 'embed_identity', settings.embed_model)}",
        f"chunk={settings.chunk_size}/{settings.chunk_overlap}",
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:10]


def sample_corpus(items: Sequence[EvalItem], corpus: Sequence[str | Path], out_dir: Path) -> Path:
    """A JSONL corpus of only the articles the selected questions concern: their gold articles
    and the articles listed as retrieved for them (RealTime QA's ``retrieved_for``).

    It makes a quick run's index small; the run is easier than over the whole corpus, because
    the other questions' articles are missing. Written once per selection, atomically."""
    ids = sorted({item.id for item in items})
    gold = {g for item in items for g in item.gold_ids}
    files = [Path(p) for p in corpus]
    for f in files:
        if not (f.is_file() and f.suffix == ".jsonl"):
            raise ValueError(
                f"a sampled corpus is read from JSONL article files with doc_id/retrieved_for "
                f"fields (the RealTime QA format); {f} is not one"
            )
    stamp = [f"{f.resolve()}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files]
    key = hashlib.sha256("\n".join([*ids, *stamp]).encode()).hexdigest()[:10]
    target = out_dir / f"corpus-{key}.jsonl"
    if target.is_file():
        return target
    wanted = set(ids)
    kept: list[str] = []
    for f in files:
        with f.open(encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                doc_id = str(rec.get("doc_id") or rec.get("id") or "")
                if doc_id in gold or wanted & set(rec.get("retrieved_for") or []):
                    kept.append(line.rstrip("\n"))
    if not kept:
        raise ValueError("the sampled corpus is empty: no gold or retrieved-for articles found")
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text("\n".join(kept) + "\n", encoding="utf-8")
    tmp.replace(target)
    return target


def prepare_index(byline: Any, corpus: Sequence[str | Path], progress: bool | None = None) -> Any:
    """Bring the index up to date with the corpus (incremental: unchanged articles are skipped)."""
    return byline.ingest([str(p) for p in corpus], progress=progress)


def resolve_gold(items: Sequence[EvalItem], byline: Any) -> dict[str, Any]:
    """Check each gold id against the index; repair by URL or title where the id differs.

    Returns counts and the ids that could not be found, so a mapping bug shows in the result
    instead of silently scoring zero.
    """
    try:
        entries = byline.manifest.entries()
    except Exception:  # an injected stand-in without a manifest
        return {"checked": False}
    by_url: dict[str, str] = {}
    by_title: dict[str, str] = {}
    from rag.articles import normalise_url

    for e in entries.values():
        if e.url:
            by_url[normalise_url(e.url)] = e.id
        if e.title:
            by_title.setdefault(_title_key(e.title), e.id)
    repaired, missing = 0, []
    for item in items:
        fixed: list[str] = []
        urls = item.extra.get("gold_urls") or []
        titles = item.extra.get("gold_titles") or []
        for i, gid in enumerate(item.gold_ids):
            if gid in entries:
                fixed.append(gid)
                continue
            alt = None
            if i < len(urls) and urls[i]:
                alt = by_url.get(normalise_url(str(urls[i])))
            if alt is None and i < len(titles) and titles[i]:
                alt = by_title.get(_title_key(titles[i]))
            if alt is not None:
                repaired += 1
                fixed.append(alt)
            else:
                missing.append(gid)
                fixed.append(gid)
        item.gold_ids = M.dedupe(fixed)
    return {"checked": True, "repaired": repaired, "missing": sorted(set(missing))}


def _title_key(title: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", title.lower()).split())


# --------------------------------------------------------------------------- one item
def _as_date(value: str | None) -> date | None:
    return parse_day(value, "as-of")


@dataclass
class Judge:
    """An optional LLM judge of answer correctness (off unless ``--judge`` names a model)."""

    model: Any
    name: str

    def __call__(self, item: EvalItem, response: str) -> bool | None:
        prompt = JUDGE_PROMPT.format(
            question=item.question, gold=" / ".join(item.answers), response=response
        )
        try:
            reply = self.model.invoke(prompt)
        except Exception:
            return None
        text = str(getattr(reply, "content", reply)).strip().upper()
        if "INCORRECT" in text:
            return False
        return True if "CORRECT" in text else None


def _rankings(byline: Any, item: EvalItem, prep: Any = None) -> dict[str, Any]:
    """The chain's retriever ranking (planned, soft filters, re-ranked) and plain search's.
    With ``prep`` (the chain's own preparation of this question) its retrieval is reused."""
    as_of = _as_date(item.as_of)
    out: dict[str, Any] = {"ranking": [], "search_ranking": [], "plan": None}
    t0 = time.perf_counter()
    plan_query, plan_filters = item.question, None
    retriever = getattr(byline, "retriever", None)
    result = getattr(prep, "retrieval", None)
    if result is None and callable(retriever):
        depth = getattr(byline.settings, "candidates", SEARCH_CHUNKS)  # as the chain asks
        result = retriever().retrieve(item.question, k=depth, as_of=as_of)
    if result is not None:
        out["ranking"] = M.dedupe(h.article_id for h in result.hits)[:RANK_DEPTH]
        plan_query, plan_filters = result.plan.query, result.plan.filters
        out["plan"] = {
            "query": plan_query,
            "filters": plan_filters.to_dict(),
            "parts": [part for part, _ in result.plan.parts],
            "leader_ids": M.dedupe(h.article_id for h in result.leaders),
        }
    out["retrieve_seconds"] = (
        prep.timings["retrieve"] if prep is not None else time.perf_counter() - t0
    )
    t1 = time.perf_counter()
    hits = byline.search(plan_query, k=SEARCH_CHUNKS, filters=plan_filters)
    if not hits and plan_filters is not None:  # a hard filter that matched nothing
        hits = byline.search(plan_query, k=SEARCH_CHUNKS)
    out["search_seconds"] = time.perf_counter() - t1
    out["search_ranking"] = M.dedupe(h.article_id for h in hits)[:RANK_DEPTH]
    if result is None:  # an index without the news retriever: search is the ranking
        out["ranking"] = out["search_ranking"]
        out["retrieve_seconds"] = out["search_seconds"]
    return out


def answer_in_context(item: EvalItem, passages: Sequence[str]) -> bool | None:
    """Whether the gold answer appears in the passages the model is shown (normalised
    containment); None for unanswerable and yes/no items, where the text cannot say."""
    if not item.answerable or not item.answers or M.yes_no_gold(item.answers[0]) is not None:
        return None
    return M.is_correct(" ".join(passages), item.answers)


def _prepare(byline: Any, item: EvalItem) -> Any:
    """The chain's preparation of the question (retrieval, selection, pre-model abstention),
    without the model; None for an index without the answer chain."""
    chain = getattr(byline, "chain", None)
    if not callable(chain):
        return None
    from rag.retrieval.filters import Filters

    built = chain()
    prep = built.prepare(item.question, None, item.as_of, Filters(), None)
    if prep.abstain_reason is None:
        prep.evidence = built.evidence(prep)
    return prep


def _what_the_model_read(answer: Any) -> tuple[list[str], list[str]]:
    """The articles and excerpts the model read: the prompt's sources (``Answer.read``) and,
    when it ran, the second reading's excerpt of the best one (from the trace)."""
    read = list(getattr(answer, "read", None) or [])
    ids = [s.get("article_id") or "" for s in read]
    passages = [s.get("passage") or "" for s in read]
    step = answer.step("second_reading") if hasattr(answer, "step") else None
    if step is not None and step.decision != "skipped" and step.detail.get("passage"):
        ids.append(step.detail.get("article_id") or "")
        passages.append(step.detail["passage"])
    return M.dedupe(i for i in ids if i), passages


def _context(prep: Any, item: EvalItem) -> dict[str, Any]:
    """What the chain would put in the prompt, and whether it would abstain before the model:
    measured without the model, so context settings can be compared cheaply."""
    if prep is None:
        return {}
    passages = [s.passage for s in prep.sources]
    quotes = [q.text for q in getattr(prep, "evidence", None) or []]
    return {
        "answer_in_evidence": answer_in_context(item, quotes),
        "context_ids": M.dedupe(s.hit.article_id for s in prep.sources),
        "context_chars": sum(len(p) for p in passages),
        "answer_in_context": answer_in_context(item, passages),
        "abstained_before_model": prep.abstain_reason is not None,
        "abstain_reason": prep.abstain_reason,
    }


def names_absent_from_index(byline: Any, question: str) -> list[str] | None:
    """Names in the question that no indexed article contains anywhere: a false abstention on
    such a name is the corpus lacking the evidence, not the retrieval missing it. None when the
    index cannot be asked."""
    lexical = getattr(byline, "lexical", None)
    manifest = getattr(byline, "manifest", None)
    if not callable(lexical) or manifest is None:
        return None
    from rag.steps.coverage import names_absent

    return names_absent(question, list(manifest.publishers()), lexical().has_term)


def _answer(byline: Any, item: EvalItem) -> tuple[Any, float | None, float]:
    """Stream the answer; returns (Answer, seconds to the first token, total seconds)."""
    from rag.answer import Answer
    from rag.events import Token

    started = time.perf_counter()
    first: float | None = None
    final = None
    stream = getattr(byline, "stream", None)
    if stream is None:
        final = byline.ask(item.question, as_of=item.as_of)
    else:
        for piece in stream(item.question, history=item.history or None, as_of=item.as_of):
            if isinstance(piece, Answer):
                final = piece
            elif first is None and isinstance(piece, Token) and piece.text:
                first = time.perf_counter() - started
    if final is None:
        raise RuntimeError("the answer stream ended without an Answer")
    return final, first, time.perf_counter() - started


def evaluate_item(
    byline: Any,
    item: EvalItem,
    retrieval_only: bool = False,
    judge: Callable[[EvalItem, str], bool | None] | None = None,
) -> dict[str, Any]:
    """Everything measured for one question, as a JSON-ready record."""
    rec: dict[str, Any] = {
        "id": item.id,
        "type": item.type,
        "question": item.question,
        "as_of": item.as_of,
        "answerable": item.answerable,
        "gold_answer": item.answer,
        "aliases": item.aliases,
        "gold_ids": item.gold_ids,
        "error": None,
    }
    prep = None
    try:
        if retrieval_only:  # one retrieval serves both the ranking and the context
            prep = _prepare(byline, item)
        rec.update(_rankings(byline, item, prep))
    except Exception as exc:
        rec["error"] = f"retrieval: {type(exc).__name__}: {exc}"
        return rec
    rec["hit_at_5"] = M.hit_at_k(rec["ranking"], item.gold_ids, 5)
    rec["reciprocal_rank"] = M.reciprocal_rank(rec["ranking"], item.gold_ids)
    if retrieval_only:
        rec.update(_context(prep, item))
        return rec
    try:
        answer, ttft, wall = _answer(byline, item)
    except Exception as exc:
        rec["error"] = f"answer: {type(exc).__name__}: {exc}"
        return rec
    sources = [s.get("article_id") for s in answer.sources if s.get("article_id")]
    # What the model read (nothing, when it abstained before being asked).
    context_ids, passages = _what_the_model_read(answer) if answer.draft else ([], [])
    quotes = [q.get("text") or "" for q in getattr(answer, "evidence", None) or []]
    cited = list(answer.cited_article_ids)
    model_cited = M.dedupe(c.article_id for c in answer.citations if not c.attributed)
    rec.update(
        {
            "response": answer.text,
            "draft": answer.draft,
            "abstained": bool(answer.abstained),
            "abstain_reason": answer.abstain_reason,
            "focused": bool(answer.focused),
            "overruled": bool(answer.overruled),
            "refusal_probability": answer.refusal_probability,
            "model": answer.model,
            "prompt_hash": answer.prompt_hash,
            "context_ids": context_ids,
            "context_chars": sum(len(p) for p in passages),
            "answer_in_context": answer_in_context(item, passages),
            "answer_in_evidence": answer_in_context(item, quotes),
            "closest_ids": M.dedupe(sources) if answer.abstained else [],
            "cited_ids": cited,
            "model_cited_ids": model_cited,
            "n_citations": len(answer.citations),
            "n_attributed": sum(1 for c in answer.citations if c.attributed),
            "sentences_supported": [bool(s.supported) for s in answer.sentences],
            "ttft": ttft,
            "seconds": wall,
            "timings": dict(answer.timings),
        }
    )
    score_answer(rec, item)
    from evals.trust import TRUST_TYPES

    if item.type in TRUST_TYPES:  # the trust metrics read the answer as the reader saw it
        shown = answer.to_dict()
        rec["answer"] = {k: shown[k] for k in ("text", "abstained", "citations", "read")}
        rec["answer"]["sources"] = shown["read"]
    if item.answerable and answer.abstained:
        rec["names_absent_from_index"] = names_absent_from_index(byline, item.question)
    if judge is not None and item.answerable and not answer.abstained:
        rec["judge_correct"] = judge(item, answer.text)
    return rec


def score_answer(rec: dict[str, Any], item: EvalItem) -> None:
    """Correctness, token F1 and CRAG of the record's response against the item's answers.
    Records a resumed run reuses are scored again, so a finished run resumed is re-scored with
    the current metrics and answers."""
    abstained = bool(rec["abstained"])
    correct = not abstained and item.answerable and M.is_correct(rec["response"], item.answers)
    rec["correct"] = bool(correct)
    rec["token_f1"] = M.token_f1(rec["response"], item.answers) if item.answerable else None
    rec["crag"] = M.crag_score(item.answerable, abstained, bool(correct))
    choices, gold = item.extra.get("choices") or [], item.extra.get("answer_index")
    if choices and gold is None and item.answer in choices:
        gold = choices.index(item.answer)
    rec["choice_correct"] = (
        not abstained and M.choice_match(rec["response"], choices, gold)
        if choices and gold is not None
        else None
    )


# --------------------------------------------------------------------------- aggregate
def aggregate(records: Sequence[dict[str, Any]], retrieval_only: bool = False) -> dict[str, Any]:
    """The run's metrics; every key is always present (None when not measured in this run)."""
    ok = [r for r in records if r.get("error") is None]
    with_gold = [r for r in ok if r["gold_ids"]]
    agg: dict[str, Any] = {
        "n_items": len(records),
        "n_errors": len(records) - len(ok),
        "n_answerable": sum(1 for r in records if r["answerable"]),
        "n_unanswerable": sum(1 for r in records if not r["answerable"]),
        "n_with_gold": len(with_gold),
    }
    for prefix, key in (("", "ranking"), ("search_", "search_ranking")):
        for k in HEADLINE_K:
            agg[f"{prefix}hit_at_{k}"] = M.mean(
                M.hit_at_k(r[key], r["gold_ids"], k) for r in with_gold
            )
            agg[f"{prefix}recall_at_{k}"] = M.mean(
                M.recall_at_k(r[key], r["gold_ids"], k) for r in with_gold
            )
        agg[f"{prefix}mrr"] = M.mean(M.reciprocal_rank(r[key], r["gold_ids"]) for r in with_gold)

    answered = [r for r in ok if "response" in r]
    ans_gold = [r for r in answered if r["answerable"]]
    not_abstained = [r for r in ans_gold if not r["abstained"]]
    with_ctx = [r for r in answered if r["gold_ids"] and not r["abstained"]]
    # the prompt's articles: from the answers, or in a retrieval-only run from the chain's
    # context selection without the model
    ctx = [r for r in ok if r["gold_ids"] and r.get("context_ids")]
    pre = [r for r in ok if "abstained_before_model" in r]
    pre_abst = M.abstention_scores(
        [r["answerable"] for r in pre], [r["abstained_before_model"] for r in pre]
    )
    abst = M.abstention_scores(
        [r["answerable"] for r in answered], [r["abstained"] for r in answered]
    )
    have_answers = bool(answered) and not retrieval_only
    agg.update(
        {
            "accuracy": M.mean(float(r["correct"]) for r in ans_gold) if have_answers else None,
            "answered_accuracy": M.mean(float(r["correct"]) for r in not_abstained)
            if have_answers
            else None,
            "token_f1": M.mean(r["token_f1"] for r in ans_gold) if have_answers else None,
            # questions asked with answer choices: the response picks the gold one (lenient)
            "choice_accuracy": M.mean(
                float(r["choice_correct"]) for r in ans_gold if r.get("choice_correct") is not None
            )
            if have_answers
            else None,
            "judge_accuracy": M.mean(
                float(r["judge_correct"]) if r.get("judge_correct") is not None else None
                for r in not_abstained
            )
            if any("judge_correct" in r for r in answered)
            else None,
            "context_hit": M.mean(
                M.hit_at_k(r["context_ids"], r["gold_ids"], len(r["context_ids"])) for r in ctx
            ),
            "context_recall": M.mean(
                M.recall_at_k(r["context_ids"], r["gold_ids"], len(r["context_ids"])) for r in ctx
            ),
            "answer_in_evidence": M.mean(
                float(r["answer_in_evidence"])
                for r in ok
                if r.get("answer_in_evidence") is not None
            ),
            "answer_in_context": M.mean(
                float(r["answer_in_context"]) for r in ok if r.get("answer_in_context") is not None
            ),
            "context_chars_p50": M.percentile((r.get("context_chars") for r in ok), 50),
            # the model said "not in the articles" although the gold answer was in its prompt
            "refused_with_answer_in_context": M.mean(
                float(r["abstained"]) for r in answered if r.get("answer_in_context") is True
            )
            if have_answers
            else None,
            "pre_abstention_recall": pre_abst["abstention_recall"] if pre else None,
            "pre_false_abstention_rate": pre_abst["false_abstention_rate"] if pre else None,
            "citation_precision": M.mean(
                M.citation_precision(r["cited_ids"], r["gold_ids"]) for r in with_ctx
            ),
            "citation_recall": M.mean(
                M.citation_recall(r["cited_ids"], r["gold_ids"]) for r in with_ctx
            ),
            "model_citation_precision": M.mean(
                M.citation_precision(r["model_cited_ids"], r["gold_ids"]) for r in with_ctx
            ),
            "model_citation_recall": M.mean(
                M.citation_recall(r["model_cited_ids"], r["gold_ids"]) for r in with_ctx
            ),
            "attributed_share": (
                sum(r["n_attributed"] for r in answered) / sum(r["n_citations"] for r in answered)
                if sum(r["n_citations"] for r in answered)
                else None
            ),
            "support_rate": M.mean(
                M.support_rate(r["sentences_supported"]) for r in answered if not r["abstained"]
            ),
            "abstention_rate": M.mean(float(r["abstained"]) for r in answered)
            if have_answers
            else None,
            **(abst if have_answers else dict.fromkeys(abst)),
            "crag_score": M.mean(r["crag"] for r in answered) if have_answers else None,
            # false abstentions on a question naming something no indexed article contains
            "false_abstentions_name_absent": sum(
                1 for r in ans_gold if r["abstained"] and r.get("names_absent_from_index")
            )
            if have_answers
            else None,
            "false_abstentions": sum(1 for r in ans_gold if r["abstained"])
            if have_answers
            else None,
            # refusals the model gave a low probability, replaced by its cited answer
            "overruled": sum(1 for r in answered if r.get("overruled")) if have_answers else None,
            "overruled_correct": sum(1 for r in answered if r.get("overruled") and r["correct"])
            if have_answers
            else None,
        }
    )
    agg["retrieval_p50"] = M.percentile((r.get("retrieve_seconds") for r in ok), 50)
    agg["retrieval_p95"] = M.percentile((r.get("retrieve_seconds") for r in ok), 95)
    for event in ("retrieved", "evidence"):  # when the sources and the quotes were shown
        waits = [(r.get("timings") or {}).get(event) for r in answered]
        agg[f"{event}_p50"] = M.percentile(waits, 50)
        agg[f"{event}_p95"] = M.percentile(waits, 95)
    agg["ttft_p50"] = M.percentile((r.get("ttft") for r in answered), 50)
    agg["ttft_p95"] = M.percentile((r.get("ttft") for r in answered), 95)
    agg["latency_total_p50"] = M.percentile((r.get("seconds") for r in answered), 50)
    agg["latency_total_p95"] = M.percentile((r.get("seconds") for r in answered), 95)
    stages = M.latency_summary([r.get("timings") or {} for r in answered])
    for key, value in stages.items():
        if key not in ("latency_total_p50", "latency_total_p95"):
            agg[key] = value
    return agg


def curves(records: Sequence[dict[str, Any]]) -> dict[str, list[float | None]]:
    """hit@k and recall@k for k = 1..10, for the retriever's and plain search's rankings."""
    ok = [r for r in records if r.get("error") is None and r["gold_ids"]]
    out: dict[str, list[float | None]] = {}
    for name, key in (("", "ranking"), ("search_", "search_ranking")):
        out[f"{name}hit_at_k"] = [
            M.mean(M.hit_at_k(r[key], r["gold_ids"], k) for r in ok)
            for k in range(1, RANK_DEPTH + 1)
        ]
        out[f"{name}recall_at_k"] = [
            M.mean(M.recall_at_k(r[key], r["gold_ids"], k) for r in ok)
            for k in range(1, RANK_DEPTH + 1)
        ]
    return out


def per_type(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Headline metrics per question type."""
    types: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        types.setdefault(r["type"], []).append(r)
    out: dict[str, dict[str, Any]] = {}
    for kind, group in types.items():
        ok = [r for r in group if r.get("error") is None]
        gold = [r for r in ok if r["gold_ids"]]
        answered = [r for r in ok if "response" in r]
        out[kind] = {
            "n": len(group),
            "hit_at_5": M.mean(M.hit_at_k(r["ranking"], r["gold_ids"], 5) for r in gold),
            "mrr": M.mean(M.reciprocal_rank(r["ranking"], r["gold_ids"]) for r in gold),
            "correct": M.mean(float(r["crag"] == 1) for r in answered) if answered else None,
            "abstained": M.mean(float(r["abstained"]) for r in answered) if answered else None,
            "crag_score": M.mean(r["crag"] for r in answered) if answered else None,
        }
    return out


# --------------------------------------------------------------------------- the run
@dataclass
class RunResult:
    records: list[dict[str, Any]]
    aggregate: dict[str, Any]
    per_type: dict[str, dict[str, Any]]
    curves: dict[str, list[float | None]]
    gold_check: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def run_suite(
    items: Sequence[EvalItem],
    byline: Any,
    *,
    retrieval_only: bool = False,
    judge: Callable[[EvalItem, str], bool | None] | None = None,
    jobs: int = 1,
    progress: bool | None = None,
    check_gold: bool = True,
    checkpoint: Path | None = None,
) -> RunResult:
    """Evaluate ``items`` against a built, ingested ``byline``; records keep the items' order.

    With ``checkpoint`` (a JSONL file), each finished record is appended to it as it completes,
    and records already in it (from an interrupted run, same question ids) are reused, so a
    long run picks up where it stopped; their answers are scored again with the current
    metrics, so resuming a finished run re-scores it without asking the model anything."""
    from tqdm.auto import tqdm

    started = time.perf_counter()
    gold_check = resolve_gold(items, byline) if check_gold else {}
    done = load_checkpoint(checkpoint, answers=not retrieval_only) if checkpoint else {}
    todo = [item for item in items if item.id not in done]
    for item in items:
        if item.id in done and not retrieval_only:
            score_answer(done[item.id], item)
    bar = tqdm(
        total=len(items),
        initial=len(items) - len(todo),
        desc="retrieval" if retrieval_only else "answers",
        unit="q",
        disable=None if progress is None else not progress,
    )
    write_lock = threading.Lock()
    sink = checkpoint.open("a", encoding="utf-8") if checkpoint else None

    def one(item: EvalItem) -> dict[str, Any]:
        rec = evaluate_item(byline, item, retrieval_only, judge)
        if sink is not None:
            with write_lock:
                sink.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
                sink.flush()
        bar.update(1)
        return rec

    try:
        if jobs > 1:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                fresh = list(pool.map(one, todo))
        else:
            fresh = [one(item) for item in todo]
    finally:
        bar.close()
        if sink is not None:
            sink.close()
    by_id = {**done, **{r["id"]: r for r in fresh}}
    records = [by_id[item.id] for item in items]
    agg = aggregate(records, retrieval_only)
    trust = [(i, r["answer"]) for i, r in zip(items, records, strict=True) if r.get("answer")]
    if trust:
        from evals.trust import trust_summary

        agg["trust"] = trust_summary([i for i, _ in trust], [r for _, r in trust])
    return RunResult(
        records=records,
        aggregate=agg,
        per_type=per_type(records),
        curves=curves(records),
        gold_check=gold_check,
        seconds=time.perf_counter() - started,
    )


# --------------------------------------------------------------------------- provenance
def git_commit(root: Path = PROJECT_ROOT) -> str:
    """The checked-out commit, read from the repository files; "unknown" outside a repository."""
    try:
        git = root / ".git"
        if git.is_file():  # a worktree: "gitdir: <path>"
            git = (root / git.read_text().split(":", 1)[1].strip()).resolve()
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head
        ref = head.split(":", 1)[1].strip()
        common = git
        if (git / "commondir").is_file():
            common = (git / (git / "commondir").read_text().strip()).resolve()
        for base in (git, common):
            loose = base / ref
            if loose.is_file():
                return loose.read_text().strip()
        packed = common / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                if line.endswith(" " + ref):
                    return line.split(" ", 1)[0]
    except OSError:
        pass
    return "unknown"


def load_thresholds(path: Path = THRESHOLDS) -> dict[str, dict[str, float]]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def check_thresholds(
    agg: dict[str, Any], thresholds: dict[str, float]
) -> tuple[list[str], list[str]]:
    """(failures, notes). ``key = x`` means at least x; ``max_key = x`` means at most x.

    A key the run did not measure (None, or a latency stage it did not have) is a note, not a
    failure; a key that no run ever produces is a failure, so a typo cannot pass silently.
    """
    failures: list[str] = []
    notes: list[str] = []
    for raw, limit in thresholds.items():
        is_max = raw.startswith("max_")
        key = raw[4:] if is_max else raw
        if key not in agg:
            if key.startswith("latency_"):
                notes.append(f"{raw}: not measured in this run")
            else:
                failures.append(f"{raw}: unknown metric (not in the aggregate results)")
            continue
        value = agg[key]
        if value is None:
            notes.append(f"{raw}: not measured in this run")
            continue
        if is_max and value > limit:
            failures.append(f"{key} = {value:.4g} is above the maximum {limit:.4g}")
        elif not is_max and value < limit:
            failures.append(f"{key} = {value:.4g} is below the minimum {limit:.4g}")
    return failures, notes


# --------------------------------------------------------------------------- output
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


def new_run_dir(out: Path, suite: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run = out / f"{suite}-{stamp}"
    n = 2
    while run.exists():
        run = out / f"{suite}-{stamp}-{n}"
        n += 1
    run.mkdir(parents=True)
    return run


def result_document(result: RunResult, meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON result: provenance first, then metrics, then the per-item records."""
    models = sorted({r["model"] for r in result.records if r.get("model")})
    hashes = sorted({r["prompt_hash"] for r in result.records if r.get("prompt_hash")})
    return {
        **meta,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "models": {
            **meta.get("models", {}),
            "answer_models": models,
        },
        "prompt_hash": hashes[0] if len(hashes) == 1 else (hashes or meta.get("prompt_hash")),
        "seconds": round(result.seconds, 3),
        "gold_check": result.gold_check,
        "aggregate": result.aggregate,
        "per_type": result.per_type,
        "curves": result.curves,
        "items": result.records,
    }


def write_outputs(result: RunResult, run_dir: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Write result.json, the plots and report.md into ``run_dir``; returns the document."""
    from evals.report import write_report

    doc = result_document(result, meta)
    (run_dir / "result.json").write_text(
        json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    write_report(doc, run_dir)
    return doc


HEADLINE = (
    "hit_at_1",
    "hit_at_5",
    "hit_at_10",
    "recall_at_10",
    "mrr",
    "search_hit_at_5",
    "context_recall",
    "answer_in_context",
    "answer_in_evidence",
    "context_chars_p50",
    "pre_abstention_recall",
    "pre_false_abstention_rate",
    "accuracy",
    "choice_accuracy",
    "token_f1",
    "judge_accuracy",
    "citation_precision",
    "citation_recall",
    "support_rate",
    "abstention_precision",
    "abstention_recall",
    "false_abstention_rate",
    "false_abstentions",
    "false_abstentions_name_absent",
    "overruled",
    "overruled_correct",
    "crag_score",
    "retrieval_p50",
    "retrieved_p50",
    "evidence_p50",
    "ttft_p50",
    "ttft_p95",
    "latency_total_p50",
    "latency_total_p95",
)


def format_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def headline_table(agg: dict[str, Any]) -> str:
    rows = [(k, format_value(agg.get(k))) for k in HEADLINE if agg.get(k) is not None]
    width = max((len(k) for k, _ in rows), default=10)
    lines = [f"{'metric'.ljust(width)}  value", f"{'-' * width}  -----"]
    lines += [f"{k.ljust(width)}  {v}" for k, v in rows]
    return "\n".join(lines)
