"""The sweeper (``agents.sweeper.sweep``) on moto's ``SweepIndex``, and a real crash: a child
process running a sync tool run kills itself with SIGKILL right after a checkpoint; the sweeper
resumes it and no finished turn is called again. An un-checkpointed run is failed
``abandoned`` with exactly one DLQ message; a WAITING run past its timeout ``approval-timeout``."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import anthropic  # noqa: F401 - the SDK's first import happens before any deadline starts
import pytest

from agents import aws
from agents.pending_actions import PendingAction
from agents.store import get_store
from agents.sweeper import sweep
from agents.types import InvocationStatus
from tests.plugins.children import checkout_environment, run_python
from tests.plugins.stack import InvocationStack, drain_queue
from tests.resume_helpers import drive_queue, queue_run, six_turns, turn_numbers
from tests.scripted_model import ScriptedModel, scripted_model

__all__ = ["scripted_model"]

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]


def test_the_index_shows_up_in_moto(invocation_tables: InvocationStack) -> None:
    table = aws.client("dynamodb").describe_table(TableName=invocation_tables.table)["Table"]
    index = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}["SweepIndex"]
    assert [k["AttributeName"] for k in index["KeySchema"]] == ["sweep_shard", "sweep_at"]
    assert index["Projection"]["ProjectionType"] == "INCLUDE"


def test_an_uncheckpointed_sync_run_is_abandoned_once_and_a_stale_wait_times_out(
    invocation_tables: InvocationStack,
) -> None:
    store = get_store()
    before = time.time()  # every lease and timeout below ends at least 5 s after this
    abandoned = queue_run(store)
    claimed = store.claim(abandoned, "api:dead", lease_seconds=5, inline=True)
    assert claimed is not None
    assert claimed.sweep_shard == "due"
    waiting = queue_run(store)
    store.claim(waiting, "w", lease_seconds=60)
    store.wait_for_approval(
        waiting, "w", [PendingAction(id="toolu_1", tool="Edit")], timeout_seconds=5
    )
    live = queue_run(store)
    store.claim(live, "api:alive", lease_seconds=600, inline=True)
    assert sweep(now=before).scanned == 0  # nothing due yet
    report = sweep(now=before + 30)
    assert (report.abandoned, report.approval_timeouts, report.resumed) == (1, 1, 0)
    assert report.scanned == 2  # the live run's lease is not due
    first, second = store.get(abandoned), store.get(waiting)
    assert first.status is InvocationStatus.FAILED
    assert first.error is not None
    assert first.error.type == "abandoned"
    assert second.error is not None
    assert second.error.type == "approval-timeout"
    assert first.sweep_at is None
    assert second.pending_actions is None
    again = sweep(now=before + 40)
    assert again.scanned == 0
    letters = [json.loads(body) for body in drain_queue(invocation_tables.dlq_url)]
    assert sorted(letter["invocation_id"] for letter in letters) == sorted([abandoned, waiting])


def test_a_sync_run_killed_after_a_checkpoint_is_resumed_by_the_sweeper(
    worker_stack: InvocationStack, scripted_model: ScriptedModel, tmp_path: Path
) -> None:
    store = get_store()
    scripted_model.script(*six_turns())
    invocation_id = queue_run(store)
    crash = {"AGW_CRASH_AT": "after-checkpoint@3", "AGW_CRASH_MARKER": str(tmp_path / "crashed")}
    child = run_python(
        ["-m", "tests.resume_child", invocation_id], env=checkout_environment(crash), timeout=60
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert (tmp_path / "crashed").exists()
    dead = store.get(invocation_id, hydrate=False)
    assert dead.status is InvocationStatus.RUNNING
    assert dead.lease_owner == "api:crash-child"
    assert dead.checkpoint_turn == 3
    assert dead.lease_expires_at is not None
    report = sweep(now=dead.lease_expires_at + 1)
    assert report.resumed == 1
    drive_queue(worker_stack.queue_url, invocation_id, segment_ms=20_000)
    done = store.get(invocation_id)
    assert done.status is InvocationStatus.SUCCEEDED, done.error
    assert done.turns == 6
    assert (dead.segments, done.segments) == (1, 2)  # the resumed run is a new segment
    assert [c["path"] for c in done.files_changed] == ["a.py", "b.py"]
    assert turn_numbers(scripted_model.requests) == [1, 2, 3, 4, 5, 6]
    assert drain_queue(worker_stack.dlq_url) == []
