"""Economy batches end to end: the service, the worker's hand-off, the submitter and the
collector on moto over HTTP, and the real SDK against the fake's /v1/messages/batches."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from agents import aws, container
from agents.config import get_settings
from agents.economy.deps import EconomyDeps
from agents.economy.economy_pass import economy_pass
from agents.economy.submitter import Submitter
from agents.errors import EconomyNotSupported
from agents.pricing import estimate_cost
from agents.records import InvocationRecord, Processing
from agents.service import GatewayService
from agents.store import get_store
from agents.types import InvocationStatus
from bench.reliability.economy_scenarios import (
    FakeBatches,
    billed_once,
    kill_submitter_in_create,
    submit_economy_items,
)
from handlers.worker import handler as worker_handler
from tests.plugins.model import FakeModel
from tests.plugins.stack import InvocationStack, drain_queue
from tests.plugins.worker import AGENT, deliver, send

pytestmark = pytest.mark.integration

TENANT = "tenant-economy"


@dataclass
class Economy:
    stack: InvocationStack
    model: FakeModel
    queue_url: str

    def batches(self, **config: Any) -> dict[str, Any]:
        stats: dict[str, Any] = self.model._call("POST", "/_fake/batches", config)
        return stats


@pytest.fixture
def economy(
    worker_stack: InvocationStack, fake_model: FakeModel, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Economy]:
    url = aws.client("sqs").create_queue(QueueName="agw-economy")["QueueUrl"]
    drain_queue(url, rounds=2)
    monkeypatch.setenv("ECONOMY_QUEUE_URL", url)
    monkeypatch.setenv("ECONOMY_RECONCILE_AFTER_SECONDS", "0")
    container.reset()
    handle = Economy(worker_stack, fake_model, url)
    handle.batches(reset=True, processing_delay_s=0)
    yield handle
    handle.batches(reset=True)


def submit(count: int, *, key: str = "k", **fields: Any) -> list[str]:
    return submit_economy_items(TENANT, count, key=key, agent=fields.pop("agent", AGENT), **fields)


def run_worker(queue_url: str) -> None:
    while deliver(queue_url, worker_handler).received:
        pass


def records(ids: list[str]) -> list[InvocationRecord]:
    store = get_store()
    return [store.get(i, hydrate=False) for i in ids]


def run_until_terminal(
    economy: Economy, ids: list[str], *, passes: int = 12
) -> list[InvocationRecord]:
    for _ in range(passes):
        run_worker(economy.stack.queue_url)
        economy_pass()
        found = records(ids)
        if all(r.status.terminal for r in found):
            return found
    return records(ids)


def test_an_economy_batch_runs_in_one_message_batch_at_half_the_price(economy: Economy) -> None:
    ids = submit(50)
    assert {r.processing for r in records(ids)} == {Processing.ECONOMY}
    run_worker(economy.stack.queue_url)
    assert economy.model.stats()["calls"] == 0  # the worker ran none of them

    done = run_until_terminal(economy, ids)

    assert [r.status for r in done] == [InvocationStatus.SUCCEEDED] * 50
    stats = economy.batches()
    assert stats["creations"] == 1
    assert stats["max_submissions_per_custom_id"] == 1
    assert economy.model.stats()["calls"] == economy.model.stats()["repair_turns"]
    hydrated = get_store().get(ids[0], hydrate=True)
    assert hydrated.output
    assert "VERDICT" in hydrated.output
    assert hydrated.economy_batch_id == "msgbatch_fake_000001"
    assert hydrated.contract is not None
    assert hydrated.contract.valid
    assert hydrated.model is not None
    full = estimate_cost(hydrated.model, hydrated.usage)
    assert hydrated.cost_usd == pytest.approx(full / 2, rel=1e-6)


TOOL_AGENT = """---
name: tool-user
description: Reads files while it works.
model: haiku
tools: [Read, Bash]
---
You read files.
"""


def test_a_tool_using_agent_is_refused_before_anything_is_queued(
    economy: Economy, agents_bucket: str
) -> None:
    aws.client("s3").put_object(
        Bucket=agents_bucket, Key="agents/tool-user.md", Body=TOOL_AGENT.encode()
    )
    container.reset()
    with pytest.raises(EconomyNotSupported, match="names tools"):
        submit(3, agent="tool-user")
    assert drain_queue(economy.stack.queue_url, rounds=1) == []


def test_a_raw_economy_job_is_handed_to_the_submitter(economy: Economy) -> None:
    job = {
        "agent": AGENT,
        "input": "raw economy job\ndef f():\n    pass\n",
        "context": {"language": "python"},
        "processing": "economy",
        "idempotency_key": "raw-economy-1",
    }
    send(economy.stack.queue_url, job)
    run_worker(economy.stack.queue_url)
    assert economy.model.stats()["calls"] == 0
    economy_pass()
    economy_pass()
    found = get_store().list("queue", limit=10)[0]
    mine = [r for r in found if r.idempotency_key == "raw-economy-1"]
    assert [r.status for r in mine] == [InvocationStatus.SUCCEEDED]
    assert mine[0].processing is Processing.ECONOMY


def test_faults_end_every_item_and_fail_each_into_the_dlq_once(economy: Economy) -> None:
    economy.batches(errored_rate=0.2, expired_rate=0.05)
    ids = submit(40, key="faults")

    done = run_until_terminal(economy, ids)

    assert all(r.status.terminal for r in done)
    failed = [r for r in done if r.status is InvocationStatus.FAILED]
    succeeded = [r for r in done if r.status is InvocationStatus.SUCCEEDED]
    assert failed
    assert succeeded
    dead = [json.loads(b) for b in drain_queue(economy.stack.dlq_url, rounds=3)]
    assert sorted(d["invocation_id"] for d in dead) == sorted(r.id for r in failed)
    stats = economy.batches()
    # No item billed twice: one succeeded result per SUCCEEDED item, and an item is only
    # submitted again after its previous result came back failed.
    assert stats["items"]["succeeded"] == len(succeeded)
    assert stats["max_submissions_per_custom_id"] <= get_settings().max_receive_count
    assert stats["creations"] > 1  # the transient failures went out again


def assert_recovered_from_one_batch(economy: Economy, ids: list[str]) -> dict[str, Any]:
    """After a submitter crashed past its create call: the items are reserved but in no
    batch; then every one SUCCEEDS, out of the one batch created. The fake's batch stats."""
    assert all(r.economy_batch_id is None and r.economy_submission for r in records(ids))
    done = run_until_terminal(economy, ids)
    assert [r.status for r in done] == [InvocationStatus.SUCCEEDED] * len(ids)
    stats: dict[str, Any] = economy.batches()
    assert stats["creations"] == 1
    return stats


class Crash(BaseException):
    """Stands for the submitter's process dying."""


def test_a_crash_after_the_create_call_submits_nothing_twice(economy: Economy) -> None:
    ids = submit(20, key="crash")
    run_worker(economy.stack.queue_url)

    def crash(batch_id: str) -> None:
        raise Crash(batch_id)

    submitter = Submitter(EconomyDeps.from_container(), after_create=crash)
    with pytest.raises(Crash):
        submitter.run_once()
    stats = assert_recovered_from_one_batch(economy, ids)
    assert stats["max_submissions_per_custom_id"] == 1
    assert {r.economy_batch_id for r in records(ids)} == {None}  # adopted, shown on none


def test_a_submitter_killed_in_its_create_call_submits_nothing_twice(economy: Economy) -> None:
    """A real process: ``kill -9`` while the fake holds the answer to its create call."""
    ids = submit(12, key="killed")
    run_worker(economy.stack.queue_url)
    batches = FakeBatches(economy.model.url)

    killed = kill_submitter_in_create(dict(os.environ), batches)

    assert killed.killed_in_create, killed.stderr
    assert killed.creations_before_kill == 1
    stats = assert_recovered_from_one_batch(economy, ids)
    assert stats["creates_unanswered"] == 1
    results = batches.results()
    assert {i: len(results.get(i, [])) for i in ids} == dict.fromkeys(ids, 1)
    hydrated = [get_store().get(i, hydrate=True) for i in ids]
    assert all(billed_once(r, results[r.id]) for r in hydrated)
    assert drain_queue(economy.stack.dlq_url, rounds=2) == []


def test_cancelling_every_item_after_submission_cancels_the_message_batch(
    economy: Economy,
) -> None:
    economy.batches(processing_delay_s=600)
    ids = submit(5, key="cancel")
    run_worker(economy.stack.queue_url)
    economy_pass()
    assert {r.economy_batch_id for r in records(ids)} == {"msgbatch_fake_000001"}
    service = GatewayService()
    for invocation_id in ids[:4]:
        service.cancel(TENANT, invocation_id)
    economy_pass()
    assert economy.batches()["cancels"] == 0  # one item still waits for its result
    service.cancel(TENANT, ids[4])

    economy_pass()  # cancels the batch at Anthropic
    economy_pass()  # collects its (canceled) results

    assert economy.batches()["cancels"] == 1
    assert [r.status for r in records(ids)] == [InvocationStatus.CANCELLED] * 5
    assert economy.model.stats()["calls"] == 0
