"""Checks for news that changes: a later report leads, another publisher's figure is quoted
and attributed, a figure is cited to the source that gives it (constructed sources)."""

from __future__ import annotations

from datetime import date

from rag.answer import Sentence
from rag.chain import Prepared
from rag.citations import CheckedAnswer, CitationChecker
from rag.retrieval.context import Source
from rag.retrieval.filters import Filters
from rag.retrieval.hits import Hit
from rag.steps.changes import FiguresInPassages, ReportedChanges, states_differently
from rag.testing import HashEmbeddings


def source(n: int, article: str, day: str, publisher: str, text: str, title: str = "") -> Source:
    hit = Hit(article, f"{article}:0", title, publisher, "", f"{day}T12:00:00+00:00", 1.0, text)
    hit.end = len(text)
    return Source(n, hit, text, 0, len(text))


class Chain:  # what the steps ask of the answer chain: its citation checker
    def __init__(self) -> None:
        self.checker = CitationChecker(HashEmbeddings())


def prepared(question: str, sources: list[Source]) -> Prepared:
    return Prepared(question, question, date(2025, 12, 1), Filters(), sources=sources)


def checked(chain: Chain, prep: Prepared, draft: str) -> CheckedAnswer:
    return chain.checker.check(draft, prep.sources)


EARLY = "Acme Cloud plans capital spending of about 75 billion dollars in 2025 for its cloud."
LATE = "Acme Cloud raised its 2025 capital spending plan for its cloud to 93 billion dollars."
QUESTION = "How much capital spending does Acme Cloud plan for 2025?"


def test_figures_and_negations_make_a_different_statement() -> None:
    assert states_differently("Acme plans 75 billion.", "Acme plans 93 billion.", "")
    assert not states_differently("Acme plans 75 billion.", "Acme plans 75 billion.", "")
    assert not states_differently("Acme plans 75 billion in 2025.", "Acme said in 2026.", "")
    assert states_differently("Acme holds the right.", "Acme no longer holds the right.", "")
    # a bare "not" is everyday news prose, not a change of state
    assert not states_differently("Acme funds it.", "Acme has not said how it funds it.", "")
    # a sentence about someone else does not contradict a claim about Acme
    assert not states_differently("Acme plans 75 billion.", "Zenith plans 93 billion.", "")


def test_a_later_report_that_changes_the_cited_figure_leads_the_answer() -> None:
    chain = Chain()
    prep = prepared(
        QUESTION,
        [
            source(1, "early", "2025-02-04", "Desk", EARLY),
            source(2, "late", "2025-10-29", "Desk", LATE),
        ],
    )
    draft = checked(chain, prep, "Acme Cloud plans about 75 billion dollars in 2025 [1].")
    out, record = ReportedChanges(threshold=0.45)(chain, prep, draft)
    assert record.decision == "changed" and record.detail["later"] == [2]
    assert out.sentences[0].citations == [2] and "29 Oct 2025" in out.sentences[0].text
    assert "93 billion" in out.sentences[0].text
    assert out.sentences[1].text.startswith("Earlier, Desk reported on 4 Feb 2025:")
    assert [c.n for c in out.citations] == [1, 2]


def test_asked_before_the_update_there_is_nothing_later_to_quote() -> None:
    """The later article is not retrieved as of an earlier day, so it is not in the sources."""
    chain = Chain()
    prep = prepared(QUESTION, [source(1, "early", "2025-02-04", "Desk", EARLY)])
    draft = checked(chain, prep, "Acme Cloud plans about 75 billion dollars in 2025 [1].")
    out, record = ReportedChanges(threshold=0.45)(chain, prep, draft)
    assert record.decision == "pass" and out.text == draft.text


def test_a_report_that_agrees_is_not_quoted() -> None:
    chain = Chain()
    same = "Acme Cloud expects to spend 75 billion dollars of capital in 2025 on its cloud."
    prep = prepared(
        QUESTION,
        [
            source(1, "early", "2025-02-04", "Desk", EARLY),
            source(2, "later", "2025-03-01", "Wire", same),
        ],
    )
    draft = checked(chain, prep, "Acme Cloud plans about 75 billion dollars in 2025 [1].")
    _, record = ReportedChanges(threshold=0.45)(chain, prep, draft)
    assert record.decision == "pass"


def test_two_publishers_on_the_same_day_are_each_attributed_and_cited() -> None:
    chain = Chain()
    desk = "Acme Cloud signals capital spending of roughly 100 billion dollars in 2025."
    wire = "Acme Cloud is on course for capital spending of 105 billion dollars in 2025."
    prep = prepared(
        QUESTION,
        [
            source(1, "desk", "2025-02-06", "Cloud Desk", desk),
            source(2, "wire", "2025-02-06", "Market Wire", wire),
        ],
    )
    draft = checked(chain, prep, "Acme Cloud plans capital spending of 105 billion dollars [1].")
    out, moved = FiguresInPassages()(chain, prep, draft)
    # the figure is Market Wire's, so the sentence is cited to it, not to Cloud Desk
    assert moved.decision == "changed" and out.sentences[0].citations == [2]
    out, record = ReportedChanges(threshold=0.45)(chain, prep, out)
    assert record.detail["other_publishers"] == [1]
    assert out.sentences[0].text.startswith("Market Wire reported on 6 Feb 2025:")
    assert out.sentences[-1].text.startswith("Cloud Desk reported on 6 Feb 2025:")
    assert "100 billion" in out.sentences[-1].text and out.sentences[-1].citations == [1]
    assert {c.n: c.source for c in out.citations} == {1: "Cloud Desk", 2: "Market Wire"}


def test_a_figure_no_source_gives_keeps_its_citation() -> None:
    chain = Chain()
    prep = prepared(QUESTION, [source(1, "early", "2025-02-04", "Desk", EARLY)])
    draft = checked(chain, prep, "Acme Cloud plans about seventy-five billion dollars [1].")
    draft.sentences[0] = Sentence("Acme Cloud plans 80 billion dollars [1].", [1], 0.5)
    out, record = FiguresInPassages()(chain, prep, draft)
    assert record.decision == "pass" and out.sentences[0].citations == [1]


def test_an_earlier_report_the_cited_one_changed_is_named_after_it() -> None:
    """The answer already gives the latest state: the earlier, different report is quoted
    after it as what changed, dated and cited."""
    chain = Chain()
    prep = prepared(
        QUESTION,
        [
            source(1, "late", "2025-10-29", "Desk", LATE),
            source(2, "early", "2025-02-04", "Desk", EARLY),
        ],
    )
    draft = checked(chain, prep, "Acme Cloud raised its 2025 plan to 93 billion dollars [1].")
    out, record = ReportedChanges(threshold=0.45)(chain, prep, draft)
    assert record.detail["earlier"] == [2] and record.detail["later"] == []
    assert out.sentences[0].text.startswith("Desk reported on 29 Oct 2025:")
    assert out.sentences[-1].text.startswith("Earlier, on 4 Feb 2025, Desk reported:")
    assert "75 billion" in out.sentences[-1].text and out.sentences[-1].citations == [2]


def test_a_later_report_the_model_also_cited_is_not_left_backing_the_stale_claim() -> None:
    """'Acme holds the right [1][2].' where [2], later, says the right ended: [2] leads the
    answer as the latest state and no longer stands behind the old claim."""
    chain = Chain()
    holds = "Acme Cloud holds a right of first refusal on new Zenith capacity, it said."
    ended = "Acme Cloud no longer holds a right of first refusal on new Zenith capacity."
    prep = prepared(
        "Who holds a right of first refusal on new Zenith capacity?",
        [
            source(1, "jan", "2025-01-21", "Ledger", holds),
            source(2, "oct", "2025-10-28", "Ledger", ended),
        ],
    )
    draft = checked(
        chain, prep, "Acme Cloud holds a right of first refusal on new capacity [1][2]."
    )
    out, record = ReportedChanges(threshold=0.45)(chain, prep, draft)
    assert record.detail["later"] == [2]
    assert out.sentences[0].citations == [2] and "no longer" in out.sentences[0].text
    assert out.sentences[1].citations == [1] and out.sentences[1].text.startswith("Earlier,")


def test_a_bare_yes_to_a_question_in_clauses_rests_on_a_clause_its_source_backs() -> None:
    from rag.steps.checks import HideUnbacked

    chain = Chain()
    prep = prepared(
        "Did the Ledger report on Acme and the Wire report on Zenith both say spending rose?",
        [
            source(1, "a", "2025-02-04", "Ledger", EARLY),
            source(2, "b", "2025-02-05", "Wire", LATE),
        ],
    )
    step = HideUnbacked(threshold=0.45, clause_threshold=0.35)
    for clause_support, kept in (({1: 0.4, 2: 0.2}, [1]), ({1: 0.1, 2: 0.2}, [])):
        draft = checked(chain, prep, "Yes [1][2].")
        draft.clause_support = clause_support
        out, record = step(chain, prep, draft)
        assert out.sentences[0].citations == kept
        assert (record.decision == "abstain") == (not kept)


def test_a_claim_is_what_the_source_giving_its_figure_reports() -> None:
    """Cited to an older and a newer report, a figure only the newer one gives is the newer
    one's: it is dated to it, and the older report is not left saying it."""
    chain = Chain()
    prep = prepared(
        QUESTION,
        [
            source(1, "late", "2025-10-29", "Wire", LATE),
            source(2, "early", "2025-02-04", "Desk", EARLY),
        ],
    )
    draft = checked(chain, prep, "Acme Cloud plans 93 billion dollars of 2025 spending [1][2].")
    out, record = ReportedChanges(threshold=0.45)(chain, prep, draft)
    assert record.decision == "changed" and record.detail["earlier"] == [2]
    claim = next(s for s in out.sentences if "plans 93 billion" in s.text)
    assert claim.citations == [1] and claim.text.startswith("Wire reported on 29 Oct 2025:")
    assert any("4 Feb 2025" in s.text and s.citations == [2] for s in out.sentences)


def test_a_terse_figure_is_matched_to_the_report_it_changed_through_the_question() -> None:
    chain = Chain()
    prep = prepared(
        QUESTION,
        [
            source(1, "late", "2025-10-29", "Desk", LATE),
            source(2, "early", "2025-02-04", "Desk", EARLY),
        ],
    )
    out, record = ReportedChanges(threshold=0.45)(
        chain, prep, checked(chain, prep, "93 billion dollars [1].")
    )
    assert record.decision == "changed" and record.detail["earlier"] == [2]
    assert "75 billion" in out.text


def test_a_date_in_the_claim_is_neither_a_name_nor_a_figure() -> None:
    """ "on January 27" must not stop another publisher's sentence that says "on Monday" from
    counting as the same claim, nor make 27 a figure the other report lacks."""
    claim = "Acme lost 593 billion dollars of value on January 27, 2025, when Zenith rattled it."
    other = "Acme shares fell 17% on Monday, erasing 589 billion dollars of value."
    assert states_differently(claim, other, "", headline="Zenith shock hits Acme")
    assert not states_differently(claim, "Acme lost 593 billion dollars on Monday.", "", "Zenith")


def test_a_claim_that_names_nothing_is_about_what_the_question_names() -> None:
    claim = "9.1% year-over-year."
    listing = "Listing prices have grown by more than 8.5% year-over-year."
    assert states_differently(claim, listing, "")  # read alone, any figure of its size
    question = "Despite a dip, how much have gas prices risen in the US over the past year?"
    assert not states_differently(claim, listing, "", question=question)
    gas = "US gas prices are up 60% from a year ago."
    assert states_differently(claim, gas, "", question=question)
    # the sentence itself, not only its headline
    inflation = "Overall inflation is up 7.5% over the last 12 months."
    assert not states_differently(claim, inflation, "", "US prices soar", question=question)


def test_a_figure_of_another_order_of_magnitude_is_another_quantity() -> None:
    assert states_differently("Acme plans 75 billion.", "Acme plans 93 billion.", "")
    assert not states_differently("Acme invests 10 billion.", "Acme began with 1 billion.", "")
    assert not states_differently("Acme invests 10 billion.", "Acme holds 135 billion.", "")
    # an amount reported without its figure is another report of it
    assert states_differently("Acme invests 10 billion.", "Acme makes a multibillion bet.", "")


def test_a_sentence_that_does_not_name_the_claims_subject_is_not_its_report() -> None:
    claim = "Acme invests 10 billion in Zenith."
    other = "The company called it the third phase of a 4 billion partnership."
    assert not states_differently(claim, other, "", headline="Acme and Zenith extend deal")


def test_an_earlier_report_the_model_did_not_read_is_quoted_as_what_changed() -> None:
    from rag.retrieval.retriever import Retrieval

    chain = Chain()
    late = source(1, "late", "2025-10-29", "Desk", LATE)
    early = source(9, "early", "2025-02-04", "Wire", EARLY).hit
    prep = prepared(QUESTION, [late])
    prep.retrieval = Retrieval(plan=None, hits=[late.hit, early])
    draft = checked(chain, prep, "Acme Cloud plans 93 billion dollars in 2025 [1].")
    out, record = ReportedChanges(threshold=0.45)(chain, prep, draft)
    assert record.decision == "changed" and record.detail["earlier"] == [2]
    assert [s.hit.article_id for s in prep.sources] == ["late", "early"]  # now a source
    assert "Earlier, on 4 Feb 2025, Wire reported" in out.text and "75 billion" in out.text


def test_a_later_report_the_model_did_not_read_does_not_lead_the_answer() -> None:
    from rag.retrieval.retriever import Retrieval

    chain = Chain()
    early = source(1, "early", "2025-02-04", "Desk", EARLY)
    prep = prepared(QUESTION, [early])
    prep.retrieval = Retrieval(
        plan=None, hits=[early.hit, source(2, "late", "2025-10-29", "Wire", LATE).hit]
    )
    draft = checked(chain, prep, "Acme Cloud plans about 75 billion dollars in 2025 [1].")
    out, record = ReportedChanges(threshold=0.45)(chain, prep, draft)
    assert record.decision == "pass" and out.text == draft.text


def test_a_sentence_joining_three_articles_is_backed_by_them_together() -> None:
    from rag.steps.checks import HideUnbacked

    chain = Chain()
    prep = prepared(
        "What did Acme, Zenith and Orbit announce?",
        [
            source(1, "acme", "2025-02-04", "Desk", "Acme reported record cloud revenue."),
            source(2, "zenith", "2025-02-05", "Wire", "Zenith cut its chip prices sharply."),
            source(3, "orbit", "2025-02-06", "Post", "Orbit hired nine hundred new engineers."),
        ],
    )
    draft = checked(
        chain,
        prep,
        "Acme reported record cloud revenue, Zenith cut its chip prices and Orbit hired nine "
        "hundred engineers [1][2][3].",
    )
    assert all(draft.pair_support[(0, n)] < 0.45 for n in (1, 2, 3))  # none alone backs it
    out, record = HideUnbacked(threshold=0.45)(chain, prep, draft)
    assert record.detail["backed"] and out.sentences[0].citations == [1, 2, 3]
    assert record.detail["joined"][0]["sentence"] == 0


def test_a_source_backs_its_own_publisher_and_day() -> None:
    """ "The Ledger reported on February 4, 2025 that…" is backed by the Ledger's article of
    that day better than by the same text under another byline."""
    chain = Chain()
    ledger = source(1, "a", "2025-02-04", "Ledger", EARLY)
    wire = source(2, "b", "2025-06-30", "Wire", EARLY)
    claim = "The Ledger reported on February 4, 2025 that Acme Cloud plans capital spending."
    row = chain.checker.support_matrix([claim], [ledger, wire])[0]
    assert row[0] > row[1] + 0.1


PAIR_QUESTION = (
    "Did the Ledger report Acme's record cloud revenue, the Wire report that Zenith cut its chip "
    "prices and the Post report that Orbit hired nine hundred engineers?"
)
VERDICT = (
    "Yes [1]. The Ledger reported Acme's record cloud revenue, the Wire that Zenith cut its chip "
    "prices and the Post that Orbit hired nine hundred engineers [2][3]."
)


def test_a_verdict_on_several_articles_rests_on_them_read_together() -> None:
    """Each article backs a third of the question; the verdict and the sentence that only
    says the question back are backed by the three read together, and keep their citations."""
    from rag.steps.checks import HideUnbacked

    chain = Chain()
    prep = prepared(
        PAIR_QUESTION,
        [
            source(
                1, "acme", "2025-02-04", "Ledger", "Acme reported record revenue from its cloud."
            ),
            source(2, "zenith", "2025-02-05", "Wire", "Zenith cut its chip prices sharply."),
            source(3, "orbit", "2025-02-06", "Post", "Orbit hired nine hundred new engineers."),
        ],
    )
    draft = checked(chain, prep, VERDICT)
    assert max(draft.pair_support.values()) < 0.45  # none backs a sentence alone
    out, record = HideUnbacked(threshold=0.45)(chain, prep, draft)
    assert record.decision == "pass" and [s.citations for s in out.sentences] == [[1], [2, 3]]
    assert [j["sentence"] for j in record.detail["joined"]] == [0, 1]


def test_a_verdict_on_articles_the_sources_do_not_hold_abstains() -> None:
    from rag.steps.checks import HideUnbacked

    chain = Chain()
    prep = prepared(
        PAIR_QUESTION,
        [
            source(1, "orbit", "2025-02-04", "Post", "Orbit hired nine hundred new engineers."),
            source(2, "nova", "2025-02-05", "Desk", "Nova opened a second plant in Ohio."),
        ],
    )
    out, record = HideUnbacked(threshold=0.45)(chain, prep, checked(chain, prep, VERDICT))
    assert record.decision == "abstain" and out.refused


def test_saying_an_open_question_back_is_a_claim_of_its_own() -> None:
    """Only an answer to a yes/no question is a verdict: "Zenith cut its chip prices" answering
    "Which company cut its chip prices, Acme or Zenith?" is a claim its source must back."""
    from rag.citations import restates
    from rag.steps.checks import HideUnbacked

    question = "Which company cut its chip prices, Acme or Zenith?"
    assert restates("Zenith cut its chip prices [1].", question)
    assert not restates("Zenith cut its chip prices by a third [1].", question)
    chain = Chain()
    prep = prepared(
        question,
        [source(1, "acme", "2025-02-04", "Ledger", "Acme and Zenith both make chips.")],
    )
    draft = checked(chain, prep, "Zenith cut its chip prices [1].")
    out, record = HideUnbacked(threshold=0.45)(chain, prep, draft)
    assert record.decision == "abstain"


def test_a_citation_moves_to_the_passage_of_its_article_that_backs_it() -> None:
    """The model cited the right article through the wrong one of its passages: the passage
    that says it is cited instead, not the claim hidden."""
    from rag.steps.checks import HideUnbacked

    chain = Chain()
    intro = "The broadcaster was remembered by fans across the country on Tuesday."
    career = "Scully called games for the Dodgers for 67 seasons."
    prep = prepared(
        "Which team did Scully call games for?",
        [
            source(1, "scully", "2022-08-02", "Desk", career),
            source(2, "scully", "2022-08-02", "Desk", intro),
            source(3, "other", "2022-08-01", "Wire", "Trade deadline deals and rumors."),
        ],
    )
    draft = checked(chain, prep, "Scully called games for the Dodgers [2].")
    assert draft.pair_support[(0, 2)] < 0.45 <= draft.pair_support[(0, 1)]
    out, record = HideUnbacked(threshold=0.45)(chain, prep, draft)
    assert record.decision == "pass" and out.sentences[0].citations == [1]
    assert [c.n for c in out.citations] == [1] and out.citations[0].passage == career
    assert record.detail["recited"] == [{"sentence": 0, "n": 2, "passage": 1}]
    assert out.text == "Scully called games for the Dodgers [1]."


COMPARISON = (
    "Did the Ledger report Acme's record cloud revenue in the same way the Wire reported that "
    "Zenith cut its chip prices sharply after weak demand from carmakers in Europe?"
)


def test_a_verdict_citing_one_of_the_two_articles_compared_cites_the_other_too() -> None:
    """ "Yes [1]." to a comparison of two articles, citing the first only: the article the
    model read that completes it is cited as well; an answer citing two articles already is
    not completed (here it abstains: neither backs the question, nor both together)."""
    from rag.steps.checks import HideUnbacked

    chain = Chain()
    sources = [
        source(1, "acme", "2025-02-04", "Ledger", "Acme reported record revenue from its cloud."),
        source(
            2,
            "zenith",
            "2025-02-05",
            "Wire",
            "Zenith cut its chip prices sharply after weak demand from carmakers in Europe.",
        ),
        source(3, "orbit", "2025-02-06", "Post", "Orbit hired nine hundred new engineers."),
    ]
    prep = prepared(COMPARISON, sources)
    step = HideUnbacked(threshold=0.45)
    assert step._question_support(chain, prep)[1] < 0.45  # the Ledger's article alone falls short
    out, record = step(chain, prep, checked(chain, prep, "Yes [1]."))
    assert record.decision == "pass" and out.sentences[0].citations == [1, 2]
    assert record.detail["joined"][0]["completed_by"] == 2
    assert sorted(c.n for c in out.citations) == [1, 2]
    out, record = step(chain, prep, checked(chain, prep, "Yes [1][3]."))
    assert record.decision == "abstain"
