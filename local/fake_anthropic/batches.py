"""``/v1/messages/batches``: the Message Batches API, emulated (create, retrieve, list,
cancel, results as JSONL), and its control endpoint ``/_fake/batches``.

A batch ends ``processing_delay_s`` after its creation (3 s by default). Its results are
composed when it ends, by the same offline model and prompt cache as ``/v1/messages``, with
``service_tier: "batch"`` usage (the client prices it at batch rates). Per-item faults:
``errored_rate`` / ``expired_rate`` of each batch's items (chosen by a hash of the batch
and custom id, so a resubmission draws again) error (half ``overloaded_error``, half
``invalid_request_error``) or expire. ``GET /_fake/batches`` reports creations, requests
and how often each custom id was submitted (``max_submissions_per_custom_id``).
``create_delay_s`` holds the answer to a create call that long *after* the batch was
recorded (a submitter killed meanwhile never hears of it); the hold ends early when the
caller hangs up.
"""

from __future__ import annotations

import hashlib
import json
import re
import select
import socket
import threading
import time
import weakref
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from local.fake_anthropic.answer import complete
from local.fake_anthropic.protocol import Exchange, error_body
from local.fake_anthropic.request import validate_request
from local.fake_anthropic.router import Router, path_params
from local.fake_anthropic.state import FakeModelState

__all__ = ["DEFAULT_PROCESSING_DELAY_S", "BatchBook", "book_of", "router"]

DEFAULT_PROCESSING_DELAY_S: Final = 3.0
MAX_REQUESTS: Final = 100_000
_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_BATCH_PATH: Final = "/v1/messages/batches/{batch_id}"

router = Router()


@dataclass
class FakeBatch:
    id: str
    created_at: float
    ends_at: float
    requests: list[dict[str, Any]]
    cancel_initiated_at: float | None = None
    results: list[dict[str, Any]] | None = None


@dataclass
class BatchBook:
    """The batches of one fake server, its batch faults and counters (thread-safe)."""

    processing_delay_s: float = DEFAULT_PROCESSING_DELAY_S
    errored_rate: float = 0.0
    expired_rate: float = 0.0
    create_delay_s: float = 0.0
    batches: dict[str, FakeBatch] = field(default_factory=dict)
    submissions: Counter[str] = field(default_factory=Counter)
    counters: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.batches.clear()
            self.submissions.clear()
            self.counters.clear()
            self.errored_rate = self.expired_rate = self.create_delay_s = 0.0
            self.processing_delay_s = DEFAULT_PROCESSING_DELAY_S

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "creations": self.counters["creations"],
                "requests": self.counters["requests"],
                "retrieves": self.counters["retrieves"],
                "lists": self.counters["lists"],
                "cancels": self.counters["cancels"],
                "results_fetched": self.counters["results_fetched"],
                "custom_ids": len(self.submissions),
                "max_submissions_per_custom_id": max(self.submissions.values(), default=0),
                "resubmitted_custom_ids": sum(1 for n in self.submissions.values() if n > 1),
                "items": dict(self.counters_by_result()),
                "processing_delay_s": self.processing_delay_s,
                "errored_rate": self.errored_rate,
                "expired_rate": self.expired_rate,
                "create_delay_s": self.create_delay_s,
                "creates_unanswered": self.counters["creates_unanswered"],
            }

    def counters_by_result(self) -> Counter[str]:
        return Counter({k[7:]: v for k, v in self.counters.items() if k.startswith("result_")})


_BOOKS: weakref.WeakKeyDictionary[FakeModelState, BatchBook] = weakref.WeakKeyDictionary()
_BOOKS_LOCK = threading.Lock()


def book_of(state: FakeModelState) -> BatchBook:
    """The batch book of a fake server (created on first use)."""
    with _BOOKS_LOCK:
        book = _BOOKS.get(state)
        if book is None:
            book = _BOOKS[state] = BatchBook()
        return book


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat().replace("+00:00", "Z")


def _authorized(exchange: Exchange) -> bool:
    if exchange.header("x-api-key") or exchange.header("authorization"):
        return True
    exchange.send_json(401, error_body(401, "x-api-key header is required"))
    return False


def _batch_json(state: FakeModelState, exchange: Exchange, batch: FakeBatch) -> dict[str, Any]:
    ended = _ended(state, batch)
    counts = Counter(r["result"]["type"] for r in batch.results or [])
    host = exchange.header("host") or "127.0.0.1"
    return {
        "id": batch.id,
        "type": "message_batch",
        "processing_status": "ended" if ended else "in_progress",
        "request_counts": {
            "processing": 0 if ended else len(batch.requests),
            "succeeded": counts["succeeded"],
            "errored": counts["errored"],
            "canceled": counts["canceled"],
            "expired": counts["expired"],
        },
        "created_at": _iso(batch.created_at),
        "ended_at": _iso(max(batch.ends_at, batch.created_at)) if ended else None,
        "expires_at": _iso(batch.created_at + 86_400),
        "cancel_initiated_at": _iso(batch.cancel_initiated_at),
        "archived_at": None,
        "results_url": f"http://{host}/v1/messages/batches/{batch.id}/results" if ended else None,
    }


def _ended(state: FakeModelState, batch: FakeBatch) -> bool:
    """True once the batch has ended; its results are composed then, once."""
    if time.time() < batch.ends_at:
        return False
    book = book_of(state)
    with book.lock:
        if batch.results is None:
            batch.results = [_result(state, book, batch, request) for request in batch.requests]
    return True


def _draw(batch: FakeBatch, custom_id: str) -> float:
    digest = hashlib.sha256(f"{batch.id}\x1f{custom_id}".encode()).hexdigest()
    return int(digest[:8], 16) / 0xFFFFFFFF


def _result(
    state: FakeModelState, book: BatchBook, batch: FakeBatch, request: dict[str, Any]
) -> dict[str, Any]:
    custom_id = str(request["custom_id"])
    draw = _draw(batch, custom_id)
    result: dict[str, Any]
    if batch.cancel_initiated_at is not None:
        result = {"type": "canceled"}
    elif draw < book.errored_rate:
        error_type = "overloaded_error" if int(draw * 1e6) % 2 else "invalid_request_error"
        result = {
            "type": "errored",
            "error": {
                "type": "error",
                "error": {"type": error_type, "message": f"batch item {error_type} (fake)"},
            },
        }
    elif draw < book.errored_rate + book.expired_rate:
        result = {"type": "expired"}
    else:
        params = request["params"]
        completion = complete(params, state.cache)
        usage = {**completion.usage.as_json(), "service_tier": "batch"}
        result = {
            "type": "succeeded",
            "message": {
                "id": f"msg_fake_batch_{hashlib.sha256(custom_id.encode()).hexdigest()[:12]}",
                "type": "message",
                "role": "assistant",
                "model": params["model"],
                "content": [{"type": "text", "text": completion.text}],
                "stop_reason": completion.stop_reason,
                "stop_sequence": None,
                "stop_details": completion.stop_details,
                "usage": usage,
            },
        }
    book.counters[f"result_{result['type']}"] += 1
    return {"custom_id": custom_id, "result": result}


def _find(state: FakeModelState, exchange: Exchange, pattern: str) -> FakeBatch | None:
    params = path_params(pattern, exchange.path) or {}
    batch = book_of(state).batches.get(params.get("batch_id", ""))
    if batch is None:
        exchange.send_json(404, error_body(404, f"batch {params.get('batch_id')} not found"))
    return batch


@router.route("POST", "/v1/messages/batches")
def create_batch(state: FakeModelState, exchange: Exchange) -> None:
    if not _authorized(exchange):
        return
    try:
        body: Any = json.loads(exchange.body or b"null")
    except ValueError:
        body = None
    requests = body.get("requests") if isinstance(body, dict) else None
    problem = _check_requests(requests)
    if problem:
        exchange.send_json(400, error_body(400, problem))
        return
    assert isinstance(requests, list)
    book = book_of(state)
    now = time.time()
    with book.lock:
        book.counters["creations"] += 1
        book.counters["requests"] += len(requests)
        batch = FakeBatch(
            id=f"msgbatch_fake_{book.counters['creations']:06d}",
            created_at=now,
            ends_at=now + book.processing_delay_s,
            requests=requests,
        )
        book.batches[batch.id] = batch
        book.submissions.update(str(r["custom_id"]) for r in requests)
        hold_s = book.create_delay_s
    if hold_s > 0 and not _hold(exchange, hold_s):
        with book.lock:
            book.counters["creates_unanswered"] += 1
        exchange.drop_connection()
        return
    exchange.send_json(200, _batch_json(state, exchange, batch))


def _hold(exchange: Exchange, seconds: float) -> bool:
    """Wait ``seconds``; False as soon as the caller has closed its connection."""
    connection: socket.socket = exchange._handler.connection
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([connection], [], [], min(left, 0.1))
        if readable:
            try:
                if connection.recv(1, socket.MSG_PEEK) == b"":
                    return False
            except OSError:
                return False
            time.sleep(min(left, 0.1))  # a pipelined byte: keep holding
    return True


def _check_requests(requests: Any) -> str | None:
    if not isinstance(requests, list) or not requests:
        return "requests: at least one request is required"
    if len(requests) > MAX_REQUESTS:
        return f"requests: at most {MAX_REQUESTS} requests per batch"
    seen: set[str] = set()
    for index, request in enumerate(requests):
        custom_id = request.get("custom_id") if isinstance(request, dict) else None
        if not isinstance(custom_id, str) or not _CUSTOM_ID.match(custom_id):
            return f"requests.{index}.custom_id: must match ^[a-zA-Z0-9_-]{{1,64}}$"
        if custom_id in seen:
            return f"requests.{index}.custom_id: {custom_id!r} repeats in this batch"
        seen.add(custom_id)
        params = request.get("params")
        problem = validate_request(params)
        if problem:
            return f"requests.{index}.params.{problem}"
        if isinstance(params, dict) and params.get("stream"):
            return f"requests.{index}.params.stream: not supported in a batch"
    return None


@router.route("GET", "/v1/messages/batches")
def list_batches(state: FakeModelState, exchange: Exchange) -> None:
    if not _authorized(exchange):
        return
    book = book_of(state)
    limit = int((exchange.query.get("limit") or ["20"])[0])
    after = (exchange.query.get("after_id") or [""])[0]
    with book.lock:
        book.counters["lists"] += 1
        newest_first = sorted(book.batches.values(), key=lambda b: b.id, reverse=True)
    if after:
        ids = [b.id for b in newest_first]
        newest_first = newest_first[ids.index(after) + 1 :] if after in ids else []
    page = newest_first[: max(1, min(limit, 1000))]
    exchange.send_json(
        200,
        {
            "data": [_batch_json(state, exchange, b) for b in page],
            "has_more": len(newest_first) > len(page),
            "first_id": page[0].id if page else None,
            "last_id": page[-1].id if page else None,
        },
    )


@router.route("GET", _BATCH_PATH)
def retrieve_batch(state: FakeModelState, exchange: Exchange) -> None:
    if not _authorized(exchange):
        return
    batch = _find(state, exchange, _BATCH_PATH)
    if batch is not None:
        book_of(state).counters["retrieves"] += 1
        exchange.send_json(200, _batch_json(state, exchange, batch))


@router.route("POST", _BATCH_PATH + "/cancel")
def cancel_batch(state: FakeModelState, exchange: Exchange) -> None:
    if not _authorized(exchange):
        return
    batch = _find(state, exchange, _BATCH_PATH + "/cancel")
    if batch is None:
        return
    book = book_of(state)
    with book.lock:
        book.counters["cancels"] += 1
        if batch.results is None and batch.cancel_initiated_at is None:
            batch.cancel_initiated_at = time.time()
            batch.ends_at = batch.cancel_initiated_at
    exchange.send_json(200, _batch_json(state, exchange, batch))


@router.route("GET", _BATCH_PATH + "/results")
def batch_results(state: FakeModelState, exchange: Exchange) -> None:
    if not _authorized(exchange):
        return
    batch = _find(state, exchange, _BATCH_PATH + "/results")
    if batch is None:
        return
    if not _ended(state, batch):
        exchange.send_json(400, error_body(400, f"batch {batch.id} is still in progress"))
        return
    book_of(state).counters["results_fetched"] += 1
    lines = "".join(json.dumps(r) + "\n" for r in batch.results or []).encode()
    # JSON Lines, as the real API sends them (Exchange frames JSON and SSE only).
    handler = exchange._handler
    handler.send_response(200)
    handler.send_header("content-type", "application/binary")
    handler.send_header("content-length", str(len(lines)))
    handler.end_headers()
    handler.wfile.write(lines)
    handler.wfile.flush()


@router.route("POST", "/_fake/batches")
def configure_batches(state: FakeModelState, exchange: Exchange) -> None:
    """``{"processing_delay_s", "errored_rate", "expired_rate", "create_delay_s", "reset"}``
    (all optional)."""
    try:
        body: Any = json.loads(exchange.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        exchange.send_json(400, error_body(400, "body must be a JSON object"))
        return
    book = book_of(state)
    if body.get("reset"):
        book.reset()
    with book.lock:
        for name in ("processing_delay_s", "errored_rate", "expired_rate", "create_delay_s"):
            if name in body:
                setattr(book, name, float(body[name]))
    exchange.send_json(200, book.stats())


@router.route("GET", "/_fake/batches")
def batch_stats(state: FakeModelState, exchange: Exchange) -> None:
    exchange.send_json(200, book_of(state).stats())
