"""Webhook events whose SQS send failed are held on their record and sent by the sweeper
(decision 16.65): moto server, the real webhook queue deleted and made again, a receiver
on 127.0.0.1."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from agents import aws
from agents.pending_actions import PendingAction
from agents.records import InvocationRecord, utc_now
from agents.store import get_store
from agents.store.webhook_outbox import hold_unsent_event
from agents.sweeper import sweep
from agents.types import InvocationStatus
from agents.webhooks.messages import WebhookTarget
from agents.webhooks.notifier import event_for
from agents.webhooks.runtime import get_processor
from tests.plugins.stack import drain_queue
from tests.plugins.webhooks import WebhookStack, pump

TENANT = "tenant-outbox"


def _queued(url: str) -> InvocationRecord:
    return get_store().create(
        InvocationRecord.new(tenant=TENANT, agent="a", input="hi", webhook=WebhookTarget(url=url))
    )


def _running_without_queue(stack: WebhookStack, url: str) -> InvocationRecord:
    """A claimed record with its own webhook, and the webhook queue deleted (every send to
    it fails until :func:`_queue_back`)."""
    record = _queued(url)
    claimed = get_store().claim(record.id, "owner", lease_seconds=60)
    assert claimed is not None
    aws.client("sqs").delete_queue(QueueUrl=stack.queue_url)
    return claimed


def _queue_back(stack: WebhookStack) -> None:
    made = aws.client("sqs").create_queue(QueueName=stack.queue_url.rsplit("/", 1)[1])
    assert made["QueueUrl"] == stack.queue_url


def test_a_terminal_event_whose_send_failed_is_sent_by_the_sweeper_once(
    webhook_stack: WebhookStack, receiver_factory: Any
) -> None:
    receiver = receiver_factory([200])
    store, record = get_store(), _running_without_queue(webhook_stack, receiver.url)
    done = store.complete(record.id, "owner", output="done", model="m")
    assert done.status is InvocationStatus.SUCCEEDED  # the transition stands
    announced = event_for(done)
    assert announced is not None
    held = store.get(record.id, hydrate=False)
    assert held.webhook_unsent is not None
    assert [json.loads(raw)["id"] for raw in held.webhook_unsent] == [announced.id]
    assert held.sweep_shard == "due"

    failing = sweep(now=utc_now() + 1)  # the queue is still gone: the record stays due
    assert (failing.errors, failing.webhook_events_resent) == (1, 0)
    assert store.get(record.id, hydrate=False).webhook_unsent == held.webhook_unsent

    _queue_back(webhook_stack)
    report = sweep(now=utc_now() + 1)
    assert (report.webhook_events_resent, report.errors) == (1, 0)
    sent = store.get(record.id, hydrate=False)
    assert (sent.webhook_unsent, sent.sweep_shard, sent.sweep_at) == (None, None, None)
    assert sent.status is InvocationStatus.SUCCEEDED
    assert pump(get_processor(), webhook_stack.queue_url) == ["fanned-out:1", "delivered"]
    assert len(receiver.requests) == 1
    assert receiver.requests[0].headers["webhook-id"] == announced.id
    assert sweep(now=utc_now() + 1).scanned == 0  # out of the index: nothing is sent twice


def test_a_held_waiting_event_is_sent_and_the_approval_timeout_stays(
    webhook_stack: WebhookStack, receiver_factory: Any
) -> None:
    store, record = get_store(), _running_without_queue(webhook_stack, receiver_factory([200]).url)
    pending = [PendingAction(id="toolu_1", tool="Edit", input={"file_path": "a.py"})]
    waiting = store.wait_for_approval(record.id, "owner", pending, timeout_seconds=86_400)
    assert store.get(record.id, hydrate=False).webhook_unsent is not None
    _queue_back(webhook_stack)
    report = sweep(now=utc_now() + 1)
    assert (report.webhook_events_resent, report.approval_timeouts) == (1, 0)
    after = store.get(record.id, hydrate=False)
    assert after.status is InvocationStatus.WAITING
    assert after.webhook_unsent is None
    assert waiting.waiting_since is not None
    since = datetime.fromisoformat(waiting.waiting_since).timestamp()
    assert after.sweep_at == since + 86_400
    messages = [json.loads(body) for body in drain_queue(webhook_stack.queue_url, rounds=1)]
    assert [m["type"] for m in messages] == ["invocation.waiting"]


def test_a_hold_is_refused_once_the_record_left_the_announced_status(
    webhook_stack: WebhookStack,
) -> None:
    store = get_store()
    record = _queued("https://hooks.example.test/x")
    cancelled = store.cancel(record.id, TENANT)
    event = event_for(cancelled)
    assert event is not None
    assert hold_unsent_event(store, record, event) is False  # the record is no longer QUEUED
    assert hold_unsent_event(store, cancelled, event) is True
    assert store.get(record.id, hydrate=False).webhook_unsent == [event.model_dump_json()]
