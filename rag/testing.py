"""Test doubles that ship with the library: a word-overlap embedder and a scripted chat model."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from rag.citations import refuses
from rag.prompts import NOT_IN_ARTICLES

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an and are as at be by for from has have in is it its of on or that the this to was were "
    "what which who will with did does do how when where why".split()
)


def words(text: str) -> list[str]:
    """Lower-case content words, the unit both test doubles reason in."""
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


class HashEmbeddings(Embeddings):
    """Deterministic bag-of-words vectors: cosine similarity follows word overlap.

    Counts what it embeds, so tests can assert that unchanged articles cost no embedding work.
    """

    def __init__(self, dimension: int = 512) -> None:
        self.dimension = dimension
        self.calls = 0
        self.texts_embedded = 0

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dimension
        for word in words(text):
            slot = int.from_bytes(hashlib.md5(word.encode()).digest()[:4], "little")
            vec[slot % self.dimension] += 1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        self.texts_embedded += len(texts)
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


# --------------------------------------------------------------------------- fake chat model
_SOURCE = re.compile(r'<source id="(\d+)">\n[^\n]*\n(.*?)\s*</source>', re.S)
_FIRST_SENTENCE = re.compile(r"(.+?[.!?])(\s|$)", re.S)


def prompt_sources(prompt: str) -> dict[int, str]:
    """The numbered source passages of the question a Byline prompt asks (without their title
    lines): the last numbered set, as the worked examples before it carry sources of their own."""
    found: dict[int, str] = {}
    for n, body in _SOURCE.findall(prompt):
        if int(n) == 1:
            found = {}
        found[int(n)] = body
    return found


class FakeChatModel(BaseChatModel):
    """A chat model for tests: scripted replies, or simple behaviours over the prompt it gets.

    Modes: ``cite`` answers with the first sentence of source [1] and cites it; ``nomarker`` does
    the same without a marker; ``out_of_range`` cites a source that does not exist; ``refuse``
    says the articles don't say (asked not to start that way, it answers as ``cite`` does);
    ``script`` returns ``responses`` in turn. Every prompt is kept in ``prompts`` so tests can
    inspect what the model was shown (and in ``scored`` those it was asked the probability of a
    reply for). ``text_probability`` reports ``refusal_probability`` for
    a refusal (1.0 unless set) and 0.0 for any other text, so tests can script how sure the
    model is of refusing.
    """

    mode: str = "cite"
    responses: list[str] = Field(default_factory=list)
    prompts: list[str] = Field(default_factory=list)
    chunk_words: int = 1
    refusal_probability: float = 1.0
    avoided: list[str] = Field(default_factory=list)
    scored: list[str] = Field(default_factory=list)
    rewrites: list[str] = Field(default_factory=list)  # scripted follow-up rewrites, in turn

    def text_probability(self, messages: list[BaseMessage], text: str) -> float:
        self.scored.append("\n\n".join(str(m.content) for m in messages))
        return self.refusal_probability if refuses(text) else 0.0

    @property
    def _llm_type(self) -> str:
        return "byline-fake"

    def _reply(self, messages: list[BaseMessage], avoid_start: str | None = None) -> str:
        prompt = "\n\n".join(str(m.content) for m in messages)
        self.prompts.append(prompt)
        if avoid_start:
            self.avoided.append(avoid_start)
        if "standalone question" in prompt:
            return self.rewrites.pop(0) if self.rewrites else self._rewrite(messages)
        if self.mode == "script":
            if not self.responses:
                raise RuntimeError("FakeChatModel ran out of scripted responses")
            return self.responses.pop(0)
        if self.mode == "refuse" and not avoid_start:
            return NOT_IN_ARTICLES
        sources = prompt_sources(prompt)
        if not sources:
            return NOT_IN_ARTICLES
        m = _FIRST_SENTENCE.match(sources[min(sources)])
        sentence = (m.group(1) if m else sources[min(sources)]).strip()
        if self.mode == "nomarker":
            return sentence
        if self.mode == "out_of_range":
            return f"{sentence.rstrip('.')} [{len(sources) + 5}]."
        return f"{sentence.rstrip('.')} [1]."

    @staticmethod
    def _rewrite(messages: list[BaseMessage]) -> str:
        """Make the follow-up standalone by prefixing the previous user question."""
        text = str(messages[-1].content)
        questions = re.findall(r"^User: (.+)$", text, flags=re.M)
        return " ".join(questions[-2:]) if questions else text

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self._reply(messages, kwargs.get("avoid_start"))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(reply))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        pieces = re.findall(r"\S+\s*", self._reply(messages, kwargs.get("avoid_start")))
        for i in range(0, len(pieces), self.chunk_words):
            chunk = ChatGenerationChunk(
                message=AIMessageChunk("".join(pieces[i : i + self.chunk_words]))
            )
            if run_manager:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
