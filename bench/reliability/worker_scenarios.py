"""Scenarios through the SQS worker: duplicates, chaos, poison messages, crash recovery.

Jobs are raw queue messages (``{"agent", "input", "idempotency_key", "metadata"}``, the
producer format of DESIGN.md); each scenario tags its jobs with ``metadata.run`` and finds
their records by that tag, so scenarios sharing one stack never count each other's work.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter
from typing import Any

from bench.reliability.harness import AGENT, Harness, dumps, wait_until
from bench.reliability.outcome import Outcome

__all__ = ["at_least_once", "chaos", "crash_recovery", "poison"]

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


def _job(run: str, number: int, **extra: Any) -> dict[str, Any]:
    return {
        "agent": AGENT,
        "input": f"Job {number} of run {run}: add input validation to the /orders endpoint.",
        "idempotency_key": f"{run}-{number}",
        "metadata": {"run": run, "n": str(number)},
        **extra,
    }


def _run_records(h: Harness, run: str) -> list[dict[str, Any]]:
    return [item for item in h.invocations() if (item.get("metadata") or {}).get("run") == run]


def _wait_terminal(
    h: Harness, run: str, expected: int, *, timeout_s: float
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []

    def done() -> bool:
        nonlocal records
        records = _run_records(h, run)
        return len(records) >= expected and all(r["status"] in TERMINAL for r in records)

    wait_until(done, timeout_s=timeout_s, interval_s=0.5)
    return records


def _dlq_messages(h: Harness) -> list[dict[str, Any]]:
    return [json.loads(body) for body in h.drain(h.dlq_url)]


# --------------------------------------------------------------------------- 2


def _event_log_figures(h: Harness, records: list[dict[str, Any]]) -> dict[str, int]:
    """Each record's event log (issue 16): gapless from 1, exactly one ``completed``, and its
    last ``status`` event the record's status, despite retries, takeovers and releases."""
    from agents.events import EventLog, EventType

    table = h.require_info().environment["EVENTS_TABLE"]
    log = EventLog(table, retention_days=1, dynamodb=h.dynamodb())
    figures = {"event_logs_gapless": 0, "event_logs_one_completed": 0, "event_logs_final_status": 0}
    most = 0
    for record in records:
        events = log.read(str(record["id"]), limit=500)
        most = max(most, len(events))
        seqs = [event.seq for event in events]
        figures["event_logs_gapless"] += seqs == list(range(1, len(seqs) + 1)) and bool(seqs)
        completed = [event for event in events if event.type is EventType.COMPLETED]
        figures["event_logs_one_completed"] += len(completed) == 1
        statuses = [event.data.get("status") for event in events if event.type is EventType.STATUS]
        figures["event_logs_final_status"] += bool(statuses) and statuses[-1] == record["status"]
    figures["event_log_most_events"] = most
    return figures


def at_least_once(h: Harness, *, jobs: int = 100, copies: int = 2, seed: int = 2) -> Outcome:
    """Every job's message sent ``copies`` times, shuffled, to the worker's consumers."""
    out = Outcome("at-least-once", "2. At-least-once delivery")
    h.clean()
    run = f"alo-{uuid.uuid4().hex[:8]}"
    bodies = [dumps(_job(run, n)) for n in range(jobs)] * copies
    random.Random(seed).shuffle(bodies)
    sent = h.send_raw(bodies)
    records = _wait_terminal(h, run, jobs, timeout_s=60 + jobs)
    h.quiesce(timeout_s=30)
    statuses = Counter(r["status"] for r in records)
    dlq = _dlq_messages(h)
    out.figures = {
        "jobs": jobs,
        "messages": sent,
        "consumers": h.worker_concurrency,
        "model_calls": h.model_calls(),
        "records": len(records),
        "SUCCEEDED": statuses["SUCCEEDED"],
        "FAILED": statuses["FAILED"],
        "runs_per_record_max": max((int(r.get("attempts", 0)) for r in records), default=0),
        "dlq_messages": len(dlq),
    }
    out.check("one model call per job", out["model_calls"] == jobs)
    out.check("one record per job", len(records) == jobs)
    out.check("every record SUCCEEDED", statuses["SUCCEEDED"] == jobs)
    out.check("nothing in the DLQ", not dlq)
    return out.done()


# --------------------------------------------------------------------------- 3


def _chaos_faults(h: Harness, rate: float, *, seed: int, hard: bool) -> None:
    """Faults at ``rate`` overall: four equal random specs, each at p with 1-(1-p)^4 = rate."""
    kinds = 4 if hard else 2
    p = 1 - (1 - rate) ** (1 / kinds)
    h.fault(rate=p, statuses=[429], retry_after=1, seed=seed)
    h.fault(rate=p, statuses=[529, 500], seed=seed + 1)
    if hard:
        # beyond the worker's deadline (its Lambda timeout), and streams cut mid-answer
        h.fault(rate=p, kinds=["latency"], latency_s=h.worker_timeout_s + 5, seed=seed + 2)
        h.fault(rate=p, kinds=["cut_stream"], seed=seed + 3)


def chaos(
    h: Harness,
    *,
    jobs: int = 200,
    fault_rate: float = 0.3,
    transient_jobs: int = 100,
    transient_rate: float = 0.1,
    seed: int = 3,
    timeout_s: float = 240,
) -> Outcome:
    """``jobs`` under ``fault_rate`` mixed faults, then ``transient_jobs`` under transient ones."""
    out = Outcome("chaos", "3. Chaos")
    h.clean()

    # (a) 30 % faults: 429 + retry-after, 529/500, latency past the deadline, cut streams
    run = f"chaos-{uuid.uuid4().hex[:8]}"
    _chaos_faults(h, fault_rate, seed=seed, hard=True)
    h.send_raw([dumps(_job(run, n)) for n in range(jobs)])
    records = _wait_terminal(h, run, jobs, timeout_s=timeout_s)
    h.quiesce(timeout_s=h.worker_timeout_s * 4)
    stats = h.fake.stats.snapshot()
    h.reset_model()
    # let every lease that could still be live expire, then look again
    time.sleep(h.lease_seconds + 1)
    records = _run_records(h, run)
    statuses = Counter(r["status"] for r in records)
    ids = {r["id"] for r in records}
    dlq = _dlq_messages(h)
    dlq_ids = Counter(m.get("invocation_id") for m in dlq if m.get("invocation_id") in ids)
    failed_ids = {r["id"] for r in records if r["status"] == "FAILED"}
    faults = stats.get("faults_injected", {})
    logs = _event_log_figures(h, records)

    # (b) 10 % transient faults (429 with retry-after, 529, 500)
    run2 = f"transient-{uuid.uuid4().hex[:8]}"
    _chaos_faults(h, transient_rate, seed=seed + 10, hard=False)
    h.send_raw([dumps(_job(run2, n)) for n in range(transient_jobs)])
    records2 = _wait_terminal(h, run2, transient_jobs, timeout_s=timeout_s)
    h.quiesce(timeout_s=h.worker_timeout_s * 4)
    stats2 = h.fake.stats.snapshot()
    h.reset_model()
    statuses2 = Counter(r["status"] for r in records2)
    dlq2 = _dlq_messages(h)

    out.figures = {
        "jobs": jobs,
        "model_calls": stats.get("calls", 0),
        "faults_injected": sum(faults.values()),
        "fault_rate_observed": round(sum(faults.values()) / max(1, stats.get("calls", 1)), 3),
        "SUCCEEDED": statuses["SUCCEEDED"],
        "FAILED": statuses["FAILED"],
        "RUNNING_after_leases": statuses["RUNNING"],
        "QUEUED_after_leases": statuses["QUEUED"],
        "lost": jobs - len(records),
        "dlq_messages": sum(dlq_ids.values()),
        "dlq_duplicates": sum(n - 1 for n in dlq_ids.values() if n > 1),
        "transient_jobs": transient_jobs,
        "transient_faults": sum(stats2.get("faults_injected", {}).values()),
        "transient_SUCCEEDED": statuses2["SUCCEEDED"],
        "transient_FAILED": statuses2["FAILED"],
        "transient_dlq": len(dlq2),
        **logs,
    }
    out.check(
        "all reach a terminal state",
        len(records) == jobs and all(r["status"] in TERMINAL for r in records),
    )
    out.check(
        "none stuck RUNNING/QUEUED after the leases",
        statuses["RUNNING"] == 0 and statuses["QUEUED"] == 0,
    )
    out.check(
        "FAILED == DLQ messages (one each)",
        set(dlq_ids) == failed_ids and out["dlq_duplicates"] == 0,
    )
    out.check("faults were injected", out["faults_injected"] > 0)
    out.check(
        "every event log: seq 1..N with no gaps, one completed, last status = the record's",
        logs["event_logs_gapless"] == logs["event_logs_one_completed"] == jobs
        and logs["event_logs_final_status"] == jobs,
    )
    out.check(
        "at most 1 in 100 (and at least 1) fails under 10% transient faults",
        statuses2["SUCCEEDED"] >= transient_jobs - max(1, transient_jobs // 100)
        and len(records2) == transient_jobs,
    )
    return out.done()


# --------------------------------------------------------------------------- 4


def poison(h: Harness) -> Outcome:
    """Malformed, mistyped, unknown-agent and oversized raw jobs next to valid ones."""
    out = Outcome("poison", "4. Poison messages")
    h.clean()
    run = f"poison-{uuid.uuid4().hex[:8]}"
    max_input = 20_000
    bad: dict[str, str] = {
        "malformed JSON": '{"agent": "' + AGENT + '", "input": ',
        "not an object": "[1, 2, 3]",
        "empty body": "",
        "wrong types": dumps({"agent": 42, "input": ["not", "text"], "metadata": {"run": run}}),
        "missing input": dumps({"agent": AGENT, "metadata": {"run": run}}),
        "unknown agent": dumps({"agent": "no-such-agent", "input": "x", "metadata": {"run": run}}),
        "invalid agent name": dumps(
            {"agent": "../../etc/passwd", "input": "x", "metadata": {"run": run}}
        ),
        "oversized input": dumps(
            {"agent": AGENT, "input": "x" * (max_input * 2), "metadata": {"run": run}}
        ),
        "unknown invocation id": dumps({"invocation_id": "inv_" + "0" * 28}),
    }
    bad["empty body"] = " "  # SQS refuses an empty body; a blank one is the closest
    valid = [dumps(_job(run, n)) for n in range(len(bad))]
    batch_size = h.poller.batch_size
    # Each batch: poison messages and valid jobs side by side.
    labelled = [(label, body) for label, body in bad.items()]
    mixed: list[tuple[str, str]] = []
    for number, item in enumerate(labelled):
        mixed.append(item)
        if number % 2 == 0:  # a valid job after every other poison message
            mixed.append((f"valid {number}", valid[number]))
    valid_sent = sum(1 for label, _ in mixed if label.startswith("valid"))

    with h.environment_overrides({"MAX_INPUT_CHARS": str(max_input)}):
        h.poller.stop(timeout_s=h.worker_timeout_s + 5)  # these batches are built by hand
        try:
            sqs = h.sqs()
            sent_ids: dict[str, str] = {}
            for label, body in mixed:
                sent_ids[sqs.send_message(QueueUrl=h.queue_url, MessageBody=body)["MessageId"]] = (
                    label
                )
            received: dict[str, Any] = {}
            for _ in range(50):
                if len(received) >= len(mixed):
                    break
                for message in sqs.receive_message(
                    QueueUrl=h.queue_url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=1,
                    MessageSystemAttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", []):
                    received[message["MessageId"]] = message
            ordered = [received[mid] for mid in sent_ids if mid in received]
            failed: set[str] = set()
            h.poller.start()  # its client; its consumers find the queue empty meanwhile
            batches = 0
            for start in range(0, len(ordered), batch_size):
                failed |= h.poller.process(ordered[start : start + batch_size])
                batches += 1
        finally:
            if not h.poller.running:
                h.poller.start()
    wait_until(lambda: h.queue_depth(h.dlq_url) >= len(bad), timeout_s=10)
    dlq = _dlq_messages(h)
    records = _run_records(h, run)
    by_source = {m.get("source_message_id"): m for m in dlq if m.get("source_message_id")}
    by_invocation = {m.get("invocation_id"): m for m in dlq if m.get("invocation_id")}
    # A poison message is either DLQ'd as it came (kind "poison", naming its SQS message id)
    # or, when it parsed into a job that fails permanently, as its FAILED record.
    dead = [
        by_source[mid]
        for mid, label in sent_ids.items()
        if not label.startswith("valid") and mid in by_source
    ]
    dead += [
        by_invocation[r["id"]]
        for r in records
        if r["status"] == "FAILED" and r["id"] in by_invocation
    ]
    with_reason = sum(1 for m in dead if m.get("message") and m.get("error_type"))
    valid_ok = sum(
        1
        for r in records
        if (r.get("metadata") or {}).get("n") is not None and r["status"] == "SUCCEEDED"
    )
    retried = [sent_ids[mid] for mid in failed]
    out.figures = {
        "poison_messages": len(bad),
        "valid_jobs": valid_sent,
        "batches": batches,
        "dlq_messages": len(dlq),
        "dlq_with_reason": with_reason,
        "reasons": " / ".join(sorted({str(m.get("error_type")) for m in dlq})),
        "retried_by_sqs": len(retried),
        "valid_SUCCEEDED": valid_ok,
        "model_calls": h.model_calls(),
    }
    out.check(
        "every poison message in the DLQ once, with a reason",
        len(dead) == len(bad) and with_reason == len(bad) and len(dlq) == len(bad),
    )
    out.check(
        "at once: none left for SQS to retry", not retried and h.queue_depth(h.queue_url) == 0
    )
    out.check("the rest of each batch unaffected", valid_ok == valid_sent)
    out.check("one model call per valid job", out["model_calls"] == valid_sent)
    if retried:
        out.notes.append(f"retried: {retried}")
    return out.done()


# --------------------------------------------------------------------------- 10


def crash_recovery(h: Harness, *, crashed: int = 10, finished: int = 10) -> Outcome:
    """Workers that died mid-run (expired leases) and workers that died after storing."""
    from agents.records import InvocationMode, InvocationRecord
    from agents.store import get_store
    from agents.types import Usage

    out = Outcome("crash-recovery", "10. Crash recovery")
    h.clean()
    run = f"crash-{uuid.uuid4().hex[:8]}"
    store = get_store()
    tenant = h.tenant(next(iter(h.require_info().tenants)))
    dead_lease_s = 1.0

    def new_record(number: int) -> str:
        record = InvocationRecord.new(
            tenant=tenant,
            agent=AGENT,
            input=f"Crash recovery job {number} of run {run}",
            mode=InvocationMode.QUEUE,
            metadata={"run": run, "n": str(number)},
        )
        store.create(record)
        return record.id

    # (a) claimed by a worker that died mid-run: RUNNING, lease about to expire, no result
    mid_run = [new_record(n) for n in range(crashed)]
    for invocation_id in mid_run:
        assert store.claim(invocation_id, "worker-that-died", lease_seconds=dead_lease_s)
    # (b) a worker that stored its result and died before deleting its message
    done = [new_record(crashed + n) for n in range(finished)]
    for invocation_id in done:
        store.claim(invocation_id, "worker-that-finished", lease_seconds=dead_lease_s)
        store.complete(
            invocation_id,
            "worker-that-finished",
            output="stored before the crash",
            model="claude-test",
            stop_reason="end_turn",
            usage=Usage(),
        )
    time.sleep(dead_lease_s + 0.2)  # the dead worker's lease has expired
    # SQS redelivers both kinds of message after the dead worker's visibility timeout
    h.send_raw([dumps({"invocation_id": i}) for i in mid_run + done])
    records = _wait_terminal(h, run, crashed + finished, timeout_s=60)
    h.quiesce(timeout_s=30)
    by_id = {r["id"]: r for r in records}
    taken_over = [by_id[i] for i in mid_run if i in by_id]
    kept = [by_id[i] for i in done if i in by_id]
    out.figures = {
        "crashed_mid_run": crashed,
        "taken_over_SUCCEEDED": sum(1 for r in taken_over if r["status"] == "SUCCEEDED"),
        "takeover_attempts": sum(int(r.get("attempts", 0)) for r in taken_over),
        "crashed_after_result": finished,
        "kept_result": sum(
            1
            for r in kept
            if r["status"] == "SUCCEEDED" and r.get("output") == "stored before the crash"
        ),
        "model_calls": h.model_calls(),
        "dlq_messages": len(_dlq_messages(h)),
    }
    out.check(
        "every crashed run taken over and SUCCEEDED",
        out["taken_over_SUCCEEDED"] == crashed
        and all(r.get("lease_owner") is None for r in taken_over),
    )
    out.check("each taken over once (attempts 2)", out["takeover_attempts"] == 2 * crashed)
    out.check("stored results kept", out["kept_result"] == finished)
    out.check("model called only where no result was stored", out["model_calls"] == crashed)
    out.check("nothing in the DLQ", out["dlq_messages"] == 0)
    return out.done()
