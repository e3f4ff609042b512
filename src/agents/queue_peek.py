"""Peek a queue without losing a message: receive with a short hold, release at the end.

Shared by the invocation DLQ tooling (:mod:`agents.redrive`) and the webhook DLQ tooling
(:mod:`agents.webhooks.dead_letters`). A peeked message is hidden for ``hold_s`` seconds
and never deleted here; :func:`release_messages` makes it visible again at once (if the
process dies first, SQS does it when the hold ends).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

__all__ = ["peek_messages", "release_messages"]


def peek_messages(sqs: SQSClient, queue_url: str, *, limit: int, hold_s: int) -> list[Any]:
    """Every message currently visible on ``queue_url`` (up to ``limit``, by message id)."""
    seen: dict[str, Any] = {}
    empty = 0
    for _ in range(limit // 10 + 10):
        if len(seen) >= limit:
            break
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, limit - len(seen)),
            VisibilityTimeout=hold_s,
            WaitTimeSeconds=0 if empty == 0 else 1,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            empty += 1
            if empty >= 2:
                break
            continue
        empty = 0
        for message in messages:
            seen[message["MessageId"]] = message
    return list(seen.values())


def release_messages(sqs: SQSClient, queue_url: str, receipt_handles: Iterable[str]) -> None:
    """Make peeked messages visible again now."""
    handles = list(receipt_handles)
    for start in range(0, len(handles), 10):
        chunk = handles[start : start + 10]
        sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(n), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for n, handle in enumerate(chunk)
            ],
        )
