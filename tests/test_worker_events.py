"""``events/sqs-*.json`` through ``handlers.worker.handler`` do what events/README.md says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agents.dead_letter_messages import DlqMessage
from agents.records import InvocationMode, InvocationRecord, derived_invocation_id
from agents.store import get_store
from agents.types import InvocationStatus
from handlers.worker import handler
from tests.plugins.model import FakeModel
from tests.plugins.stack import InvocationStack, drain_queue
from tests.plugins.worker import AGENT, lambda_context

pytestmark = pytest.mark.integration

EVENTS = Path(__file__).resolve().parents[1] / "events"
SEEDED = "inv_0193a5f2c4e87b1d9e0f3a6b5c2d8e72"
TENANT = "k7r2m9x4qa"


def event(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


@pytest.fixture
def seeded(worker_stack: InvocationStack) -> InvocationStack:
    get_store().create(
        InvocationRecord.new(
            id=SEEDED,
            tenant=TENANT,
            agent=AGENT,
            input="def add(a, b):\n    return a - b\n",
            context={"language": "python"},
            mode=InvocationMode.ASYNC,
        )
    )
    return worker_stack


def test_every_sqs_event_is_documented() -> None:
    readme = (EVENTS / "README.md").read_text()
    files = sorted(p.name for p in EVENTS.glob("sqs-*.json"))
    assert files == ["sqs-invocation.json", "sqs-mixed-batch.json", "sqs-raw-job.json"]
    assert all(f"`{name}`" in readme for name in files)


def test_invocation_event(seeded: InvocationStack, fake_model: FakeModel) -> None:
    assert handler(event("sqs-invocation.json"), lambda_context()) == {"batchItemFailures": []}
    assert get_store().get(SEEDED).status is InvocationStatus.SUCCEEDED
    assert handler(event("sqs-invocation.json"), lambda_context()) == {"batchItemFailures": []}
    assert fake_model.stats()["calls"] == 1


def test_raw_job_event(worker_stack: InvocationStack, fake_model: FakeModel) -> None:
    for _ in range(2):
        assert handler(event("sqs-raw-job.json"), lambda_context()) == {"batchItemFailures": []}
    body = json.loads(event("sqs-raw-job.json")["Records"][0]["body"])
    record = get_store().get(derived_invocation_id("idem", TENANT, body["idempotency_key"]))
    assert (record.status, record.tenant, record.mode) == (
        InvocationStatus.SUCCEEDED,
        TENANT,
        InvocationMode.QUEUE,
    )
    assert fake_model.stats()["calls"] == 1


def test_mixed_batch_event(seeded: InvocationStack, fake_model: FakeModel) -> None:
    records = event("sqs-mixed-batch.json")["Records"]
    assert handler(event("sqs-mixed-batch.json"), lambda_context()) == {"batchItemFailures": []}
    store = get_store()
    assert store.get(SEEDED).status is InvocationStatus.SUCCEEDED
    job_id = derived_invocation_id("msg", records[1]["messageId"])
    assert store.get(job_id).status is InvocationStatus.SUCCEEDED
    [letter] = [DlqMessage.model_validate_json(b) for b in drain_queue(seeded.dlq_url, rounds=2)]
    assert (letter.kind, letter.error_type, letter.source_message_id) == (
        "poison",
        "malformed-message",
        records[2]["messageId"],
    )
