"""Peek a queue without losing a message: receive with a short hold, release at the end.

Shared by the invocation DLQ tooling (:mod:`agents.redrive`) and the webhook DLQ tooling
(:mod:`agents.webhooks.dead_letters`). A peeked message is hidden for ``hold_s`` seconds
and never deleted here; :func:`release_messages` makes it visible again at once (if the
process dies first, SQS does it when the hold ends). :func:`receive_until_empty` is the
loop that reads a queue until it has nothing more (also the tests' queue pumps).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

__all__ = ["peek_messages", "receive_until_empty", "release_messages"]

M = TypeVar("M")


def receive_until_empty(
    receive: Callable[[bool], Sequence[M]], *, rounds: int, empty_rounds: int = 2
) -> Iterator[M]:
    """Each message ``receive`` returns, over at most ``rounds`` receives, until
    ``empty_rounds`` receives in a row return none. ``receive(after_empty)`` is one
    ReceiveMessage; ``after_empty`` says the previous one found nothing (a caller may
    long-poll then)."""
    empty = 0
    for _ in range(rounds):
        messages = receive(empty > 0)
        if not messages:
            empty += 1
            if empty >= empty_rounds:
                return
            continue
        empty = 0
        yield from messages


def peek_messages(sqs: SQSClient, queue_url: str, *, limit: int, hold_s: int) -> list[Any]:
    """Every message currently visible on ``queue_url`` (up to ``limit``, by message id)."""
    seen: dict[str, Any] = {}
    if limit <= 0:
        return []

    def receive(after_empty: bool) -> list[Any]:
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, limit - len(seen)),
            VisibilityTimeout=hold_s,
            WaitTimeSeconds=1 if after_empty else 0,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    for message in receive_until_empty(receive, rounds=limit // 10 + 10):
        seen[message["MessageId"]] = message
        if len(seen) >= limit:
            break
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
