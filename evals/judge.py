"""An optional LLM judge of answer correctness (off unless ``--judge`` names a model)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evals.datasets import EvalItem

JUDGE_PROMPT = """You grade answers to news questions.
Question: {question}
Gold answer: {gold}
Response: {response}
Does the response give the gold answer (same meaning; extra detail is fine, a different or
missing answer is not)? Reply with one word: CORRECT or INCORRECT."""


@dataclass
class Judge:
    """Grades a response against the gold answer with a chat model: True, False, or None when
    the model failed or replied with neither word."""

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
