"""Dead-letter queue messages: every FAILED invocation, and poison queue messages.

Two kinds share one schema (``kind``):

* ``invocation``: an invocation that ended FAILED. The record keeps its input, so
  ``invocation_id`` is all a redrive needs (``store.requeue_failed`` then a
  ``{"invocation_id": ...}`` message on the invocation queue).
* ``poison``: a queue message that never became a record (malformed JSON, a raw job
  that fails validation). It carries the raw body (truncated to fit SQS limits).

The store's ``fail`` / ``ensure_dlq_sent`` are the only senders of ``invocation``
messages; that is what makes "exactly once per FAILED invocation" hold
(see docs/architecture.md, "DLQ exactly once").
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from agents.records import iso_ms, utc_now

#: Raw bodies of poison messages are cut to this many characters (SQS message limit).
MAX_RAW_BODY_CHARS = 200_000
SCHEMA_VERSION = 1


class DlqMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    schema_version: int = SCHEMA_VERSION
    kind: Literal["invocation", "poison"] = "invocation"
    invocation_id: str | None = None
    tenant: str | None = None
    agent: str | None = None
    batch_id: str | None = None
    error_type: str
    message: str
    retryable: bool
    attempts: int = 0
    failed_at: str
    #: poison only: the SQS message id and its body as received.
    source_message_id: str | None = None
    raw_body: str | None = None
    raw_body_truncated: bool = False


def send_to_dlq(message: DlqMessage, *, queue_url: str | None = None) -> str:
    """Send one message to the DLQ; returns the SQS message id.

    Raises :class:`agents.errors.ServiceUnavailable` on throttling/5xx/connection errors.
    """
    from agents import aws
    from agents.awserrors import translate_aws_errors
    from agents.config import get_settings

    url = queue_url or get_settings().dlq_url
    if not url:
        from agents.errors import ConfigurationError

        raise ConfigurationError("the dead-letter queue is not configured (DLQ_URL)")
    attributes: dict[str, str] = {"kind": message.kind, "error_type": message.error_type}
    if message.invocation_id:
        attributes["invocation_id"] = message.invocation_id
    params: dict[str, object] = {
        "QueueUrl": url,
        "MessageBody": message.model_dump_json(exclude_none=True),
        "MessageAttributes": {
            key: {"DataType": "String", "StringValue": value} for key, value in attributes.items()
        },
    }
    if url.endswith(".fifo"):
        # A FIFO DLQ also deduplicates for us (5 minute window).
        dedup = message.invocation_id or message.source_message_id or message.failed_at
        params["MessageGroupId"] = message.tenant or "poison"
        params["MessageDeduplicationId"] = f"{dedup}:{message.failed_at}"[:128]
    with translate_aws_errors("sqs:SendMessage"):
        response = aws.client("sqs").send_message(**params)  # type: ignore[arg-type]
    return response["MessageId"]


def send_poison(
    raw_body: str,
    reason: str,
    *,
    message_id: str,
    error_type: str = "malformed-message",
    queue_url: str | None = None,
) -> str:
    """Send a queue message that never became an invocation record to the DLQ."""
    truncated = len(raw_body) > MAX_RAW_BODY_CHARS
    message = DlqMessage(
        kind="poison",
        error_type=error_type,
        message=reason,
        retryable=False,
        failed_at=iso_ms(utc_now()),
        source_message_id=message_id,
        raw_body=raw_body[:MAX_RAW_BODY_CHARS],
        raw_body_truncated=truncated,
    )
    return send_to_dlq(message, queue_url=queue_url)
