"""Chat models behind LangChain's ``BaseChatModel``, chosen by a ``provider:model`` spec.

``local`` runs the embedded GGUF in-process; ``openai``, ``azure`` and ``ollama`` talk to a
server; ``fake`` is the scripted test double. Provider packages are imported lazily so a
missing optional extra only matters when that provider is chosen.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from rag.config import Settings
from rag.errors import ConfigError, ModelError, ServiceError

# Must precede any llama_cpp import: spinning OpenMP workers slow generation on few cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

MIN_LOCAL_CTX = 4096
PROVIDERS = ("local", "openai", "azure", "ollama", "fake")
DEFAULT_KEY_ENV = {"openai": "OPENAI_API_KEY", "azure": "AZURE_OPENAI_API_KEY"}
DEFAULT_URL = {"openai": "https://api.openai.com/v1", "ollama": "http://127.0.0.1:11434"}
DEFAULT_AZURE_API_VERSION = "2024-10-21"
NO_KEY_PLACEHOLDER = "not-needed"
_EXTRA = {"local": "local", "openai": "openai", "azure": "openai", "ollama": "ollama"}


def parse_spec(spec: str) -> tuple[str, str]:
    """Split ``provider:model`` (only at the first colon, so paths and tags survive)."""
    provider, sep, model = spec.strip().partition(":")
    provider = provider.strip().lower()
    model = model.strip()
    if not sep or not model:
        raise ConfigError(
            f"llm {spec!r} is not 'provider:model': use e.g. local:qwen2.5-coder-1.5b, "
            "openai:gpt-4o-mini, azure:<deployment>, ollama:llama3.2 or local:/path/model.gguf"
        )
    if provider not in PROVIDERS:
        raise ConfigError(
            f"unknown llm provider {provider!r} in {spec!r}: use one of {', '.join(PROVIDERS)}"
        )
    return provider, model


def describe_model(spec: str) -> str:
    """A short human label for a spec, for banners and logs; never raises."""
    try:
        provider, model = parse_spec(spec)
    except ConfigError:
        return spec
    if provider == "local":
        name = Path(model).name if model.lower().endswith(".gguf") else model
        return f"{name} (embedded, llama.cpp)"
    labels = {
        "openai": f"{model} via an OpenAI-compatible API",
        "azure": f"Azure OpenAI deployment {model}",
        "ollama": f"{model} via Ollama",
        "fake": f"scripted test model ({model})",
    }
    return labels[provider]


def service_url(settings: Settings) -> str | None:
    """The endpoint a spec talks to (``None`` for in-process models)."""
    try:
        provider, _ = parse_spec(settings.llm)
    except ConfigError:
        return settings.llm_base_url
    if provider in ("local", "fake"):
        return None
    return settings.llm_base_url or DEFAULT_URL.get(provider)


def make_chat_model(settings: Settings) -> BaseChatModel:
    """Build the chat model ``settings.llm`` names, configured from ``settings``."""
    provider, model = parse_spec(settings.llm)
    builders = {
        "local": _local,
        "openai": _openai,
        "azure": _azure,
        "ollama": _ollama,
        "fake": _fake,
    }
    return builders[provider](model, settings)


def _missing_package(provider: str, package: str) -> ModelError:
    return ModelError(
        f"the {provider} chat provider needs the {package} package: "
        f"run `pip install 'byline[{_EXTRA[provider]}]'`"
    )


def _api_key(settings: Settings, provider: str, optional: bool) -> str:
    """Read the key from the variable the settings name; the key itself is never shown."""
    var = settings.llm_api_key_env or DEFAULT_KEY_ENV[provider]
    key = os.environ.get(var, "").strip()
    if key:
        return key
    if optional and not settings.llm_api_key_env:
        return NO_KEY_PLACEHOLDER  # a local OpenAI-compatible server that wants no key
    raise ConfigError(
        f"the {provider} provider needs an API key in the environment variable {var}, "
        "which is not set: export it (or set llm_api_key_env to the variable that holds it)"
    )


def _local(model: str, settings: Settings) -> BaseChatModel:
    from rag.local_model import LlamaCppChat, require_llama_cpp, resolve_local_model

    require_llama_cpp()
    path = resolve_local_model(model, settings.model_dir)
    # Thread counts the settings leave out take the chat model's defaults (from the usable cores).
    threads = {"n_threads": settings.llm_threads, "n_threads_batch": settings.llm_batch_threads}
    chat = LlamaCppChat(
        model_path=str(path),
        n_ctx=max(settings.llm_ctx, MIN_LOCAL_CTX),  # prompts are sized for at least this
        **{name: n for name, n in threads.items() if n is not None},
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
    )
    chat.loaded()  # load now, so a missing llama_cpp or a bad file fails at start-up
    return chat


def _openai(model: str, settings: Settings) -> BaseChatModel:
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:
        raise _missing_package("openai", "langchain-openai") from None
    key = _api_key(settings, "openai", optional=settings.llm_base_url is not None)
    return ChatOpenAI(
        model=model,
        base_url=settings.llm_base_url,
        api_key=key,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout,
        max_retries=1,
    )


def _azure(deployment: str, settings: Settings) -> BaseChatModel:
    try:
        from langchain_openai import AzureChatOpenAI
    except ImportError:
        raise _missing_package("azure", "langchain-openai") from None
    if not settings.llm_base_url:
        raise ConfigError(
            "the azure provider needs llm_base_url set to the resource endpoint, "
            "e.g. https://<resource>.openai.azure.com"
        )
    key = _api_key(settings, "azure", optional=False)
    return AzureChatOpenAI(
        azure_deployment=deployment,
        azure_endpoint=settings.llm_base_url,
        api_version=settings.llm_api_version or DEFAULT_AZURE_API_VERSION,
        api_key=key,
        temperature=settings.llm_temperature,
        max_tokens=settings.llm_max_tokens,
        timeout=settings.llm_timeout,
        max_retries=1,
    )


def _ollama(model: str, settings: Settings) -> BaseChatModel:
    try:
        from langchain_ollama import ChatOllama
    except ImportError:
        raise _missing_package("ollama", "langchain-ollama") from None
    client_kwargs: dict[str, Any] = {"timeout": settings.llm_timeout}
    if settings.llm_api_key_env:  # e.g. an Ollama behind an authenticating proxy
        var = settings.llm_api_key_env
        key = os.environ.get(var, "").strip()
        if not key:
            raise ConfigError(f"llm_api_key_env names {var}, which is not set: export it")
        client_kwargs["headers"] = {"Authorization": f"Bearer {key}"}
    return ChatOllama(
        model=model,
        base_url=settings.llm_base_url or DEFAULT_URL["ollama"],
        temperature=settings.llm_temperature,
        num_predict=settings.llm_max_tokens,
        client_kwargs=client_kwargs,
    )


def _fake(mode: str, settings: Settings) -> BaseChatModel:
    try:
        from rag.testing import FakeChatModel
    except ImportError:
        raise ConfigError("fake:<mode> needs rag.testing.FakeChatModel, which is missing") from None
    return FakeChatModel(mode=mode)


@contextmanager
def wrap_service_errors(where: Settings | str | None = None) -> Iterator[None]:
    """Turn connection and HTTP failures of a remote LLM into ``ServiceError``.

    Wrap ``.invoke()`` or the whole ``for chunk in model.stream(...)`` loop. ``where`` is the
    settings (best: messages can name the model and key variable) or just the endpoint URL.
    """
    try:
        yield
    except Exception as exc:
        error = _as_service_error(exc, where)
        if error is None:
            raise
        raise error from None


def _as_service_error(exc: BaseException, where: Settings | str | None) -> ServiceError | None:
    """The ServiceError a low-level failure means, or None if it is not a service failure."""
    settings = where if isinstance(where, Settings) else None
    url = service_url(settings) if settings is not None else where
    at = f" at {url}" if url else ""
    unreachable = ServiceError(
        f"cannot reach the LLM service{at}: check that it is running and llm_base_url is right"
    )
    openai = sys.modules.get("openai")
    if openai is not None:
        if isinstance(exc, openai.APITimeoutError):
            timeout = f" within {settings.llm_timeout:g} s" if settings is not None else ""
            return ServiceError(
                f"the LLM service{at} did not answer{timeout}: check that it is running and not "
                "overloaded, or raise llm_timeout"
            )
        if isinstance(exc, openai.APIConnectionError):
            return unreachable
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            # The provider's message may echo part of the key, so it is not repeated here.
            var = settings.llm_api_key_env if settings is not None else None
            hint = f"the key in {var}" if var else "the API key variable (llm_api_key_env)"
            return ServiceError(
                f"the LLM service{at} refused the API key (HTTP {exc.status_code}): check {hint}"
            )
        if isinstance(exc, openai.NotFoundError):
            model = f" {parse_spec(settings.llm)[1]!r}" if settings is not None else ""
            return ServiceError(
                f"the LLM service{at} does not know the model or deployment{model} (HTTP 404): "
                "check the name after the provider in llm"
            )
        if isinstance(exc, openai.APIStatusError):
            return ServiceError(
                f"the LLM service{at} answered HTTP {exc.status_code}: {_short(exc.message)}"
            )
    ollama = sys.modules.get("ollama")
    if ollama is not None and isinstance(exc, ollama.ResponseError):
        if exc.status_code == 404 and settings is not None:
            model = parse_spec(settings.llm)[1]
            return ServiceError(
                f"Ollama{at} has no model {model!r}: run `ollama pull {model}` on that server"
            )
        return ServiceError(f"Ollama{at} answered HTTP {exc.status_code}: {_short(exc.error)}")
    httpx = sys.modules.get("httpx")
    if httpx is not None and isinstance(exc, httpx.TimeoutException):
        return ServiceError(
            f"the LLM service{at} did not answer in time: check that it is running, "
            "or raise llm_timeout"
        )
    if httpx is not None and isinstance(exc, httpx.TransportError):
        return unreachable
    if isinstance(exc, ConnectionError | TimeoutError):
        return unreachable
    return None


def _short(text: object, limit: int = 200) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
