"""The continuation message: the invocation's queue reference with ``continuation: true``.

Sent after a hand-off (the next segment), after decisions on a WAITING run, and by the
sweeper for a run whose continuation was lost or whose runner died after a checkpoint.
Same queue, same worker (``agents.worker_messages.InvocationRef``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from agents.awserrors import translate_aws_errors
from agents.errors import ConfigurationError

if TYPE_CHECKING:
    from agents.config import Settings

__all__ = ["continuation_body", "send_continuation"]


def continuation_body(invocation_id: str) -> str:
    return json.dumps({"invocation_id": invocation_id, "continuation": True})


def send_continuation(invocation_id: str, settings: Settings, *, sequence: str = "") -> None:
    """SendMessage of the continuation (``ServiceUnavailable`` when SQS fails: the record's
    ``sweep_at`` then has the sweeper send it again)."""
    from agents import aws

    url = settings.invocation_queue_url
    if not url:
        raise ConfigurationError("the invocation queue is not configured (INVOCATION_QUEUE_URL)")
    extra: dict[str, str] = {}
    if url.endswith(".fifo"):
        extra = {
            "MessageGroupId": invocation_id,
            "MessageDeduplicationId": f"{invocation_id}-{sequence}"[:128],
        }
    with translate_aws_errors("sqs:SendMessage"):
        aws.client("sqs").send_message(
            QueueUrl=url,
            MessageBody=continuation_body(invocation_id),
            **extra,  # type: ignore[arg-type]
        )
