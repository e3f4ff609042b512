"""agents.service without Lambda events: moto server over HTTP for the store, registry and
queues; the real SDK over HTTP to the fake Messages API (model calls counted by its stats)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from agents import aws, container
from agents.api_models import BatchItem, BatchRequest, InvokeRequest, normalize_idempotency_key
from agents.config import get_settings
from agents.errors import (
    AgentNotFound,
    BadRequest,
    BatchNotFound,
    DefinitionError,
    GatewayError,
    InputContractError,
    InvalidAgentName,
    InvalidIdempotencyKey,
    InvocationNotFound,
    NotCancellable,
    PayloadTooLarge,
    ServiceUnavailable,
    UnknownModel,
    ValidationFailed,
)
from agents.problems import Failure, error_classes
from agents.records import derived_invocation_id
from agents.service import API_RESPONSE_MARGIN_MS, GatewayService
from agents.store import get_store
from agents.types import ErrorInfo, InvocationStatus
from tests.plugins.api import TENANT_A, TENANT_B, ApiStack, seed_invocation
from tests.plugins.stack import drain_queue

pytestmark = pytest.mark.integration

AGENT = "code-reviewer-fast"
CODE = "def add(a, b):\n    return a - b\n"


@pytest.fixture
def service(api_stack: ApiStack) -> GatewayService:
    return GatewayService()


def req(**fields: Any) -> InvokeRequest:
    fields.setdefault("input", CODE)
    fields.setdefault("context", {"language": "python"})
    return InvokeRequest(**fields)


def model_calls(stack: ApiStack) -> int:
    stats = stack.model.stats()
    return int(stats["calls"])


def queue_bodies(stack: ApiStack) -> list[dict[str, Any]]:
    return [json.loads(body) for body in drain_queue(stack.stack.queue_url, rounds=2)]


def dlq_bodies(stack: ApiStack) -> list[dict[str, Any]]:
    return [json.loads(body) for body in drain_queue(stack.stack.dlq_url, rounds=2)]


def put_definition(stack: ApiStack, name: str, text: str) -> None:
    aws.client("s3").put_object(
        Bucket=stack.agents_bucket, Key=f"agents/{name}.md", Body=text.encode()
    )
    container.reset()


# --- invoke ---------------------------------------------------------------------------


def test_sync_invoke_runs_inline_and_records_success(
    service: GatewayService, api_stack: ApiStack
) -> None:
    result = service.invoke(TENANT_A, AGENT, req(metadata={"ticket": "T-1"}), asynchronous=False)
    assert result.failure is None
    assert not result.accepted
    view = result.invocation
    assert view.status is InvocationStatus.SUCCEEDED
    assert view.output
    assert "Offline model" in view.output
    assert view.contract is not None
    assert view.contract.valid
    assert view.usage.output_tokens > 0
    assert view.metadata == {"ticket": "T-1"}
    assert view.input is None  # the caller just sent it
    stored = get_store().get(view.id, tenant=TENANT_A)
    assert stored.status is InvocationStatus.SUCCEEDED
    assert stored.agent_version == "1.0.0"
    assert stored.agent_etag
    assert stored.agent_version_id  # pinned to the object the request was checked against
    assert queue_bodies(api_stack) == []


def test_async_invoke_queues_the_record_and_one_message(
    service: GatewayService, api_stack: ApiStack
) -> None:
    result = service.invoke(TENANT_A, AGENT, req(), asynchronous=True)
    assert result.accepted
    assert result.failure is None
    assert result.invocation.status is InvocationStatus.QUEUED
    record = get_store().get(result.invocation.id, tenant=TENANT_A)
    assert record.status is InvocationStatus.QUEUED
    assert record.mode.value == "async"
    assert record.input == CODE
    assert record.context == {"language": "python"}
    assert queue_bodies(api_stack) == [{"invocation_id": result.invocation.id}]
    assert model_calls(api_stack) == 0


def test_idempotency_key_gives_one_invocation_per_tenant_and_key(
    service: GatewayService, api_stack: ApiStack
) -> None:
    first = service.invoke(TENANT_A, AGENT, req(), asynchronous=False, idempotency_key="k-1")
    calls = model_calls(api_stack)
    again = service.invoke(TENANT_A, AGENT, req(), asynchronous=False, idempotency_key="k-1")
    assert (
        again.invocation.id == first.invocation.id == derived_invocation_id("idem", TENANT_A, "k-1")
    )
    assert again.invocation.output == first.invocation.output
    assert model_calls(api_stack) == calls  # not run twice
    other = service.invoke(TENANT_B, AGENT, req(), asynchronous=False, idempotency_key="k-1")
    assert other.invocation.id != first.invocation.id


@pytest.mark.parametrize(
    ("agent", "request_fields", "error"),
    [
        ("Bad/Name", {}, InvalidAgentName),
        ("no-such-agent", {}, AgentNotFound),
        (AGENT, {"context": None}, InputContractError),
        (AGENT, {"context": {"language": 3}}, InputContractError),
        (AGENT, {"context": {"language": "go", "bad name!": "x"}}, ValidationFailed),
        (AGENT, {"max_tokens": 10**6}, ValidationFailed),
        (AGENT, {"version": "9.9.9"}, AgentNotFound),
    ],
)
def test_caller_mistakes_are_rejected_before_anything_is_written(
    service: GatewayService,
    api_stack: ApiStack,
    agent: str,
    request_fields: dict[str, Any],
    error: type[GatewayError],
) -> None:
    with pytest.raises(error):
        service.invoke(TENANT_A, agent, req(**request_fields), asynchronous=True)
    assert get_store().list(TENANT_A)[0] == []
    assert queue_bodies(api_stack) == []


def test_input_contract_error_lists_the_missing_context(service: GatewayService) -> None:
    with pytest.raises(InputContractError) as caught:
        service.invoke(TENANT_A, AGENT, req(context={}), asynchronous=False)
    assert [p["field"] for p in caught.value.problems] == ["language"]
    assert caught.value.problems[0]["problem"] == "missing"


def test_oversized_input_is_413(service: GatewayService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_INPUT_CHARS", "100")
    container.reset()
    with pytest.raises(PayloadTooLarge):
        service.invoke(TENANT_A, AGENT, req(input="x" * 101), asynchronous=True)


def test_unknown_model_alias_is_422_before_the_write(
    service: GatewayService, api_stack: ApiStack
) -> None:
    put_definition(api_stack, "wizardly", "---\nname: wizardly\nmodel: wizard\n---\nHi.\n")
    with pytest.raises(UnknownModel):
        service.invoke(TENANT_A, "wizardly", req(context=None), asynchronous=True)
    assert get_store().list(TENANT_A)[0] == []


def test_invalid_definition_is_422_naming_the_file_and_line(
    service: GatewayService, api_stack: ApiStack
) -> None:
    put_definition(api_stack, "broken", "---\nname: broken\ntools: [a, b\n---\nBody\n")
    with pytest.raises(DefinitionError) as caught:
        service.get_agent("broken")
    failure = Failure.from_exception(caught.value)
    assert failure.status == 422
    assert failure.error_type == "invalid-definition"
    assert failure.detail.startswith("broken.md:")
    assert failure.extra["path"] == "broken.md"  # the file, not the bucket or key
    assert "s3://" not in json.dumps(failure.extra) + failure.detail
    listing = service.list_agents()
    assert [a.name for a in listing.items] == ["backend-engineer-python", AGENT, "python-fixer"]
    (invalid,) = listing.invalid
    assert invalid.name == "broken"
    assert invalid.error_type == "invalid-definition"
    assert invalid.line is not None


def test_sync_model_error_fails_the_invocation_and_dead_letters_it_once(
    service: GatewayService, api_stack: ApiStack
) -> None:
    api_stack.model.fault(status=400, count=1, message="bad request from the model")
    result = service.invoke(TENANT_A, AGENT, req(), asynchronous=False)
    assert result.failure is not None
    assert result.failure.status == 502
    assert result.failure.error_type == "model-error"
    assert result.invocation.status is InvocationStatus.FAILED
    (message,) = dlq_bodies(api_stack)
    assert message["invocation_id"] == result.invocation.id
    assert message["error_type"] == "model-error"
    assert message["tenant"] == TENANT_A


def test_sync_run_without_time_to_start_is_504_and_never_calls_the_model(
    service: GatewayService, api_stack: ApiStack
) -> None:
    result = service.invoke(TENANT_A, AGENT, req(), asynchronous=False, remaining_ms=2000)
    assert result.failure is not None
    assert result.failure.status == 504
    assert result.invocation.status is InvocationStatus.FAILED
    assert model_calls(api_stack) == 0
    assert [m["invocation_id"] for m in dlq_bodies(api_stack)] == [result.invocation.id]


def test_api_deadline_is_the_smaller_budget_minus_the_margin(service: GatewayService) -> None:
    api_timeout = get_settings().api_timeout_ms
    now = time.time() * 1000
    plain = service.api_deadline(now_ms=now)
    assert abs(plain.remaining_ms() - (api_timeout - API_RESPONSE_MARGIN_MS)) < 400
    lambda_bound = service.api_deadline(remaining_ms=10_000, now_ms=now)
    assert abs(lambda_bound.remaining_ms() - (10_000 - API_RESPONSE_MARGIN_MS)) < 400
    received = service.api_deadline(received_epoch_ms=int(now - 5000), now_ms=now)
    assert abs(received.remaining_ms() - (api_timeout - 5000 - API_RESPONSE_MARGIN_MS)) < 400
    stale = service.api_deadline(received_epoch_ms=int(now - 3_600_000), now_ms=now)
    assert abs(stale.remaining_ms() - (api_timeout - API_RESPONSE_MARGIN_MS)) < 400


# --- reads, listing, cancel -----------------------------------------------------------


def test_get_returns_input_and_whole_output_only_to_the_owner(
    service: GatewayService, api_stack: ApiStack
) -> None:
    big = "".join(f"line {n:07d}\n" for n in range(80_000))  # ~1 MB, offloaded to S3
    seed_invocation("inv_bigoutput0001", output=big)
    view = service.get_invocation(TENANT_A, "inv_bigoutput0001")
    assert view.output == big
    assert view.input is not None
    with pytest.raises(InvocationNotFound):
        service.get_invocation(TENANT_B, "inv_bigoutput0001")


def test_internal_failure_text_is_not_shown(service: GatewayService) -> None:
    store = get_store()
    seed_invocation("inv_internal0001", status="QUEUED")
    store.claim("inv_internal0001", "w", lease_seconds=60)
    secret = "internal error while running (KeyError('/var/task/agents/x.py'))"
    store.fail(
        "inv_internal0001",
        ErrorInfo(type="internal-error", message=secret, retryable=False),
        owner="w",
    )
    view = service.get_invocation(TENANT_A, "inv_internal0001")
    assert view.error is not None
    assert view.error.type == "internal-error"
    assert "/var/task" not in view.error.message
    assert "KeyError" not in view.error.message


def test_list_filters_paginates_and_stays_in_the_tenant(service: GatewayService) -> None:
    for n in range(5):
        seed_invocation(f"inv_list{n:04d}", status="SUCCEEDED" if n % 2 else "QUEUED")
        time.sleep(0.002)
    seed_invocation("inv_listother", tenant=TENANT_B)
    page = service.list_invocations(TENANT_A, limit=2)
    assert [i.id for i in page.items] == ["inv_list0004", "inv_list0003"]
    assert page.next_cursor
    assert page.next
    assert "cursor=" in page.next
    rest = service.list_invocations(TENANT_A, limit=10, cursor=page.next_cursor)
    assert [i.id for i in rest.items] == ["inv_list0002", "inv_list0001", "inv_list0000"]
    assert rest.next_cursor is None
    done = service.list_invocations(TENANT_A, status=InvocationStatus.SUCCEEDED)
    assert {i.id for i in done.items} == {"inv_list0001", "inv_list0003"}
    assert all(i.output is None for i in done.items)  # payloads left out of listings
    assert service.list_invocations(TENANT_A, agent="backend-engineer-python").items == []
    assert [i.id for i in service.list_invocations(TENANT_B).items] == ["inv_listother"]
    with pytest.raises(BadRequest):
        service.list_invocations(TENANT_B, cursor=page.next_cursor)


def test_cancel_only_queued_and_only_own(service: GatewayService) -> None:
    seed_invocation("inv_cancel0001", status="QUEUED")
    with pytest.raises(InvocationNotFound):
        service.cancel(TENANT_B, "inv_cancel0001")
    view = service.cancel(TENANT_A, "inv_cancel0001")
    assert view.status is InvocationStatus.CANCELLED
    with pytest.raises(NotCancellable):
        service.cancel(TENANT_A, "inv_cancel0001")


# --- batches ----------------------------------------------------------------------------


def batch(count: int, **fields: Any) -> BatchRequest:
    items = [
        BatchItem(input=f"snippet {n}", context={"language": "python"}, **fields)
        for n in range(count)
    ]
    return BatchRequest(agent=AGENT, items=items)


def test_batch_queues_one_record_and_one_message_per_item(
    service: GatewayService, api_stack: ApiStack
) -> None:
    submitted = service.submit_batch(TENANT_A, batch(23))
    assert submitted.item_count == 23
    assert submitted.counts.QUEUED == 23
    assert not submitted.done
    assert submitted.items is not None
    ids = [item.invocation_id for item in submitted.items]
    assert len(set(ids)) == 23
    assert submitted.links["results"] == f"/invocations?batch_id={submitted.id}"
    bodies = queue_bodies(api_stack)
    assert sorted(b["invocation_id"] for b in bodies) == sorted(ids)
    record = get_store().get(ids[5], tenant=TENANT_A)
    assert record.batch_id == submitted.id
    assert record.input == "snippet 5"
    assert record.mode.value == "batch"
    view = service.get_batch(TENANT_A, submitted.id)
    assert view.counts.QUEUED == 23
    assert not view.done
    listed = service.list_invocations(TENANT_A, batch_id=submitted.id, limit=200)
    assert sorted(i.id for i in listed.items) == sorted(ids)
    with pytest.raises(BatchNotFound):
        service.get_batch(TENANT_B, submitted.id)
    with pytest.raises(BatchNotFound):
        service.list_invocations(TENANT_B, batch_id=submitted.id)


def test_batch_progress_and_done(service: GatewayService, api_stack: ApiStack) -> None:
    from agents.executor import execute
    from agents.runner import Deadline

    submitted = service.submit_batch(TENANT_A, batch(3))
    assert submitted.items is not None
    first, *rest = (item.invocation_id for item in submitted.items)
    outcome = execute(first, deadline=Deadline.after_ms(30_000), owner="w", final_attempt=False)
    assert outcome.record is not None
    assert outcome.record.status is InvocationStatus.SUCCEEDED
    for invocation_id in rest:
        service.cancel(TENANT_A, invocation_id)
    view = service.get_batch(TENANT_A, submitted.id)
    assert (view.counts.SUCCEEDED, view.counts.CANCELLED, view.counts.QUEUED) == (1, 2, 0)
    assert view.done


def test_batch_limits(service: GatewayService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_MAX_ITEMS", "3")
    container.reset()
    with pytest.raises(PayloadTooLarge, match="at most 3 items"):
        service.submit_batch(TENANT_A, batch(4))
    bad = BatchRequest(
        agent=AGENT,
        items=[
            BatchItem(input="a", context={"language": "go"}, idempotency_key="same"),
            BatchItem(input="b", context={}, idempotency_key="other"),
            BatchItem(input="c", context={"language": "go"}, idempotency_key="same"),
        ],
    )
    with pytest.raises(ValidationFailed) as caught:
        service.submit_batch(TENANT_A, bad)
    items = caught.value.extra["items"]
    assert [(p["index"], p["type"]) for p in items] == [
        (1, "input-contract-violation"),
        (2, "validation-error"),
    ]
    assert items[0]["problems"][0]["field"] == "language"
    assert get_store().list(TENANT_A)[0] == []


def test_batch_resubmission_with_the_same_key_resumes_without_duplicates(
    service: GatewayService, api_stack: ApiStack
) -> None:
    first = service.submit_batch(TENANT_A, batch(4), idempotency_key="nightly-1")
    queue_bodies(api_stack)
    assert first.items is not None
    service.cancel(TENANT_A, first.items[0].invocation_id)
    again = service.submit_batch(TENANT_A, batch(4), idempotency_key="nightly-1")
    assert again.id == first.id
    assert again.items is not None
    assert [i.invocation_id for i in again.items] == [i.invocation_id for i in first.items]
    assert again.items[0].status is InvocationStatus.CANCELLED
    requeued = sorted(b["invocation_id"] for b in queue_bodies(api_stack))
    assert requeued == sorted(i.invocation_id for i in first.items[1:])
    assert len(get_store().list(TENANT_A, limit=50)[0]) == 4


def test_keyed_items_make_the_batch_id_deterministic(service: GatewayService) -> None:
    request = BatchRequest(
        agent=AGENT,
        items=[
            BatchItem(input=f"s{n}", context={"language": "go"}, idempotency_key=f"item-{n}")
            for n in range(3)
        ],
    )
    first = service.submit_batch(TENANT_A, request)
    again = service.submit_batch(TENANT_A, request)
    other_tenant = service.submit_batch(TENANT_B, request)
    assert again.id == first.id != other_tenant.id


@pytest.fixture
def failing_sqs_entries() -> Iterator[dict[str, Any]]:
    """Make SendMessageBatch report entries as failed (the response, after a real call)."""
    state: dict[str, Any] = {"fail_ids": set(), "times": 1, "calls": 0}
    sqs = aws.client("sqs")

    def mark_failed(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        state["calls"] += 1
        if state["times"] <= 0:
            return
        kept, failed = [], list(parsed.get("Failed", []))
        for entry in parsed.get("Successful", []):
            if entry["Id"] in state["fail_ids"]:
                failed.append({"Id": entry["Id"], "SenderFault": False, "Code": "InternalError"})
            else:
                kept.append(entry)
        if len(failed) != len(parsed.get("Failed", [])):
            state["times"] -= 1
        parsed["Successful"], parsed["Failed"] = kept, failed

    sqs.meta.events.register("after-call.sqs.SendMessageBatch", mark_failed)
    try:
        yield state
    finally:
        sqs.meta.events.unregister("after-call.sqs.SendMessageBatch", mark_failed)


def test_failed_batch_entries_are_retried(
    service: GatewayService, api_stack: ApiStack, failing_sqs_entries: dict[str, Any]
) -> None:
    failing_sqs_entries["fail_ids"] = {"1", "3"}
    failing_sqs_entries["times"] = 1
    submitted = service.submit_batch(TENANT_A, batch(12))
    assert submitted.counts.QUEUED == 12
    # 2 chunks, then one retry call for the two failed entries of the first chunk
    assert failing_sqs_entries["calls"] == 3


def test_unsendable_items_fail_with_503_and_are_dead_lettered(
    service: GatewayService, api_stack: ApiStack, failing_sqs_entries: dict[str, Any]
) -> None:
    failing_sqs_entries["fail_ids"] = {"0"}
    failing_sqs_entries["times"] = 100
    with pytest.raises(ServiceUnavailable) as caught:
        service.submit_batch(TENANT_A, batch(2))
    batch_id = caught.value.extra["batch_id"]
    listed = service.list_invocations(TENANT_A, batch_id=batch_id)
    statuses = sorted(i.status.value for i in listed.items)
    assert statuses == ["FAILED", "QUEUED"]
    failed = next(i for i in listed.items if i.status is InvocationStatus.FAILED)
    assert [m["invocation_id"] for m in dlq_bodies(api_stack)] == [failed.id]


# --- helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("abc", "abc"),
        ('"8e03978e-40d5-43e8-bc93-6894a57f9324"', "8e03978e-40d5-43e8-bc93-6894a57f9324"),
        ("k" * 255, "k" * 255),
    ],
)
def test_idempotency_key_forms(raw: str | None, expected: str | None) -> None:
    assert normalize_idempotency_key(raw) == expected


@pytest.mark.parametrize("raw", ["", '""', "k" * 256, "has space", "tab\tkey", "é-key", "a\x00b"])
def test_malformed_idempotency_keys(raw: str) -> None:
    with pytest.raises(InvalidIdempotencyKey):
        normalize_idempotency_key(raw)


def test_every_error_type_has_a_class_and_a_status() -> None:
    classes = error_classes()
    assert {"internal-error", "validation-error", "redrive-requires-force"} <= set(classes)
    for error_type, cls in classes.items():
        assert cls.error_type == error_type
        assert 400 <= cls.status <= 599
    info = ErrorInfo(type="deadline-exceeded", message="late", retryable=True)
    assert Failure.from_info(info).status == 504
