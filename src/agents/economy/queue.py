"""The economy queue: the worker hands economy items to the submitter through it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agents.awserrors import translate_aws_errors
from agents.errors import ConfigurationError, ServiceUnavailable

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from agents.config import Settings

__all__ = ["EconomyQueue", "QueuedItem"]

#: Seconds a received hand-off stays invisible while the submitter works on it.
RECEIVE_VISIBILITY_S = 300


@dataclass(frozen=True)
class QueuedItem:
    invocation_id: str | None
    receipt_handle: str


class EconomyQueue:
    """``ECONOMY_QUEUE_URL``: hand-offs of ``{"invocation_id": ...}`` bodies."""

    def __init__(self, settings: Settings, sqs: SQSClient | None = None) -> None:
        if not settings.economy_queue_url:
            raise ConfigurationError("the economy queue is not configured (ECONOMY_QUEUE_URL)")
        self.url = settings.economy_queue_url
        self._sqs = sqs

    @property
    def sqs(self) -> SQSClient:
        if self._sqs is not None:
            return self._sqs
        from agents import aws

        return aws.client("sqs")

    def hand_off(self, invocation_ids: list[str]) -> None:
        """Put each id on the economy queue (``ServiceUnavailable`` when one is not sent)."""
        for start in range(0, len(invocation_ids), 10):
            chunk = invocation_ids[start : start + 10]
            entries: list[dict[str, Any]] = [
                {"Id": str(i), "MessageBody": json.dumps({"invocation_id": value})}
                for i, value in enumerate(chunk)
            ]
            with translate_aws_errors("sqs:SendMessageBatch"):
                response = self.sqs.send_message_batch(QueueUrl=self.url, Entries=entries)  # type: ignore[arg-type]
            if response.get("Failed"):
                raise ServiceUnavailable(
                    f"{len(response['Failed'])} economy hand-offs were not queued"
                )

    def receive(self, limit: int) -> list[QueuedItem]:
        """Up to ``limit`` waiting hand-offs (each invisible for a while)."""
        found: list[QueuedItem] = []
        while len(found) < limit:
            with translate_aws_errors("sqs:ReceiveMessage"):
                response = self.sqs.receive_message(
                    QueueUrl=self.url,
                    MaxNumberOfMessages=min(10, limit - len(found)),
                    VisibilityTimeout=RECEIVE_VISIBILITY_S,
                    WaitTimeSeconds=0,
                )
            messages = response.get("Messages", [])
            if not messages:
                break
            for message in messages:
                found.append(
                    QueuedItem(_invocation_id(message.get("Body", "")), message["ReceiptHandle"])
                )
        return found

    def delete(self, items: list[QueuedItem]) -> None:
        for start in range(0, len(items), 10):
            chunk = items[start : start + 10]
            with translate_aws_errors("sqs:DeleteMessageBatch"):
                self.sqs.delete_message_batch(
                    QueueUrl=self.url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": item.receipt_handle}
                        for i, item in enumerate(chunk)
                    ],
                )


def _invocation_id(body: str) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    value = data.get("invocation_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None
