"""One model call: stream a message (:func:`stream_message`) on a daemon thread that
the caller stops waiting for shortly after the budget (:func:`run_bounded`)."""

from __future__ import annotations

import concurrent.futures
import contextvars
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from agents.errors import ModelRefusal
from agents.runner.classification import CallCancelled, IncompleteStream
from agents.runner.time_budget import AttemptGuard
from agents.types import Usage

if TYPE_CHECKING:
    import anthropic

__all__ = ["HARD_STOP_GRACE_S", "CallOutcome", "run_bounded", "stream_message"]

#: The hard wall-clock backstop waits this long past the budget for the call to end itself.
HARD_STOP_GRACE_S = 0.25

T = TypeVar("T")


@dataclass
class CallOutcome:
    """What one streamed message produced."""

    text: str
    stop_reason: str | None
    usage: Usage
    refusal: str | None
    refusal_category: str | None
    #: From sending the request (SDK retries included) to the first text delta.
    first_token_ms: float | None
    #: The answer's content blocks as JSON (what a tool loop sends back as the assistant turn).
    content: list[dict[str, Any]] = field(default_factory=list)

    def refusal_error(self) -> ModelRefusal:
        """The error a refusal is reported as (carrying the reason and category)."""
        reason = self.refusal or "no reason given"
        extra: dict[str, Any] = {"reason": reason[:500], "stop_reason": "refusal"}
        if self.refusal_category:
            extra["category"] = self.refusal_category
        return ModelRefusal(f"the model refused the request: {reason[:500]}", **extra)


def stream_message(
    client: anthropic.Anthropic, params: dict[str, Any], guard: AttemptGuard
) -> CallOutcome:
    """Stream one message; raises :class:`IncompleteStream` when ``message_stop`` never came.

    ``params["betas"]`` (a tool plan's beta headers) sends it through ``client.beta``."""
    started = time.monotonic()
    first_token_ms: float | None = None
    stopped = False
    manager: Any = (
        client.beta.messages.stream(**params)
        if params.get("betas")
        else client.messages.stream(**params)
    )
    with manager as stream:
        for event in stream:
            if guard.cancelled.is_set():
                raise CallCancelled("the caller stopped waiting")
            if event.type == "text" and first_token_ms is None:
                first_token_ms = round((time.monotonic() - started) * 1000, 1)
            elif event.type == "message_stop":
                stopped = True
        if not stopped:
            raise IncompleteStream("no message_stop event")
        message = stream.get_final_message()
    text = "".join(block.text for block in message.content if block.type == "text")
    usage = Usage.from_api(message.usage, server_tool_use=_server_tool_use(message.usage))
    refusal: str | None = None
    category: str | None = None
    if message.stop_reason == "refusal":
        details = message.stop_details
        refusal = (details.explanation if details is not None else None) or "refused"
        category = details.category if details is not None else None
    return CallOutcome(
        text=text,
        stop_reason=message.stop_reason,
        usage=usage,
        refusal=refusal,
        refusal_category=category,
        first_token_ms=first_token_ms,
        content=[block.model_dump(mode="json", exclude_none=True) for block in message.content],
    )


def _server_tool_use(raw: Any) -> dict[str, int]:
    """``usage.server_tool_use`` as ``{kind: count}`` (kinds with a count above 0)."""
    found = getattr(raw, "server_tool_use", None)
    if found is None:
        return {}
    data = found.model_dump() if hasattr(found, "model_dump") else dict(found)
    return {str(k): int(v) for k, v in data.items() if isinstance(v, int) and v > 0}


def run_bounded(work: Callable[[], T], guard: AttemptGuard) -> T:
    """Run ``work`` on a daemon thread; stop waiting ``HARD_STOP_GRACE_S`` after the budget.

    The guard bounds every attempt and retry wait, so ``work`` normally ends on
    its own; this is the backstop for a stream that trickles past the budget.
    """
    future: concurrent.futures.Future[T] = concurrent.futures.Future()
    context = contextvars.copy_context()

    def target() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            result = context.run(work)
        except BaseException as exc:  # noqa: BLE001 (handed to the waiting caller)
            future.set_exception(exc)
        else:
            future.set_result(result)

    thread = threading.Thread(target=target, name="model-call", daemon=True)
    thread.start()
    done, _ = concurrent.futures.wait(
        [future], timeout=max(guard.left_s(), 0.0) + HARD_STOP_GRACE_S
    )
    if not done:
        guard.cancelled.set()
        raise CallCancelled("the model call outlived its time budget")
    return future.result()
