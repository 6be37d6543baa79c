"""The eval runner end to end on a tiny corpus, with the hash embedder and the scripted model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.cli import main as eval_main
from evals.datasets import EvalItem, read_byline
from evals.results import git_commit
from evals.runner import run_suite
from evals.selection import select_items
from evals.thresholds import check_thresholds
from rag.app import Byline
from rag.testing import FakeChatModel, HashEmbeddings
from tests.helpers import write_articles

DATASET = [
    {
        "id": "t1",
        "question": "Who holds a right of first refusal on new OpenAI capacity?",
        "answer": "Microsoft",
        "aliases": [],
        "gold_ids": ["rofr"],
        "as_of": None,
        "type": "factoid",
    },
    {
        "id": "t2",
        "question": "Which company did Anthropic name its primary training partner?",
        "answer": "AWS",
        "aliases": ["Amazon Web Services", "Amazon"],
        "gold_ids": ["anthropic"],
        "as_of": "2024-11-25",
        "type": "temporal",
    },
    {
        "id": "t3",
        "question": "How many employees will the Stargate venture hire in Abilene?",
        "answer": "",
        "aliases": [],
        "gold_ids": [],
        "as_of": None,
        "type": "unanswerable",
    },
]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_articles(tmp_path / "corpus")


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in DATASET) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def byline(tmp_path: Path) -> Byline:
    b = Byline.open(
        tmp_path / "index",
        embedder=HashEmbeddings(),
        embed_model="hash",
        chat_model=FakeChatModel(mode="cite"),
    )
    yield b
    b.close()


def _eval(args: list[str], byline: Byline, capsys) -> tuple[int, str]:
    code = eval_main([*args, "--no-progress"], byline=byline)
    return code, capsys.readouterr().out


def test_run_suite_on_an_injected_byline(byline, corpus, dataset):
    byline.ingest([corpus], progress=False)
    items = read_byline(dataset)
    result = run_suite(items, byline, progress=False)
    assert [r["id"] for r in result.records] == ["t1", "t2", "t3"]
    first = result.records[0]
    assert first["error"] is None
    assert first["ranking"][0] == "rofr"
    assert set(first["ranking"]) <= {"rofr", "stargate", "anthropic"}
    assert isinstance(first["response"], str) and "abstained" in first
    assert first["timings"] and first["seconds"] >= 0
    agg = result.aggregate
    assert agg["n_items"] == 3 and agg["n_unanswerable"] == 1 and agg["n_errors"] == 0
    assert agg["hit_at_10"] == 1.0
    assert agg["refused_with_answer_in_context"] in (0.0, 0.5, 1.0)
    for key in ("accuracy", "crag_score", "mrr", "latency_total_p50", "ttft_p50"):
        assert agg[key] is not None, key
    assert set(result.per_type) == {"factoid", "temporal", "unanswerable"}
    assert len(result.curves["recall_at_k"]) == 10
    assert result.gold_check == {"checked": True, "repaired": 0, "missing": []}


def test_a_refusal_is_measured_on_what_the_model_read_not_on_the_closest_articles(
    tmp_path, corpus, dataset
):
    refusing = FakeChatModel(mode="refuse")
    b = Byline.open(
        tmp_path / "refusing", embedder=HashEmbeddings(), embed_model="hash", chat_model=refusing
    )
    try:
        b.ingest([corpus], progress=False)
        (rec,) = run_suite(read_byline(dataset)[:1], b, progress=False).records
    finally:
        b.close()
    assert rec["abstained"] and rec["draft"] and rec["closest_ids"]
    prompt = refusing.prompts[0]
    # The record's context is the prompt's sources: the gold article was in the prompt, and the
    # gold answer ("Microsoft") was both in the prompt and counted as in the context.
    assert rec["context_ids"] and "rofr" in rec["context_ids"]
    assert "Microsoft" in prompt and rec["answer_in_context"] is True
    assert 0 < rec["context_chars"] <= len(prompt)


def test_replaced_refusals_are_counted(tmp_path, corpus, dataset):
    doubting = FakeChatModel(mode="refuse", refusal_probability=0.1)
    b = Byline.open(
        tmp_path / "doubting", embedder=HashEmbeddings(), embed_model="hash", chat_model=doubting
    )
    try:
        b.ingest([corpus], progress=False)
        result = run_suite(read_byline(dataset)[:1], b, progress=False)
    finally:
        b.close()
    (rec,) = result.records
    assert rec["overruled"] and rec["refusal_probability"] == 0.1 and not rec["abstained"]
    assert result.aggregate["overruled"] == 1
    assert rec["correct"] and result.aggregate["overruled_correct"] == 1


def test_retrieval_only_skips_the_model(byline, corpus, dataset):
    byline.ingest([corpus], progress=False)
    result = run_suite(read_byline(dataset), byline, retrieval_only=True, progress=False)
    assert all("response" not in r for r in result.records)
    assert result.aggregate["hit_at_1"] is not None
    assert result.aggregate["accuracy"] is None and result.aggregate["crag_score"] is None


def test_retrieval_only_measures_the_prompt_context_without_the_model(byline, corpus, dataset):
    byline.ingest([corpus], progress=False)
    model = byline.chat_model()[0]
    result = run_suite(read_byline(dataset), byline, retrieval_only=True, progress=False)
    assert model.prompts == []
    first, _, unanswerable = result.records
    assert first["context_ids"][0] == "rofr" and first["context_chars"] > 0
    assert first["answer_in_context"] is True  # "Microsoft" is in the rofr passage
    assert unanswerable["answer_in_context"] is None
    assert all(isinstance(r["abstained_before_model"], bool) for r in result.records)
    agg = result.aggregate
    assert agg["answer_in_context"] is not None and agg["context_recall"] is not None
    assert agg["pre_false_abstention_rate"] is not None
    assert agg["pre_abstention_recall"] in (0.0, 1.0)


def test_retrieval_only_retrieves_once_per_question(byline, corpus, dataset, monkeypatch):
    from rag.retrieval.retriever import NewsRetriever

    byline.ingest([corpus], progress=False)
    calls = []
    real = NewsRetriever.retrieve

    def counted(self, question, *args, **kwargs):
        calls.append(question)
        return real(self, question, *args, **kwargs)

    monkeypatch.setattr(NewsRetriever, "retrieve", counted)
    result = run_suite(read_byline(dataset), byline, retrieval_only=True, progress=False)
    assert len(calls) == len(DATASET)
    # the ranking is the chain's own retrieval: its first hit is the first source in the prompt
    first = result.records[0]
    assert first["ranking"][0] == first["context_ids"][0] == "rofr"
    assert first["retrieve_seconds"] > 0


def test_answer_in_context_ignores_yes_no_and_unanswerable_items():
    from evals.scoring import answer_in_context

    item = EvalItem(id="a", question="q", answer="Microsoft", gold_ids=["x"])
    assert answer_in_context(item, ["Talks with microsoft went on."]) is True
    assert answer_in_context(item, ["Talks with Oracle went on."]) is False
    assert answer_in_context(EvalItem(id="b", question="q", answer="Yes"), ["Yes."]) is None
    assert answer_in_context(EvalItem(id="c", question="q", answer=""), ["x"]) is None


def test_gold_ids_missing_from_the_index_are_reported(byline, corpus):
    byline.ingest([corpus], progress=False)
    items = [EvalItem(id="x", question="Stargate Abilene?", answer="Abilene", gold_ids=["nope"])]
    result = run_suite(items, byline, retrieval_only=True, progress=False)
    assert result.gold_check["missing"] == ["nope"]
    assert result.aggregate["hit_at_10"] == 0.0


def test_cli_writes_result_json_and_report_with_plots(byline, corpus, dataset, tmp_path, capsys):
    out = tmp_path / "out"
    code, printed = _eval(
        ["--dataset", str(dataset), "--corpus", str(corpus), "--out", str(out)], byline, capsys
    )
    assert code == 0
    assert "hit_at_5" in printed
    (run_dir,) = out.iterdir()
    assert run_dir.name.startswith("tiny-")
    doc = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    for key in (
        "suite",
        "date",
        "git_commit",
        "dataset",
        "corpus",
        "config",
        "models",
        "prompt_hash",
        "options",
        "aggregate",
        "per_type",
        "curves",
        "items",
    ):
        assert key in doc, key
    assert doc["suite"] == "tiny"
    assert doc["dataset"]["format"] == "byline" and len(doc["dataset"]["sha256"]) == 64
    assert doc["config"]["embed_model"] == "hash"
    assert doc["models"]["embed_model"] == "hash"
    assert doc["prompt_hash"]
    assert len(doc["items"]) == 3
    report = (run_dir / "report.md").read_text(encoding="utf-8")
    pngs = sorted(p.name for p in run_dir.glob("*.png"))
    assert len(pngs) == 3
    for name in pngs:
        assert f"]({name})" in report
        assert (run_dir / name).read_bytes()[:4] == b"\x89PNG"


def test_check_fails_when_a_threshold_is_above_the_measured_value(
    byline, corpus, dataset, tmp_path, capsys
):
    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text(
        "[tiny]\nhit_at_10 = 0.5\nhit_at_1 = 1.01\nmax_retrieval_p95 = 0.0\n", encoding="utf-8"
    )
    args = ["--dataset", str(dataset), "--corpus", str(corpus), "--out", str(tmp_path / "o")]
    code, printed = _eval(
        [*args, "--retrieval-only", "--check", "--thresholds", str(thresholds)], byline, capsys
    )
    assert code == 1
    assert "FAILED 2 threshold(s)" in printed
    assert "hit_at_1 = 1 is below the minimum 1.01" in printed
    assert "retrieval_p95" in printed and "above the maximum" in printed
    assert "hit_at_10 =" not in printed.split("FAILED")[1]


def test_check_passes_and_notes_unmeasured_metrics(byline, corpus, dataset, tmp_path, capsys):
    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text("[tiny]\nhit_at_10 = 0.5\naccuracy = 0.9\n", encoding="utf-8")
    args = ["--dataset", str(dataset), "--corpus", str(corpus), "--out", str(tmp_path / "o")]
    code, printed = _eval(
        [*args, "--retrieval-only", "--check", "--thresholds", str(thresholds)], byline, capsys
    )
    assert code == 0
    assert "accuracy: not measured" in printed


def test_check_without_a_section_is_a_usage_error(byline, corpus, dataset, tmp_path, capsys):
    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text("[other]\nhit_at_1 = 0.1\n", encoding="utf-8")
    args = ["--dataset", str(dataset), "--corpus", str(corpus), "--out", str(tmp_path / "o")]
    code = eval_main(
        [*args, "--retrieval-only", "--check", "--thresholds", str(thresholds), "--no-progress"],
        byline=byline,
    )
    assert code == 2
    assert "no [tiny] section" in capsys.readouterr().err


def test_dataset_without_corpus_or_shared_data_is_a_usage_error(tmp_path, dataset, capsys):
    assert eval_main(["--dataset", str(dataset)]) == 2
    assert "--corpus" in capsys.readouterr().err
    assert eval_main(["--suite", "realtimeqa", "--shared-data", str(tmp_path / "none")]) == 2
    assert "--shared-data" in capsys.readouterr().err


def test_check_thresholds_semantics():
    agg = {"hit_at_5": 0.8, "latency_total_p95": 4.0, "accuracy": None}
    failures, notes = check_thresholds(
        agg,
        {
            "hit_at_5": 0.9,
            "max_latency_total_p95": 5.0,
            "accuracy": 0.5,
            "max_latency_check_p95": 1.0,
            "hit_at_50": 0.1,
        },
    )
    assert failures == [
        "hit_at_5 = 0.8 is below the minimum 0.9",
        "hit_at_50: unknown metric (not in the metrics registry)",
    ]
    assert len(notes) == 2


def test_select_items_limit_and_seeded_sample():
    items = [EvalItem(id=str(i), question=f"q{i}") for i in range(20)]
    assert [i.id for i in select_items(items, 3)] == ["0", "1", "2"]
    a = select_items(items, 5, seed=7)
    assert [i.id for i in a] == [i.id for i in select_items(items, 5, seed=7)]
    assert len(a) == 5 and len({i.id for i in a}) == 5
    assert len(select_items(items, None, seed=1)) == 20


def test_git_commit_outside_a_repository(tmp_path):
    assert git_commit(tmp_path) == "unknown"
    git = tmp_path / "repo" / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text("a" * 40 + "\n")
    assert git_commit(tmp_path / "repo") == "a" * 40


def test_judge_grades_answered_items(byline, corpus, dataset):
    from evals.judge import Judge

    byline.ingest([corpus], progress=False)
    items = read_byline(dataset)[:1]
    judge = Judge(FakeChatModel(mode="script", responses=["CORRECT"]), "fake:script")
    result = run_suite(items, byline, judge=judge, progress=False)
    record = result.records[0]
    assert not record["abstained"]
    assert record["judge_correct"] is True
    assert result.aggregate["judge_accuracy"] == 1.0


def test_checkpoint_records_each_question_and_a_rerun_reuses_them(
    byline, corpus, dataset, tmp_path
):
    byline.ingest([corpus], progress=False)
    items = read_byline(dataset)
    checkpoint = tmp_path / "records.jsonl"
    first = run_suite(items[:2], byline, progress=False, checkpoint=checkpoint)
    lines = checkpoint.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["t1", "t2"]
    # a killed run can leave a torn last line: it is ignored, not fatal
    with checkpoint.open("a", encoding="utf-8") as fh:
        fh.write('{"id": "t3", "quest')
    model = byline.chat_model()[0]
    calls_before = len(model.prompts)
    resumed = run_suite(items, byline, progress=False, checkpoint=checkpoint)
    assert [r["id"] for r in resumed.records] == ["t1", "t2", "t3"]
    assert resumed.records[0] == first.records[0]  # reused, not re-asked
    assert len(model.prompts) - calls_before <= 1  # only t3 reached the model (it may abstain)
    assert resumed.aggregate["n_items"] == 3


def test_resuming_a_finished_run_scores_its_answers_again(byline, corpus, dataset, tmp_path):
    byline.ingest([corpus], progress=False)
    items = read_byline(dataset)[:2]
    checkpoint = tmp_path / "records.jsonl"
    first = run_suite(items, byline, progress=False, checkpoint=checkpoint)
    answered = next(r for r in first.records if r["correct"])
    # The saved record was scored against an answer its response does not contain ...
    stale = {**answered, "correct": False, "crag": -1, "token_f1": 0.0}
    lines = [json.dumps(stale if r["id"] == stale["id"] else r) for r in first.records]
    checkpoint.write_text("\n".join(lines) + "\n", encoding="utf-8")
    model = byline.chat_model()[0]
    calls_before = len(model.prompts)
    again = run_suite(items, byline, progress=False, checkpoint=checkpoint)
    assert len(model.prompts) == calls_before  # nothing asked again
    rescored = next(r for r in again.records if r["id"] == stale["id"])
    # ... and is scored afresh from its response
    assert rescored["correct"] is True and rescored["crag"] == 1
    assert again.aggregate["accuracy"] == first.aggregate["accuracy"]


def test_checkpoint_from_retrieval_only_is_not_reused_for_answers(
    byline, corpus, dataset, tmp_path
):
    byline.ingest([corpus], progress=False)
    items = read_byline(dataset)
    checkpoint = tmp_path / "records.jsonl"
    run_suite(items, byline, retrieval_only=True, progress=False, checkpoint=checkpoint)
    result = run_suite(items, byline, progress=False, checkpoint=checkpoint)
    assert all("response" in r for r in result.records)


def test_resume_continues_a_run_folder(byline, corpus, dataset, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["--dataset", str(dataset), "--corpus", str(corpus), "--out", str(out)]
    assert _eval([*args, "--limit", "1"], byline, capsys)[0] == 0
    (run_dir,) = out.iterdir()
    assert len((run_dir / "records.jsonl").read_text(encoding="utf-8").splitlines()) == 1
    code, _ = _eval([*args, "--resume", str(run_dir)], byline, capsys)
    assert code == 0
    assert list(out.iterdir()) == [run_dir]
    doc = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    assert [r["id"] for r in doc["items"]] == ["t1", "t2", "t3"]
    assert len((run_dir / "records.jsonl").read_text(encoding="utf-8").splitlines()) == 3


def test_resume_of_a_folder_without_records_is_a_usage_error(
    byline, corpus, dataset, tmp_path, capsys
):
    args = ["--dataset", str(dataset), "--corpus", str(corpus), "--resume", str(tmp_path)]
    code = eval_main([*args, "--no-progress"], byline=byline)
    assert code == 2
    assert "records.jsonl" in capsys.readouterr().err


def _rtqa_files(tmp_path: Path) -> tuple[Path, Path]:
    questions = tmp_path / "questions.jsonl"
    corpus = tmp_path / "articles.jsonl"
    qs = [
        {
            "question_id": "q1",
            "question_date": "2022/06/16",
            "question": "Who?",
            "answer": "A",
            "gold_doc_ids": ["g1"],
        },
        {
            "question_id": "q2",
            "question_date": "2022/06/23",
            "question": "What?",
            "answer": "B",
            "gold_doc_ids": ["g2"],
        },
    ]
    docs = [
        {"doc_id": "g1", "title": "G1", "text": "Gold one."},
        {"doc_id": "g2", "title": "G2", "text": "Gold two."},
        {"doc_id": "d1", "title": "D1", "text": "Near miss.", "retrieved_for": ["q1"]},
        {"doc_id": "d2", "title": "D2", "text": "Other miss.", "retrieved_for": ["q2"]},
        {"doc_id": "d3", "title": "D3", "text": "Both.", "retrieved_for": ["q2", "q1"]},
    ]
    questions.write_text("\n".join(json.dumps(q) for q in qs) + "\n", encoding="utf-8")
    corpus.write_text("\n".join(json.dumps(d) for d in docs) + "\n", encoding="utf-8")
    return questions, corpus


def test_sample_corpus_keeps_gold_and_retrieved_for_articles_of_the_selection(tmp_path):
    from evals.corpus import sample_corpus
    from evals.datasets import read_realtimeqa

    questions, corpus = _rtqa_files(tmp_path)
    items = read_realtimeqa(questions)[:1]
    out = sample_corpus(items, [corpus], tmp_path / "cache")
    kept = [json.loads(line)["doc_id"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert kept == ["g1", "d1", "d3"]
    assert sample_corpus(items, [corpus], tmp_path / "cache") == out  # cached per selection
    both = sample_corpus(read_realtimeqa(questions), [corpus], tmp_path / "cache")
    assert both != out and len(both.read_text(encoding="utf-8").splitlines()) == 5


def test_sample_corpus_run_is_named_for_the_sample(tmp_path, capsys, monkeypatch):
    import evals.cli

    monkeypatch.setattr(evals.cli, "DEFAULT_CACHE", tmp_path / "cache")
    questions, corpus = _rtqa_files(tmp_path)
    b = Byline.open(
        tmp_path / "index", embedder=HashEmbeddings(), embed_model="hash", llm="fake:cite"
    )
    out = tmp_path / "out"
    args = ["--dataset", str(questions), "--corpus", str(corpus), "--sample-corpus"]
    code, _ = _eval([*args, "--retrieval-only", "--limit", "1", "--out", str(out)], b, capsys)
    b.close()
    assert code == 0
    (run_dir,) = out.iterdir()
    assert run_dir.name.startswith("questions-sample-")
    doc = json.loads((run_dir / "result.json").read_text(encoding="utf-8"))
    assert doc["options"]["sample_corpus"] is True
    assert doc["index_stats"]["articles"] == 3
    assert doc["corpus"][0].startswith(str(tmp_path / "cache"))


def test_sample_corpus_of_a_folder_is_a_usage_error(tmp_path, corpus, dataset, byline, capsys):
    args = ["--dataset", str(dataset), "--corpus", str(corpus), "--sample-corpus"]
    assert eval_main([*args, "--no-progress"], byline=byline) == 2
    assert "JSONL" in capsys.readouterr().err


def test_section_picks_another_thresholds_section(byline, corpus, dataset, tmp_path, capsys):
    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text("[tiny]\nhit_at_10 = 0.5\n[strict]\nhit_at_10 = 1.01\n", "utf-8")
    args = ["--dataset", str(dataset), "--corpus", str(corpus), "--out", str(tmp_path / "o")]
    args += ["--retrieval-only", "--check", "--thresholds", str(thresholds)]
    assert _eval(args, byline, capsys)[0] == 0
    code, printed = _eval([*args, "--section", "strict"], byline, capsys)
    assert code == 1 and "[strict]" in printed


def test_false_abstention_on_a_name_the_index_lacks_is_counted_apart(byline, corpus):
    byline.ingest([corpus], progress=False)
    assert byline.lexical().has_term("Microsoft") and not byline.lexical().has_term("Starbucks")
    items = [
        EvalItem(
            id="absent",
            question="Did Starbucks hold a right of first refusal on OpenAI capacity?",
            answer="Yes",
            gold_ids=["rofr"],
            type="comparison",
        ),
        EvalItem(
            id="present",
            question="Who holds a right of first refusal on new OpenAI capacity?",
            answer="Microsoft",
            gold_ids=["rofr"],
            type="factoid",
        ),
    ]
    result = run_suite(items, byline, progress=False)
    records = {r["id"]: r for r in result.records}
    assert records["absent"]["abstained"]
    assert records["absent"]["names_absent_from_index"] == ["Starbucks"]
    assert not records["present"]["abstained"]
    assert "names_absent_from_index" not in records["present"]
    assert result.aggregate["false_abstentions"] == 1
    assert result.aggregate["false_abstentions_name_absent"] == 1


def test_baseline_band_gates_a_run_that_loses_questions(byline, corpus, dataset, tmp_path, capsys):
    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text("[tiny]\nhit_at_10 = 0.0\n\n[band.tiny]\nmax_drop_right = 0\n")
    args = ["--dataset", str(dataset), "--corpus", str(corpus), "--thresholds", str(thresholds)]
    code, _ = _eval([*args, "--out", str(tmp_path / "a")], byline, capsys)
    (run_dir,) = (tmp_path / "a").iterdir()
    base = tmp_path / "smoke.json"
    assert eval_main(["baseline", str(run_dir), "--out", str(base)]) == 0
    right = sum(1 for r in json.loads(base.read_text())["items"] if r["crag"] == 1)
    assert code == 0 and right >= 1

    args += ["--out", str(tmp_path / "b")]
    code, printed = _eval([*args, "--baseline", str(base), "--check"], byline, capsys)
    assert code == 0 and "within the regression band of [band.tiny]" in printed

    refusing = Byline.open(
        tmp_path / "index2",
        embedder=HashEmbeddings(),
        embed_model="hash",
        chat_model=FakeChatModel(mode="refuse"),
        quote_evidence=False,  # nothing may stand in for the answers it loses
    )
    code, printed = _eval([*args, "--baseline", str(base)], refusing, capsys)
    refusing.close()
    assert code == 1, printed
    assert "FAILED the regression band" in printed and "answered → abstained" in printed

    thresholds.write_text("[tiny]\nhit_at_10 = 0.0\n")
    assert eval_main([*args, "--baseline", str(base), "--no-progress"], byline=byline) == 2
    assert "no [band.tiny] section" in capsys.readouterr().err


def test_recheck_runs_a_recorded_draft_through_the_current_checks(byline, corpus, dataset):
    """A recorded draft is checked again with no model call: an answer the run showed, which
    the checks now turn down, counts as an abstention; drafts a model recovery wrote and
    follow-ups are left as recorded."""
    from evals.recheck import compare, reaches_model, rechecked

    byline.ingest([corpus], progress=False)
    items = read_byline(dataset)
    records = run_suite(items[:1], byline, progress=False).records
    chain = byline.chain()
    first = records[0]
    again = rechecked(chain, items[0], first)
    assert again is not None and again["abstained"] == first["abstained"]
    assert again["correct"] == first["correct"]
    shown = {**first, "draft": "Oracle designs its own chips in Austin [1].", "correct": True}
    shown["abstained"] = False
    out = rechecked(chain, items[0], shown)
    assert out is not None and out["abstained"] and not out["correct"]
    report = compare([shown], {"t1": out})
    assert report["before"]["correct"] == 1 and report["after"]["correct"] == 0
    assert [c["id"] for c in report["changed"]] == ["t1"] and report["reworded"] == []
    # the same verdict in other words is listed apart
    worded = {**out, "response": "The articles do not say."}
    report = compare([{**shown, **out}], {"t1": worded})
    assert report["changed"] == [] and [c["id"] for c in report["reworded"]] == ["t1"]
    assert rechecked(chain, items[0], {**first, "focused": True}) is None
    follow_up = EvalItem(id="f", question="And then?", history=[{"role": "user", "content": "q"}])
    assert rechecked(chain, follow_up, first) is None
    guarded = {**first, "draft": "", "abstained": True}  # a guard abstained in the run
    assert rechecked(chain, items[0], guarded) is None
    assert reaches_model(chain, items[0], guarded)  # the guards now let it through
    assert not reaches_model(chain, items[0], first)
