"""The invocation store's AWS resources in moto: table (from template.yaml), bucket, DLQ.

``invocation_tables`` creates them in the clean per-test account (``aws_endpoint``),
points the settings at them (env vars, as ``template.yaml`` does) and resets the
store singleton. The table is ``template.yaml``'s ``InvocationsTable`` (keys, GSIs, TTL),
created by :func:`local.aws_resources.create_table`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from agents import aws, container
from local.aws_resources import create_table
from local.moto_patches import make_dynamodb_linearizable, restore_dynamodb

if TYPE_CHECKING:
    from local.template import TableSpec


@pytest.fixture(scope="session", autouse=True)
def linearizable_dynamodb() -> Iterator[None]:
    """moto's conditional writes made atomic, as DynamoDB's are (see local.moto_patches)."""
    make_dynamodb_linearizable()
    try:
        yield
    finally:
        restore_dynamodb()


@dataclass(frozen=True)
class InvocationStack:
    table: str
    bucket: str
    payload_prefix: str
    dlq_url: str
    queue_url: str


@pytest.fixture
def invocation_tables(
    aws_endpoint: str, template_tables: dict[str, TableSpec], monkeypatch: pytest.MonkeyPatch
) -> Iterator[InvocationStack]:

    table, bucket = "agw-invocations", "agw-test-bucket"
    create_table(aws.client("dynamodb"), template_tables["InvocationsTable"], table_name=table)
    s3 = aws.client("s3")
    if not any(b["Name"] == bucket for b in s3.list_buckets().get("Buckets", [])):
        s3.create_bucket(Bucket=bucket)
    sqs = aws.client("sqs")
    dlq_url = sqs.create_queue(QueueName="agw-dlq")["QueueUrl"]
    queue_url = sqs.create_queue(QueueName="agw-invocations")["QueueUrl"]
    env = {
        "INVOCATIONS_TABLE": table,
        "PAYLOAD_BUCKET": bucket,
        "PAYLOAD_PREFIX": "payloads/",
        "DLQ_URL": dlq_url,
        "INVOCATION_QUEUE_URL": queue_url,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    container.reset()
    try:
        yield InvocationStack(table, bucket, "payloads/", dlq_url, queue_url)
    finally:
        container.reset()


def drain_queue(queue_url: str, *, rounds: int = 5) -> list[str]:
    """Receive (and delete) every message body currently on a queue (bounded)."""
    sqs = aws.client("sqs")
    bodies: list[str] = []
    empty = 0
    for _ in range(rounds * 10):
        response = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        messages = response.get("Messages", [])
        if not messages:
            empty += 1
            if empty >= rounds:
                break
            continue
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return bodies
