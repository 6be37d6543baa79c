"""Metric functions: plain functions of plain values, so each one is unit-tested on its own.

Retrieval metrics take a ranked list of article ids and the set of gold ids; answer metrics take
the response text and the accepted answers; the aggregate helpers take lists of per-item values
and skip ``None`` (not applicable) entries.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal

# --------------------------------------------------------------------------- retrieval


def dedupe(ids: Iterable[str]) -> list[str]:
    """Keep the first occurrence of each id, in order (chunk hits → article ranking)."""
    seen: set[str] = set()
    out: list[str] = []
    for i in ids:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out


def hit_at_k(ranked: Sequence[str], gold: Iterable[str], k: int) -> float | None:
    """1.0 when any gold article is among the first ``k``; None when there is no gold."""
    gold = set(gold)
    if not gold:
        return None
    return 1.0 if gold & set(ranked[:k]) else 0.0


def recall_at_k(ranked: Sequence[str], gold: Iterable[str], k: int) -> float | None:
    """Share of the gold articles found among the first ``k``; None when there is no gold."""
    gold = set(gold)
    if not gold:
        return None
    return len(gold & set(ranked[:k])) / len(gold)


def reciprocal_rank(ranked: Sequence[str], gold: Iterable[str]) -> float | None:
    """1 / rank of the first gold article (0 when none is ranked); None when there is no gold."""
    gold = set(gold)
    if not gold:
        return None
    for rank, article_id in enumerate(ranked, start=1):
        if article_id in gold:
            return 1.0 / rank
    return 0.0


# --------------------------------------------------------------------------- answer text

_CITATION = re.compile(r"\[\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\]")
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-"})
_UNITS = {
    "thousand": Decimal("1e3"),
    "k": Decimal("1e3"),
    "million": Decimal("1e6"),
    "mn": Decimal("1e6"),
    "m": Decimal("1e6"),
    "mln": Decimal("1e6"),
    "billion": Decimal("1e9"),
    "bn": Decimal("1e9"),
    "b": Decimal("1e9"),
    "bln": Decimal("1e9"),
    "trillion": Decimal("1e12"),
    "tn": Decimal("1e12"),
    "t": Decimal("1e12"),
}
_WORD_NUMBERS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
_WORD_NUMBERS.update({"thirty": 30, "forty": 40, "fifty": 50, "hundred": 100})
_NUM_WITH_UNIT = re.compile(
    r"(?<![\w.])(\d+(?:\.\d+)?)\s*(" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")\b"
)
_ARTICLES = {"a", "an", "the"}


def _scaled(number: str, unit: str) -> str:
    value = Decimal(number) * _UNITS[unit]
    return format(value.normalize(), "f") if value != value.to_integral() else str(int(value))


def normalise_answer(text: str) -> str:
    """Lower-case, drop citation markers, punctuation and articles; canonicalise numbers; "&"
    reads "and".

    "$1 billion", "1 billion", "$1B", "one billion" and "1,000,000,000" all become
    ``1000000000``; decimals keep their point ("18.4 billion" → ``18400000000``).
    """
    text = unicodedata.normalize("NFKC", text or "").translate(_QUOTES).lower()
    text = _CITATION.sub(" ", text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 100,000 → 100000
    text = text.replace("$", " ").replace("€", " ").replace("£", " ").replace("&", " and ")
    # Spelled-out counts before a unit or standing alone: "one million" → "1 million".
    words = text.split()
    for i, w in enumerate(words):
        bare = w.strip(string.punctuation)
        if bare in _WORD_NUMBERS:
            words[i] = w.replace(bare, str(_WORD_NUMBERS[bare]))
        elif bare == "a" and i + 1 < len(words) and words[i + 1].strip(".,") in _UNITS:
            words[i] = "1"
    text = " ".join(words)
    text = _NUM_WITH_UNIT.sub(lambda m: _scaled(m[1], m[2]), text)
    # Punctuation goes, except a decimal point between digits.
    text = re.sub(r"(?<=\d)\.(?=\d)", "\0", text)
    text = "".join(" " if ch in string.punctuation else ch for ch in text).replace("\0", ".")
    return " ".join(w for w in text.split() if w not in _ARTICLES)


def _contains_tokens(haystack: list[str], needle: list[str]) -> bool:
    if not needle:
        return False
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def answer_contains(response: str, answers: Iterable[str]) -> bool:
    """True when any accepted answer appears, as whole words after normalisation, in the text."""
    tokens = normalise_answer(response).split()
    return any(_contains_tokens(tokens, normalise_answer(a).split()) for a in answers if a)


def token_f1(response: str, answers: Iterable[str]) -> float:
    """Best SQuAD-style token F1 between the response and any accepted answer."""
    pred = normalise_answer(response).split()
    best = 0.0
    for answer in answers:
        gold = normalise_answer(answer).split()
        if not pred or not gold:
            continue
        common = Counter(pred) & Counter(gold)
        same = sum(common.values())
        if same == 0:
            continue
        precision, recall = same / len(pred), same / len(gold)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


# --------------------------------------------------------------------------- yes / no

_YES = {"yes", "yeah", "yep", "true", "correct", "indeed", "affirmative"}
_NO = {"no", "nope", "false", "incorrect", "not", "neither", "never"}
_NEGATION = re.compile(
    r"\b(no|not|never|neither|nor|none|cannot|without|n't|doesn't|didn't|isn't|wasn't|"
    r"aren't|weren't|hasn't|haven't|hadn't|won't|wouldn't|shouldn't|couldn't|"
    r"does not|did not|is not|was not|are not|were not|has not|have not|had not)\b",
    re.I,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def yes_no_gold(answer: str) -> str | None:
    """``"yes"``/``"no"`` when the gold answer is a yes/no (or true/false) answer, else None."""
    word = normalise_answer(answer)
    if word in ("yes", "true"):
        return "yes"
    if word in ("no", "false"):
        return "no"
    return None


def classify_yes_no(response: str) -> str | None:
    """Read a yes/no answer off a response: its first word, else the polarity of its first sentence.

    An explicit leading "Yes"/"No" (or "True"/"False", "Correct"/"Incorrect") decides. Otherwise
    the first sentence is a claim: negated ("did not", "isn't", "no ...") reads as "no", plain
    as "yes". An empty response gives None.
    """
    text = _CITATION.sub(" ", (response or "").translate(_QUOTES)).strip()
    if not text:
        return None
    first_word = normalise_answer(text.split(maxsplit=1)[0])
    if first_word in _YES:
        return "yes"
    if first_word in _NO:
        return "no"
    first_sentence = _SENTENCE_END.split(text, maxsplit=1)[0]
    return "no" if _NEGATION.search(first_sentence.replace("’", "'")) else "yes"


def is_correct(response: str, answers: Sequence[str]) -> bool:
    """Answer correctness: yes/no classification for yes/no gold, containment otherwise."""
    answers = [a for a in answers if a and a.strip()]
    if not answers:
        return False
    polarity = yes_no_gold(answers[0])
    if polarity is not None:
        return classify_yes_no(response) == polarity
    return answer_contains(response, answers)


def choice_match(response: str, choices: Sequence[str], gold_index: int) -> bool:
    """For a question asked with answer choices (RealTime QA's quizzes): the free-form response
    picks the gold choice. Each choice scores the share of its distinguishing words (those not
    in every choice, after ``normalise_answer``) that the response contains; the response picks
    the gold choice when that one scores above zero and above every other choice. "Boris
    Johnson" picks "UK Prime Minister Boris Johnson" over "French President Emmanuel Macron";
    "Ted Lasso" does not pick "Succession". Strict containment stays the headline accuracy."""
    if not 0 <= gold_index < len(choices):
        return False
    said = set(normalise_answer(response).split())
    words = [set(normalise_answer(c).split()) for c in choices]
    shared = set.intersection(*words) if words else set()
    scores = []
    for w in words:
        own = w - shared
        scores.append(len(own & said) / len(own) if own else 0.0)
    gold = scores[gold_index]
    return gold > 0 and all(gold > s for i, s in enumerate(scores) if i != gold_index)


# --------------------------------------------------------------------------- citations


def citation_precision(cited: Iterable[str], gold: Iterable[str]) -> float | None:
    """Share of the distinct cited articles that are gold; None when nothing is cited or no gold."""
    cited, gold = set(cited), set(gold)
    if not cited or not gold:
        return None
    return len(cited & gold) / len(cited)


def citation_recall(cited: Iterable[str], gold: Iterable[str]) -> float | None:
    """Share of the gold articles that are cited; None when there is no gold."""
    cited, gold = set(cited), set(gold)
    if not gold:
        return None
    return len(cited & gold) / len(gold)


def support_rate(supported: Sequence[bool]) -> float | None:
    """Share of answer sentences the cite-checker marked as supported; None with no sentences."""
    if not supported:
        return None
    return sum(1 for s in supported if s) / len(supported)


# --------------------------------------------------------------------------- abstention


def abstention_scores(
    answerable: Sequence[bool], abstained: Sequence[bool]
) -> dict[str, float | None]:
    """Abstention precision/recall on unanswerable items and the false-abstention rate.

    precision = abstentions that were on unanswerable items / all abstentions;
    recall = unanswerable items abstained on / unanswerable items;
    false_abstention_rate = answerable items abstained on / answerable items.
    """
    pairs = list(zip(answerable, abstained, strict=True))
    abstentions = sum(1 for _, ab in pairs if ab)
    unanswerable = sum(1 for ans, _ in pairs if not ans)
    answerable_n = len(pairs) - unanswerable
    right = sum(1 for ans, ab in pairs if ab and not ans)
    wrong = sum(1 for ans, ab in pairs if ab and ans)
    return {
        "abstention_precision": right / abstentions if abstentions else None,
        "abstention_recall": right / unanswerable if unanswerable else None,
        "false_abstention_rate": wrong / answerable_n if answerable_n else None,
    }


def crag_score(answerable: bool, abstained: bool, correct: bool) -> int:
    """CRAG-style item score: correct +1, abstained 0, wrong −1.

    On an unanswerable item an abstention is the correct answer (+1) and anything else is a
    hallucination (−1).
    """
    if not answerable:
        return 1 if abstained else -1
    if abstained:
        return 0
    return 1 if correct else -1


# --------------------------------------------------------------------------- aggregation


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the non-None values; None when there are none."""
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def percentile(values: Iterable[float | None], q: float) -> float | None:
    """Linear-interpolated percentile (``q`` in 0–100) of the non-None values."""
    kept = sorted(float(v) for v in values if v is not None)
    if not kept:
        return None
    if len(kept) == 1:
        return kept[0]
    pos = (len(kept) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return kept[lo] + (kept[hi] - kept[lo]) * (pos - lo)


def latency_summary(
    timings: Sequence[dict[str, float]], prefix: str = "latency"
) -> dict[str, float | None]:
    """p50/p95 per stage over per-item ``{stage: seconds}`` dicts: ``latency_<stage>_p50`` …"""
    stages: list[str] = []
    for t in timings:
        for stage in t:
            if stage not in stages:
                stages.append(stage)
    out: dict[str, float | None] = {}
    for stage in stages:
        values = [t.get(stage) for t in timings]
        out[f"{prefix}_{stage}_p50"] = percentile(values, 50)
        out[f"{prefix}_{stage}_p95"] = percentile(values, 95)
    return out
