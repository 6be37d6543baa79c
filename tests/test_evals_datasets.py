"""Eval-set readers on tiny inline samples; one check of the real files when they are present."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.datasets import (
    MULTIHOP_AS_OF,
    SUITES,
    DatasetError,
    detect_format,
    load_items,
    read_byline,
    read_multihop,
    read_realtimeqa,
)
from evals.scoring import score_answer
from rag.articles import make_article_id

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


def _jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    return path


def test_byline_format(tmp_path):
    path = _jsonl(
        tmp_path / "set.jsonl",
        [
            {
                "id": "q1",
                "question": "Who?",
                "answer": "Microsoft",
                "aliases": ["MSFT"],
                "gold_ids": ["a1"],
                "as_of": "2025-01-24",
                "type": "temporal",
            },
            {
                "id": "q2",
                "question": "How much?",
                "answer": "",
                "aliases": [],
                "gold_ids": [],
                "as_of": None,
                "type": "unanswerable",
            },
        ],
    )
    first, second = read_byline(path)
    assert first.id == "q1" and first.answers == ["Microsoft", "MSFT"]
    assert first.gold_ids == ["a1"] and first.as_of == "2025-01-24"
    assert first.type == "temporal" and first.answerable
    assert not second.answerable and second.as_of is None and second.answers == []


def test_byline_format_reads_history_and_behaviour_fields(tmp_path):
    turns = [
        {"role": "user", "content": "What did AMD agree to supply?"},
        {"role": "assistant", "content": "6 gigawatts of GPUs [1].", "article_ids": ["amd"]},
    ]
    reports = [{"source": "Pub A", "answer": "$1"}, {"source": "Pub B", "answer": "$2"}]
    path = _jsonl(
        tmp_path / "trust.jsonl",
        [
            {
                "id": "f",
                "question": "And the warrant?",
                "answer": "160 million",
                "gold_ids": ["amd"],
                "type": "follow_up",
                "history": turns,
            },
            {
                "id": "u",
                "question": "Total?",
                "answer": "$8 billion",
                "gold_ids": ["b"],
                "as_of": "2025-01-15",
                "type": "update",
                "changed_from": "$4 billion",
            },
            {
                "id": "c",
                "question": "How much?",
                "answer": "$1",
                "gold_ids": ["x", "y"],
                "type": "conflict",
                "reports": reports,
            },
            {"id": "i", "question": "Say HI.", "type": "instruction", "forbidden": ["HI"]},
            {
                "id": "n",
                "question": "Net loss?",
                "answer": "",
                "gold_ids": ["x"],
                "type": "near_miss",
            },
        ],
    )
    follow, update, conflict, instruction, near = read_byline(path)
    assert follow.history == turns and follow.extra == {}
    assert follow.to_dict()["history"][1]["article_ids"] == ["amd"]
    assert update.extra == {"changed_from": ["$4 billion"]} and update.history == []
    assert conflict.extra["reports"] == reports
    assert instruction.extra == {"forbidden": ["HI"]} and not instruction.answerable
    # a near miss is unanswerable even when the set names the articles it is close to
    assert not near.answerable and near.gold_ids == ["x"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("history", [{"role": "system", "content": "x"}], "history turn 1"),
        ("history", [{"role": "user", "content": ""}], "history turn 1"),
        ("history", "earlier question", "history must be a list"),
        ("reports", [{"source": "Pub A"}], "reports must be a list"),
        ("forbidden", {"word": "HI"}, "forbidden must be a list"),
    ],
)
def test_malformed_behaviour_fields_name_the_line(tmp_path, field, value, message):
    path = _jsonl(tmp_path / "set.jsonl", [{"question": "q?", field: value}])
    with pytest.raises(DatasetError, match=rf"set\.jsonl:1: {message}"):
        read_byline(path)


def test_realtimeqa_format(tmp_path):
    path = _jsonl(
        tmp_path / "questions_dev.jsonl",
        [
            {
                "question_id": "20220617_0",
                "question_date": "2022/06/16",
                "question": "Which show was renewed this week?",
                "choices": ["A", "“Squid Game”"],
                "answer_index": [1],
                "answer": "“Squid Game”",
                "gold_doc_ids": ["rtqa-abc"],
                "gold_urls": ["https://www.cnn.com/x"],
            }
        ],
    )
    (item,) = read_realtimeqa(path)
    assert item.id == "20220617_0"
    assert item.as_of == "2022-06-16"
    assert item.gold_ids == ["rtqa-abc"]
    assert item.type == "realtimeqa" and item.answerable
    assert "Squid Game" in item.answers
    assert item.extra["choices"] == ["A", "“Squid Game”"] and item.extra["answer_index"] == 1
    assert detect_format(path) == "realtimeqa"
    # the runner scores a free-form answer against the choices too
    rec = {"abstained": False, "response": "Squid Game, renewed on Sunday [1]."}
    score_answer(rec, item)
    assert rec["correct"] and rec["choice_correct"] is True
    rec = {"abstained": True, "response": "The articles don't say."}
    score_answer(rec, item)
    assert rec["choice_correct"] is False


def test_multihop_format_maps_evidence_urls_to_article_ids(tmp_path):
    url = "https://www.theverge.com/2023/9/26/apple-google/"
    data = [
        {
            "query": "Did both report it?",
            "answer": "Yes",
            "question_type": "comparison_query",
            "evidence_list": [
                {"title": "T1", "source": "The Verge", "url": url, "fact": "f1"},
                {"title": "T1", "source": "The Verge", "url": url, "fact": "f2"},
                {"title": "T2", "source": "TechCrunch", "url": "https://techcrunch.com/a"},
            ],
        },
        {
            "query": "Which network?",
            "answer": "Insufficient information.",
            "question_type": "null_query",
            "evidence_list": [],
        },
    ]
    path = tmp_path / "queries_dev.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    first, null = read_multihop(path)
    # The loader gives a record without an id the id derived from its URL: the same here.
    assert first.gold_ids == [
        make_article_id(url="https://www.theverge.com/2023/9/26/apple-google"),
        make_article_id(url="https://techcrunch.com/a"),
    ]
    assert first.type == "comparison_query" and first.answerable and first.answer == "Yes"
    assert first.as_of == MULTIHOP_AS_OF
    assert first.extra["gold_titles"] == ["T1", "T2"]
    assert not null.answerable and null.answer == "" and null.type == "null_query"
    assert detect_format(path) == "multihop-rag"


def test_broken_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "q1", "question": "ok?"}\n{not json\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad\.jsonl:2"):
        read_byline(path)


def test_missing_question_is_an_error(tmp_path):
    path = _jsonl(tmp_path / "set.jsonl", [{"id": "q1", "answer": "x"}])
    with pytest.raises(DatasetError, match="question"):
        load_items(path, "byline")


def test_unknown_format_and_missing_file(tmp_path):
    path = _jsonl(tmp_path / "set.jsonl", [{"question": "q"}])
    with pytest.raises(DatasetError, match="unknown dataset format"):
        load_items(path, "squad")
    with pytest.raises(DatasetError, match="no such dataset"):
        load_items(tmp_path / "nope.jsonl")


def test_smoke_set_reads_and_its_corpus_exists():
    smoke = SUITES["smoke"]
    items = load_items(smoke.dataset_path(), smoke.format)
    assert len(items) >= 30
    assert len({i.id for i in items}) == len(items)
    assert any(not i.answerable for i in items)
    assert all(i.gold_ids for i in items if i.answerable)
    assert all(p.exists() for p in smoke.corpus_paths())


def test_trust_set_reads_and_every_slice_has_what_its_metric_needs():
    from rag.loaders import load_paths

    trust = SUITES["trust"]
    items = load_items(trust.dataset_path(), trust.format)
    assert len({i.id for i in items}) == len(items)
    by_type: dict[str, list] = {}
    for item in items:
        by_type.setdefault(item.type, []).append(item)
    kinds = ("update", "as_of_past", "conflict", "follow_up", "instruction", "near_miss")
    assert sorted(by_type) == sorted(kinds)
    assert all(len(by_type[k]) >= 4 for k in kinds)
    assert all(i.extra.get("changed_from") and i.as_of for i in by_type["update"])
    assert all(i.extra.get("later_state") and i.as_of for i in by_type["as_of_past"])
    assert all(len(i.extra.get("reports", [])) >= 2 for i in by_type["conflict"])
    assert all(i.history and i.history[-1]["role"] == "assistant" for i in by_type["follow_up"])
    assert all(i.extra.get("forbidden") for i in by_type["instruction"])
    assert not any(i.answerable for i in by_type["near_miss"])
    loaded = load_paths(trust.corpus_paths(), max_bytes=10_000_000)
    articles = {a.id: a for a in loaded.articles}
    gold = {g for i in items for g in i.gold_ids}
    cited = {c for i in items for t in i.history for c in t.get("article_ids", [])}
    assert gold | cited <= set(articles)
    # each conflict's publishers are the publishers of its gold articles
    for item in by_type["conflict"]:
        publishers = {articles[g].source for g in item.gold_ids}
        assert {r["source"] for r in item.extra["reports"]} == publishers, item.id


@pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason="the shared eval data is not beside the project"
)
def test_real_datasets_read_and_gold_ids_match_their_corpora():
    from rag.loaders import load_paths

    for name in ("realtimeqa", "multihop-rag"):
        suite = SUITES[name]
        items = load_items(suite.dataset_path(), suite.format)
        assert items
        loaded = load_paths(suite.corpus_paths(), max_bytes=200_000_000)
        ids = {a.id for a in loaded.articles}
        gold = {g for i in items for g in i.gold_ids}
        assert gold, name
        assert gold <= ids, f"{name}: {len(gold - ids)} gold ids are not corpus article ids"
