"""The one call a transition makes: put its :class:`WebhookEvent` on the webhook queue.

Called by the store after a terminal (or WAITING) transition is written, whatever the
function (API inline runs and cancels, the worker, the collector). An event is sent when
someone may want it: the record has its own ``webhook``, it is a batch item (the batch
counts its finished items), or the tenant has an active subscription (a per-container
answer, refreshed every :data:`SUBSCRIBED_TTL_S`; one Query of the ``by-tenant`` index).
It never fails the transition: the SDK retries the send, and the event of a send that
still fails is returned, for the store to hold it until the sweeper sends it (16.53, 16.65).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Final

from agents.container import per_container
from agents.observability import logger
from agents.webhooks.messages import WebhookEvent, event_type_for, webhook_id

if TYPE_CHECKING:
    from agents.records import InvocationRecord

__all__ = [
    "SUBSCRIBED_TTL_S",
    "count_lost_event",
    "event_for",
    "notify_transition",
    "send_event",
    "wanted",
]

#: Seconds a "does this tenant subscribe?" answer is reused in a container.
SUBSCRIBED_TTL_S: Final = 60.0


class _SubscribedTenants:
    """tenant -> (checked at, has an active subscription), with a TTL."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: dict[str, tuple[float, bool]] = {}

    def subscribed(self, tenant: str) -> bool:
        now = time.monotonic()
        with self._lock:
            cached = self._answers.get(tenant)
        if cached is not None and now - cached[0] < SUBSCRIBED_TTL_S:
            return cached[1]
        answer = _lookup(tenant)
        with self._lock:
            self._answers[tenant] = (now, answer)
        return answer


def _lookup(tenant: str) -> bool:
    from agents.tenants.table import tenants_table
    from agents.webhooks.subscriptions import list_subscriptions

    table = tenants_table()
    if table is None:
        # This function cannot read subscriptions (the sweeper and the collector have no
        # tenants table): send the event, the WebhookFunction's fan-out decides (16.61).
        return True
    try:
        return any(s.status == "active" for s in list_subscriptions(table, tenant))
    except Exception:  # noqa: BLE001 - unsure: send the event, the fan-out decides
        return True


@per_container
def _subscribed_tenants() -> _SubscribedTenants:
    """The container's answers (forgotten by ``agents.container.reset()``)."""
    return _SubscribedTenants()


def wanted(record: InvocationRecord) -> bool:
    """True when the record's event has, or may have, a receiver."""
    if record.webhook is not None or record.batch_id is not None:
        return True
    return _subscribed_tenants().subscribed(record.tenant)


def event_for(record: InvocationRecord) -> WebhookEvent | None:
    """The event ``record``'s current status announces (None: nothing to announce)."""
    event_type = event_type_for(record.status.value)
    if event_type is None:
        return None
    occurred = record.finished_at or record.updated_at
    return WebhookEvent(
        id=webhook_id(event_type, record.id, occurred),
        type=event_type,
        tenant=record.tenant,
        occurred_at=occurred,
        status=record.status.value,
        invocation_id=record.id,
        batch_id=record.batch_id,
        url=record.webhook.url if record.webhook else None,
    )


def send_event(event: WebhookEvent, queue_url: str) -> None:
    """Put ``event`` on the queue (raises what the SDK raises)."""
    from agents import aws

    aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=event.model_dump_json())


def notify_transition(record: InvocationRecord, queue_url: str) -> WebhookEvent | None:
    """Enqueue the record's event when webhooks are configured; never raises. The event
    when its send failed (the caller holds it for the sweeper), else None."""
    if not queue_url:
        return None
    event = event_for(record)
    if event is None or not wanted(record):
        return None
    try:
        send_event(event, queue_url)
    except Exception as exc:  # noqa: BLE001 - the transition is written; never undo it
        logger.error(
            "webhook event not queued",
            extra={"invocation_id": record.id, "event": event.type, "error": type(exc).__name__},
        )
        return event
    return None


def count_lost_event() -> None:
    """Count an event neither queued nor held (``WebhookEventsNotQueued``: it is lost)."""
    from aws_lambda_powertools.metrics import MetricUnit

    from agents.observability import metrics

    metrics.add_metric(name="WebhookEventsNotQueued", unit=MetricUnit.Count, value=1)
