"""Webhook fixtures: the webhook queue and DLQ in moto, a scripted receiver on 127.0.0.1.

``webhook_stack`` = ``invocation_tables`` + ``tenant_stack`` + the two webhook queues and
the webhook settings (local mode: ``WEBHOOK_ALLOW_LOCAL``, a zero-second retry schedule so
retries come at once). :func:`pump` does what the event source mapping does: receive
from the webhook queue, hand each body to the processor, delete what it handled.
:class:`Receiver` is a real HTTP server that answers a scripted list of statuses and
records every request; :class:`ConnectionCounter` only counts TCP connections (a place
traffic must never reach).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from agents.webhooks.processor import WebhookProcessor
from tests.plugins.aws import settings_env
from tests.plugins.stack import InvocationStack, drained_messages, plain_queues
from tests.plugins.tenants import TenantStack

SECRET_PREFIX = "agw-test/webhooks/"


@dataclass(frozen=True)
class WebhookStack:
    invocations: InvocationStack
    tenants: TenantStack
    queue_url: str
    dlq_url: str


@pytest.fixture
def webhook_stack(
    invocation_tables: InvocationStack,
    tenant_stack: TenantStack,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[WebhookStack]:
    queue_url, dlq_url = plain_queues("agw-webhooks", "agw-webhooks-dlq")
    env = {
        "WEBHOOK_QUEUE_URL": queue_url,
        "WEBHOOK_DLQ_URL": dlq_url,
        "WEBHOOK_SECRET_PREFIX": SECRET_PREFIX,
        "WEBHOOK_RETRY_SCHEDULE": "0,0,0",
        "WEBHOOK_ALLOW_LOCAL": "true",
        "WEBHOOK_CONNECT_TIMEOUT_S": "1",
        "WEBHOOK_READ_TIMEOUT_S": "2",
        "WEBHOOK_LINK_BASE": "https://api.example.test/prod",
        "POWERTOOLS_METRICS_NAMESPACE": "AgentGatewayTest",
    }
    with settings_env(monkeypatch, env):
        yield WebhookStack(invocation_tables, tenant_stack, queue_url, dlq_url)


def pump(processor: WebhookProcessor, queue_url: str, *, rounds: int = 20) -> list[str]:
    """Feed the queue to ``processor`` until it stays empty; the outcomes, in order."""
    return [processor.handle(m["Body"]) for m in drained_messages(queue_url, rounds=rounds * 5)]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class Receiver:
    """An HTTP receiver on 127.0.0.1 answering ``statuses`` in turn (then the last one)."""

    statuses: Sequence[int] = (200,)
    extra_headers: dict[str, str] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                with lock:
                    receiver.requests.append(Received(self.path, dict(self.headers), body))
                    index = min(len(receiver.requests), len(receiver.statuses)) - 1
                self.send_response(receiver.statuses[index])
                for name, value in receiver.extra_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_: Any) -> None:
                pass

        lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class ConnectionCounter:
    """A TCP listener on 127.0.0.1 that only counts the connections it accepts."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.port = int(self._socket.getsockname()[1])
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._socket.close()


@pytest.fixture
def receiver_factory() -> Iterator[Any]:
    made: list[Receiver | ConnectionCounter] = []

    def make(statuses: Sequence[int] = (200,), **options: Any) -> Receiver:
        receiver = Receiver(statuses, **options)
        made.append(receiver)
        return receiver

    def counter() -> ConnectionCounter:
        found = ConnectionCounter()
        made.append(found)
        return found

    make.counter = counter  # type: ignore[attr-defined]
    yield make
    for item in made:
        item.close()
