"""The answer path as named steps: every behaviour around the model call, in order, with
its switch, in this one file.

- Guards run after retrieval and may abstain before the model is asked.
- Recoveries run when the model refuses; the first that returns a new draft ends them.
- Checks run on the draft; each may change what is shown, or turn it into an abstention.

Each step owns its parameters and writes a ``StepRecord`` into ``Answer.trace``. A new
behaviour is a new step here, not a flag threaded through the chain.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from rag.config import Settings
from rag.steps.changes import FiguresInPassages, ReportedChanges
from rag.steps.checks import (
    CiteCheck,
    FullNames,
    GivesWhatWasAsked,
    HideUnbacked,
    NamesWhatWasAsked,
    NoYesToAnOpenQuestion,
    OneNumberPerArticle,
)
from rag.steps.guards import (
    AbsentOutlets,
    InstructionsOnly,
    NoPassages,
    RelevanceFloor,
    UnmatchedNames,
)
from rag.steps.recoveries import DoubtedRefusal, QuotedEvidence, ScoresReplies, SecondReading

log = logging.getLogger(__name__)


@dataclass
class Steps:
    """The guards, recoveries and checks of one answer chain, in the order they run."""

    guards: list[Any] = field(default_factory=list)
    recoveries: list[Any] = field(default_factory=list)
    checks: list[Any] = field(default_factory=list)

    def names(self) -> list[str]:
        return [s.name for s in (*self.guards, *self.recoveries, *self.checks)]


def default_steps(settings: Settings) -> Steps:
    """Byline's answer path, from the settings (each step's switch and numbers)."""
    floor, calibrated = settings.relevance_floor()
    if not calibrated:
        log.warning(
            "no abstention floor is calibrated for embed_model=%r: using %.2f; measure one "
            "(docs/decisions/0001-abstention-threshold.md) and set abstain_thresholds",
            settings.embed_model,
            floor,
        )
    support_threshold = settings.support_threshold
    return Steps(
        guards=[
            InstructionsOnly(),
            NoPassages(),
            AbsentOutlets(enabled=settings.coverage_check),
            UnmatchedNames(enabled=settings.coverage_check),
            RelevanceFloor(threshold=floor, calibrated=calibrated),
        ],
        recoveries=[
            DoubtedRefusal(below=settings.overrule_refusal_below),
            SecondReading(
                enabled=settings.focus_retry,
                similarity=settings.focus_similarity,
                chars=settings.focus_chars,
                lead_bonus=settings.lead_bonus,
            ),
            QuotedEvidence(enabled=settings.quote_evidence),
        ],
        checks=[
            CiteCheck(),
            NoYesToAnOpenQuestion(enabled=settings.asked_checks),
            GivesWhatWasAsked(enabled=settings.asked_checks),
            NamesWhatWasAsked(enabled=settings.asked_checks),
            HideUnbacked(threshold=support_threshold, clause_threshold=settings.clause_threshold),
            FullNames(enabled=settings.asked_checks),
            FiguresInPassages(),
            ReportedChanges(threshold=support_threshold, same_days=settings.conflict_days),
            OneNumberPerArticle(),
        ],
    )


__all__ = ["ScoresReplies", "Steps", "default_steps"]
