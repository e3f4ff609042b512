"""The worker (``agents.worker``, ``agents.worker_messages``): shapes, raw jobs, decisions.

Real protocols throughout: moto server over HTTP (store, queues, registry), the real SDK over
HTTP to the fake Messages API; model calls are counted through its request log / stats.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from agents import container
from agents.dead_letter_messages import DlqMessage
from agents.errors import MalformedMessage
from agents.executor import OutcomeStatus, execute
from agents.records import InvocationMode, derived_invocation_id
from agents.runner import Deadline
from agents.store import get_store
from agents.types import InvocationStatus
from agents.worker import MessageResult, QueueMessage, process_message
from agents.worker_messages import (
    DEFAULT_JOB_TENANT,
    InvocationRef,
    RawJob,
    job_invocation_id,
    parse_body,
)
from tests.plugins.model import FakeModel
from tests.plugins.stack import InvocationStack, drain_queue
from tests.plugins.worker import AGENT, calls_with, job, marker, queued

pytestmark = pytest.mark.integration


def message(body: Any, *, message_id: str = "m-1", receive_count: int = 1) -> QueueMessage:
    text = body if isinstance(body, str) else json.dumps(body)
    return QueueMessage(message_id=message_id, body=text, receive_count=receive_count)


def process(msg: QueueMessage, **kwargs: Any) -> MessageResult:
    kwargs.setdefault("deadline", Deadline.after_ms(30_000))
    kwargs.setdefault("owner", f"test:{msg.message_id}:{msg.receive_count}")
    return process_message(msg, **kwargs)


def dlq(stack: InvocationStack) -> list[DlqMessage]:
    return [DlqMessage.model_validate_json(b) for b in drain_queue(stack.dlq_url, rounds=2)]


# --- shapes (no AWS) ------------------------------------------------------------------


def test_bodies_are_told_apart_by_shape() -> None:
    assert isinstance(parse_body('{"invocation_id": "inv_abc123"}'), InvocationRef)
    parsed = parse_body(json.dumps(job("x", idempotency_key="k-1", tenant="team-a")))
    assert isinstance(parsed, RawJob)
    assert parsed.effective_tenant == "team-a"
    dead = DlqMessage(
        invocation_id="inv_abc123",
        error_type="model-error",
        message="m",
        retryable=False,
        failed_at="2026-01-01T00:00:00.000Z",
    )
    assert isinstance(parse_body(dead.model_dump_json()), DlqMessage)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"agent": "code-reviewer-fast"}', "input"),
        ('{"agent": "../../etc/passwd", "input": "x"}', "agent"),
        ('{"agent": "code-reviewer-fast", "input": "x", "priority": 1}', "priority"),
        ('{"agent": 42, "input": ["a"]}', "agent"),
        ('{"agent": "code-reviewer-fast", "input": "x", "max_tokens": "5"}', "max_tokens"),
        ('{"agent": "code-reviewer-fast", "input": "x", "metadata": {"n": 1}}', "metadata"),
        # The metadata rule is api_models.check_metadata, the API's own.
        (
            json.dumps({"agent": "code-reviewer-fast", "input": "x", "metadata": {"k" * 129: "v"}}),
            "metadata keys are 1 to 128 characters",
        ),
        (
            json.dumps(
                {
                    "agent": "code-reviewer-fast",
                    "input": "x",
                    "metadata": {f"k{n}": "v" for n in range(33)},
                }
            ),
            "at most 32 metadata entries",
        ),
        ('{"agent": "code-reviewer-fast", "input": "x", "idempotency_key": "a b"}', "idempotency"),
        ('{"agent": "code-reviewer-fast", "input": "x", "invocation_context": ""}', "invocation"),
        ('{"agent": "code-reviewer-fast", "input": "x", "invocation_context": 7}', "invocation"),
        ('{"agent": "a..b", "input": "x"}', "agent"),
        ('{"invocation_id": "../x"}', "invocation_id"),
        ('{"invocation_id": "inv_abc123", "extra": 1}', "extra"),
    ],
)
def test_malformed_bodies_are_permanent(body: str, fragment: str) -> None:
    with pytest.raises(MalformedMessage) as caught:
        parse_body(body)
    assert fragment in caught.value.detail
    assert caught.value.retryable is False


def test_input_over_the_configured_limit_is_malformed(monkeypatch: pytest.MonkeyPatch) -> None:

    monkeypatch.setenv("MAX_INPUT_CHARS", "100")
    container.reset()
    with pytest.raises(MalformedMessage, match="limit is 100"):
        parse_body(json.dumps({"agent": AGENT, "input": "x" * 101}))


def test_job_ids_are_deterministic() -> None:
    keyed = RawJob.model_validate(job("x", idempotency_key="key-1"))
    assert job_invocation_id(keyed, "m-1") == job_invocation_id(keyed, "m-2")
    assert job_invocation_id(keyed, "m-1") == derived_invocation_id(
        "idem", DEFAULT_JOB_TENANT, "key-1"
    )
    other_tenant = RawJob.model_validate(job("x", idempotency_key="key-1", tenant="t2"))
    assert job_invocation_id(other_tenant, "m-1") != job_invocation_id(keyed, "m-1")
    plain = RawJob.model_validate(job("x"))
    assert job_invocation_id(plain, "m-1") == job_invocation_id(plain, "m-1")
    assert job_invocation_id(plain, "m-1") != job_invocation_id(plain, "m-2")


# --- processing -------------------------------------------------------------------------


def test_raw_job_redelivery_maps_to_the_same_invocation(
    worker_stack: InvocationStack, fake_model: FakeModel
) -> None:
    mark = marker()
    body = job(mark, metadata={"run": "r1"})
    first = process(message(body, message_id="msg-a"))
    assert (first.status, first.retry) == ("succeeded", False)
    assert first.invocation_id == derived_invocation_id("msg", "msg-a")
    again = process(message(body, message_id="msg-a", receive_count=2))
    assert (again.status, again.retry) == ("already-terminal", False)
    assert again.invocation_id == first.invocation_id
    record = get_store().get(first.invocation_id)
    assert record.status is InvocationStatus.SUCCEEDED
    assert (record.tenant, record.mode, record.metadata) == (
        DEFAULT_JOB_TENANT,
        InvocationMode.QUEUE,
        {"run": "r1"},
    )
    assert calls_with(fake_model, mark) == 1


def test_raw_job_keeps_its_invocation_context(
    worker_stack: InvocationStack, fake_model: FakeModel
) -> None:
    outcome = process(message(job(marker(), invocation_context="ring:dev-refactor")))
    assert (outcome.status, outcome.retry) == ("succeeded", False)
    assert outcome.invocation_id is not None
    record = get_store().get(outcome.invocation_id)
    assert record.invocation_context == "ring:dev-refactor"
    assert record.to_public().invocation_context == "ring:dev-refactor"


def test_idempotency_key_dedupes_jobs_and_refuses_a_different_job(
    worker_stack: InvocationStack, fake_model: FakeModel
) -> None:
    mark = marker()
    first = process(message(job(mark, idempotency_key="k-7", tenant="team"), message_id="a"))
    second = process(message(job(mark, idempotency_key="k-7", tenant="team"), message_id="b"))
    assert first.status == "succeeded"
    assert (second.status, second.invocation_id) == ("already-terminal", first.invocation_id)
    reused = process(message(job("other input", idempotency_key="k-7", tenant="team")))
    assert (reused.status, reused.error_type, reused.retry) == (
        "poison",
        "idempotency-key-reused",
        False,
    )
    assert calls_with(fake_model, mark) == 1
    [dead] = dlq(worker_stack)
    assert (dead.kind, dead.error_type) == ("poison", "idempotency-key-reused")


def test_unknown_agent_job_fails_with_one_dlq_message_and_no_model_call(
    worker_stack: InvocationStack, fake_model: FakeModel
) -> None:
    result = process(message({"agent": "no-such-agent", "input": "x"}))
    assert (result.status, result.retry, result.error_type) == ("failed", False, "agent-not-found")
    assert get_store().get(result.invocation_id or "").status is InvocationStatus.FAILED
    [dead] = dlq(worker_stack)
    assert (dead.kind, dead.invocation_id) == ("invocation", result.invocation_id)
    assert fake_model.stats()["calls"] == 0


def test_input_contract_violation_is_permanent(
    worker_stack: InvocationStack, fake_model: FakeModel
) -> None:
    result = process(message({"agent": AGENT, "input": "review this"}))  # no "language"
    assert (result.status, result.error_type) == ("failed", "input-contract-violation")
    assert fake_model.stats()["calls"] == 0
    assert [d.error_type for d in dlq(worker_stack)] == ["input-contract-violation"]


def test_unknown_invocation_id_is_poison(
    worker_stack: InvocationStack, fake_model: FakeModel
) -> None:
    result = process(message({"invocation_id": "inv_" + "0" * 28}))
    assert (result.status, result.retry, result.error_type) == (
        "poison",
        False,
        "invocation-not-found",
    )
    [dead] = dlq(worker_stack)
    assert dead.kind == "poison"
    assert dead.source_message_id == "m-1"
    assert dead.raw_body == json.dumps({"invocation_id": "inv_" + "0" * 28})


def test_cancelled_invocation_is_skipped_without_a_model_call(
    worker_stack: InvocationStack, fake_model: FakeModel
) -> None:
    store = get_store()
    record = queued(store, marker())
    store.cancel(record.id, "tenant-a")
    result = process(message({"invocation_id": record.id}))
    assert (result.status, result.retry) == ("already-terminal", False)
    assert store.get(record.id).status is InvocationStatus.CANCELLED
    assert fake_model.stats()["calls"] == 0
    assert dlq(worker_stack) == []


def test_live_lease_elsewhere_is_retried_and_expired_lease_taken_over(
    worker_stack: InvocationStack, fake_model: FakeModel
) -> None:
    store = get_store()
    mark = marker()
    record = queued(store, mark)
    assert store.claim(record.id, "worker-that-crashed", lease_seconds=1.0) is not None
    busy = process(message({"invocation_id": record.id}))
    assert (busy.status, busy.retry) == ("running-elsewhere", True)
    assert fake_model.stats()["calls"] == 0
    time.sleep(1.2)  # the crashed worker's lease expires
    taken = process(message({"invocation_id": record.id}, receive_count=2))
    assert (taken.status, taken.retry) == ("succeeded", False)
    stored = store.get(record.id)
    assert (stored.status, stored.attempts, stored.lease_owner) == (
        InvocationStatus.SUCCEEDED,
        2,
        None,
    )
    assert calls_with(fake_model, mark) == 1


def test_no_time_to_start_retries_without_a_write(
    worker_stack: InvocationStack, fake_model: FakeModel
) -> None:
    store = get_store()
    record = queued(store, marker())
    result = process(message({"invocation_id": record.id}), deadline=Deadline.after_ms(2_000))
    assert (result.status, result.retry) == ("no-time", True)
    stored = store.get(record.id)
    assert (stored.status, stored.attempts, stored.updated_at) == (
        InvocationStatus.QUEUED,
        0,
        record.updated_at,
    )
    # A raw job that cannot start leaves no record behind either.
    body = job(marker())
    result = process(message(body, message_id="late"), deadline=Deadline.after_ms(2_000))
    assert result.retry
    with pytest.raises(Exception, match="not found"):
        store.get(derived_invocation_id("msg", "late"))
    # On the final receive nobody retries: the QUEUED record ends FAILED, dead-lettered once.
    final = process(
        message({"invocation_id": record.id}, receive_count=3), deadline=Deadline.after_ms(2_000)
    )
    assert (final.status, final.retry, final.error_type) == ("failed", False, "deadline-exceeded")
    assert [d.invocation_id for d in dlq(worker_stack)] == [record.id]
    assert fake_model.stats()["calls"] == 0


def test_dead_letters_brought_back_by_a_move_task(
    worker_stack: InvocationStack, fake_model: FakeModel
) -> None:
    """A message-move task moves DLQ messages as they are: a requeued invocation runs, one that
    was not requeued and a poison message go back to the DLQ (no dead letter is lost)."""
    store = get_store()
    fake_model.fault(status=400, count=2, message="rejected by the test")
    requeued = queued(store, marker())
    kept = queued(store, marker())
    assert process(message({"invocation_id": requeued.id})).status == "failed"
    assert process(message({"invocation_id": kept.id})).status == "failed"
    assert process(message("garbage", message_id="p-1")).status == "poison"
    letters = {d.invocation_id or d.source_message_id: d for d in dlq(worker_stack)}
    assert set(letters) == {requeued.id, kept.id, "p-1"}
    store.requeue_failed(requeued.id, force=True)

    moved = [
        process(message(letters[key].model_dump_json(exclude_none=True), message_id=f"mv-{n}"))
        for n, key in enumerate([requeued.id, kept.id, "p-1"])
    ]
    assert [(r.status, r.retry) for r in moved] == [
        ("succeeded", False),
        ("returned-to-dlq", False),
        ("returned-to-dlq", False),
    ]
    assert store.get(requeued.id).status is InvocationStatus.SUCCEEDED
    assert store.get(kept.id).status is InvocationStatus.FAILED
    back = dlq(worker_stack)
    assert sorted((d.kind, d.invocation_id or d.source_message_id) for d in back) == sorted(
        [("invocation", kept.id), ("poison", "p-1")]
    )


def test_lease_lost_mid_run_is_a_batch_item_failure_decided_by_the_executor(
    worker_stack: InvocationStack, fake_model: FakeModel
) -> None:
    """Decision 13.90: our lease expires mid-call and another runner takes over. The executor's
    outcome says "retry" (``should_retry``), the worker obeys: the message comes back, and the
    redelivery sees the new owner's live lease (retry again), never a lost message."""
    store = get_store()
    record = queued(store, marker())
    fake_model.fault(latency_s=1.5, count=1)

    def take_over() -> None:
        time.sleep(0.9)  # our 0.5 s lease has expired; the model is still answering
        assert store.claim(record.id, "new-owner", lease_seconds=600) is not None

    thief = threading.Thread(target=take_over)
    thief.start()
    try:
        result = process(message({"invocation_id": record.id}), lease_seconds=0.5)
    finally:
        thief.join()
    assert (result.status, result.retry) == ("lease-lost", True)
    stored = store.get(record.id)
    assert (stored.status, stored.lease_owner) == (InvocationStatus.RUNNING, "new-owner")
    again = process(message({"invocation_id": record.id}, receive_count=2))
    assert (again.status, again.retry) == ("running-elsewhere", True)
    assert dlq(worker_stack) == []


def test_lease_lost_outcome_asks_for_a_retry(
    worker_stack: InvocationStack, fake_model: FakeModel
) -> None:
    """The one retry decision point is the executor: a LEASE_LOST outcome has ``should_retry``."""
    store = get_store()
    record = queued(store, marker())
    fake_model.fault(latency_s=1.5, count=1)
    thief = threading.Timer(0.9, lambda: store.claim(record.id, "new-owner", lease_seconds=600))
    thief.start()
    try:
        outcome = execute(
            record.id,
            deadline=Deadline.after_ms(30_000),
            owner="test:lease-lost",
            final_attempt=False,
            lease_seconds=0.5,
            store=store,
        )
    finally:
        thief.join()
    assert outcome.status is OutcomeStatus.LEASE_LOST
    assert outcome.should_retry is True
