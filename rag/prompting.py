"""Prompt assembly: the numbered, fenced sources and the answer prompt around them.

The fixed rules and worked examples come first, so an embedded model's prompt cache keeps
them from one question to the next; only the sources and the question change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.prompts import ChatPromptTemplate

from rag.fence import one_line
from rag.instructions import for_prompt
from rag.prompts import load_examples, load_prompt
from rag.retrieval.context import Source

_ROLES = {"user": "human", "assistant": "ai"}


def _literal(text: str) -> str:
    """Text for a prompt template that has no variables in it."""
    return text.replace("{", "{{").replace("}", "}}")


def format_sources(sources: Sequence[Source]) -> str:
    """The numbered, fenced sources as the model sees them."""
    blocks = []
    for s in sources:
        h = s.hit
        day = (h.published_at or "")[:10] or "undated"
        title = one_line(for_prompt(h.title or "(untitled)"))
        publisher = one_line(for_prompt(h.source or "unknown publisher"))
        blocks.append(
            f'<source id="{s.n}">\n{title} ({publisher}, {day})\n{for_prompt(s.passage)}\n</source>'
        )
    return "\n".join(blocks)


def answer_prompt() -> ChatPromptTemplate:
    """The answer prompt: rules, worked examples as earlier turns, then sources and question."""
    return ChatPromptTemplate.from_messages(
        [("system", load_prompt("answer"))]
        + [(_ROLES[role], _literal(text)) for role, text in load_examples()]
        + [("human", load_prompt("question"))]
    )


def answer_inputs(sources: Sequence[Source], as_of: date, question: str) -> dict[str, str]:
    """The answer prompt's variables for one question over ``sources``."""
    return {
        "sources": format_sources(sources),
        "as_of": as_of.isoformat(),
        "question": one_line(question),
    }


def answer_messages(sources: Sequence[Source], as_of: date, question: str) -> list[BaseMessage]:
    """The answer prompt as chat messages, exactly as the model reads it."""
    return answer_prompt().format_messages(**answer_inputs(sources, as_of, question))


def rewrite_prompt() -> ChatPromptTemplate:
    """The prompt that turns a follow-up into a standalone question."""
    return ChatPromptTemplate.from_messages(
        [("system", load_prompt("rewrite")), ("human", "{conversation}")]
    )


def warm_up(model: BaseChatModel) -> None:
    """Have the model read the fixed start of every answer prompt (rules and worked examples)
    and write one token, so an embedded model's prompt cache holds that start before the
    first question comes."""
    *fixed, _ = answer_prompt().format_messages(sources="", as_of="", question="")
    model.invoke([*fixed, HumanMessage(".")], max_tokens=1)
