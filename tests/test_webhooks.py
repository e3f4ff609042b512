"""Webhooks end to end on moto and a real receiver on 127.0.0.1: retries, signatures, 410,
batches, rotation. SSRF refusals are in tests/test_webhook_ssrf.py."""

from __future__ import annotations

import json
from typing import Any

from standardwebhooks import Webhook

from agents import aws
from agents.records import BatchRecord, InvocationRecord
from agents.store import get_store
from agents.types import InvocationStatus
from agents.webhooks.messages import WebhookTarget
from agents.webhooks.notifier import event_for
from agents.webhooks.runtime import get_processor
from agents.webhooks.subscriptions import add_subscription, get_subscription
from agents.webhooks.tenant_secrets import TenantSecrets
from tests.plugins.stack import drain_queue
from tests.plugins.webhooks import SECRET_PREFIX, WebhookStack, pump

TENANT = "tenant-hooks"


def _finish(url: str | None, *, tenant: str = TENANT, **fields: Any) -> InvocationRecord:
    """A record that runs and succeeds through the store (its transition announces itself)."""
    store = get_store()
    webhook = WebhookTarget(url=url) if url else None
    record = store.create(
        InvocationRecord.new(tenant=tenant, agent="a", input="hi", webhook=webhook, **fields)
    )
    store.claim(record.id, "owner", lease_seconds=60)
    return store.complete(record.id, "owner", output="done", model="m")


def _secrets() -> TenantSecrets:
    return TenantSecrets(aws.client("secretsmanager"), SECRET_PREFIX)


def test_500_twice_then_200_delivers_the_third_with_one_id_and_valid_signatures(
    webhook_stack: WebhookStack, receiver_factory: Any
) -> None:
    receiver = receiver_factory([500, 500, 200])
    record = _finish(receiver.url)
    outcomes = pump(get_processor(), webhook_stack.queue_url)
    assert outcomes == ["fanned-out:1", "retry", "retry", "delivered"]
    assert len(receiver.requests) == 3
    ids = {r.headers["webhook-id"] for r in receiver.requests}
    assert len(ids) == 1
    assert next(iter(ids)).startswith("msg_")
    secret = _secrets().get(TENANT)
    assert secret is not None
    assert secret.current.startswith("whsec_")
    for request in receiver.requests:
        payload = Webhook(secret.current).verify(request.body, request.headers)
        assert payload["type"] == "invocation.succeeded"
        assert payload["data"] == {
            "invocation_id": record.id,
            "status": "SUCCEEDED",
            "tenant": TENANT,
            "link": f"https://api.example.test/prod/invocations/{record.id}",
        }
        assert "done" not in request.body, "payloads carry a link, never the output"
    assert drain_queue(webhook_stack.dlq_url, rounds=1) == []


def test_410_disables_the_subscription_and_later_events_skip_it(
    webhook_stack: WebhookStack, receiver_factory: Any
) -> None:
    gone = receiver_factory([410])
    other = receiver_factory([200])
    table = webhook_stack.tenants.table
    subscription = add_subscription(
        table, TENANT, gone.url, ["invocation.succeeded"], allow_local=True
    )
    add_subscription(table, TENANT, other.url, ["invocation.failed"], allow_local=True)
    _finish(None)
    assert pump(get_processor(), webhook_stack.queue_url) == ["fanned-out:1", "disabled"]
    assert other.requests == [], "a subscription gets only its event types"
    found = get_subscription(table, subscription.subscription_id)
    assert found is not None
    assert found.status == "disabled"
    assert found.disabled_reason == "410 Gone"
    _finish(None)
    assert pump(get_processor(), webhook_stack.queue_url) == ["fanned-out:0"]
    assert len(gone.requests) == 1


def test_a_delivery_due_after_the_sqs_delay_cap_is_put_back_with_the_remaining_delay(
    webhook_stack: WebhookStack, receiver_factory: Any
) -> None:
    import time

    from agents.webhooks.messages import WebhookDelivery

    receiver = receiver_factory([200])
    due = WebhookDelivery(
        id="msg_late",
        type="invocation.succeeded",
        tenant=TENANT,
        url=receiver.url,
        body="{}",
        attempt=7,
        not_before=time.time() + 5_000,  # 1 h 23 min: more than SQS's 900 s
    )
    assert get_processor().handle(due.model_dump_json()) == "deferred"
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=webhook_stack.queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"
    assert receiver.requests == [], "not attempted before it is due"


def test_the_last_item_of_a_batch_announces_batch_completed_once(
    webhook_stack: WebhookStack, receiver_factory: Any
) -> None:
    receiver = receiver_factory([200])
    store = get_store()
    batch = store.create_batch(
        BatchRecord.new(
            tenant=TENANT, agent="a", item_count=2, webhook=WebhookTarget(url=receiver.url)
        )
    )
    first = _finish(None, batch_id=batch.id)
    assert pump(get_processor(), webhook_stack.queue_url) == ["fanned-out:0"]
    # an item that waits for approval has not finished: the batch is not complete yet
    waiting_item = first.model_copy(
        update={"id": first.id[:-1] + "w", "status": InvocationStatus.WAITING}
    )
    waiting = event_for(waiting_item)
    assert waiting is not None
    assert get_processor().handle(waiting.model_dump_json()) == "fanned-out:0"
    assert receiver.requests == []
    _finish(None, batch_id=batch.id)
    outcomes = pump(get_processor(), webhook_stack.queue_url)
    assert outcomes == ["fanned-out:0", "delivered"]  # the item event itself has no target
    [request] = receiver.requests
    payload = json.loads(request.body)
    assert payload["type"] == "batch.completed"
    assert payload["data"]["batch_id"] == batch.id
    assert payload["data"]["item_count"] == 2
    # a redelivered event of an item (at-least-once) never announces the batch again
    assert store.record_item_finished(batch.id, first.id) is not None
    assert store.mark_batch_announced(batch.id) is False


def test_failed_and_cancelled_transitions_announce_themselves(
    webhook_stack: WebhookStack, receiver_factory: Any
) -> None:
    from agents.types import ErrorInfo

    receiver = receiver_factory([200])
    store = get_store()
    target = WebhookTarget(url=receiver.url)
    failed = store.create(InvocationRecord.new(tenant=TENANT, agent="a", input="x", webhook=target))
    cancelled = store.create(
        InvocationRecord.new(tenant=TENANT, agent="a", input="y", webhook=target)
    )
    error = ErrorInfo(type="model-error", message="no", retryable=False)
    assert store.fail(failed.id, error, owner=None)
    store.cancel(cancelled.id, TENANT)
    pump(get_processor(), webhook_stack.queue_url)
    seen = {
        json.loads(r.body)["data"]["invocation_id"]: json.loads(r.body)["type"]
        for r in receiver.requests
    }
    assert seen == {failed.id: "invocation.failed", cancelled.id: "invocation.cancelled"}


def test_the_lambda_handler_delivers_and_reports_a_failed_aws_call_as_a_batch_item_failure(
    webhook_stack: WebhookStack, receiver_factory: Any, monkeypatch: Any
) -> None:
    from handlers.webhooks import handler
    from tests.plugins.worker import deliver

    receiver = receiver_factory([200])
    _finish(receiver.url)
    fanned = deliver(webhook_stack.queue_url, handler)  # the event -> one delivery message
    assert fanned.failed == []
    assert deliver(webhook_stack.queue_url, handler).failed == []
    assert len(receiver.requests) == 1

    # an AWS call that fails (the DLQ is gone) -> the record comes back, nothing is lost
    aws.client("sqs").delete_queue(QueueUrl=webhook_stack.dlq_url)
    aws.client("sqs").send_message(QueueUrl=webhook_stack.queue_url, MessageBody="not json")
    failed = deliver(webhook_stack.queue_url, handler, visibility_s=1)
    assert len(failed.failed) == 1


def test_a_rotated_secret_signs_twice_until_the_grace_ends() -> None:
    """Exhaustion to the DLQ and rotation on a live stack: tests/test_webhooks_cli.py."""
    import time

    from agents.webhooks.signing import signed_headers
    from agents.webhooks.tenant_secrets import SigningSecret, new_secret

    old, new = new_secret(), new_secret()
    secret = SigningSecret(current=new, previous=old, previous_until=1_000.0)
    assert secret.signing(999.0) == [new, old]
    assert secret.signing(1_000.0) == [new]
    assert "whsec_" not in repr(secret)
    now = time.time()
    headers = signed_headers("msg_1", '{"a":1}', [new, old], now=now)
    assert headers["webhook-timestamp"] == str(int(now))
    assert len(headers["webhook-signature"].split(" ")) == 2
    for key in (new, old):
        assert Webhook(key).verify('{"a":1}', headers) == {"a": 1}
