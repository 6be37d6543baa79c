"""The metric functions of the eval harness, each on small hand-checked cases."""

from __future__ import annotations

import pytest

from evals import metrics as M


# --------------------------------------------------------------------------- retrieval
def test_hit_recall_and_mrr_over_a_ranking():
    ranked = ["a", "b", "c", "d"]
    assert M.hit_at_k(ranked, {"c"}, 2) == 0.0
    assert M.hit_at_k(ranked, {"c"}, 3) == 1.0
    assert M.recall_at_k(ranked, {"a", "d"}, 2) == 0.5
    assert M.recall_at_k(ranked, {"a", "d"}, 4) == 1.0
    assert M.reciprocal_rank(ranked, {"c", "d"}) == pytest.approx(1 / 3)
    assert M.reciprocal_rank(ranked, {"z"}) == 0.0


def test_retrieval_metrics_are_not_applicable_without_gold():
    assert M.hit_at_k(["a"], [], 5) is None
    assert M.recall_at_k(["a"], [], 5) is None
    assert M.reciprocal_rank(["a"], []) is None


def test_dedupe_keeps_first_occurrence_order():
    assert M.dedupe(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]


# --------------------------------------------------------------------------- answers
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$1 billion", "1000000000"),
        ("1 billion", "1000000000"),
        ("$1B", "1000000000"),
        ("one billion", "1000000000"),
        ("1,000,000,000", "1000000000"),
        ("$18.4 billion", "18400000000"),
        ("18.4bn", "18400000000"),
        ("100,000", "100000"),
        ("100k", "100000"),
        ("a million", "1000000"),
        ("“Squid Game”", "squid game"),
        ("The Stargate Project [2].", "stargate project"),
        ("MI450", "mi450"),
        ("AT&T", "at and t"),
    ],
)
def test_normalise_answer(text, expected):
    assert M.normalise_answer(text) == expected


def test_containment_matches_whole_words_and_aliases():
    assert M.answer_contains("Microsoft holds the right of first refusal [1].", ["Microsoft"])
    assert M.answer_contains("It came online with 100,000 H100s.", ["100000"])
    assert M.answer_contains("Deal worth up to $11.9B over five years", ["$11.9 billion"])
    assert M.answer_contains("They said one million TPUs.", ["1 million"])
    assert M.answer_contains("Abilene, Texas", ["Abilene"])
    assert M.answer_contains("Masayoshi Son chairs it", ["Masayoshi Son", "Son"])
    assert M.answer_contains("In New Jersey and Oregon [1].", ["New Jersey & Oregon"])
    # Whole words only: "16" is not inside "160", "Son" is not inside "Sony".
    assert not M.answer_contains("About 160 gigawatts", ["16"])
    assert not M.answer_contains("Sony said so", ["Son"])
    assert not M.answer_contains("anything", [""])


def test_token_f1():
    assert M.token_f1("Masayoshi Son", ["Masayoshi Son"]) == 1.0
    assert M.token_f1("Son", ["Masayoshi Son"]) == pytest.approx(2 / 3)
    assert M.token_f1("nothing here", ["Masayoshi Son"]) == 0.0
    assert M.token_f1("Son", ["Masayoshi Son", "Son"]) == 1.0


# --------------------------------------------------------------------------- yes / no
def test_yes_no_gold_answers():
    assert M.yes_no_gold("Yes") == "yes"
    assert M.yes_no_gold("no") == "no"
    assert M.yes_no_gold("True") == "yes"
    assert M.yes_no_gold("Google") is None


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("Yes, both outlets reported it [1][2].", "yes"),
        ("No. The Verge says otherwise [1].", "no"),
        ("The Verge did not suggest that [1].", "no"),
        ("TechCrunch's report isn't consistent with it.", "no"),
        ("TechCrunch reported the same practices in both articles [2].", "yes"),
        ("", None),
    ],
)
def test_classify_yes_no(response, expected):
    assert M.classify_yes_no(response) == expected


def test_is_correct_uses_polarity_for_yes_no_and_containment_otherwise():
    assert M.is_correct("No, it does not.", ["no"])
    assert not M.is_correct("Yes. Both say so, with no doubt.", ["No"])
    # "no" somewhere later in the text does not make a "yes" answer a "no".
    assert M.is_correct("Yes, and there was no change [1].", ["Yes"])
    assert M.is_correct("Google is the company [1].", ["Google"])
    assert not M.is_correct("Apple", ["Google"])
    assert not M.is_correct("anything", [])


# --------------------------------------------------------------------------- citations
def test_citation_precision_and_recall():
    assert M.citation_precision(["a", "b"], ["a"]) == 0.5
    assert M.citation_recall(["a", "b"], ["a", "c"]) == 0.5
    assert M.citation_precision([], ["a"]) is None
    assert M.citation_recall([], ["a"]) == 0.0
    assert M.citation_recall(["a"], []) is None


def test_support_rate():
    assert M.support_rate([True, False, True, True]) == 0.75
    assert M.support_rate([]) is None


# --------------------------------------------------------------------------- abstention, CRAG
def test_abstention_scores():
    answerable = [True, True, False, False, True]
    abstained = [False, True, True, False, False]
    s = M.abstention_scores(answerable, abstained)
    assert s["abstention_precision"] == 0.5  # 2 abstentions, 1 on an unanswerable item
    assert s["abstention_recall"] == 0.5  # 2 unanswerable, 1 abstained on
    assert s["false_abstention_rate"] == pytest.approx(1 / 3)


def test_abstention_scores_without_abstentions_or_unanswerables():
    s = M.abstention_scores([True, True], [False, False])
    assert s == {
        "abstention_precision": None,
        "abstention_recall": None,
        "false_abstention_rate": 0.0,
    }


def test_crag_score():
    assert M.crag_score(answerable=True, abstained=False, correct=True) == 1
    assert M.crag_score(answerable=True, abstained=False, correct=False) == -1
    assert M.crag_score(answerable=True, abstained=True, correct=False) == 0
    assert M.crag_score(answerable=False, abstained=True, correct=False) == 1
    assert M.crag_score(answerable=False, abstained=False, correct=False) == -1


# --------------------------------------------------------------------------- aggregation
def test_mean_and_percentile_skip_none():
    assert M.mean([1, None, 0]) == 0.5
    assert M.mean([None]) is None
    assert M.percentile([1, 2, 3, 4, 5], 50) == 3
    assert M.percentile([1, 2, 3, 4, None], 50) == 2.5
    assert M.percentile([0, 10], 95) == pytest.approx(9.5)
    assert M.percentile([7], 95) == 7
    assert M.percentile([], 50) is None


def test_latency_summary_per_stage():
    s = M.latency_summary([{"retrieve": 1.0, "total": 2.0}, {"retrieve": 3.0, "total": 4.0}])
    assert s["latency_retrieve_p50"] == 2.0
    assert s["latency_total_p95"] == pytest.approx(3.9)
    assert set(s) == {
        "latency_retrieve_p50",
        "latency_retrieve_p95",
        "latency_total_p50",
        "latency_total_p95",
    }


def test_choice_match_picks_the_choice_a_free_form_answer_names():
    leaders = [
        "North Korean leader Kim Jong Un",
        "UK Prime Minister Boris Johnson",
        "Russian President Vladimir Putin",
    ]
    assert M.choice_match("Boris Johnson [1][2].", leaders, 1)
    assert not M.choice_match("Boris Johnson [1][2].", leaders, 0)
    assert not M.choice_match("Vladimir Putin and Boris Johnson.", leaders, 1)  # a tie
    shows = ["“Euphoria”", "“Ozark”", "“Succession”", "“Ted Lasso”"]
    assert not M.choice_match("Ted Lasso received the most nominations [3].", shows, 2)
    assert M.choice_match('"Succession" leads with 25 [1].', shows, 2)
    # words every choice shares decide nothing
    reps = ["Rep. Marjorie Taylor Greene", "Rep. Liz Cheney", "Rep. Lauren Boebert"]
    assert M.choice_match("Liz Cheney [1]", reps, 1) and not M.choice_match("Rep. [1]", reps, 1)
    assert not M.choice_match("The articles don't say.", reps, 1)
    assert not M.choice_match("Liz Cheney", reps, 7)  # no such choice
