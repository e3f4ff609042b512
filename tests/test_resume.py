"""Resumable runs end to end (moto server and the fake Messages API over HTTP): checkpoints,
resume without re-running a finished turn, segments, the stale-write guard."""

from __future__ import annotations

from typing import Any

import anthropic  # noqa: F401 - the SDK's first import happens before any deadline starts
import pytest

from agents import aws
from agents.checkpoints import CheckpointState, CheckpointStore
from agents.errors import Conflict
from agents.executor import OutcomeStatus, execute
from agents.records import InvocationRecord
from agents.runner import Deadline
from agents.store import get_store
from agents.types import InvocationStatus, Usage
from agents.workspace import Workspace
from agents.workspace.limits import WorkspaceLimits
from tests.plugins.stack import InvocationStack
from tests.resume_helpers import FILES, drive_queue, queue_run, send, six_turns, turn_numbers
from tests.scripted_model import ScriptedModel, scripted_model

__all__ = ["scripted_model"]

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _short_write_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    from agents import container

    monkeypatch.setenv("TURN_WRITE_MARGIN_MS", "300")
    container.reset()


def _checkpoint_keys(bucket: str, invocation_id: str) -> list[str]:
    listed = aws.client("s3").list_objects_v2(
        Bucket=bucket, Prefix=f"payloads/{invocation_id}/checkpoint/"
    )
    return [item["Key"] for item in listed.get("Contents", [])]


def _state(turn: int, messages: list[dict[str, Any]]) -> CheckpointState:
    return CheckpointState(
        turn=turn,
        messages=messages,
        transcript=[{"turn": n, "assistant": []} for n in range(1, turn + 1)],
        usage=Usage(input_tokens=10 * turn),
    )


def test_a_checkpoint_is_one_object_holding_only_what_is_new(
    invocation_tables: InvocationStack,
) -> None:
    workspace = Workspace.from_text_files(FILES, WorkspaceLimits())
    first = CheckpointStore(
        bucket=invocation_tables.bucket, prefix="payloads/", invocation_id="inv_ckpt_blobs"
    )
    user: dict[str, Any] = {"role": "user", "content": [{"type": "text", "text": "go"}]}
    answer: dict[str, Any] = {"role": "assistant", "content": [{"type": "text", "text": "one"}]}
    result: dict[str, Any] = {"role": "user", "content": [{"type": "text", "text": "two"}]}
    turn_1 = first.save(_state(1, [user]), workspace)
    assert first.uploaded == 1  # the turn object, the user message and turn 1 inline
    workspace.write_bytes("a.py", b"x = 1\n")
    ref = first.save(_state(2, [user, answer, result]), workspace)
    assert first.uploaded == 2  # two messages, turn 2 and the changed file inline
    # A new owner loads it and checkpoints turn 3: one object with the new message and turn.
    second = CheckpointStore(
        bucket=invocation_tables.bucket, prefix="payloads/", invocation_id="inv_ckpt_blobs"
    )
    loaded = second.load(ref)
    assert loaded.files == {"a.py": b"x = 1\n"}
    assert loaded.state.messages == [user, answer, result]
    more: dict[str, Any] = {"role": "assistant", "content": [{"type": "text", "text": "three"}]}
    third = second.save(_state(3, [user, answer, result, more]), workspace)
    assert second.uploaded == 1
    assert sorted(_checkpoint_keys(invocation_tables.bucket, "inv_ckpt_blobs")) == sorted(
        [turn_1, ref, third]
    )
    assert CheckpointStore(
        bucket=invocation_tables.bucket, prefix="payloads/", invocation_id="inv_ckpt_blobs"
    ).load(third).state.messages == [user, answer, result, more]
    with pytest.raises(ValueError, match="not one of invocation"):
        second.load("payloads/inv_other_id/checkpoint/turn-00001.json")
    with pytest.raises(ValueError, match="invalid invocation id"):
        CheckpointStore(bucket="b", prefix="payloads/", invocation_id="../etc")


def test_the_checkpoint_write_refuses_a_stale_owner_or_turn(
    invocation_tables: InvocationStack,
) -> None:
    store = get_store()
    invocation_id = queue_run(store)
    assert store.claim(invocation_id, "owner-a", lease_seconds=60) is not None

    def write(owner: str, turn: int, previous: int | None) -> InvocationRecord:
        return store.save_checkpoint(
            invocation_id,
            owner,
            turn=turn,
            previous_turn=previous,
            checkpoint_ref=f"k{turn}",
            usage=Usage(),
            cost_usd=0.0,
            tool_calls={},
        )

    write("owner-a", 1, None)
    with pytest.raises(Conflict):  # another owner
        write("owner-b", 2, 1)
    with pytest.raises(Conflict):  # a stale previous turn (a zombie writing turn 1 again)
        write("owner-a", 1, None)
    done = write("owner-a", 2, 1)
    assert (done.checkpoint_turn, done.checkpoint_ref) == (2, "k2")


def test_a_new_owner_resumes_without_calling_a_finished_turn_again(
    worker_stack: InvocationStack, scripted_model: ScriptedModel
) -> None:
    store = get_store()
    scripted_model.script(*six_turns())
    invocation_id = queue_run(store)
    # Segment 1: little time, so the run hands off after its first turns.
    scripted_model.fake.fault(latency_s=0.6)
    first = execute(
        invocation_id,
        deadline=Deadline.after_ms(4500),
        owner="a",
        final_attempt=False,
        min_start_seconds=0.5,
    )
    assert first.status is OutcomeStatus.HANDED_OFF, first
    handed = store.get(invocation_id, hydrate=False)
    assert handed.status is InvocationStatus.RUNNING
    assert handed.lease_owner is None
    assert handed.segments == 2
    assert handed.checkpoint_turn is not None
    assert 1 <= handed.checkpoint_turn < 6
    assert (handed.sweep_shard, handed.sweep_at is not None) == ("due", True)
    done_turns = handed.checkpoint_turn
    # A takeover by another owner (not the continuation): it resumes from the checkpoint.
    scripted_model.fake.fault(reset=True)
    second = execute(
        invocation_id, deadline=Deadline.after_ms(30_000), owner="b", final_attempt=False
    )
    assert second.status is OutcomeStatus.SUCCEEDED, second
    view = store.get(invocation_id)
    assert view.status is InvocationStatus.SUCCEEDED
    assert view.turns == 6
    assert view.tool_calls == {"Read": 2, "Edit": 2, "Glob": 1}
    assert [c["path"] for c in view.files_changed] == ["a.py", "b.py"]
    assert view.patch is not None
    assert "+    return a + b" in view.patch
    assert view.sweep_shard is None
    assert view.sweep_at is None
    turns = turn_numbers(scripted_model.requests)
    assert turns == [1, 2, 3, 4, 5, 6], f"turn repeated after checkpoint {done_turns}: {turns}"


def test_a_short_worker_deadline_spans_segments_with_exactly_one_call_per_turn(
    worker_stack: InvocationStack, scripted_model: ScriptedModel
) -> None:
    store = get_store()
    scripted_model.script(*six_turns())
    scripted_model.fake.fault(latency_s=0.3)
    invocation_id = queue_run(store)
    send(worker_stack.queue_url, {"invocation_id": invocation_id})
    results = drive_queue(worker_stack.queue_url, invocation_id, segment_ms=2800)
    record = store.get(invocation_id)
    assert record.status is InvocationStatus.SUCCEEDED, record.error
    assert record.segments >= 2
    assert [r.status for r in results].count("handed-off") == record.segments - 1
    assert not any(r.retry for r in results)
    assert record.attempts == 1  # continuations are segments, not attempts
    assert turn_numbers(scripted_model.requests) == [1, 2, 3, 4, 5, 6]
    assert [c["path"] for c in record.files_changed] == ["a.py", "b.py"]


def test_the_wait_for_a_decision_does_not_count_against_max_run_seconds(
    invocation_tables: InvocationStack,
) -> None:
    from agents.pending_actions import ActionDecision, PendingAction

    store = get_store()
    invocation_id = queue_run(store)
    claimed = store.claim(invocation_id, "w", lease_seconds=60, now=1_000_000.0)
    assert claimed is not None
    assert claimed.run_started_at == 1_000_000.0
    store.wait_for_approval(
        invocation_id,
        "w",
        [PendingAction(id="t1", tool="Edit")],
        timeout_seconds=60,
        now=1_000_010.0,
    )
    decided = store.decide_actions(
        invocation_id,
        "tenant-a",
        [ActionDecision(id="t1", decision="approve")],
        grace_seconds=60,
        now=1_000_110.0,
    )
    assert decided.status is InvocationStatus.QUEUED
    assert decided.run_started_at == pytest.approx(1_000_100.0)
    assert decided.sweep_at == pytest.approx(1_000_170.0)
