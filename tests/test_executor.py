"""The shared execution path: moto over HTTP for the store and registry, the real SDK over
HTTP to the fake Messages API (model calls counted through ``GET /_fake/stats``)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from agents import container
from agents.dead_letter_messages import DlqMessage
from agents.errors import ServiceUnavailable
from agents.executor import ExecutionOutcome, OutcomeStatus, execute
from agents.observability import logger as agw_logger
from agents.records import InvocationMode, InvocationRecord
from agents.runner import Deadline
from agents.store import InvocationStore, get_store
from agents.types import ErrorInfo, InvocationStatus
from tests.plugins.model import FakeModel
from tests.plugins.stack import InvocationStack, drain_queue

pytestmark = pytest.mark.integration

AGENT = "code-reviewer-fast"
CODE = "def add(a, b):\n    return a - b\n"
SECRET_INPUT = "TOP-SECRET-INPUT-MARKER " + CODE


@pytest.fixture
def env(
    invocation_tables: InvocationStack, agents_bucket: str, fake_model: FakeModel
) -> InvocationStack:
    container.reset()
    return invocation_tables


@pytest.fixture
def store(env: InvocationStack) -> InvocationStore:
    return get_store()


def queued(store: InvocationStore, agent: str = AGENT, **fields: Any) -> InvocationRecord:
    fields.setdefault("input", SECRET_INPUT)
    fields.setdefault("context", {"language": "python"})
    fields.setdefault("mode", InvocationMode.ASYNC)
    return store.create(InvocationRecord.new(tenant="tenant-a", agent=agent, **fields))


def assert_outcome(outcome: ExecutionOutcome, status: OutcomeStatus, *, retried: bool) -> None:
    """The outcome, and whether the caller is told to have the work come back."""
    assert (outcome.status, outcome.should_retry) == (status, retried)


def assert_failed(outcome: ExecutionOutcome, error_type: str) -> None:
    assert outcome.status is OutcomeStatus.FAILED
    assert outcome.error is not None
    assert outcome.error.type == error_type


def run(invocation_id: str, **kwargs: Any) -> ExecutionOutcome:
    kwargs.setdefault("owner", "worker-1")
    kwargs.setdefault("final_attempt", False)
    kwargs.setdefault("deadline", Deadline.after_ms(30_000))
    return execute(invocation_id, **kwargs)


def calls(fake_model: FakeModel) -> int:
    return int(fake_model.stats()["calls"])


def dlq_messages(stack: InvocationStack) -> list[DlqMessage]:
    return [DlqMessage.model_validate_json(b) for b in drain_queue(stack.dlq_url, rounds=2)]


def test_success_records_the_run_and_a_replay_makes_no_model_call(
    store: InvocationStore, fake_model: FakeModel, log_lines: list[dict[str, Any]]
) -> None:
    record = queued(store)
    outcome = run(record.id)
    assert_outcome(outcome, OutcomeStatus.SUCCEEDED, retried=False)
    stored = store.get(record.id)
    assert stored.status is InvocationStatus.SUCCEEDED
    assert stored.output is not None
    assert "Offline model" in stored.output
    assert stored.attempts == 1
    assert stored.usage.input_tokens > 0
    assert stored.model is not None
    assert stored.model.startswith("claude-")
    assert stored.agent_version == "1.0.0"
    assert stored.agent_etag
    assert stored.contract is not None
    assert stored.timings is not None
    assert stored.lease_owner is None
    model_calls = calls(fake_model)
    assert model_calls >= 1

    again = run(record.id, owner="worker-2")
    assert_outcome(again, OutcomeStatus.ALREADY_TERMINAL, retried=False)
    assert calls(fake_model) == model_calls

    # Logs carry the invocation keys and never the input text.
    started = [line for line in log_lines if line["message"] == "invocation started"]
    assert started
    assert started[0]["invocation_id"] == record.id
    assert started[0]["tenant"] == "tenant-a"
    assert started[0]["agent"] == AGENT
    assert not any("TOP-SECRET-INPUT-MARKER" in json.dumps(line) for line in log_lines)
    # The keys are removed once the invocation is done.
    agw_logger.info("after the invocation")
    assert "invocation_id" not in log_lines[-1]


def test_permanent_model_error_fails_once_with_one_dlq_message(
    store: InvocationStore, fake_model: FakeModel, env: InvocationStack
) -> None:
    fake_model.fault(status=400, count=1, message="bad request from the test")
    record = queued(store)
    outcome = run(record.id)
    assert_failed(outcome, "model-error")
    assert outcome.should_retry is False
    assert outcome.exception is not None
    assert outcome.exception.status == 502
    assert calls(fake_model) == 1
    stored = store.get(record.id)
    assert stored.status is InvocationStatus.FAILED
    assert stored.dlq_sent is True

    # Redelivered message: no model call, no second DLQ message.
    assert run(record.id, owner="worker-2").status is OutcomeStatus.ALREADY_TERMINAL
    assert calls(fake_model) == 1
    messages = dlq_messages(env)
    assert [m.invocation_id for m in messages] == [record.id]
    assert messages[0].error_type == "model-error"
    assert messages[0].retryable is False


def test_unknown_agent_is_permanent_and_never_calls_the_model(
    store: InvocationStore, fake_model: FakeModel, env: InvocationStack
) -> None:
    record = queued(store, agent="no-such-agent")
    outcome = run(record.id)
    assert_failed(outcome, "agent-not-found")
    assert calls(fake_model) == 0
    assert [m.error_type for m in dlq_messages(env)] == ["agent-not-found"]


def test_input_contract_violation_is_permanent(
    store: InvocationStore, fake_model: FakeModel, env: InvocationStack
) -> None:
    record = queued(store, context={})
    outcome = run(record.id)
    assert_failed(outcome, "input-contract-violation")
    assert calls(fake_model) == 0
    assert len(dlq_messages(env)) == 1


def test_transient_error_releases_for_a_retry_that_then_succeeds(
    store: InvocationStore, fake_model: FakeModel, env: InvocationStack
) -> None:
    fake_model.fault(status=429, count=1, retry_after=60)  # past the deadline: no SDK retry
    record = queued(store)
    outcome = run(record.id)
    assert_outcome(outcome, OutcomeStatus.RETRY, retried=True)
    released = store.get(record.id)
    assert released.status is InvocationStatus.QUEUED
    assert released.lease_owner is None
    assert released.last_error is not None
    assert released.last_error.type == "model-unavailable"
    assert dlq_messages(env) == []

    retried = run(record.id, owner="worker-2")
    assert retried.status is OutcomeStatus.SUCCEEDED
    assert retried.record is not None
    assert retried.record.attempts == 2
    assert calls(fake_model) == 2


def test_transient_error_on_the_final_attempt_fails_with_one_dlq_message(
    store: InvocationStore, fake_model: FakeModel, env: InvocationStack
) -> None:
    fake_model.fault(status=429, count=1, retry_after=60)
    record = queued(store)
    outcome = run(record.id, final_attempt=True)
    assert_outcome(outcome, OutcomeStatus.FAILED, retried=False)
    assert outcome.error is not None
    assert outcome.error.retryable is True
    assert run(record.id, final_attempt=True).status is OutcomeStatus.ALREADY_TERMINAL
    messages = dlq_messages(env)
    assert len(messages) == 1
    assert messages[0].error_type == "model-unavailable"
    assert messages[0].retryable is True


def test_sync_path_does_not_leave_transient_failures_for_a_retry(
    store: InvocationStore, fake_model: FakeModel, env: InvocationStack
) -> None:
    fake_model.fault(status=429, count=1, retry_after=60)
    record = queued(store, mode=InvocationMode.SYNC)
    outcome = run(record.id, final_attempt=False, retry_on_transient=False)
    assert outcome.status is OutcomeStatus.FAILED
    assert outcome.exception is not None
    assert outcome.exception.retryable is True
    assert store.get(record.id).status is InvocationStatus.FAILED
    assert len(dlq_messages(env)) == 1


def test_no_time_to_start_claims_nothing(
    store: InvocationStore, fake_model: FakeModel, env: InvocationStack
) -> None:
    record = queued(store)
    outcome = run(record.id, deadline=Deadline.after_ms(500))
    assert_outcome(outcome, OutcomeStatus.NO_TIME, retried=True)
    assert store.get(record.id).status is InvocationStatus.QUEUED
    assert store.get(record.id).attempts == 0
    # Nobody retries after the final attempt: it ends FAILED (never half-run).
    final = run(record.id, deadline=Deadline.after_ms(500), final_attempt=True)
    assert_failed(final, "deadline-exceeded")
    assert calls(fake_model) == 0
    assert len(dlq_messages(env)) == 1


def test_live_lease_elsewhere_and_cancelled_records_make_no_model_call(
    store: InvocationStore, fake_model: FakeModel
) -> None:
    running = queued(store)
    assert store.claim(running.id, "someone-else", lease_seconds=600) is not None
    outcome = run(running.id)
    assert_outcome(outcome, OutcomeStatus.RUNNING_ELSEWHERE, retried=True)

    cancelled = queued(store)
    store.cancel(cancelled.id, "tenant-a")
    skipped = run(cancelled.id)
    assert_outcome(skipped, OutcomeStatus.ALREADY_TERMINAL, retried=False)

    assert run("inv_doesnotexist00").status is OutcomeStatus.NOT_FOUND
    assert calls(fake_model) == 0


def test_expired_lease_is_taken_over(store: InvocationStore, fake_model: FakeModel) -> None:
    record = queued(store)
    assert store.claim(record.id, "crashed", lease_seconds=0.5, now=1000.0) is not None
    outcome = run(record.id, owner="rescuer")
    assert outcome.status is OutcomeStatus.SUCCEEDED
    assert outcome.record is not None
    assert outcome.record.attempts == 2


def test_pending_dlq_message_is_sent_on_redelivery(
    store: InvocationStore,
    fake_model: FakeModel,
    env: InvocationStack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    record = queued(store)

    def broken(message: DlqMessage, *, queue_url: str | None = None) -> str:
        raise ServiceUnavailable("sqs down")

    error = ErrorInfo(type="model-error", message="x", retryable=False)
    with monkeypatch.context() as patch:
        patch.setattr("agents.store.lifecycle.send_to_dlq", broken)
        with pytest.raises(ServiceUnavailable):
            store.fail(record.id, error, owner=None, now=1000.0)  # claim long stale
    outcome = run(record.id)
    assert_outcome(outcome, OutcomeStatus.ALREADY_TERMINAL, retried=False)
    assert store.get(record.id).dlq_sent is True
    assert [m.invocation_id for m in dlq_messages(env)] == [record.id]
    assert calls(fake_model) == 0


def test_concurrent_duplicates_call_the_model_once(
    store: InvocationStore, fake_model: FakeModel
) -> None:
    records = [queued(store) for _ in range(3)]
    jobs = [(r.id, f"worker-{n}") for r in records for n in range(4)]
    barrier = threading.Barrier(len(jobs))

    def go(job: tuple[str, str]) -> ExecutionOutcome:
        barrier.wait(timeout=10)
        return run(job[0], owner=job[1])

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        outcomes = list(pool.map(go, jobs))
    succeeded = [o for o in outcomes if o.status is OutcomeStatus.SUCCEEDED]
    assert len(succeeded) == 3
    assert {o.record.id for o in succeeded if o.record} == {r.id for r in records}
    assert all(
        o.status in {OutcomeStatus.RUNNING_ELSEWHERE, OutcomeStatus.ALREADY_TERMINAL}
        for o in outcomes
        if o.status is not OutcomeStatus.SUCCEEDED
    )
    assert calls(fake_model) == 3
    for record in records:
        assert store.get(record.id).attempts == 1
