"""The webhook queue and its DLQ: send deliveries (with a delay), dead-letter them.

SQS ``DelaySeconds`` is at most 900 s: a delivery due later carries its due time
(``not_before``) and is re-enqueued with the remaining delay each time it comes back early.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from agents.awserrors import translate_aws_errors
from agents.errors import ServiceUnavailable
from agents.webhooks.messages import WebhookDelivery, WebhookEvent

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

__all__ = ["MAX_DELAY_S", "WebhookQueues"]

#: SQS's largest ``DelaySeconds``.
MAX_DELAY_S: Final = 900


class WebhookQueues:
    """``queue_url`` (events and deliveries) and ``dlq_url`` (deliveries that gave up)."""

    def __init__(self, sqs: SQSClient, *, queue_url: str, dlq_url: str) -> None:
        if not queue_url:
            from agents.config import ConfigError

            raise ConfigError("the webhook queue is not configured (WEBHOOK_QUEUE_URL)")
        self.sqs = sqs
        self.queue_url = queue_url
        self.dlq_url = dlq_url

    def enqueue(self, delivery: WebhookDelivery, *, delay_s: float = 0.0) -> None:
        """Send ``delivery``, delayed by ``delay_s`` (capped at :data:`MAX_DELAY_S`)."""
        delay = max(0, min(MAX_DELAY_S, math.ceil(delay_s)))
        with translate_aws_errors("sqs:SendMessage"):
            self.sqs.send_message(
                QueueUrl=self.queue_url,
                MessageBody=delivery.model_dump_json(),
                DelaySeconds=delay,
            )

    def enqueue_all(self, messages: Sequence[WebhookDelivery | WebhookEvent]) -> None:
        """Send every message (batches of ten); ``ServiceUnavailable`` if any was refused."""
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            with translate_aws_errors("sqs:SendMessageBatch"):
                answer = self.sqs.send_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(n), "MessageBody": m.model_dump_json()}
                        for n, m in enumerate(chunk)
                    ],
                )
            if answer.get("Failed"):
                raise ServiceUnavailable(
                    f"{len(answer['Failed'])} webhook messages could not be queued"
                )

    def dead_letter(self, body: str, *, reason: str) -> None:
        """Put ``body`` on the webhook DLQ (``reason`` as a message attribute)."""
        if not self.dlq_url:
            from agents.config import ConfigError

            raise ConfigError("the webhook DLQ is not configured (WEBHOOK_DLQ_URL)")
        with translate_aws_errors("sqs:SendMessage"):
            self.sqs.send_message(
                QueueUrl=self.dlq_url,
                MessageBody=body,
                MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:256]}},
            )
