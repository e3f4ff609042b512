"""``agw dlq list|show|redrive|delete`` against moto over HTTP, then the worker handler and
the fake Messages API to show that a redriven invocation runs again and succeeds."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents import aws
from agents.records import InvocationRecord
from agents.redrive import DeadLetters
from agents.store import InvocationStore, get_store
from agents.types import InvocationStatus
from agw.cli import main
from handlers.worker import handler
from tests.plugins.model import FakeModel
from tests.plugins.stack import InvocationStack
from tests.plugins.worker import (
    calls_with,
    deliver,
    event_for,
    lambda_context,
    marker,
    queue_depth,
    queued,
    receive,
    send,
)

pytestmark = pytest.mark.integration


def agw(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    capsys.readouterr()  # drop what the worker printed (EMF metric lines)
    code = main(["dlq", *argv, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def fail_through_worker(
    stack: InvocationStack, fake: FakeModel, store: InvocationStore, *, status: int
) -> InvocationRecord:
    """An invocation that the worker runs into a failure (529 on the final receive: transient;
    400: permanent), leaving one dead letter."""
    record = queued(store, marker())
    send(stack.queue_url, {"invocation_id": record.id})
    fake.fault(status=status, count=1, retry_after=60)
    messages = receive(stack.queue_url)
    for message in messages:
        message["Attributes"]["ApproximateReceiveCount"] = "3"  # the final receive
    response = handler(event_for(messages), lambda_context())
    assert response["batchItemFailures"] == []
    for message in messages:
        aws.client("sqs").delete_message(
            QueueUrl=stack.queue_url, ReceiptHandle=message["ReceiptHandle"]
        )
    failed = store.get(record.id)
    assert failed.status is InvocationStatus.FAILED
    return failed


def three_dead_letters(
    stack: InvocationStack, fake: FakeModel, store: InvocationStore
) -> tuple[InvocationRecord, InvocationRecord]:
    """A transient failure, a permanent one and a poison message in the DLQ; the two records."""
    transient = fail_through_worker(stack, fake, store, status=529)
    permanent = fail_through_worker(stack, fake, store, status=400)
    send(stack.queue_url, "this is not json")
    assert deliver(stack.queue_url, handler).failed == []
    return transient, permanent


def test_list_and_show_peek_without_losing_messages(
    worker_stack: InvocationStack, fake_model: FakeModel, capsys: pytest.CaptureFixture[str]
) -> None:
    store = get_store()
    transient, permanent = three_dead_letters(worker_stack, fake_model, store)

    code, listed = agw(capsys, "list")  # peeks: nothing is consumed (depth checked below)
    assert code == 0
    by_id = {e["invocation_id"] or e["message_id"]: e for e in listed}
    assert len(listed) == 3
    assert by_id[transient.id]["error_type"] == "model-unavailable"
    assert by_id[transient.id]["retryable"] is True
    assert by_id[transient.id]["record_status"] == "FAILED"
    assert by_id[permanent.id]["error_type"] == "model-error"
    assert by_id[permanent.id]["retryable"] is False
    assert [e["kind"] for e in listed].count("poison") == 1
    assert all(e["age_s"] is not None and e["age_s"] >= 0 for e in listed)
    visible = aws.client("sqs").get_queue_attributes(
        QueueUrl=worker_stack.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert visible == "3"  # released at once, nothing deleted

    capsys.readouterr()
    assert main(["dlq", "list"]) == 0
    table = capsys.readouterr()
    assert transient.id in table.out
    assert "model-unavailable" in table.out
    assert "1 poison" in table.err

    code, shown = agw(capsys, "show", transient.id)
    assert code == 0
    assert shown["dead_letter"]["invocation_id"] == transient.id
    assert shown["invocation"]["status"] == "FAILED"
    assert "input" not in shown["invocation"]


def test_redrive_brings_a_failed_invocation_back_and_it_succeeds(
    worker_stack: InvocationStack, fake_model: FakeModel, capsys: pytest.CaptureFixture[str]
) -> None:
    store = get_store()
    transient, permanent = three_dead_letters(worker_stack, fake_model, store)
    calls_before = fake_model.stats()["calls"]

    code, report = agw(capsys, "redrive", "--all")
    assert code == 1  # the permanent failure was refused
    assert report["method"] == "loop"  # moto has no message-move tasks
    actions = {item["id"]: item["action"] for item in report["items"]}
    assert actions[transient.id] == "requeued"
    assert actions[permanent.id] == "refused"
    assert list(actions.values()).count("left") == 1  # the poison message stays
    assert store.get(transient.id).status is InvocationStatus.QUEUED
    assert store.get(transient.id).attempts == 1  # attempts kept
    assert queue_depth(worker_stack.dlq_url) == 2

    assert deliver(worker_stack.queue_url, handler).failed == []
    done = store.get(transient.id)
    assert (done.status, done.attempts) == (InvocationStatus.SUCCEEDED, 2)
    assert done.last_error is not None
    assert done.last_error.type == "model-unavailable"
    assert fake_model.stats()["calls"] == calls_before + 1

    code, report = agw(capsys, "redrive", permanent.id, "--force")
    assert code == 0
    assert [i["action"] for i in report["items"]] == ["requeued"]
    assert deliver(worker_stack.queue_url, handler).failed == []
    assert store.get(permanent.id).status is InvocationStatus.SUCCEEDED
    assert calls_with(fake_model, permanent.input or "?") >= 1

    code, listed = agw(capsys, "list")
    assert [e["kind"] for e in listed] == ["poison"]
    poison_id = listed[0]["message_id"]
    assert agw(capsys, "delete", poison_id)[0] == 0
    assert agw(capsys, "list")[1] == []


def test_redrive_of_an_id_whose_dead_letter_is_gone_and_delete_needs_force(
    worker_stack: InvocationStack, fake_model: FakeModel, capsys: pytest.CaptureFixture[str]
) -> None:
    store = get_store()
    failed = fail_through_worker(worker_stack, fake_model, store, status=529)
    code, items = agw(capsys, "delete", failed.id)
    assert code == 1
    assert items[0]["action"] == "refused"
    assert agw(capsys, "delete", failed.id, "--force")[0] == 0
    assert queue_depth(worker_stack.dlq_url) == 0
    # The record still says FAILED: a redrive by id works from the store alone.
    code, report = agw(capsys, "redrive", failed.id)
    assert code == 0
    assert report["items"][0]["action"] == "requeued"
    assert deliver(worker_stack.queue_url, handler).failed == []
    assert store.get(failed.id).status is InvocationStatus.SUCCEEDED
    # Unknown ids are reported, not invented.
    code, report = agw(capsys, "redrive", "inv_" + "f" * 28)
    assert code == 1
    assert report["items"][0]["action"] == "not-found"


def test_queue_redrive_originals_are_resent(
    worker_stack: InvocationStack, fake_model: FakeModel, capsys: pytest.CaptureFixture[str]
) -> None:
    """A message the queue's redrive policy moved (the worker crashed on every receive) is
    listed as ``queue-redrive`` and redriven by resending it."""
    store = get_store()
    record = queued(store, marker())
    send(worker_stack.dlq_url, {"invocation_id": record.id})
    code, listed = agw(capsys, "list")
    assert [(e["kind"], e["record_status"]) for e in listed] == [("queue-redrive", "QUEUED")]
    code, report = agw(capsys, "redrive", "--all")
    assert code == 0
    assert report["items"][0]["action"] == "resent"
    assert deliver(worker_stack.queue_url, handler).failed == []
    assert store.get(record.id).status is InvocationStatus.SUCCEEDED


def test_move_task_support_is_detected(worker_stack: InvocationStack) -> None:
    tool = DeadLetters(
        dlq_url=worker_stack.dlq_url,
        queue_url=worker_stack.queue_url,
        store=get_store(),
        sqs=aws.client("sqs"),
    )
    assert tool.move_task_supported() is False  # moto 5 does not implement them
    assert main(["dlq", "redrive", "--all", "--method", "move-task"]) == 1


def test_usage_errors(capsys: pytest.CaptureFixture[str], worker_stack: InvocationStack) -> None:
    assert main(["dlq", "redrive"]) == 2
    assert main(["dlq", "redrive", "--all", "inv_abc"]) == 2
