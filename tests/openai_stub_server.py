"""A tiny loopback HTTP server speaking the OpenAI and Ollama chat APIs, for tests.

Replies are deterministic ("Echo: <last user message>"), streamed as several chunks when asked,
and every request is recorded (path, query, headers, JSON body) so tests can check what reached
the wire, e.g. the Authorization header.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

OPENAI_PATHS = ("/v1/chat/completions", "/chat/completions")
AZURE_PREFIX = "/openai/deployments/"
OLLAMA_PATH = "/api/chat"


@dataclass
class Recorded:
    """One request the stub received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]


@dataclass
class StubState:
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    reject_key: str | None = None


def reply_for(messages: list[dict[str, Any]]) -> str:
    """The deterministic answer: echo the last user message's text."""
    last = next((m for m in reversed(messages) if m.get("role") == "user"), {})
    content = last.get("content", "")
    if isinstance(content, list):  # OpenAI content parts
        content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return f"Echo: {content}"


def split_chunks(text: str) -> list[str]:
    """Word-sized pieces that join back to ``text`` exactly."""
    pieces = text.split(" ")
    return [p if i == 0 else " " + p for i, p in enumerate(pieces)]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Stay quiet in test output."""

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._send_json(400, {"error": {"message": "body is not JSON"}})
            return
        with self.server.state.lock:
            self.server.state.requests.append(
                Recorded(
                    "POST",
                    url.path,
                    parse_qs(url.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
            )
        if self._rejected():
            return
        is_azure = url.path.startswith(AZURE_PREFIX) and url.path.endswith("/chat/completions")
        if url.path in OPENAI_PATHS or is_azure:
            if is_azure and "api-version" not in parse_qs(url.query):
                self._send_json(400, {"error": {"message": "api-version query parameter missing"}})
                return
            self._openai(body)
        elif url.path == OLLAMA_PATH:
            self._ollama(body)
        else:
            self._send_json(404, {"error": {"message": f"no route {url.path}"}})

    def _rejected(self) -> bool:
        """Answer 401 like OpenAI does (echoing the key) when the configured bad key arrives."""
        bad = self.server.state.reject_key
        sent = self.headers.get("api-key") or self.headers.get("Authorization", "")
        if bad is None or sent.removeprefix("Bearer ") != bad:
            return False
        message = f"Incorrect API key provided: {bad}."
        self._send_json(401, {"error": {"message": message, "code": "invalid_api_key"}})
        return True

    # OpenAI chat completions -------------------------------------------------------------
    def _openai(self, body: dict[str, Any]) -> None:
        text = reply_for(body.get("messages", []))
        model = body.get("model", "stub-model")
        created = int(time.time())
        base = {"id": "chatcmpl-stub", "created": created, "model": model}
        usage = {
            "prompt_tokens": 5,
            "completion_tokens": len(split_chunks(text)),
            "total_tokens": 0,
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if not body.get("stream"):
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
            payload = {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
            self._send_json(200, payload)
            return
        self._start_stream("text/event-stream")
        for i, piece in enumerate(split_chunks(text)):
            delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
            choice = {"index": 0, "delta": delta, "finish_reason": None}
            self._sse({**base, "object": "chat.completion.chunk", "choices": [choice]})
        end = {"index": 0, "delta": {}, "finish_reason": "stop"}
        self._sse({**base, "object": "chat.completion.chunk", "choices": [end]})
        if (body.get("stream_options") or {}).get("include_usage"):
            self._sse({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _sse(self, obj: dict[str, Any]) -> None:
        self.wfile.write(b"data: " + json.dumps(obj).encode() + b"\n\n")
        self.wfile.flush()

    # Ollama /api/chat --------------------------------------------------------------------
    def _ollama(self, body: dict[str, Any]) -> None:
        text = reply_for(body.get("messages", []))
        model = body.get("model", "stub")
        stamp = "2025-01-01T00:00:00Z"
        final = {
            "model": model,
            "created_at": stamp,
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "total_duration": 1000,
            "load_duration": 10,
            "prompt_eval_count": 5,
            "prompt_eval_duration": 100,
            "eval_count": len(split_chunks(text)),
            "eval_duration": 500,
        }
        if body.get("stream", True) is False:
            self._send_json(200, {**final, "message": {"role": "assistant", "content": text}})
            return
        self._start_stream("application/x-ndjson")
        for piece in split_chunks(text):
            line = {
                "model": model,
                "created_at": stamp,
                "message": {"role": "assistant", "content": piece},
                "done": False,
            }
            self.wfile.write(json.dumps(line).encode() + b"\n")
            self.wfile.flush()
        self.wfile.write(json.dumps(final).encode() + b"\n")
        self.wfile.flush()

    # Plumbing ----------------------------------------------------------------------------
    def _start_stream(self, content_type: str) -> None:
        """Stream until the connection closes (no length, no chunked encoding needed)."""
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()

    def _send_json(self, status: int, obj: dict[str, Any]) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: StubState


class StubChatServer:
    """Run the stub on 127.0.0.1 on a free port; use as a context manager."""

    def __init__(self, reject_key: str | None = None) -> None:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.state = StubState(reject_key=reject_key)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def root(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def openai_url(self) -> str:
        """The base_url an OpenAI client should use."""
        return self.root + "/v1"

    @property
    def requests(self) -> list[Recorded]:
        with self._httpd.state.lock:
            return list(self._httpd.state.requests)

    def __enter__(self) -> StubChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
