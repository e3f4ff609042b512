"""Reliability scenarios 2, 3, 4, 10 and 18 through the SQS worker (docs/reliability.md).

Counts as in ``make reliability`` except chaos (40 jobs under 30 % faults and 40 transient
ones here, 200 and 100 there) and at-least-once (50 jobs here, 100 there).
"""

from __future__ import annotations

import pytest

from bench.reliability import run_recovery, worker_scenarios
from bench.reliability.harness import Harness

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHAOS_JOBS = 40
TRANSIENT_JOBS = 40
DELIVERY_JOBS = 50


def test_at_least_once_delivery(harness: Harness) -> None:
    out = worker_scenarios.at_least_once(harness, jobs=DELIVERY_JOBS)
    assert out["messages"] == 2 * DELIVERY_JOBS
    assert out["consumers"] == 4
    assert out["model_calls"] == DELIVERY_JOBS
    assert out["records"] == DELIVERY_JOBS
    assert out["SUCCEEDED"] == DELIVERY_JOBS
    assert out["dlq_messages"] == 0
    assert out.ok, out.failed


def test_chaos(harness: Harness) -> None:
    out = worker_scenarios.chaos(harness, jobs=CHAOS_JOBS, transient_jobs=TRANSIENT_JOBS)
    assert out["faults_injected"] > 0
    assert out["lost"] == 0
    assert out["SUCCEEDED"] + out["FAILED"] == CHAOS_JOBS
    assert out["RUNNING_after_leases"] == 0
    assert out["QUEUED_after_leases"] == 0
    assert out["FAILED"] == out["dlq_messages"]
    assert out["dlq_duplicates"] == 0
    assert out["transient_SUCCEEDED"] >= TRANSIENT_JOBS - 1
    assert out["event_logs_gapless"] == out["event_logs_one_completed"] == CHAOS_JOBS
    assert out["event_logs_final_status"] == CHAOS_JOBS
    assert out.ok, out.failed


def test_poison_messages(harness: Harness) -> None:
    out = worker_scenarios.poison(harness)
    assert out["dlq_messages"] == out["poison_messages"]
    assert out["dlq_with_reason"] == out["poison_messages"]
    assert out["retried_by_sqs"] == 0
    assert out["valid_SUCCEEDED"] == out["valid_jobs"]
    assert out["model_calls"] == out["valid_jobs"]
    assert out.ok, out.failed


def test_crash_recovery(harness: Harness) -> None:
    out = worker_scenarios.crash_recovery(harness, crashed=10, finished=10)
    assert out["taken_over_SUCCEEDED"] == 10
    assert out["takeover_attempts"] == 20
    assert out["kept_result"] == 10
    assert out["model_calls"] == 10
    assert out["dlq_messages"] == 0
    assert out.ok, out.failed


def test_approval_approve_deny_and_wrong_tenant(harness: Harness) -> None:
    out = run_recovery.approval(harness)
    assert out["waiting"] == 2
    assert out["wrong_tenant"] == 404
    assert out["approved_files"] == ["stats.py"]
    assert out["second_decision"] == 409
    assert out["denied"] == "SUCCEEDED"
    assert out["denied_files"] == []
    assert out.ok, (out.failed, out.figures)
