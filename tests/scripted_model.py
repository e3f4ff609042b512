"""A scripted Messages API on loopback for the tool-loop tests: it streams queued response
objects exactly (text, ``tool_use`` and server-tool blocks), in order, and records every
request body. Stands in until the fake's ``POST /_fake/script`` (issue #14 part F) lands."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from local.runtime import patched_environ

_ENV = ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")


def message(
    *blocks: dict[str, Any],
    stop_reason: str = "end_turn",
    input_tokens: int = 100,
    output_tokens: int = 20,
    cache_read: int = 0,
    cache_write: int = 0,
    server_tool_use: dict[str, int] | None = None,
) -> dict[str, Any]:
    """A Messages API response object."""
    usage: dict[str, Any] = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_read_input_tokens": cache_read,
        "cache_creation_input_tokens": cache_write,
    }
    if server_tool_use:
        usage["server_tool_use"] = server_tool_use
    return {"content": list(blocks), "stop_reason": stop_reason, "usage": usage}


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(tool_id: str, name: str, **tool_input: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": tool_input}


class ScriptedModel:
    """The queue of responses and the log of request bodies (thread-safe)."""

    def __init__(self) -> None:
        self.responses: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self.url = ""

    def script(self, *responses: dict[str, Any]) -> None:
        with self.lock:
            self.responses.extend(responses)

    def next_response(self, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            self.requests.append(body)
            self.headers.append(headers)
            if not self.responses:
                return message(text("script exhausted"))
            return self.responses.pop(0)


def _events(response: dict[str, Any], model: str) -> Iterator[tuple[str, dict[str, Any]]]:
    usage = response["usage"]
    yield (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_scripted",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {**usage, "output_tokens": 1},
            },
        },
    )
    for index, block in enumerate(response["content"]):
        kind = block["type"]
        start = dict(block)
        if kind == "text":
            start["text"] = ""
        elif kind in {"tool_use", "server_tool_use", "mcp_tool_use"}:
            start["input"] = {}
        yield (
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": start},
        )
        if kind == "text":
            delta = {"type": "text_delta", "text": block["text"]}
            yield (
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
        elif kind in {"tool_use", "server_tool_use", "mcp_tool_use"}:
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
            yield (
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": response["stop_reason"], "stop_sequence": None},
            "usage": usage,
        },
    )
    yield "message_stop", {"type": "message_stop"}


def _handler(state: ScriptedModel) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            response = state.next_response(body, {k.lower(): v for k, v in self.headers.items()})
            payload = b"".join(
                f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
                for name, data in _events(response, str(body.get("model", "")))
            )
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("content-length", str(len(payload)))
            self.send_header("request-id", "req_scripted")
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@pytest.fixture
def scripted_model() -> Iterator[ScriptedModel]:
    """A running scripted Messages API; the SDK and the runner's client point at it."""
    from agents.runner import get_runner

    state = ScriptedModel()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    env = {"ANTHROPIC_BASE_URL": state.url, "ANTHROPIC_API_KEY": "sk-ant-test-SCRIPTED"}
    with patched_environ(env, unset=_ENV):
        get_runner.clear()
        try:
            yield state
        finally:
            get_runner.clear()
            server.shutdown()
            server.server_close()
