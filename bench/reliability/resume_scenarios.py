"""Reliability scenarios 15-17 (issue 15, resumable runs): crash anywhere, a long run,
``Prefer: wait=2``. Scenarios 18-19 (approval, sweeper): :mod:`bench.reliability.run_recovery`.

* **15. Crash anywhere:** a 6-turn scripted tool run (python-fixer, ``bench.tool_loop.script``)
  whose worker runs in a child process (:mod:`bench.reliability.resume_children`) armed
  with one crash point (``AGW_CRASH_AT``: before the model call, after its answer, after
  the tool results, after the checkpoint, mid-upload), killed by ``SIGKILL`` there, then
  delivered again to a fresh child (the SQS redelivery). Every trial must end SUCCEEDED
  with at most 6 + 1 model calls, no turn at or below the checkpoint at the crash asked of
  the model again (the fake's request log), and the uninterrupted run's files and patch.
* **16. Long run:** 30 turns, 1 s of model latency each, the worker's timeout 10 s: the run
  hands off from segment to segment and ends SUCCEEDED in >= 3 segments, 30 model calls.
* **17. Prefer: wait=2** on that run: a 202 within 4 s, then SUCCEEDED.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.reliability.harness import KEY_A, REPO, Harness, wait_until
from bench.reliability.outcome import Outcome
from bench.tool_loop import FILES, TASK, script

__all__ = [
    "CRASH_BOUNDARIES",
    "crash_anywhere",
    "long_run",
    "prefer_wait",
]

AGENT = "python-fixer"
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}
#: Crash point names of ``agents.crash_points`` (n = the turn for every one of them).
CRASH_BOUNDARIES = (
    "before-model-call",
    "after-model-answer",
    "after-tool-results",
    "after-checkpoint",
    "mid-upload",
)
CRASH_TURNS = 6
_CHILD_TIMEOUT_S = 90.0
#: The children's run lease: short, so a redelivery can take a killed run over quickly.
_CHILD_LEASE_S = "3"


# ------------------------------------------------------------------ shared helpers


@contextmanager
def paused_worker(h: Harness) -> Iterator[None]:
    """Stop the suite's in-process SQS poller for a block (children do the work)."""
    h.poller.stop(timeout_s=h.worker_timeout_s + 5)
    try:
        yield
    finally:
        h.poller.start()


def queue_script(h: Harness, responses: Sequence[dict[str, Any]]) -> None:
    from local.fake_anthropic.script import ScriptedResponse

    h.fake.script.clear()
    h.fake.script.extend([ScriptedResponse.model_validate(r) for r in responses])


def submit(h: Harness, body: dict[str, Any], *, key: str = KEY_A, **headers: str) -> Any:
    with h.client(key) as client:
        return client.post(f"/agents/{AGENT}/invocations", json=body, headers=headers)


def tool_run_body(tag: str, *, max_turns: int = 40, **extra: Any) -> dict[str, Any]:
    return {
        "input": TASK,
        "files": dict(FILES),
        "max_turns": max_turns,
        "metadata": {"run": tag},
        **extra,
    }


def get_view(h: Harness, invocation_id: str, key: str = KEY_A) -> dict[str, Any]:
    with h.client(key) as client:
        view: dict[str, Any] = client.get(f"/invocations/{invocation_id}").json()
    return view


def wait_status(
    h: Harness, invocation_id: str, statuses: set[str], *, timeout_s: float
) -> dict[str, Any]:
    last: dict[str, Any] = {}

    def reached() -> bool:
        nonlocal last
        last = get_view(h, invocation_id)
        return last.get("status") in statuses

    wait_until(reached, timeout_s=timeout_s, interval_s=0.25)
    return last


def record_item(h: Harness, invocation_id: str) -> dict[str, Any]:
    """The raw table item (lease, sweep attributes), as plain values."""
    from boto3.dynamodb.types import TypeDeserializer

    item = (
        h.dynamodb()
        .get_item(TableName=h.table, Key={"id": {"S": invocation_id}}, ConsistentRead=True)
        .get("Item", {})
    )
    deserializer = TypeDeserializer()
    return {k: deserializer.deserialize(v) for k, v in item.items()}


def requested_turns(h: Harness) -> list[int]:
    """The turn each logged model request asked for (assistant messages so far + 1)."""
    turns = []
    for entry in h.fake.requests.recent(200):
        messages = (entry.get("body") or {}).get("messages") or []
        turns.append(1 + sum(1 for m in messages if m.get("role") == "assistant"))
    return turns


def child_env(h: Harness, **extra: str) -> dict[str, str]:
    env = dict(os.environ)  # the suite's function environment (patched by the harness)
    env.update(
        PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "src")]),
        PYTHONUNBUFFERED="1",
        LEASE_SECONDS=_CHILD_LEASE_S,
        POWERTOOLS_LOG_LEVEL="ERROR",
    )
    env.update(extra)
    return env


def run_worker_child(
    h: Harness, body: str, *, receive_count: int, env: dict[str, str], tmp: Path
) -> subprocess.CompletedProcess[str]:
    """One worker invocation in a child process with this delivery of ``body``."""
    from bench.reliability.resume_children import sqs_event

    queue_arn = h.sqs().get_queue_attributes(QueueUrl=h.queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    event = sqs_event(
        body, receive_count=receive_count, queue_arn=queue_arn, region=h.require_info().region
    )
    path = tmp / f"event-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(event), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "bench.reliability.resume_children", "worker", str(path), "60"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=_CHILD_TIMEOUT_S,
        check=False,
    )


def take_message(h: Harness, invocation_id: str) -> tuple[str, str]:
    """Receive the invocation's queue message (body, receipt handle), hidden for 10 min."""
    sqs = h.sqs()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        response = sqs.receive_message(
            QueueUrl=h.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=600
        )
        for message in response.get("Messages", []):
            if invocation_id in message["Body"]:
                return message["Body"], message["ReceiptHandle"]
            sqs.change_message_visibility(
                QueueUrl=h.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    raise RuntimeError(f"no queue message for {invocation_id}")


def wait_lease_expired(h: Harness, invocation_id: str, *, timeout_s: float = 30) -> None:
    item = record_item(h, invocation_id)
    expires = float(item.get("lease_expires_at") or 0)
    delay = expires - time.time() + 0.2
    if delay > 0:
        time.sleep(min(delay, timeout_s))


# ------------------------------------------------------------------ 15. crash anywhere


def _trial(h: Harness, tmp: Path, crash_at: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """One 6-turn run through worker children, killed at ``crash_at`` (``None``: never)."""
    responses = script(CRASH_TURNS)
    h.reset_model()
    queue_script(h, responses)
    tag = f"crash-{uuid.uuid4().hex[:8]}"
    answer = submit(h, tool_run_body(tag), Prefer="respond-async")
    invocation_id = str(answer.json()["id"])
    body, receipt = take_message(h, invocation_id)
    facts: dict[str, Any] = {"crash_at": crash_at, "crashed": False, "children": 1}
    env = child_env(h)
    if crash_at is not None:
        marker = tmp / f"marker-{uuid.uuid4().hex[:8]}"
        armed = child_env(h, AGW_CRASH_AT=crash_at, AGW_CRASH_MARKER=str(marker))
        first = run_worker_child(h, body, receive_count=1, env=armed, tmp=tmp)
        facts["crashed"] = first.returncode == -9 and marker.exists()
        facts["first_rc"] = first.returncode
        if first.returncode not in (0, -9):
            facts["first_stderr"] = first.stderr[-800:]
        item = record_item(h, invocation_id)
        checkpoint = int(item.get("checkpoint_turn") or 0)
        facts["checkpoint_at_crash"] = checkpoint
        facts["calls_at_crash"] = h.model_calls()
        # The model answers turn n with response n, as a deterministic model would: the
        # killed turn's answer (if it was consumed) is offered again.
        queue_script(h, responses[checkpoint:])
        wait_lease_expired(h, invocation_id)
        facts["children"] = 2
    second = run_worker_child(h, body, receive_count=2 if crash_at else 1, env=env, tmp=tmp)
    if second.returncode != 0:
        facts["last_stderr"] = second.stderr[-800:]
    h.sqs().delete_message(QueueUrl=h.queue_url, ReceiptHandle=receipt)
    view = wait_status(h, invocation_id, TERMINAL, timeout_s=20)
    turns = requested_turns(h)
    facts["model_calls"] = h.model_calls()
    facts["turns_requested"] = turns
    calls_at_crash = int(facts.get("calls_at_crash", len(turns)))
    after = turns[calls_at_crash:] if crash_at else []
    facts["completed_turn_repeated"] = any(
        t <= int(facts.get("checkpoint_at_crash", 0)) for t in after
    )
    return view, facts


def crash_anywhere(h: Harness, *, turns_per_boundary: Sequence[int] = (3,)) -> Outcome:
    """Kill -9 at each step boundary of a 6-turn tool run; each trial must still succeed."""
    out = Outcome("crash-anywhere", "15. Crash anywhere (kill -9)")
    h.clean()
    trials: list[tuple[dict[str, Any], dict[str, Any]]] = []
    with paused_worker(h), tempfile.TemporaryDirectory(prefix="agw-crash-") as tmp_dir:
        tmp = Path(tmp_dir)
        baseline, _ = _trial(h, tmp, None)
        for boundary in CRASH_BOUNDARIES:
            for turn in turns_per_boundary:
                trials.append(_trial(h, tmp, f"{boundary}@{turn}"))
    dead = h.drain(h.dlq_url)
    reference = (baseline.get("files_changed"), baseline.get("patch"))
    crashed = [f for _, f in trials if f["crashed"]]
    out.figures = {
        "trials": len(trials),
        "killed": len(crashed),
        "SUCCEEDED": sum(1 for v, _ in trials if v.get("status") == "SUCCEEDED"),
        "max_model_calls": max((f["model_calls"] for _, f in trials), default=0),
        "completed_turns_repeated": sum(1 for _, f in trials if f["completed_turn_repeated"]),
        "same_files_and_patch": sum(
            1 for v, _ in trials if (v.get("files_changed"), v.get("patch")) == reference
        ),
        "dlq_messages": len(dead),
        "calls_by_trial": {f["crash_at"]: f["model_calls"] for _, f in trials},
        "checkpoint_at_crash": {f["crash_at"]: f.get("checkpoint_at_crash") for _, f in trials},
    }
    for view, facts in trials:
        if view.get("status") != "SUCCEEDED" or not facts["crashed"]:
            out.notes.append(f"{facts} -> {str(view)[:300]}")
    out.check("baseline SUCCEEDED", baseline.get("status") == "SUCCEEDED")
    out.check("every trial killed at its boundary", out["killed"] == len(trials))
    out.check("every trial SUCCEEDED", out["SUCCEEDED"] == len(trials))
    out.check(
        "model calls <= 6 + crashes",
        all(f["model_calls"] <= CRASH_TURNS + int(f["crashed"]) for _, f in trials),
    )
    out.check("no completed turn called twice", out["completed_turns_repeated"] == 0)
    out.check(
        "files_changed and patch as uninterrupted", out["same_files_and_patch"] == len(trials)
    )
    out.check("DLQ empty", not dead)
    return out.done()


# ------------------------------------------------------------------ 16/17. long run


@contextmanager
def long_run_conditions(
    h: Harness, *, timeout_s: float = 10.0, latency_s: float = 1.0
) -> Iterator[None]:
    """The worker's timeout at ``timeout_s`` and every model call ``latency_s`` slow."""
    poller = h.poller
    previous = poller.function_timeout_s
    poller.function_timeout_s = timeout_s
    h.fault(latency_s=latency_s)
    try:
        yield
    finally:
        poller.function_timeout_s = previous
        h.fake.faults.clear()


def long_run(h: Harness, *, turns: int = 30) -> Outcome:
    out = Outcome("long-run", "16. Long run (segments)")
    h.clean()
    queue_script(h, script(turns))
    with long_run_conditions(h):
        answer = submit(h, tool_run_body(f"long-{uuid.uuid4().hex[:8]}"), Prefer="respond-async")
        invocation_id = str(answer.json()["id"])
        view = wait_status(h, invocation_id, TERMINAL, timeout_s=turns * 4 + 60)
    dead = h.drain(h.dlq_url)
    out.figures = {
        "turns": view.get("turns"),
        "segments": view.get("segments"),
        "model_calls": h.model_calls(),
        "status": view.get("status"),
        "dlq_messages": len(dead),
    }
    out.check("SUCCEEDED", view.get("status") == "SUCCEEDED")
    out.check(">= 3 segments", int(view.get("segments") or 0) >= 3)
    out.check(f"exactly {turns} model calls", out["model_calls"] == turns)
    out.check("DLQ empty", not dead)
    return out.done()


def prefer_wait(h: Harness, *, turns: int = 30, wait_s: int = 2) -> Outcome:
    out = Outcome("prefer-wait", f"17. Prefer: wait={wait_s}")
    h.clean()
    queue_script(h, script(turns))
    with long_run_conditions(h):
        started = time.monotonic()
        answer = submit(h, tool_run_body(f"wait-{uuid.uuid4().hex[:8]}"), Prefer=f"wait={wait_s}")
        answered_s = time.monotonic() - started
        first: dict[str, Any] = answer.json()
        invocation_id = str(first.get("id"))
        view = wait_status(h, invocation_id, TERMINAL, timeout_s=turns * 4 + 60)
    out.figures = {
        "status_code": answer.status_code,
        "answered_s": round(answered_s, 2),
        "preference_applied": answer.headers.get("preference-applied"),
        "location": answer.headers.get("location"),
        "final": view.get("status"),
        "segments": view.get("segments"),
        "model_calls": h.model_calls(),
    }
    out.check("202", answer.status_code == 202)
    out.check(f"answered within {2 * wait_s} s", answered_s <= 2 * wait_s)
    out.check("Location", answer.headers.get("location") == f"/invocations/{invocation_id}")
    out.check("then SUCCEEDED", view.get("status") == "SUCCEEDED")
    out.check(f"exactly {turns} model calls", out["model_calls"] == turns)
    return out.done()
