"""The time budget of one model call: how many SDK retries fit in it
(:func:`plan_max_retries`), and :class:`AttemptGuard`, the SDK middleware that
holds every HTTP attempt and retry wait to it (why: docs/decisions.md 13.62)."""

from __future__ import annotations

import email.utils
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agents.runner.classification import (
    SDK_RETRY_STATUSES,
    BudgetExhausted,
    CallCancelled,
    RetryWouldOutliveBudget,
    classify_model_error,
)

if TYPE_CHECKING:
    import httpx2
    from anthropic import APIRequest, APIResponse, CallNext

__all__ = [
    "CONNECT_TIMEOUT_S",
    "MAX_RETRIES_CAP",
    "MIN_ATTEMPT_S",
    "AttemptGuard",
    "backoff_s",
    "plan_max_retries",
    "retry_after_s",
]

#: An HTTP attempt is not started with less than this much budget left (seconds).
MIN_ATTEMPT_S = 0.25
#: Connect timeout of one attempt (capped by the budget).
CONNECT_TIMEOUT_S = 5.0
#: Upper bound of SDK retries per model call, whatever the budget.
MAX_RETRIES_CAP = 4
#: The SDK's backoff (its private ``_constants``): 0.5 s doubling, at most 8 s, minus jitter.
INITIAL_RETRY_DELAY_S = 0.5
MAX_RETRY_DELAY_S = 8.0


def backoff_s(retries_taken: int) -> float:
    """Longest wait the SDK takes before retry number ``retries_taken + 1`` (no jitter)."""
    return min(INITIAL_RETRY_DELAY_S * 2.0 ** min(retries_taken, 30), MAX_RETRY_DELAY_S)


def plan_max_retries(budget_s: float, cap: int = MAX_RETRIES_CAP) -> int:
    """How many SDK retries fit in ``budget_s``: each needs its backoff plus one short attempt."""
    spent = MIN_ATTEMPT_S
    retries = 0
    while retries < cap:
        need = backoff_s(retries) + MIN_ATTEMPT_S
        if spent + need > budget_s:
            break
        spent += need
        retries += 1
    return retries


def retry_after_s(headers: httpx2.Headers) -> float | None:
    """The server's retry hint, parsed like the SDK does (``retry-after-ms``, seconds, date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return float(raw_ms) / 1000
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        parsed = email.utils.parsedate_tz(raw)
        return None if parsed is None else float(email.utils.mktime_tz(parsed) - time.time())


def _sdk_retries(response: httpx2.Response) -> bool:
    """Whether the SDK's retry policy retries this error response (its ``x-should-retry``
    header first, then the status)."""
    hint = response.headers.get("x-should-retry")
    if hint in {"true", "false"}:
        return hint == "true"
    return response.status_code in SDK_RETRY_STATUSES or response.status_code >= 500


def _api_message(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return str(message)[:300] if message else ""


@dataclass
class AttemptGuard:
    """State of one model call; :meth:`handle` is its SDK middleware (once per HTTP attempt)."""

    budget_end: float
    max_retries: int
    attempts: int = 0
    statuses: list[int] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def left_s(self) -> float:
        return self.budget_end - time.monotonic()

    def handle(self, request: APIRequest, call_next: CallNext) -> APIResponse[Any]:
        """The SDK middleware (a plain callable): bound, count and vet one HTTP attempt."""
        import httpx2
        from anthropic import APIConnectionError, APITimeoutError

        last = self.statuses[-1] if self.statuses else None
        if self.cancelled.is_set():
            raise CallCancelled("the caller stopped waiting")
        left = self.left_s()
        if left < MIN_ATTEMPT_S:
            raise BudgetExhausted(
                f"no time left for model attempt {request.retries_taken + 1} "
                f"({max(left, 0) * 1000:.0f} ms of budget left)",
                last,
            )
        self.attempts += 1
        timeout = httpx2.Timeout(left, connect=min(CONNECT_TIMEOUT_S, left))
        try:
            response = call_next(request.copy(timeout=timeout))
        except APIConnectionError as exc:
            # The SDK would back off and retry: only if that fits in the budget. `from None`
            # keeps the SDK from retrying (it follows `__cause__` to find retryable errors).
            retries_left = request.retries_taken < self.max_retries
            if retries_left and self.left_s() < backoff_s(request.retries_taken) + MIN_ATTEMPT_S:
                if isinstance(exc, APITimeoutError):
                    raise BudgetExhausted(
                        "the model did not answer within the time budget", last
                    ) from None
                raise classify_model_error(exc) from None
            raise
        http = response.http_response
        request_id = http.headers.get("request-id")
        if request_id:
            self.request_ids.append(request_id)
        if http.status_code >= 400:
            self.statuses.append(http.status_code)
            if request.retries_taken < self.max_retries and _sdk_retries(http):
                hint = retry_after_s(http.headers)
                wait = hint if hint is not None and hint > 0 else backoff_s(request.retries_taken)
                left = self.left_s()
                if wait + MIN_ATTEMPT_S > left:
                    http.read()
                    raise RetryWouldOutliveBudget(
                        http.status_code, wait, max(left, 0.0), _api_message(http)
                    )
        return response
