"""The one call a transition makes: put its :class:`WebhookEvent` on the webhook queue.

Called by the store after a terminal (or WAITING) transition is written, whatever the
function (API inline runs and cancels, the worker, the collector). It never fails the
transition: the SDK retries the send, and a send that still fails is logged and counted
(``WebhookEventsNotQueued``) rather than raised (decision 16.53).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents.observability import logger
from agents.webhooks.messages import WebhookEvent, event_type_for, webhook_id

if TYPE_CHECKING:
    from agents.records import InvocationRecord

__all__ = ["event_for", "notify_transition", "send_event"]


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


def notify_transition(record: InvocationRecord, queue_url: str) -> None:
    """Enqueue the record's event when webhooks are configured; never raises."""
    if not queue_url:
        return
    event = event_for(record)
    if event is None:
        return
    try:
        send_event(event, queue_url)
    except Exception as exc:  # noqa: BLE001 - the transition is written; never undo it
        from aws_lambda_powertools.metrics import MetricUnit

        from agents.observability import metrics

        logger.error(
            "webhook event not queued",
            extra={"invocation_id": record.id, "event": event.type, "error": type(exc).__name__},
        )
        metrics.add_metric(name="WebhookEventsNotQueued", unit=MetricUnit.Count, value=1)
