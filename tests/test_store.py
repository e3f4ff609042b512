"""The invocation store against moto server over HTTP: lifecycle, leases, offload, DLQ."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from agents import aws, dead_letter_messages
from agents.errors import (
    BadRequest,
    BatchNotFound,
    Conflict,
    InvocationNotFound,
    NotCancellable,
    ServiceUnavailable,
)
from agents.record_items import from_item, item_size, to_item
from agents.records import BatchRecord, InvocationMode, InvocationRecord, derived_invocation_id
from agents.store import InvocationStore, RedriveRefused, get_store
from agents.types import ContractResult, ErrorInfo, InvocationStatus, Timings, Usage
from tests.plugins.stack import InvocationStack, drain_queue

pytestmark = pytest.mark.integration

PERMANENT = ErrorInfo(type="agent-not-found", message="no such agent", retryable=False)
TRANSIENT = ErrorInfo(type="model-unavailable", message="529 overloaded", retryable=True)


@pytest.fixture
def store(invocation_tables: InvocationStack) -> InvocationStore:
    return get_store()


def new(store: InvocationStore, tenant: str = "tenant-a", **fields: Any) -> InvocationRecord:
    fields.setdefault("input", "hello")
    return store.create(InvocationRecord.new(tenant=tenant, agent="reviewer", **fields))


def raw_item(stack: InvocationStack, key: str) -> dict[str, Any]:
    item: dict[str, Any] = aws.client("dynamodb").get_item(
        TableName=stack.table, Key={"id": {"S": key}}
    )["Item"]
    return item


def dlq_messages(stack: InvocationStack) -> list[dict[str, Any]]:
    return [json.loads(body) for body in drain_queue(stack.dlq_url, rounds=2)]


# --- records ----------------------------------------------------------------------------


def test_item_round_trip_keeps_every_field_and_uses_decimals() -> None:
    record = InvocationRecord.new(
        tenant="t",
        agent="reviewer",
        input="x",
        mode=InvocationMode.BATCH,
        batch_id="bat_1234",
        context={"ticket": "A-1", "weights": [0.5, 1.25]},
        max_tokens=100,
        metadata={"k": "v"},
    ).model_copy(
        update={
            "usage": Usage(input_tokens=3, output_tokens=4, cache_read_input_tokens=5),
            "cost_usd": 0.000123,
            "timings": Timings(time_to_first_token_ms=12.5, total_ms=99.0),
            "contract": ContractResult(valid=False, missing=["Summary"], verdict="PASS"),
            "error": ErrorInfo(type="x", message="y", retryable=True, details={"n": 1}),
            "lease_expires_at": 1700000000.25,
        }
    )
    item = to_item(record)
    assert item["cost_usd"] == {"N": "0.000123"}
    assert "output" not in item  # None fields are omitted (sparse indexes, REMOVE semantics)
    assert from_item(item) == record


def test_public_view_hides_internal_fields_and_input_unless_asked() -> None:
    record = InvocationRecord.new(tenant="t", agent="a", input="secret text", context={"a": 1})
    record = record.model_copy(update={"lease_owner": "w1", "input_ref": "s3://b/k"})
    view = record.to_public()
    dumped = view.model_dump()
    assert "lease_owner" not in dumped
    assert "input_ref" not in dumped
    assert "tenant" not in dumped
    assert view.input is None
    assert view.context is None
    assert record.to_public(include_input=True).input == "secret text"


# --- create / get -----------------------------------------------------------------------


def test_create_get_and_duplicate_id(store: InvocationStore, invocation_tables: Any) -> None:
    record = new(store, metadata={"team": "x"})
    got = store.get(record.id, tenant="tenant-a")
    assert got.status is InvocationStatus.QUEUED
    assert got.input == "hello"
    assert got.metadata == {"team": "x"}
    assert got.expires_at is not None
    assert got.expires_at > 1_700_000_000
    assert got.created_at.endswith("Z")
    assert len(got.created_at) == 24
    with pytest.raises(Conflict):
        store.create(InvocationRecord.new(tenant="tenant-a", agent="x", input="y", id=record.id))


def test_get_other_tenant_or_unknown_or_malformed_is_404(store: InvocationStore) -> None:
    record = new(store)
    for key, tenant in [(record.id, "tenant-b"), ("inv_missing000", "tenant-a"), ("../x", None)]:
        with pytest.raises(InvocationNotFound):
            store.get(key, tenant=tenant)


def test_create_or_get_returns_existing_for_deterministic_id(store: InvocationStore) -> None:
    key = derived_invocation_id("msg", "sqs-message-1")
    first, created = store.create_or_get(
        InvocationRecord.new(tenant="t", agent="a", input="one", id=key, mode=InvocationMode.QUEUE)
    )
    again, created_again = store.create_or_get(
        InvocationRecord.new(tenant="t", agent="a", input="two", id=key, mode=InvocationMode.QUEUE)
    )
    assert created
    assert not created_again
    assert again.id == first.id
    assert store.get(key).input == "one"
    with pytest.raises(Conflict):  # same id, other tenant: never handed out
        store.create_or_get(InvocationRecord.new(tenant="u", agent="a", input="x", id=key))


@pytest.fixture
def dynamodb_calls(store: InvocationStore) -> Iterator[list[str]]:
    """The operations the store's DynamoDB client sends while the test runs."""
    calls: list[str] = []
    events = store.dynamodb.meta.events

    def record_call(model: Any, **_: Any) -> None:
        calls.append(model.name)

    events.register("before-call.dynamodb", record_call)
    try:
        yield calls
    finally:
        events.unregister("before-call.dynamodb", record_call)


def test_refused_writes_return_the_current_record_without_a_second_read(
    store: InvocationStore, dynamodb_calls: list[str]
) -> None:
    key = derived_invocation_id("msg", "sqs-message-2")
    first = store.create(InvocationRecord.new(tenant="t", agent="a", input="one", id=key))
    assert store.claim(key, "w1", lease_seconds=60) is not None
    dynamodb_calls.clear()

    existing, created = store.create_or_get(
        InvocationRecord.new(tenant="t", agent="a", input="two", id=key)
    )
    assert (existing.id, existing.input, existing.tenant, created) == (first.id, "one", "t", False)
    with pytest.raises(Conflict):  # another tenant's id: refused from the same single write
        store.create_or_get(InvocationRecord.new(tenant="u", agent="a", input="x", id=key))
    assert dynamodb_calls == ["PutItem", "PutItem"]

    dynamodb_calls.clear()
    with pytest.raises(NotCancellable) as caught:
        store.cancel(key, "t")
    assert caught.value.extra["status"] == "RUNNING"
    with pytest.raises(InvocationNotFound):  # another tenant's record
        store.cancel(key, "u")
    with pytest.raises(InvocationNotFound):  # no record at all
        store.cancel("inv_doesnotexist", "t")
    assert dynamodb_calls == ["UpdateItem", "UpdateItem", "UpdateItem"]


def test_a_batch_id_is_never_handed_out_as_an_invocation(store: InvocationStore) -> None:
    batch = store.create_batch(BatchRecord.new(tenant="t", agent="a", item_count=1))
    with pytest.raises(Conflict):
        store.create_or_get(InvocationRecord.new(tenant="t", agent="a", input="x", id=batch.id))
    with pytest.raises(InvocationNotFound):
        store.cancel(batch.id, "t")


# --- lifecycle --------------------------------------------------------------------------


def test_happy_path_and_no_way_back_from_terminal(store: InvocationStore) -> None:
    record = new(store)
    claimed = store.claim(record.id, "w1", lease_seconds=60)
    assert claimed is not None
    assert claimed.status is InvocationStatus.RUNNING
    assert claimed.attempts == 1
    assert claimed.lease_owner == "w1"
    done = store.complete(
        record.id,
        "w1",
        output="## Summary\nok",
        model="claude-sonnet-4-5",
        stop_reason="end_turn",
        usage=Usage(input_tokens=10, output_tokens=5),
        cost_usd=0.0012,
        contract=ContractResult(valid=True),
        timings=Timings(total_ms=120.0),
        agent_version="1.2.0",
        agent_etag='"abc"',
    )
    assert done.status is InvocationStatus.SUCCEEDED
    assert done.lease_owner is None
    stored = store.get(record.id)
    assert stored.output == "## Summary\nok"
    assert stored.cost_usd == pytest.approx(0.0012)
    assert stored.usage.input_tokens == 10
    assert stored.agent_version == "1.2.0"

    # Terminal: nothing moves it any more.
    assert store.claim(record.id, "w2", lease_seconds=60, now=10**10) is None
    assert store.fail(record.id, PERMANENT, owner="w1") is False
    with pytest.raises(Conflict):
        store.complete(record.id, "w1", output="again", model="m")
    with pytest.raises(Conflict):
        store.release(record.id, "w1", TRANSIENT)
    with pytest.raises(NotCancellable):
        store.cancel(record.id, "tenant-a")
    with pytest.raises(Conflict):
        store.requeue_failed(record.id, force=True)
    assert store.get(record.id).status is InvocationStatus.SUCCEEDED


def test_complete_requires_the_lease_owner(store: InvocationStore) -> None:
    record = new(store)
    with pytest.raises(Conflict):  # QUEUED: never claimed
        store.complete(record.id, "w1", output="x", model="m")
    assert store.claim(record.id, "w1", lease_seconds=60) is not None
    with pytest.raises(Conflict):
        store.complete(record.id, "intruder", output="x", model="m")
    assert store.get(record.id).status is InvocationStatus.RUNNING


def test_concurrent_claims_exactly_one_wins(store: InvocationStore) -> None:
    records = [new(store) for _ in range(3)]
    for record in records:
        barrier = threading.Barrier(8)

        def attempt(owner: str, key: str = record.id, gate: threading.Barrier = barrier) -> bool:
            gate.wait(timeout=10)
            return store.claim(key, owner, lease_seconds=60) is not None

        with ThreadPoolExecutor(max_workers=8) as pool:
            wins = list(pool.map(attempt, [f"w{i}" for i in range(8)]))
        assert sum(wins) == 1
        assert store.get(record.id).attempts == 1


def test_live_lease_blocks_and_expired_lease_is_taken_over(store: InvocationStore) -> None:
    record = new(store)
    first = store.claim(record.id, "crashed", lease_seconds=30, now=1000.0)
    assert first is not None
    assert store.claim(record.id, "w2", lease_seconds=30, now=1029.0) is None  # lease live
    taken = store.claim(record.id, "w2", lease_seconds=30, now=1031.0)
    assert taken is not None
    assert taken.lease_owner == "w2"
    assert taken.attempts == 2
    with pytest.raises(Conflict):  # the crashed runner lost its lease
        store.complete(record.id, "crashed", output="late", model="m")
    assert store.complete(record.id, "w2", output="ok", model="m").status == "SUCCEEDED"


def test_release_returns_to_queued_for_an_immediate_reclaim(store: InvocationStore) -> None:
    record = new(store)
    assert store.claim(record.id, "w1", lease_seconds=900) is not None
    released = store.release(record.id, "w1", TRANSIENT)
    assert released.status is InvocationStatus.QUEUED
    assert released.lease_owner is None
    assert released.last_error == TRANSIENT
    assert released.error is None
    again = store.claim(record.id, "w2", lease_seconds=900)
    assert again is not None
    assert again.attempts == 2


# --- offload ----------------------------------------------------------------------------


def test_one_megabyte_output_and_input_round_trip_via_s3(
    store: InvocationStore, invocation_tables: InvocationStack
) -> None:
    big_input = "i" * 300_000 + "é" * 100_000
    big_output = "".join(f"line {n:07d} — ✓\n" for n in range(60_000))
    assert len(big_output.encode()) > 1_000_000
    record = new(store, input=big_input, context={"blob": "c" * 200_000})
    assert store.claim(record.id, "w1", lease_seconds=60) is not None
    store.complete(record.id, "w1", output=big_output, model="m")

    item = raw_item(invocation_tables, record.id)
    assert item_size(item) < 20_000  # the DynamoDB item stays small
    assert "output" not in item
    assert "input" not in item
    assert "context" not in item
    key = f"payloads/{record.id}/output.txt"
    assert item["output_ref"]["S"] == f"s3://{invocation_tables.bucket}/{key}"
    head = aws.client("s3").head_object(Bucket=invocation_tables.bucket, Key=key)
    assert head["ContentLength"] == len(big_output.encode())

    got = store.get(record.id)
    assert got.output == big_output
    assert got.input == big_input
    assert got.context == {"blob": "c" * 200_000}
    shallow = store.get(record.id, hydrate=False)
    assert shallow.output is None
    assert shallow.output_ref is not None


def test_small_payloads_stay_inline(
    store: InvocationStore, invocation_tables: InvocationStack
) -> None:
    record = new(store, input="short")
    assert store.claim(record.id, "w1", lease_seconds=60) is not None
    store.complete(record.id, "w1", output="short output", model="m")
    item = raw_item(invocation_tables, record.id)
    assert item["output"] == {"S": "short output"}
    assert "output_ref" not in item


# --- failure and the DLQ ----------------------------------------------------------------


def test_fail_sends_exactly_one_dlq_message_even_when_called_twice(
    store: InvocationStore, invocation_tables: InvocationStack
) -> None:
    record = new(store, batch_id="bat_0001")
    assert store.claim(record.id, "w1", lease_seconds=60) is not None
    assert store.fail(record.id, PERMANENT, owner="w1") is True
    assert store.fail(record.id, PERMANENT, owner="w1") is False
    assert store.fail(record.id, TRANSIENT, owner=None) is False
    assert store.ensure_dlq_sent(record.id, stale_after_seconds=0) is False  # already sent
    stored = store.get(record.id)
    assert stored.status is InvocationStatus.FAILED
    assert stored.dlq_sent
    assert stored.error == PERMANENT
    messages = dlq_messages(invocation_tables)
    assert len(messages) == 1
    message = messages[0]
    assert message["invocation_id"] == record.id
    assert message["tenant"] == "tenant-a"
    assert message["agent"] == "reviewer"
    assert message["error_type"] == "agent-not-found"
    assert message["retryable"] is False
    assert message["attempts"] == 1
    assert message["batch_id"] == "bat_0001"
    assert message["failed_at"] == stored.finished_at


def test_concurrent_fail_calls_send_one_dlq_message(
    store: InvocationStore, invocation_tables: InvocationStack
) -> None:
    record = new(store)
    barrier = threading.Barrier(6)

    def attempt(_: int) -> bool:
        barrier.wait(timeout=10)
        return store.fail(record.id, PERMANENT, owner=None)

    with ThreadPoolExecutor(max_workers=6) as pool:
        wins = list(pool.map(attempt, range(6)))
    assert sum(wins) == 1
    assert len(dlq_messages(invocation_tables)) == 1


def test_fail_of_another_owners_running_record_is_refused(store: InvocationStore) -> None:
    record = new(store)
    assert store.claim(record.id, "w1", lease_seconds=60) is not None
    assert store.fail(record.id, PERMANENT, owner="w2") is False
    assert store.fail(record.id, PERMANENT, owner=None) is False
    assert store.get(record.id).status is InvocationStatus.RUNNING


def test_crash_between_fail_and_dlq_send_is_repaired_once(
    store: InvocationStore, invocation_tables: InvocationStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = new(store)

    def broken(message: dead_letter_messages.DlqMessage, *, queue_url: str | None = None) -> str:
        raise ServiceUnavailable("sqs down")

    with monkeypatch.context() as patch:
        patch.setattr("agents.store.lifecycle.send_to_dlq", broken)
        with pytest.raises(ServiceUnavailable):
            store.fail(record.id, PERMANENT, owner=None, now=5000.0)
    assert store.get(record.id).dlq_sent is False
    # A fresh claim by the failing sender blocks repairs for a while ...
    assert store.ensure_dlq_sent(record.id, now=5010.0) is False
    # ... then exactly one repair sends it.
    assert store.ensure_dlq_sent(record.id, now=5100.0) is True
    assert store.ensure_dlq_sent(record.id, now=5200.0) is False
    assert store.get(record.id).dlq_sent is True
    assert [m["invocation_id"] for m in dlq_messages(invocation_tables)] == [record.id]


def test_poison_message_goes_to_the_dlq(invocation_tables: InvocationStack) -> None:
    dead_letter_messages.send_poison("{not json", "body is not JSON", message_id="m-1")
    (message,) = dlq_messages(invocation_tables)
    assert message["kind"] == "poison"
    assert message["raw_body"] == "{not json"
    assert message["source_message_id"] == "m-1"
    assert message["retryable"] is False


# --- cancel / requeue -------------------------------------------------------------------


def test_cancel_semantics(store: InvocationStore) -> None:
    queued = new(store)
    with pytest.raises(InvocationNotFound):
        store.cancel(queued.id, "tenant-b")
    cancelled = store.cancel(queued.id, "tenant-a")
    assert cancelled.status is InvocationStatus.CANCELLED
    assert cancelled.finished_at
    assert store.claim(queued.id, "w1", lease_seconds=60) is None  # the worker skips it
    with pytest.raises(NotCancellable):
        store.cancel(queued.id, "tenant-a")

    running = new(store)
    assert store.claim(running.id, "w1", lease_seconds=60) is not None
    with pytest.raises(NotCancellable) as caught:
        store.cancel(running.id, "tenant-a")
    assert caught.value.status == 409
    assert caught.value.extra["status"] == "RUNNING"
    with pytest.raises(InvocationNotFound):
        store.cancel("inv_doesnotexist", "tenant-a")


def test_requeue_failed_for_redrive(
    store: InvocationStore, invocation_tables: InvocationStack
) -> None:
    record = new(store)
    assert store.claim(record.id, "w1", lease_seconds=60) is not None
    assert store.fail(record.id, TRANSIENT, owner="w1")
    requeued = store.requeue_failed(record.id)
    assert requeued.status is InvocationStatus.QUEUED
    assert requeued.attempts == 1
    assert requeued.last_error == TRANSIENT
    assert requeued.error is None
    assert requeued.dlq_sent is False
    assert requeued.finished_at is None
    with pytest.raises(Conflict):  # not FAILED any more
        store.requeue_failed(record.id)
    again = store.claim(record.id, "w2", lease_seconds=60)
    assert again is not None
    assert again.attempts == 2
    # It can fail again and is dead-lettered again (one message per FAILED episode).
    assert store.fail(record.id, TRANSIENT, owner="w2")
    assert len(dlq_messages(invocation_tables)) == 2


def test_requeue_of_a_permanent_failure_needs_force(store: InvocationStore) -> None:
    record = new(store)
    assert store.fail(record.id, PERMANENT, owner=None)
    with pytest.raises(RedriveRefused) as caught:
        store.requeue_failed(record.id)
    assert "force" in caught.value.detail
    assert "agent-not-found" in caught.value.detail
    assert store.requeue_failed(record.id, force=True).status is InvocationStatus.QUEUED


# --- listing ----------------------------------------------------------------------------


def test_listing_is_newest_first_paginated_and_tenant_isolated(store: InvocationStore) -> None:
    mine = [new(store, now=1_700_000_000 + n) for n in range(7)]
    for n in range(3):
        new(store, tenant="tenant-b", now=1_700_000_000 + n)
    store.create_batch(BatchRecord.new(tenant="tenant-a", agent="reviewer", item_count=0))

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        page, cursor = store.list("tenant-a", limit=3, cursor=cursor)
        assert len(page) <= 3
        assert all(r.tenant == "tenant-a" and r.input is None for r in page)
        seen += [r.id for r in page]
        if cursor is None:
            break
    assert seen == [r.id for r in reversed(mine)]  # newest first; the batch is not listed
    assert [r.id for r in store.list("tenant-b")[0]] != []
    assert not set(seen) & {r.id for r in store.list("tenant-b", limit=50)[0]}
    assert store.list("tenant-c") == ([], None)


def test_listing_filters_by_agent_and_status(store: InvocationStore) -> None:
    for n in range(5):
        store.create(
            InvocationRecord.new(
                tenant="t", agent="alpha" if n % 2 else "beta", input="x", now=1_700_000_000 + n
            )
        )
    alphas, _ = store.list("t", agent="alpha")
    assert len(alphas) == 2
    assert {r.agent for r in alphas} == {"alpha"}
    first = alphas[0]
    assert store.claim(first.id, "w", lease_seconds=60) is not None
    running, cursor = store.list("t", status=InvocationStatus.RUNNING)
    assert [r.id for r in running] == [first.id]
    assert cursor is None
    page, cursor = store.list("t", agent="beta", limit=2)
    assert len(page) == 2
    assert cursor is not None
    rest, cursor = store.list("t", agent="beta", limit=2, cursor=cursor)
    assert len(rest) == 1
    assert cursor is None


def test_cursor_tampering_and_cross_tenant_cursors_are_rejected(store: InvocationStore) -> None:
    for n in range(3):
        new(store, now=1_700_000_000 + n)
        new(store, tenant="tenant-b", now=1_700_000_000 + n)
    _, cursor = store.list("tenant-a", limit=1)
    assert cursor is not None
    with pytest.raises(BadRequest):
        store.list("tenant-b", cursor=cursor)  # another tenant's cursor
    tampered = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    for bad in [tampered, "not-a-cursor", "", "x" * 2000, "eyJ2IjoxfQ"]:
        if bad:
            with pytest.raises(BadRequest):
                store.list("tenant-a", cursor=bad)


# --- batches ----------------------------------------------------------------------------


def test_batch_records_and_counts(store: InvocationStore) -> None:
    batch = store.create_batch(BatchRecord.new(tenant="tenant-a", agent="reviewer", item_count=4))
    items = [new(store, batch_id=batch.id, mode=InvocationMode.BATCH) for _ in range(4)]
    new(store)  # not in the batch
    assert store.claim(items[0].id, "w", lease_seconds=60) is not None
    store.complete(items[0].id, "w", output="ok", model="m")
    assert store.fail(items[1].id, PERMANENT, owner=None)
    store.cancel(items[2].id, "tenant-a")
    counts = store.batch_counts(batch.id)
    assert counts == {
        InvocationStatus.QUEUED: 1,
        InvocationStatus.RUNNING: 0,
        InvocationStatus.SUCCEEDED: 1,
        InvocationStatus.FAILED: 1,
        InvocationStatus.CANCELLED: 1,
        InvocationStatus.WAITING: 0,
    }
    assert store.get_batch(batch.id, "tenant-a").item_count == 4
    with pytest.raises(BatchNotFound):
        store.get_batch(batch.id, "tenant-b")
    with pytest.raises(InvocationNotFound):  # a batch id is not an invocation
        store.get(batch.id)
    with pytest.raises(BatchNotFound):
        store.get_batch(items[0].id, "tenant-a")
    listed, cursor = store.list_batch(batch.id, "tenant-a", limit=10)
    assert [r.id for r in listed] == [r.id for r in items]
    assert cursor is None
    assert store.list_batch(batch.id, "tenant-b")[0] == []


# --- AWS failures -----------------------------------------------------------------------


def test_throttling_maps_to_service_unavailable(store: InvocationStore) -> None:
    from botocore.exceptions import ClientError

    class Throttled:
        def get_item(self, **_: Any) -> Any:
            response: Any = {
                "Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
            raise ClientError(response, "GetItem")

    throttled = InvocationStore(
        store.table,
        payload_bucket=store.payload_bucket,
        payload_prefix="payloads/",
        dlq_url=store.dlq_url,
        offload_threshold_bytes=100_000,
        retention_days=1,
        dynamodb=Throttled(),  # type: ignore[arg-type]
    )
    with pytest.raises(ServiceUnavailable) as caught:
        throttled.get("inv_0000000001")
    assert caught.value.retryable
    assert caught.value.status == 503
