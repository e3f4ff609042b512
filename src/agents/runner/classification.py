"""Error classification: the failures a model call raises internally, and
:func:`classify_model_error`, the one place that maps them and every SDK and
transport error onto :mod:`agents.errors` (table: ``docs/runner.md``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agents.errors import (
    DeadlineExceeded,
    GatewayError,
    ModelError,
    ModelUnavailable,
    StreamInterrupted,
)

if TYPE_CHECKING:
    import anthropic

__all__ = [
    "SDK_RETRY_STATUSES",
    "BudgetExhausted",
    "CallCancelled",
    "IncompleteStream",
    "RetryWouldOutliveBudget",
    "classify_model_error",
]

#: Statuses the SDK retries (besides ``x-should-retry: true``).
SDK_RETRY_STATUSES = frozenset({408, 409, 429})
#: ``event: error`` types inside a 200 stream that a later retry can cure.
RETRYABLE_STREAM_ERROR_TYPES = frozenset(
    {"overloaded_error", "rate_limit_error", "api_error", "timeout_error"}
)


class BudgetExhausted(Exception):
    """No time left for (another) attempt; raised from the middleware (not retried)."""

    def __init__(self, detail: str, last_status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.last_status = last_status


class RetryWouldOutliveBudget(Exception):
    """The SDK would wait past the budget before its next retry (e.g. a long retry-after)."""

    def __init__(self, status: int, wait_s: float, left_s: float, api_message: str) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.wait_s = wait_s
        self.left_s = left_s
        self.api_message = api_message


class IncompleteStream(Exception):
    """The stream ended without ``message_stop``."""


class CallCancelled(Exception):
    """The caller stopped waiting (hard deadline backstop)."""


def classify_model_error(exc: BaseException, *, budget_expired: bool = False) -> GatewayError:
    """Map any failure of a model call to the taxonomy in :mod:`agents.errors`.

    Retryable: 408/409/429/5xx/529 (:class:`ModelUnavailable`), connection errors,
    timeouts and a run out of time (:class:`DeadlineExceeded`), cut streams
    (:class:`StreamInterrupted`). Permanent: every other 4xx (:class:`ModelError`),
    refusals (raised directly as :class:`~agents.errors.ModelRefusal`), unknown model
    aliases (:class:`~agents.errors.UnknownModel`, raised before any call). Errors that
    are already :class:`GatewayError` pass through unchanged; anything else unknown is
    re-raised.
    """
    import anthropic
    import httpx2

    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, BudgetExhausted | CallCancelled):
        extra: dict[str, Any] = {}
        if isinstance(exc, BudgetExhausted) and exc.last_status is not None:
            extra["last_status"] = exc.last_status
        return DeadlineExceeded(
            f"the model call did not finish within the deadline: {exc}", **extra
        )
    if isinstance(exc, RetryWouldOutliveBudget):
        return ModelUnavailable(
            f"the model answered HTTP {exc.status} and asks to wait {exc.wait_s:g} s, "
            f"longer than the {exc.left_s:.1f} s left before the deadline"
            + (f": {exc.api_message}" if exc.api_message else ""),
            status=exc.status,
            retry_after_s=round(exc.wait_s, 3),
        )
    if isinstance(exc, IncompleteStream):
        return StreamInterrupted(f"the model's stream ended early: {exc}")
    if isinstance(exc, anthropic.APITimeoutError) or (
        isinstance(exc, httpx2.TimeoutException) and budget_expired
    ):
        if budget_expired:
            return DeadlineExceeded("the model did not answer within the deadline")
        return ModelUnavailable("the model request timed out")
    if isinstance(exc, anthropic.APIConnectionError):
        return ModelUnavailable(f"could not reach the model API: {exc.message}")
    if isinstance(exc, anthropic.APIStatusError):
        return _classify_status_error(exc)
    if isinstance(exc, httpx2.TransportError):
        # Raised while reading an SSE stream the SDK already handed over (mid-stream).
        return StreamInterrupted(f"the model's stream was cut: {type(exc).__name__}: {exc}")
    if isinstance(exc, anthropic.AnthropicError):
        return ModelError(f"the model call failed: {type(exc).__name__}: {exc}")
    if isinstance(exc, TimeoutError):
        return DeadlineExceeded("the model call did not finish within the deadline")
    raise exc


def _classify_status_error(exc: anthropic.APIStatusError) -> ModelError:
    """An HTTP error answer, or an ``event: error`` inside a 200 stream."""
    status = exc.status_code
    api_type = exc.type or ""
    message = exc.api_message or ""
    details: dict[str, Any] = {"status": status}
    if api_type:
        details["api_error_type"] = api_type
    if exc.request_id:
        details["request_id"] = exc.request_id
    text = f"the model API answered HTTP {status}" + (f" {api_type}" if api_type else "")
    text += f": {message}" if message else ""
    if status < 400:  # an `event: error` inside a 200 stream
        if api_type in RETRYABLE_STREAM_ERROR_TYPES:
            return StreamInterrupted(
                f"the model's stream failed: {api_type} {message}".strip(), **details
            )
        return ModelError(text, **details)
    if status in SDK_RETRY_STATUSES or status >= 500:
        return ModelUnavailable(text, **details)
    return ModelError(text, **details)
