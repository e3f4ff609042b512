"""Webhook events whose send failed, held on their record until the sweeper sends them.

A transition is written first and announced after (decision 16.53). When the announcement's
SQS send fails (after the SDK's retries), :func:`hold_unsent_event` appends the event to the
record's ``webhook_unsent`` list and puts the record in the sparse ``SweepIndex``, due at
once; the sweeper's :func:`release_held_events` sends each held event (same body, same
``webhook-id``) and takes the record out again (decision 16.65). A crash between the
transition and its send still loses the event: holding it before the send would cost every
transition one more write.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from agents.awserrors import translate_aws_errors
from agents.observability import logger
from agents.records import utc_now
from agents.store.conditions import SWEEP_ATTRIBUTES, SWEEP_SHARD, is_invocation
from agents.store.expressions import ExpressionBuilder
from agents.types import InvocationStatus

if TYPE_CHECKING:
    from agents.records import InvocationRecord
    from agents.store.table import StoreTable
    from agents.webhooks.messages import WebhookEvent

__all__ = ["MAX_HELD_EVENTS", "hold_unsent_event", "release_held_events"]

#: Held events per record at most (a record announces one event per terminal or WAITING
#: transition; a redriven run a few more). A hold past it is refused and logged.
MAX_HELD_EVENTS = 16


def hold_unsent_event(
    table: StoreTable, record: InvocationRecord, event: WebhookEvent, *, now: float | None = None
) -> bool:
    """Hold ``event`` on ``record`` for the sweeper: one conditional write, refused when
    the record has left the status the event announces. Never raises; False: not held
    (logged and counted as ``WebhookEventsNotQueued``)."""
    now = utc_now() if now is None else now
    expr = ExpressionBuilder()
    held = expr.attribute("webhook_unsent")
    expr.set_clause(
        f"{held} = list_append(if_not_exists({held}, {expr.value('none', [])}), "
        f"{expr.value('event', [event.model_dump_json()])})"
    )
    expr.set("sweep_shard", SWEEP_SHARD).set("sweep_at", now)
    condition = (
        f"{is_invocation(expr)} AND {expr.attribute('status')} = "
        f"{expr.value('status', record.status)} AND (attribute_not_exists({held}) OR "
        f"size({held}) < {expr.value('most', MAX_HELD_EVENTS)})"
    )
    try:
        written = table._update(record.id, expr, condition) is not None
    except Exception as exc:  # noqa: BLE001 - the transition is written; never undo it
        failure = {"invocation_id": record.id, "error": type(exc).__name__}
        logger.error("webhook event not held", extra=failure)
        written = False
    if written:
        logger.warning(
            "webhook event held for the sweeper",
            extra={"invocation_id": record.id, "event": event.type},
        )
    return written


def release_held_events(
    table: StoreTable,
    record: InvocationRecord,
    *,
    approval_timeout_seconds: float,
) -> int:
    """Send each event held on ``record`` (as read by the sweeper), then drop them from it:
    a terminal record leaves the ``SweepIndex``; a WAITING one is due again at its approval
    timeout. Raises ``ServiceUnavailable`` when a send fails (the record stays due, the next
    sweep sends again, with the same ``webhook-id``). The number of events sent."""
    from agents.webhooks.messages import WebhookEvent
    from agents.webhooks.notifier import send_event

    held = record.webhook_unsent or []
    for raw in held:
        with translate_aws_errors("sqs:SendMessage"):
            send_event(WebhookEvent.model_validate_json(raw), table.webhook_queue_url)
    expr = ExpressionBuilder().remove("webhook_unsent")
    attribute = expr.attribute("webhook_unsent")
    condition = f"{is_invocation(expr)} AND size({attribute}) = {expr.value('held', len(held))}"
    status = expr.attribute("status")
    if record.status.terminal:
        expr.remove(*SWEEP_ATTRIBUTES)
        condition += f" AND {status} = {expr.value('status', record.status)}"
    elif record.status is InvocationStatus.WAITING and record.waiting_since:
        since = datetime.fromisoformat(record.waiting_since).timestamp()
        expr.set("sweep_at", since + approval_timeout_seconds)
        condition += (
            f" AND {status} = {expr.value('status', record.status)} AND "
            f"{expr.attribute('waiting_since')} = {expr.value('since', record.waiting_since)}"
        )
    # Otherwise the record moved on (a decision, a redrive) and its own sweep_at stands.
    if table._update(record.id, expr, condition) is None:
        logger.info("held webhook events changed under the sweeper", extra={"id": record.id})
    return len(held)
