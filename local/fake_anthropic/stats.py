"""What the fake observed: call counters (``/_fake/stats``) and the request log."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, deque
from collections.abc import Iterable
from typing import Any

from local.fake_anthropic.answer import Completion

__all__ = [
    "REQUEST_LOG_SIZE",
    "RequestLog",
    "Stats",
    "key_fingerprint",
    "redact_headers",
]

#: How many request bodies ``GET /_fake/requests`` can return.
REQUEST_LOG_SIZE = 50

_SECRET_HEADERS = frozenset({"x-api-key", "authorization", "cookie", "proxy-authorization"})


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    """Header names lower-cased, credential values replaced by ``<redacted>``."""
    return {
        name.lower(): ("<redacted>" if name.lower() in _SECRET_HEADERS else value)
        for name, value in headers.items()
    }


def key_fingerprint(key: str) -> str:
    """A non-reversible fingerprint of a credential (first 12 hex of its SHA-256)."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class Stats:
    """Counters of ``/v1/messages`` calls; thread-safe, ``snapshot()`` is the JSON."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.calls = 0
            self.by_status: Counter[str] = Counter()
            self.streamed = 0
            self.non_streamed = 0
            self.cache_reads = 0
            self.cache_writes = 0
            self.cache_read_input_tokens = 0
            self.cache_creation_input_tokens = 0
            self.input_tokens = 0
            self.output_tokens = 0
            self.faults: Counter[str] = Counter()
            self.models: Counter[str] = Counter()
            self.repair_turns = 0
            self.cut_streams = 0
            self.last_headers: dict[str, str] = {}
            self.last_auth: dict[str, str] = {}

    def count_call(
        self, headers: dict[str, str], *, api_key: str, bearer_token: str, streaming: bool
    ) -> None:
        """A call arrived (before any check): its headers, its credential's fingerprint."""
        with self._lock:
            self.calls += 1
            self.last_headers = redact_headers(headers)
            if api_key:
                self.last_auth = {"scheme": "x-api-key", "key_sha256_12": key_fingerprint(api_key)}
            elif bearer_token:
                self.last_auth = {
                    "scheme": "bearer",
                    "key_sha256_12": key_fingerprint(bearer_token),
                }
            else:
                self.last_auth = {"scheme": "none"}
            if streaming:
                self.streamed += 1
            else:
                self.non_streamed += 1

    def count_faults(self, injected: Iterable[str], model: str) -> None:
        """A valid call for ``model`` got these faults."""
        with self._lock:
            for name in injected:
                self.faults[name] += 1
            self.models[model] += 1

    def count_completion(self, completion: Completion) -> None:
        """An answer was composed (its usage and prompt-cache figures)."""
        usage = completion.usage
        with self._lock:
            if completion.repair_turn:
                self.repair_turns += 1
            if usage.cache.read_tokens:
                self.cache_reads += 1
            if usage.cache.creation_tokens:
                self.cache_writes += 1
            self.cache_read_input_tokens += usage.cache.read_tokens
            self.cache_creation_input_tokens += usage.cache.creation_tokens
            self.input_tokens += usage.input_tokens
            self.output_tokens += usage.output_tokens

    def count_status(self, status: int) -> None:
        with self._lock:
            self.by_status[str(status)] += 1

    def count_cut_stream(self) -> None:
        with self._lock:
            self.cut_streams += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": self.calls,
                "by_status": dict(self.by_status),
                "streamed": self.streamed,
                "non_streamed": self.non_streamed,
                "cache_reads": self.cache_reads,
                "cache_writes": self.cache_writes,
                "cache_read_input_tokens": self.cache_read_input_tokens,
                "cache_creation_input_tokens": self.cache_creation_input_tokens,
                "input_tokens": self.input_tokens,
                "output_tokens": self.output_tokens,
                "faults_injected": dict(self.faults),
                "models": dict(self.models),
                "repair_turns": self.repair_turns,
                "cut_streams": self.cut_streams,
                "last_headers": dict(self.last_headers),
                "last_auth": dict(self.last_auth),
            }


class RequestLog:
    """The last ``size`` ``/v1/messages`` requests, numbered from 1 (thread-safe)."""

    def __init__(self, size: int = REQUEST_LOG_SIZE) -> None:
        self._lock = threading.Lock()
        self._records: deque[dict[str, Any]] = deque(maxlen=size)
        self._seq = 0

    def record(self, body: Any, streaming: bool) -> dict[str, Any]:
        """Log a request; the returned record gets its ``status`` (and ``cut``) later."""
        with self._lock:
            self._seq += 1
            record: dict[str, Any] = {
                "seq": self._seq,
                "request_id": f"req_fake_{self._seq:06d}",
                "stream": streaming,
                "status": None,
                "body": body,
            }
            self._records.append(record)
            return record

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """The last ``limit`` records (newest last), copied."""
        with self._lock:
            items = list(self._records)
        return [dict(item) for item in items[-limit:]] if limit else []

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
