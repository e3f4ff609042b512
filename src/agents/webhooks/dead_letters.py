"""The webhook DLQ, for the operator: list it, redrive deliveries, delete them.

``agw webhooks deliveries`` is the CLI. Listing peeks without losing anything
(:mod:`agents.queue_peek`, like ``agw dlq``). A redrive puts a delivery back on the
webhook queue as attempt 1 with the full retry schedule ahead, the same ``webhook-id``
and body; an event message (one that kept crashing the fan-out) goes back as it was.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from agents.errors import BadRequest
from agents.queue_peek import peek_messages, release_messages

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

__all__ = ["DeadDelivery", "WebhookDeadLetters"]

PEEK_HOLD_S = 30
MAX_PEEK = 1000


@dataclass
class DeadDelivery:
    """One message of the webhook DLQ, as ``agw webhooks deliveries`` shows it."""

    message_id: str
    receipt_handle: str
    kind: str  # delivery | event | malformed
    webhook_id: str | None
    type: str | None
    tenant: str | None
    url: str | None
    attempt: int | None
    reason: str | None
    sent_at_ms: int | None
    body: str

    def matches(self, wanted: str) -> bool:
        return wanted in {self.message_id, self.webhook_id}

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("receipt_handle")
        data.pop("body")
        return data


def _parse(message: Any) -> DeadDelivery:
    body = str(message.get("Body", ""))
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    fields = data if isinstance(data, dict) else {}
    kind = str(fields["kind"]) if fields.get("kind") in {"delivery", "event"} else "malformed"
    attributes = message.get("MessageAttributes") or {}
    reason = attributes.get("reason", {}).get("StringValue") or fields.get("last_error")
    sent = (message.get("Attributes") or {}).get("SentTimestamp")
    return DeadDelivery(
        message_id=message["MessageId"],
        receipt_handle=message["ReceiptHandle"],
        kind=kind,
        webhook_id=fields.get("id"),
        type=fields.get("type"),
        tenant=fields.get("tenant"),
        url=fields.get("url"),
        attempt=fields.get("attempt"),
        reason=reason,
        sent_at_ms=int(sent) if sent and str(sent).isdigit() else None,
        body=body,
    )


class WebhookDeadLetters:
    """The webhook DLQ of one deployment (or the local stack)."""

    def __init__(self, sqs: SQSClient, *, dlq_url: str, queue_url: str) -> None:
        if not dlq_url:
            raise BadRequest("no webhook DLQ URL (set WEBHOOK_DLQ_URL or use --stack)")
        self.sqs = sqs
        self.dlq_url = dlq_url
        self.queue_url = queue_url

    def _peek(self, limit: int) -> list[DeadDelivery]:
        messages = peek_messages(self.sqs, self.dlq_url, limit=limit, hold_s=PEEK_HOLD_S)
        found = [_parse(m) for m in messages]
        found.sort(key=lambda d: d.sent_at_ms or 0)
        return found

    def entries(self, *, limit: int = MAX_PEEK) -> list[DeadDelivery]:
        """Every dead delivery, left in the DLQ."""
        found = self._peek(limit)
        release_messages(self.sqs, self.dlq_url, (d.receipt_handle for d in found))
        return found

    def redrive(self, ids: Sequence[str] | None) -> list[tuple[str, str]]:
        """Put ``ids`` (webhook or message ids; None: every delivery and event) back on the
        webhook queue; ``(id, action)`` per message (``redriven``, ``left``, ``not-found``)."""
        if not self.queue_url:
            raise BadRequest("no webhook queue URL (set WEBHOOK_QUEUE_URL or use --stack)")
        found = self._peek(MAX_PEEK)
        done: set[str] = set()
        report: list[tuple[str, str]] = []
        try:
            for dead in found:
                wanted = dead.kind != "malformed" if ids is None else any(map(dead.matches, ids))
                if not wanted:
                    if ids is None:
                        report.append((dead.message_id, "left"))
                    continue
                self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=_fresh(dead))
                self.sqs.delete_message(QueueUrl=self.dlq_url, ReceiptHandle=dead.receipt_handle)
                done.add(dead.message_id)
                report.append((dead.webhook_id or dead.message_id, "redriven"))
            for asked in ids or ():
                if not any(d.matches(asked) for d in found):
                    report.append((asked, "not-found"))
        finally:
            self._release_rest(found, done)
        return report

    def delete(self, ids: Sequence[str]) -> list[tuple[str, str]]:
        """Delete dead messages by webhook or message id."""
        found = self._peek(MAX_PEEK)
        done: set[str] = set()
        report: list[tuple[str, str]] = []
        try:
            for wanted in ids:
                hits = [d for d in found if d.matches(wanted) and d.message_id not in done]
                for dead in hits:
                    self.sqs.delete_message(
                        QueueUrl=self.dlq_url, ReceiptHandle=dead.receipt_handle
                    )
                    done.add(dead.message_id)
                report.append((wanted, "deleted" if hits else "not-found"))
        finally:
            self._release_rest(found, done)
        return report

    def _release_rest(self, found: Sequence[DeadDelivery], done: set[str]) -> None:
        """Make the peeked messages not acted on visible again at once."""
        release_messages(
            self.sqs,
            self.dlq_url,
            (d.receipt_handle for d in found if d.message_id not in done),
        )


def _fresh(dead: DeadDelivery) -> str:
    """A delivery as attempt 1 again (same id and body); anything else unchanged."""
    if dead.kind != "delivery":
        return dead.body
    data = json.loads(dead.body)
    data.update({"attempt": 1, "not_before": 0.0, "first_attempt_at": None, "last_error": None})
    return json.dumps(data)
