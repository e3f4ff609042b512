"""local.sqs_poller: the SQS event source mapping stand-in, against moto server over HTTP."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from local.aws_stack import StackDescription, create_resources
from local.sqs_poller import SqsPoller
from local.template import Template
from tests.plugins.local_stack import FIXTURE_TEMPLATE

pytestmark = pytest.mark.integration

Seen = list[dict[str, Any]]


def wait_for(predicate: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    """Poll ``predicate`` until true or ``timeout_s`` (bounded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def fast_template(aws_endpoint: str) -> Template:
    """The fixture template with a 1 s visibility timeout (maxReceiveCount 3)."""
    return Template.load(
        FIXTURE_TEMPLATE,
        endpoint_url=aws_endpoint,
        parameter_overrides={"QueueVisibilityTimeout": "1"},
    )


@pytest.fixture
def fast_stack(fast_template: Template) -> StackDescription:
    return create_resources(fast_template)


@pytest.fixture
def run_poller(fast_template: Template) -> Iterator[Callable[..., SqsPoller]]:
    started: list[SqsPoller] = []

    def start(handler: Any, template: Template | None = None, **options: Any) -> SqsPoller:
        poller = SqsPoller.from_template(template or fast_template, handler=handler, **options)
        poller.start()
        started.append(poller)
        return poller

    yield start
    for poller in started:
        poller.stop(timeout_s=15)
        assert not poller.running


def send(url: str, *bodies: str, **kwargs: Any) -> list[str]:
    sqs = boto3.client("sqs")
    return [sqs.send_message(QueueUrl=url, MessageBody=b, **kwargs)["MessageId"] for b in bodies]


def queue_depth(url: str) -> int:
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def recorder(
    seen: Seen, fail: Callable[[dict[str, Any]], bool] = lambda r: False
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    lock = threading.Lock()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        assert context.get_remaining_time_in_millis() > 0
        with lock:
            seen.extend(event["Records"])
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]} for r in event["Records"] if fail(r)
            ]
        }

    return handler


def test_event_shape_and_success_is_deleted(
    fast_stack: StackDescription, run_poller: Callable[..., SqsPoller]
) -> None:
    queue = fast_stack.queues["InvocationQueue"]
    (message_id,) = send(
        queue.url,
        '{"agent": "x", "input": "hi"}',
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "job"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    seen: Seen = []
    poller = run_poller(recorder(seen), concurrency=1)
    assert wait_for(lambda: len(seen) == 1)
    (record,) = seen
    assert record["messageId"] == message_id
    assert record["body"] == '{"agent": "x", "input": "hi"}'
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue.arn
    assert record["awsRegion"] == "us-east-1"
    assert record["receiptHandle"]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(
        record["attributes"]
    )
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "job",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    assert base64.b64decode(record["messageAttributes"]["blob"]["binaryValue"]) == b"\x00\x01"
    assert wait_for(lambda: queue_depth(queue.url) == 0)
    assert wait_for(lambda: poller.stats.deleted == 1)
    assert poller.stats.failed == 0


def test_reported_failures_are_redelivered_after_visibility_timeout(
    fast_stack: StackDescription, run_poller: Callable[..., SqsPoller]
) -> None:
    queue = fast_stack.queues["InvocationQueue"]
    ok_a, ok_b, bad = send(queue.url, "ok-a", "ok-b", "fail-c")
    seen: Seen = []
    # fail "fail-c" on its first delivery only
    run_poller(
        recorder(
            seen,
            fail=lambda r: (
                r["body"] == "fail-c" and r["attributes"]["ApproximateReceiveCount"] == "1"
            ),
        ),
        concurrency=1,
    )
    assert wait_for(lambda: sum(r["messageId"] == bad for r in seen) >= 2)
    assert wait_for(lambda: queue_depth(queue.url) == 0)
    counts = {
        m: [r["attributes"]["ApproximateReceiveCount"] for r in seen if r["messageId"] == m]
        for m in (ok_a, ok_b, bad)
    }
    assert counts[ok_a] == ["1"]
    assert counts[ok_b] == ["1"]
    assert counts[bad] == ["1", "2"]
    assert (
        boto3.client("sqs")
        .receive_message(QueueUrl=fast_stack.queues["DeadLetterQueue"].url, WaitTimeSeconds=0)
        .get("Messages", [])
        == []
    )


def test_raising_handler_fails_the_whole_batch(
    fast_stack: StackDescription, run_poller: Callable[..., SqsPoller]
) -> None:
    queue = fast_stack.queues["InvocationQueue"]
    ids = send(queue.url, "a", "b")
    seen: Seen = []
    lock = threading.Lock()

    def flaky(event: dict[str, Any], context: Any) -> None:
        with lock:
            seen.extend(event["Records"])
        if any(r["attributes"]["ApproximateReceiveCount"] == "1" for r in event["Records"]):
            raise RuntimeError("first delivery crashes")

    poller = run_poller(flaky, concurrency=1)
    assert wait_for(lambda: all(sum(r["messageId"] == m for r in seen) >= 2 for m in ids))
    assert wait_for(lambda: queue_depth(queue.url) == 0)
    assert poller.stats.handler_errors >= 1


def test_dlq_after_max_receive_count(
    fast_stack: StackDescription, run_poller: Callable[..., SqsPoller]
) -> None:
    queue = fast_stack.queues["InvocationQueue"]
    dlq = fast_stack.queues["DeadLetterQueue"]
    (message_id,) = send(queue.url, "always fails")
    seen: Seen = []
    run_poller(recorder(seen, fail=lambda r: True), concurrency=1)
    sqs = boto3.client("sqs")
    moved: list[Any] = []

    def in_dlq() -> bool:
        moved.extend(sqs.receive_message(QueueUrl=dlq.url, WaitTimeSeconds=0).get("Messages", []))
        return bool(moved)

    assert wait_for(in_dlq, timeout_s=30)
    assert moved[0]["MessageId"] == message_id
    assert moved[0]["Body"] == "always fails"
    # SQS's redrive policy from the template (maxReceiveCount 3): three deliveries, no fourth
    assert [r["attributes"]["ApproximateReceiveCount"] for r in seen] == ["1", "2", "3"]
    assert queue_depth(queue.url) == 0


def test_invalid_item_identifier_fails_everything(fast_template: Template) -> None:
    poller = SqsPoller.from_template(fast_template, handler=recorder([]))
    messages: list[Any] = [{"MessageId": "m1"}, {"MessageId": "m2"}]
    assert poller.failed_ids(messages, {"batchItemFailures": [{"itemIdentifier": "m2"}]}) == {"m2"}
    assert poller.failed_ids(messages, {"batchItemFailures": []}) == set()
    assert poller.failed_ids(messages, None) == set()
    bad_reports: list[list[Any]] = [
        [{"itemIdentifier": ""}],
        [{"itemIdentifier": "other"}],
        [{}],
        ["m1"],
    ]
    for bad in bad_reports:
        assert poller.failed_ids(messages, {"batchItemFailures": bad}) == {"m1", "m2"}
    no_reporting = SqsPoller(
        fast_template.function("WorkerFunction"),
        queue_url="u",
        queue_arn="a",
        endpoint_url="http://127.0.0.1:1",
        report_batch_item_failures=False,
    )
    # without ReportBatchItemFailures a returned list means nothing: all succeeded
    assert (
        no_reporting.failed_ids(messages, {"batchItemFailures": [{"itemIdentifier": "m1"}]})
        == set()
    )


def test_concurrent_consumers(
    fast_stack: StackDescription, run_poller: Callable[..., SqsPoller]
) -> None:
    queue = fast_stack.queues["InvocationQueue"]
    ids = send(queue.url, *[f"m{n}" for n in range(10)])
    barrier = threading.Barrier(2, timeout=15)
    seen: Seen = []
    lock = threading.Lock()
    threads: set[str] = set()
    sizes: list[int] = []

    def meet(event: dict[str, Any], context: Any) -> None:
        with lock:
            seen.extend(event["Records"])
            sizes.append(len(event["Records"]))
            threads.add(threading.current_thread().name)
            first = len(threads) <= 2
        if first:
            barrier.wait()  # two batches (BatchSize 5) in flight at the same time

    poller = run_poller(meet, concurrency=4)
    assert poller.concurrency == 4
    assert wait_for(lambda: queue_depth(queue.url) == 0)
    # every message handled; moto's ReceiveMessage has no lock, so under load two
    # consumers can get the same message (SQS is at-least-once too): no exactly-once here
    assert {r["messageId"] for r in seen} == set(ids)
    assert max(sizes) <= 5  # the template's BatchSize
    assert len(threads) >= 2
    assert poller.stats.handler_errors == 0


def test_failure_visibility_override_with_project_template(
    local_stack: StackDescription, project_template: Template, run_poller: Callable[..., SqsPoller]
) -> None:
    queue = local_stack.queues["InvocationQueue"]
    (message_id,) = send(queue.url, "retry me soon")
    seen: Seen = []
    poller = run_poller(
        recorder(seen, fail=lambda r: r["attributes"]["ApproximateReceiveCount"] == "1"),
        template=project_template,
        failure_visibility_timeout=1,
    )
    # the template's 5400 s visibility timeout would keep it away; the local override does not
    assert (poller.batch_size, poller.report_batch_item_failures) == (5, True)
    assert poller.concurrency == 5  # ScalingConfig.MaximumConcurrency
    assert wait_for(lambda: len(seen) >= 2)
    assert [r["messageId"] for r in seen[:2]] == [message_id, message_id]
    assert wait_for(lambda: queue_depth(queue.url) == 0)


def test_stop_is_bounded_and_clean(fast_stack: StackDescription, fast_template: Template) -> None:
    poller = SqsPoller.from_template(fast_template, handler=recorder([]), concurrency=3)
    poller.start()
    assert poller.running
    assert poller.url == fast_stack.queues["InvocationQueue"].url
    started = time.monotonic()
    poller.stop(timeout_s=10)
    assert not poller.running
    assert time.monotonic() - started < 10


def test_a_local_worker_timeout_sets_the_deadline_and_times_out(
    fast_stack: StackDescription, run_poller: Callable[..., SqsPoller]
) -> None:
    """``agw dev --worker-timeout``: the context counts down from it, and a handler that
    returns after it fails its batch, as Lambda's timeout would."""
    queue = fast_stack.queues["InvocationQueue"]
    remaining: list[int] = []

    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        remaining.append(context.get_remaining_time_in_millis())
        if len(remaining) == 1:
            time.sleep(0.4)
        return {"batchItemFailures": []}

    send(queue.url, "slow")
    poller = run_poller(slow, concurrency=1, function_timeout_s=0.3)
    assert wait_for(lambda: poller.stats.batches == 1)
    assert poller.timeout_s == 0.3
    assert wait_for(lambda: poller.stats.handler_errors == 1)
    assert 0 < remaining[0] <= 300
    with pytest.raises(ValueError, match="function_timeout_s"):
        SqsPoller.from_template(poller_template(fast_stack), function_timeout_s=0)


def poller_template(stack: StackDescription) -> Template:
    return Template.load(FIXTURE_TEMPLATE, endpoint_url=stack.endpoint_url)
