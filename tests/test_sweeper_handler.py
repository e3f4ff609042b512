"""``handlers.sweeper.handler`` as EventBridge Scheduler invokes it, on moto: the table is
template.yaml's (with its sparse ``SweepIndex``), the records are put in the states the
contract gives them (docs/architecture.md, "Resumable runs"), and the sweep's effects are
read back from the table and the queues; its metrics from the EMF it prints."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from agents import aws
from agents.store import get_store
from handlers.sweeper import REPORT_METRICS, handler
from tests.plugins.stack import InvocationStack, drain_queue
from tests.plugins.worker import lambda_context, marker, queued

pytestmark = pytest.mark.integration


def put_due(stack: InvocationStack, invocation_id: str, **attributes: Any) -> None:
    """Give a record the index attributes and fields of a state the sweeper acts on."""
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    names = {f"#a{n}": name for n, name in enumerate(attributes)}
    values = {f":v{n}": serializer.serialize(value) for n, value in enumerate(attributes.values())}
    sets = ", ".join(f"#a{n} = :v{n}" for n in range(len(attributes)))
    aws.client("dynamodb").update_item(
        TableName=stack.table,
        Key={"id": {"S": invocation_id}},
        UpdateExpression=f"SET {sets}",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def emitted_metrics(output: str) -> dict[str, float]:
    """The metric values of the EMF documents Powertools printed."""
    found: dict[str, float] = {}
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                found[metric["Name"]] = float(value[0] if isinstance(value, list) else value)
    return found


def test_an_empty_index_is_a_sweep_of_nothing(
    invocation_tables: InvocationStack, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = handler({"source": "aws.scheduler"}, lambda_context())
    assert summary == dict.fromkeys(REPORT_METRICS, 0)
    metrics = emitted_metrics(capsys.readouterr().out)
    assert {metrics[name] for name in REPORT_METRICS.values()} == {0.0}


def test_an_abandoned_inline_run_fails_once_and_a_live_one_is_left_alone(
    invocation_tables: InvocationStack, capsys: pytest.CaptureFixture[str]
) -> None:
    store = get_store()
    dead, live = queued(store, marker()), queued(store, marker())
    now = time.time()
    for record, lease in ((dead, now - 5), (live, now + 600)):
        assert store.claim(record.id, "an-inline-api-run", lease_seconds=600) is not None
        put_due(
            invocation_tables,
            record.id,
            lease_expires_at=int(lease),
            sweep_shard="due",
            sweep_at=int(lease),
        )
    first = handler({"source": "aws.scheduler"}, lambda_context())
    assert first["abandoned"] == 1
    assert first["resumed"] == 0
    assert emitted_metrics(capsys.readouterr().out)["SweepAbandoned"] == 1.0
    failed = store.get(dead.id)
    assert failed is not None
    assert failed.status.value == "FAILED"
    assert failed.error is not None
    assert failed.error.type == "abandoned"
    still = store.get(live.id)
    assert still is not None
    assert still.status.value == "RUNNING"
    second = handler({"source": "aws.scheduler"}, lambda_context())
    assert second["abandoned"] == 0  # it left the index when it failed
    dead_letters = [json.loads(b) for b in drain_queue(invocation_tables.dlq_url, rounds=2)]
    assert [m["invocation_id"] for m in dead_letters] == [dead.id]
    assert dead_letters[0]["error_type"] == "abandoned"
    assert drain_queue(invocation_tables.queue_url, rounds=1) == []
