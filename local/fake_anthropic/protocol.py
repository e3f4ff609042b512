"""The HTTP side: the threaded server, one request as an ``Exchange``, JSON and SSE framing."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "ERROR_TYPES",
    "Exchange",
    "FakeHttpServer",
    "default_error_message",
    "error_body",
    "error_type_for",
]

ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

_DEFAULT_ERROR_MESSAGES: dict[int, str] = {
    429: "Number of request tokens has exceeded your rate limit (fake).",
    529: "Overloaded (fake).",
    500: "Internal server error (fake).",
    400: "Invalid request (fake).",
    401: "Invalid x-api-key (fake).",
    403: "Your API key does not have permission to use the specified resource (fake).",
    404: "Not found (fake).",
    413: "Request exceeds the maximum allowed number of bytes (fake).",
}


def error_type_for(status: int) -> str:
    """The Anthropic error ``type`` for an HTTP status."""
    return ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def error_body(status: int, message: str) -> dict[str, Any]:
    """The Anthropic error document: ``{"type": "error", "error": {type, message}}``."""
    return {"type": "error", "error": {"type": error_type_for(status), "message": message}}


def default_error_message(status: int) -> str:
    """The message of an injected status fault that gives none."""
    return _DEFAULT_ERROR_MESSAGES.get(status, f"HTTP {status} (fake).")


class Exchange:
    """One HTTP request and its response, as an endpoint sees them."""

    def __init__(self, handler: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        url = urlsplit(handler.path)
        self.method = method
        self.path = url.path
        self.query = parse_qs(url.query)
        self.headers: Message = handler.headers
        self.body = body
        self._handler = handler

    def header(self, name: str) -> str:
        """A request header's value ("" when absent or empty); names are case-insensitive."""
        return self.headers.get(name) or ""

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        handler = self._handler
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
        handler.wfile.flush()

    def start_event_stream(self, headers: dict[str, str]) -> None:
        """Send a 200 ``text/event-stream`` head; the body goes out in chunks."""
        handler = self._handler
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream; charset=utf-8")
        handler.send_header("cache-control", "no-cache")
        handler.send_header("transfer-encoding", "chunked")
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()

    def send_event(self, event: str, payload: dict[str, Any]) -> None:
        """One server-sent event in one chunk."""
        self._write_chunk(f"event: {event}\ndata: {json.dumps(payload)}\n\n".encode())

    def end_event_stream(self) -> None:
        """The terminating zero-length chunk (``0\\r\\n\\r\\n``)."""
        self._write_chunk(b"")

    def drop_connection(self) -> None:
        """Close the connection after this exchange (a cut stream or a stopping server)."""
        self._handler.close_connection = True

    def _write_chunk(self, data: bytes) -> None:
        self._handler.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self._handler.wfile.flush()


def _no_dispatch(exchange: Exchange) -> None:
    raise RuntimeError("FakeHttpServer.dispatch is not set")


class FakeHttpServer(ThreadingHTTPServer):
    """Threaded HTTP/1.1 server handing every GET, POST and DELETE to ``dispatch``."""

    daemon_threads = True
    #: listen() backlog (socketserver's default of 5 resets bursts of concurrent callers).
    request_queue_size = 128
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        dispatch: Callable[[Exchange], None] = _no_dispatch,
        *,
        verbose: bool = False,
    ) -> None:
        super().__init__(address, _RequestHandler)
        self.dispatch = dispatch
        self.verbose = verbose

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-answer (deadline, cut) is normal here.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "agent-gateway-fake-anthropic/1"
    server: FakeHttpServer

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self.server.dispatch(Exchange(self, "GET", b""))

    def do_POST(self) -> None:
        # The body is read before routing, so an unknown route keeps the connection usable.
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        self.server.dispatch(Exchange(self, "POST", body))

    def do_DELETE(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        self.server.dispatch(Exchange(self, "DELETE", body))
