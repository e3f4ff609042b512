"""The shim's HTTP side: ``http.server`` reading requests, writing proxy responses."""

from __future__ import annotations

import base64
import logging
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from local.apigw.proxy_event import HttpRequest

if TYPE_CHECKING:
    from local.apigw.shim import ApiGatewayShim

__all__ = ["ProxyRequestHandler", "ShimHttpServer", "proxy_response"]

log = logging.getLogger("local.apigw")


def proxy_response(outcome: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """A handler's proxy response as (status, headers, body); ``ValueError`` if it is not one."""
    if not isinstance(outcome, dict):
        raise ValueError(f"the handler returned {type(outcome).__name__}, not a proxy response")
    status = outcome.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or not 100 <= status <= 599:
        raise ValueError(f"statusCode {status!r} is not an HTTP status")
    headers: list[tuple[str, str]] = []
    multi = outcome.get("multiValueHeaders") or {}
    for name, values in multi.items():
        headers.extend((str(name), str(v)) for v in values)
    for name, value in (outcome.get("headers") or {}).items():
        if name not in multi:
            headers.append((str(name), str(value)))
    body = outcome.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise ValueError("body must be a string")
    elif outcome.get("isBase64Encoded"):
        payload = base64.b64decode(body)
    else:
        payload = body.encode("utf-8")
    return status, headers, payload


class ShimHttpServer(ThreadingHTTPServer):
    #: listen() backlog: socketserver's default of 5 resets connections when dozens of
    #: clients connect at once (the reliability suite's 50 concurrent requests).
    request_queue_size = 128


class ProxyRequestHandler(BaseHTTPRequestHandler):
    owner: ApiGatewayShim
    protocol_version = "HTTP/1.1"
    server_version = "agw-local-apigw"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _read_body(self) -> bytes | None:
        """The request body; ``None`` when it exceeds the payload limit."""
        limit = self.owner.max_payload_bytes
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in {b"\r\n", b"\n", b""}:
                        pass
                    break
                total += size
                if total > limit:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > limit:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            self.close_connection = True  # the unread rest of the body
        status, headers, payload = self.owner.handle(
            HttpRequest(
                method=self.command,
                target=self.path,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
            )
        )
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def __getattr__(self, name: str) -> Any:
        # http.server looks up ``do_<METHOD>`` and answers 501 + HTML when it is missing:
        # every other method (TRACE, CONNECT, ``get``, ``FOO``) goes through the shim too,
        # which answers it as API Gateway does (403 MISSING_AUTHENTICATION_TOKEN).
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (400 bad request line, 414, 431, ...) as problem+json."""
        try:
            phrase = message or self.responses.get(code, ("Error",))[0]
        except (KeyError, IndexError):
            phrase = "Error"
        status, headers, payload = self.owner.protocol_error(code, phrase)
        self.log_error("code %d, message %s", code, phrase)
        self.close_connection = True
        # a request line that did not parse leaves HTTP/0.9, which would drop the status
        # line and headers: answer as HTTP/1.1 (API Gateway has no HTTP/0.9 either)
        self.request_version = self.protocol_version
        self.send_response(status, phrase)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        if getattr(self, "command", None) != "HEAD" and status >= 200:
            self.wfile.write(payload)
