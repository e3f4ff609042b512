"""``handlers.worker.handler`` fed like Lambda's SQS event source mapping, with real SQS
semantics on moto (receive with short visibility timeouts, delete what succeeded) and the
real SDK against the fake Messages API (model calls counted through its request log)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from agents import aws, container
from agents.dead_letter_messages import DlqMessage
from agents.records import derived_invocation_id
from agents.store import get_store
from agents.types import InvocationStatus
from handlers.worker import handler
from tests.plugins.model import FakeModel
from tests.plugins.stack import InvocationStack, drain_queue
from tests.plugins.threads import run_in_threads
from tests.plugins.worker import (
    AGENT,
    calls_with,
    deliver,
    job,
    lambda_context,
    marker,
    queue_depth,
    queued,
    send,
    sqs_record,
)

pytestmark = pytest.mark.integration


def dlq(stack: InvocationStack) -> list[DlqMessage]:
    return [DlqMessage.model_validate_json(b) for b in drain_queue(stack.dlq_url, rounds=2)]


def failures(response: Any) -> list[str]:
    return sorted(f["itemIdentifier"] for f in response["batchItemFailures"])


def test_mixed_batch_acknowledges_all_but_the_transient_failure(
    worker_stack: InvocationStack, fake_model: FakeModel
) -> None:
    store = get_store()
    good_ref, busy_ref = queued(store, marker()), queued(store, marker())
    assert store.claim(busy_ref.id, "another-worker", lease_seconds=600) is not None
    good_mark = marker()
    records = [
        sqs_record(json.dumps({"invocation_id": good_ref.id}), message_id="ok-ref"),
        sqs_record(json.dumps(job(good_mark)), message_id="ok-job"),
        sqs_record('{"agent": "code-reviewer-fast", "input": ', message_id="malformed"),
        sqs_record(json.dumps({"agent": AGENT, "input": "x", "extra": 1}), message_id="invalid"),
        sqs_record(json.dumps({"agent": "no-such-agent", "input": "x"}), message_id="unknown"),
        sqs_record(json.dumps({"invocation_id": busy_ref.id}), message_id="busy"),
    ]
    response = handler({"Records": records}, lambda_context())
    assert failures(response) == ["busy"]  # only the transient one comes back
    assert store.get(good_ref.id).status is InvocationStatus.SUCCEEDED
    assert store.get(derived_invocation_id("msg", "ok-job")).status is InvocationStatus.SUCCEEDED
    unknown = store.get(derived_invocation_id("msg", "unknown"))
    assert (unknown.status, unknown.error and unknown.error.type) == (
        InvocationStatus.FAILED,
        "agent-not-found",
    )
    assert store.get(busy_ref.id).lease_owner == "another-worker"
    letters = dlq(worker_stack)
    assert sorted((d.kind, d.source_message_id or d.invocation_id) for d in letters) == sorted(
        [("poison", "malformed"), ("poison", "invalid"), ("invocation", unknown.id)]
    )
    assert all(d.message for d in letters)
    assert fake_model.stats()["calls"] == 2


def test_same_batch_delivered_twice_calls_each_model_once(
    worker_stack: InvocationStack, fake_model: FakeModel
) -> None:
    store = get_store()
    marks = [marker() for _ in range(4)]
    refs = [queued(store, mark) for mark in marks[:2]]
    event = {
        "Records": [
            sqs_record(json.dumps({"invocation_id": refs[0].id}), message_id="r0"),
            sqs_record(json.dumps({"invocation_id": refs[1].id}), message_id="r1"),
            sqs_record(json.dumps(job(marks[2])), message_id="j2"),
            sqs_record(json.dumps(job(marks[3], idempotency_key="k3")), message_id="j3"),
        ]
    }
    first = handler(event, lambda_context())
    second = handler(event, lambda_context())
    assert first["batchItemFailures"] == second["batchItemFailures"] == []
    assert [calls_with(fake_model, mark) for mark in marks] == [1, 1, 1, 1]
    assert fake_model.stats()["calls"] == 4


def test_four_consumers_with_every_message_duplicated_call_each_model_once(
    worker_stack: InvocationStack, fake_model: FakeModel
) -> None:
    store = get_store()
    fake_model.fault(latency_s=0.3)  # long enough for duplicates to overlap
    marks = [marker() for _ in range(10)]
    bodies: list[Any] = [{"invocation_id": queued(store, mark).id} for mark in marks[:6]]
    bodies += [job(mark, idempotency_key=f"dup-{n}") for n, mark in enumerate(marks[6:])]
    send(worker_stack.queue_url, *bodies, *bodies)  # every message twice
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            give_up = time.monotonic() + 90
            while time.monotonic() < give_up:
                delivery = deliver(worker_stack.queue_url, handler, visibility_s=2, max_messages=5)
                if not delivery.received and queue_depth(worker_stack.queue_url) == 0:
                    return
                if not delivery.received:
                    time.sleep(0.2)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    run_in_threads(consume, 4, timeout_s=120)
    assert not errors
    assert queue_depth(worker_stack.queue_url) == 0
    assert [calls_with(fake_model, mark) for mark in marks] == [1] * 10
    assert fake_model.stats()["calls"] == 10
    assert dlq(worker_stack) == []


def test_529s_beyond_the_sdk_retries_come_back_and_succeed_later(
    worker_stack: InvocationStack, fake_model: FakeModel
) -> None:
    store = get_store()
    mark = marker()
    record = queued(store, mark)
    send(worker_stack.queue_url, {"invocation_id": record.id})
    fake_model.fault(status=529, count=100)
    # A 5.5 s function: the runner plans SDK retries for its budget; all of them get 529.
    first = deliver(worker_stack.queue_url, handler, visibility_s=1, timeout_s=5.5)
    assert first.failed == first.received
    assert len(first.received) == 1
    assert fake_model.stats()["by_status"].get("529", 0) >= 2  # the SDK did retry
    stored = store.get(record.id)
    assert stored.status is InvocationStatus.QUEUED
    assert stored.last_error is not None
    assert stored.last_error.type == "model-unavailable"
    fake_model.fault(reset=True)
    time.sleep(1.1)
    second = deliver(worker_stack.queue_url, handler, visibility_s=1, timeout_s=30)
    assert second.received == first.received
    assert second.failed == []
    stored = store.get(record.id)
    assert (stored.status, stored.attempts) == (InvocationStatus.SUCCEEDED, 2)
    assert queue_depth(worker_stack.queue_url) == 0
    assert dlq(worker_stack) == []


def test_always_failing_ends_failed_with_one_dlq_message_after_max_receives(
    worker_stack: InvocationStack, fake_model: FakeModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "2")
    container.reset()
    sqs = aws.client("sqs")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=worker_stack.dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    # As template.yaml: the queue's own redrive is MaxReceiveCount + 1 (it only catches crashes).
    sqs.set_queue_attributes(
        QueueUrl=worker_stack.queue_url,
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})
        },
    )
    store = get_store()
    record = queued(store, marker())
    send(worker_stack.queue_url, {"invocation_id": record.id})
    fake_model.fault(status=529, count=100, retry_after=60)  # no SDK retry fits the budget
    outcomes = []
    for _ in range(6):
        delivery = deliver(worker_stack.queue_url, handler, visibility_s=1)
        if delivery.received:
            outcomes.append(bool(delivery.failed))
        elif queue_depth(worker_stack.queue_url) == 0:
            break
        time.sleep(1.1)
    assert outcomes == [True, False]  # retried once, then FAILED and acknowledged
    stored = store.get(record.id)
    assert stored.status is InvocationStatus.FAILED
    assert stored.error is not None
    assert stored.error.type == "model-unavailable"
    assert stored.attempts == 2
    [letter] = dlq(worker_stack)
    assert (letter.kind, letter.invocation_id, letter.retryable) == ("invocation", record.id, True)
    # A late duplicate of the message finds it FAILED: acknowledged, no second dead letter.
    send(worker_stack.queue_url, {"invocation_id": record.id})
    assert deliver(worker_stack.queue_url, handler).failed == []
    assert dlq(worker_stack) == []


def test_records_of_a_batch_run_concurrently(
    worker_stack: InvocationStack, fake_model: FakeModel
) -> None:
    fake_model.fault(latency_s=1.0)
    marks = [marker() for _ in range(10)]
    event = {"Records": [sqs_record(json.dumps(job(m))) for m in marks]}
    started = time.monotonic()
    response = handler(event, lambda_context())
    wall = time.monotonic() - started
    assert response["batchItemFailures"] == []
    assert [calls_with(fake_model, m) for m in marks] == [1] * 10
    assert wall < 6.0, f"10 records x 1 s took {wall:.1f} s: not concurrent"


def test_records_that_cannot_start_in_time_come_back_unclaimed(
    worker_stack: InvocationStack, fake_model: FakeModel
) -> None:
    store = get_store()
    record = queued(store, marker())
    event = {"Records": [sqs_record(json.dumps({"invocation_id": record.id}))]}
    response = handler(event, lambda_context(timeout_s=2.0))
    assert len(response["batchItemFailures"]) == 1  # no exception for an all-failed batch
    stored = store.get(record.id)
    assert (stored.status, stored.attempts) == (InvocationStatus.QUEUED, 0)
    assert fake_model.stats()["calls"] == 0
