"""The SQS worker under test: its stack, a Lambda-like context, and an event source mapping.

``worker_stack`` = the invocation tables, queue and DLQ (``invocation_tables``), the shipped
definitions in a moto bucket (``agents_bucket``) and the fake Messages API (``fake_model``),
with every singleton reset. :func:`deliver` does what Lambda's SQS event source mapping does
for one batch, with real SQS semantics on moto: ``ReceiveMessage`` (with a visibility timeout
the test chooses, so a failed message comes back quickly), the SQS event, the handler, then
``DeleteMessage`` for every record not listed in ``batchItemFailures``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from agents import aws
from local.lambda_context import LambdaContext
from tests.plugins.aws import settings_env
from tests.plugins.model import FakeModel
from tests.plugins.stack import InvocationStack

if TYPE_CHECKING:
    from agents.records import InvocationRecord
    from agents.store import InvocationStore

AGENT = "code-reviewer-fast"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:agw-invocations"

Handler = Callable[[dict[str, Any], Any], Any]


@pytest.fixture
def worker_stack(
    invocation_tables: InvocationStack,
    agents_bucket: str,
    fake_model: FakeModel,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[InvocationStack]:
    """Everything the worker needs, on moto and the fake model (POWERTOOLS quiet)."""
    env = {"POWERTOOLS_METRICS_NAMESPACE": "AgentGatewayTest", "POWERTOOLS_TRACE_DISABLED": "true"}
    with settings_env(monkeypatch, env):
        yield invocation_tables


def lambda_context(timeout_s: float = 60.0) -> LambdaContext:
    return LambdaContext(
        function_name="agent-gateway-worker",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:agent-gateway-worker",
        memory_limit_in_mb=1024,
        timeout_seconds=timeout_s,
    )


def job(marker: str, **extra: Any) -> dict[str, Any]:
    """A raw job for the fast reviewer whose input carries ``marker`` (to count model calls)."""
    body: dict[str, Any] = {
        "agent": AGENT,
        "input": f"{marker}\ndef add(a, b):\n    return a - b\n",
        "context": {"language": "python"},
    }
    body.update(extra)
    return body


def marker() -> str:
    return f"MARK-{uuid.uuid4().hex[:12]}"


def queued(store: InvocationStore, text: str, **fields: Any) -> InvocationRecord:
    """An ASYNC invocation of the fast reviewer for tenant-a, stored QUEUED (input ``text``)."""
    from agents.records import InvocationMode, InvocationRecord

    fields.setdefault("context", {"language": "python"})
    return store.create(
        InvocationRecord.new(
            tenant="tenant-a", agent=AGENT, input=text, mode=InvocationMode.ASYNC, **fields
        )
    )


def sqs_record(
    body: str, *, message_id: str | None = None, receive_count: int = 1
) -> dict[str, Any]:
    """One record of a Lambda SQS event (as the event source mapping builds it)."""
    now = str(int(time.time() * 1000))
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": uuid.uuid4().hex,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": now,
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": now,
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "us-east-1",
    }


def event_for(messages: list[Any]) -> dict[str, Any]:
    """The SQS event for messages received with ``ReceiveMessage``."""
    return {
        "Records": [
            {
                **sqs_record(
                    m.get("Body", ""),
                    message_id=m["MessageId"],
                    receive_count=int(m["Attributes"]["ApproximateReceiveCount"]),
                ),
                "receiptHandle": m["ReceiptHandle"],
                "attributes": dict(m["Attributes"]),
            }
            for m in messages
        ]
    }


def send(queue_url: str, *bodies: Any) -> list[str]:
    """Send each body (dicts as JSON); returns the message ids."""
    sqs = aws.client("sqs")
    ids = []
    for body in bodies:
        text = body if isinstance(body, str) else json.dumps(body)
        ids.append(sqs.send_message(QueueUrl=queue_url, MessageBody=text)["MessageId"])
    return ids


def receive(
    queue_url: str, *, max_messages: int = 10, visibility_s: int = 30, wait_s: int = 0
) -> list[Any]:
    response = aws.client("sqs").receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=max_messages,
        VisibilityTimeout=visibility_s,
        WaitTimeSeconds=wait_s,
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    return list(response.get("Messages", []))


@dataclass
class Delivery:
    received: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    response: Any = None


def deliver(
    queue_url: str,
    handler: Handler,
    *,
    visibility_s: int = 30,
    max_messages: int = 10,
    timeout_s: float = 60.0,
) -> Delivery:
    """One batch through ``handler`` the way the event source mapping does it."""
    messages = receive(queue_url, max_messages=max_messages, visibility_s=visibility_s)
    if not messages:
        return Delivery()
    response = handler(event_for(messages), lambda_context(timeout_s))
    failed = {f["itemIdentifier"] for f in (response or {}).get("batchItemFailures", [])}
    sqs = aws.client("sqs")
    for message in messages:
        if message["MessageId"] not in failed:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return Delivery([m["MessageId"] for m in messages], sorted(failed), response)


def queue_depth(queue_url: str) -> int:
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def calls_with(fake: FakeModel, text: str) -> int:
    """Model requests whose body contains ``text`` (the fake keeps the last 50)."""
    return sum(1 for request in fake.requests(limit=50) if text in json.dumps(request["body"]))
