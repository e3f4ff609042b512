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

from agents import aws
from agents.queue_peek import receive_until_empty
from local.aws_resources import create_table
from local.moto_patches import make_dynamodb_linearizable, restore_dynamodb
from tests.plugins.aws import settings_env

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

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
    queue_url, dlq_url = plain_queues("agw-invocations", "agw-dlq")
    env = {
        "INVOCATIONS_TABLE": table,
        "PAYLOAD_BUCKET": bucket,
        "PAYLOAD_PREFIX": "payloads/",
        "DLQ_URL": dlq_url,
        "INVOCATION_QUEUE_URL": queue_url,
    }
    with settings_env(monkeypatch, env):
        yield InvocationStack(table, bucket, "payloads/", dlq_url, queue_url)


def plain_queues(*names: str) -> list[str]:
    """The URLs of queues with these names, created without a redrive policy or any other
    attribute (the template's would let SQS move messages the tests expect the code to)."""
    sqs = aws.client("sqs")
    return [sqs.create_queue(QueueName=name)["QueueUrl"] for name in names]


def drain_queue(queue_url: str, *, rounds: int = 5) -> list[str]:
    """Receive (and delete) every message body currently on a queue (bounded: it stops
    after ``rounds`` empty receives in a row)."""
    return [m["Body"] for m in drained_messages(queue_url, rounds=rounds * 10, empty_rounds=rounds)]


def drained_messages(
    queue_url: str, *, rounds: int, empty_rounds: int = 2
) -> Iterator[MessageTypeDef]:
    """Each message on a queue, as the event source mapping reads it: deleted once the
    caller is done with it (not when the caller raises); at most ``rounds`` receives,
    until ``empty_rounds`` in a row find nothing."""
    sqs = aws.client("sqs")

    def receive(_: bool) -> list[MessageTypeDef]:
        response = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        return response.get("Messages", [])

    for message in receive_until_empty(receive, rounds=rounds, empty_rounds=empty_rounds):
        yield message
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
