"""What travels on the webhook queue: events (to fan out) and deliveries (one target each).

An event is what a transition produced; a delivery is one event for one URL, carrying the
exact payload bytes so that every attempt sends the same body under the same
``webhook-id`` (only ``webhook-timestamp`` and the signature change per attempt).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.types import InvocationStatus

__all__ = [
    "EVENT_TYPES",
    "MAX_URL_CHARS",
    "TERMINAL_EVENT_TYPES",
    "EventType",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookTarget",
    "event_type_for",
    "webhook_id",
]

EventType = Literal[
    "invocation.succeeded",
    "invocation.failed",
    "invocation.waiting",
    "invocation.cancelled",
    "batch.completed",
]
EVENT_TYPES: Final[tuple[str, ...]] = (
    "invocation.succeeded",
    "invocation.failed",
    "invocation.waiting",
    "invocation.cancelled",
    "batch.completed",
)
#: The events that end an invocation (a batch is complete when each item sent one).
TERMINAL_EVENT_TYPES: Final = frozenset(
    {"invocation.succeeded", "invocation.failed", "invocation.cancelled"}
)
#: Longest callback URL accepted (request field and subscriptions).
MAX_URL_CHARS: Final = 2048

_STATUS_EVENTS: Final[dict[str, EventType]] = {
    InvocationStatus.SUCCEEDED.value: "invocation.succeeded",
    InvocationStatus.FAILED.value: "invocation.failed",
    InvocationStatus.CANCELLED.value: "invocation.cancelled",
    "WAITING": "invocation.waiting",
}


def event_type_for(status: str) -> EventType | None:
    """The event a status change to ``status`` announces (None: it announces none)."""
    return _STATUS_EVENTS.get(status)


def webhook_id(*parts: str) -> str:
    """A deterministic ``webhook-id``: the same event always gets the same id."""
    return "msg_" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


class WebhookTarget(BaseModel):
    """A request's own callback: ``"webhook": {"url": "https://…"}`` (invocations, batches)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(
        min_length=8,
        max_length=MAX_URL_CHARS,
        description="Called when the invocation ends (or waits), or when the batch completes; "
        '`https` only (docs/api.md, "Webhooks").',
    )


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class WebhookEvent(_Message):
    """A transition to announce (put on the queue by the notifier, fanned out once)."""

    kind: Literal["event"] = "event"
    id: str
    type: EventType
    tenant: str
    occurred_at: str
    status: str
    invocation_id: str | None = None
    batch_id: str | None = None
    #: The request's own callback (``webhook.url`` of the invocation or batch).
    url: str | None = None
    #: Extra members of the payload's ``data`` (small: counts of a batch).
    data: dict[str, Any] = Field(default_factory=dict)

    def payload(self, link_base: str) -> str:
        """The JSON body receivers get: the event and a link, never the output."""
        subject = (
            f"/batches/{self.batch_id}"
            if self.type == "batch.completed"
            else f"/invocations/{self.invocation_id}"
        )
        data: dict[str, Any] = {}
        if self.invocation_id and self.type != "batch.completed":
            data["invocation_id"] = self.invocation_id
        if self.batch_id:
            data["batch_id"] = self.batch_id
        data.update({"status": self.status, "tenant": self.tenant, **self.data})
        data["link"] = link_base.rstrip("/") + subject
        body = {"type": self.type, "timestamp": self.occurred_at, "data": data}
        return json.dumps(body, separators=(",", ":"), sort_keys=False)


class WebhookDelivery(_Message):
    """One event for one URL, attempt ``attempt`` not before ``not_before`` (epoch s)."""

    kind: Literal["delivery"] = "delivery"
    id: str
    type: EventType
    tenant: str
    url: str
    #: The tenant subscription it is for (None: the request's own URL).
    subscription_id: str | None = None
    body: str
    attempt: int = Field(default=1, ge=1)
    not_before: float = 0.0
    first_attempt_at: float | None = None
    last_error: str | None = None
