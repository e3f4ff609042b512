"""Helpers of the resumable-run tests: a scripted 6-turn tool run of ``python-fixer`` over two
files, and a queue driver that runs each message through the worker core as Lambda would
(one segment per message, a fresh deadline each), in-process or in a child process."""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING, Any

from tests.scripted_model import message, text, tool_use

if TYPE_CHECKING:
    from agents.store import InvocationStore
    from agents.worker import MessageResult

AGENT = "python-fixer"
FILES = {
    "a.py": "def add(a, b):\n    return a - b\n",
    "b.py": "def sub(a, b):\n    return a + b\n",
}
FINAL = "## Summary\nFixed both.\n## Files Changed\n- a.py\n- b.py\n## Verification\nRead back."


def six_turns() -> list[dict[str, Any]]:
    """Read a.py, Edit a.py, Read b.py, Edit b.py, Glob, final answer."""
    return [
        message(tool_use("toolu_1", "Read", file_path="a.py"), stop_reason="tool_use"),
        message(
            tool_use("toolu_2", "Edit", file_path="a.py", old_string="a - b", new_string="a + b"),
            stop_reason="tool_use",
        ),
        message(tool_use("toolu_3", "Read", file_path="b.py"), stop_reason="tool_use"),
        message(
            tool_use("toolu_4", "Edit", file_path="b.py", old_string="a + b", new_string="a - b"),
            stop_reason="tool_use",
        ),
        message(tool_use("toolu_5", "Glob", pattern="*.py"), stop_reason="tool_use"),
        message(text(FINAL)),
    ]


def queue_run(store: InvocationStore, tenant: str = "tenant-a", **fields: Any) -> str:
    """A QUEUED async run of the fixer over :data:`FILES`; its id."""
    from agents.records import InvocationMode, InvocationRecord

    record = InvocationRecord.new(
        tenant=tenant,
        agent=AGENT,
        input="Fix add and sub.",
        mode=InvocationMode.ASYNC,
        files=dict(FILES),
        **fields,
    )
    return store.create(record).id


def send(queue_url: str, body: dict[str, Any]) -> None:
    from agents import aws

    aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=json.dumps(body))


def drive_queue(
    queue_url: str,
    invocation_id: str,
    *,
    segment_ms: float,
    timeout_s: float = 30.0,
    visibility_s: int = 1,
    min_start_s: float | None = 0.5,
) -> list[MessageResult]:
    """Receive and process messages (each with ``segment_ms`` to live) until the invocation
    is terminal or WAITING; a message the worker asks to retry stays for a redelivery."""
    from agents import aws
    from agents.runner import Deadline
    from agents.store import get_store
    from agents.types import InvocationStatus
    from agents.worker import QueueMessage, process_message

    sqs, store = aws.client("sqs"), get_store()
    results: list[MessageResult] = []
    end = time.monotonic() + timeout_s
    owner = f"worker-{uuid.uuid4().hex[:8]}"
    while time.monotonic() < end:
        status = store.get(invocation_id, hydrate=False).status
        if status.terminal or status is InvocationStatus.WAITING:
            return results
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=1,
            WaitTimeSeconds=1,
            VisibilityTimeout=visibility_s,
            AttributeNames=["ApproximateReceiveCount"],
        )
        for received in response.get("Messages", []):
            count = int(received.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
            result = process_message(
                QueueMessage(received["MessageId"], received["Body"], receive_count=count),
                deadline=Deadline.after_ms(segment_ms),
                owner=owner,
                min_start_seconds=min_start_s,
            )
            results.append(result)
            if not result.retry:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=received["ReceiptHandle"])
    raise AssertionError(f"invocation {invocation_id} did not finish in {timeout_s} s")


def turn_numbers(requests: list[dict[str, Any]]) -> list[int]:
    """The turn each logged model request was for (turn n carries 2n - 1 messages)."""
    return sorted((len(body["messages"]) + 1) // 2 for body in requests)
