"""Reliability scenarios 1, 6, 8, 9 through the HTTP API (docs/reliability.md)."""

from __future__ import annotations

import pytest

from bench.reliability import api_scenarios
from bench.reliability.harness import Harness

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_idempotency_race(api_harness: Harness) -> None:
    out = api_scenarios.idempotency_race(api_harness, concurrency=50)
    assert out["model_calls"] == 1
    assert out["200"] + out["409"] == 50
    assert out["other"] == 0
    assert out["distinct_invocations"] == 1
    assert out["replays_identical"] == out["replays"]
    assert out["reused_key_status"] == 422
    assert out.ok, out.failed


def test_tenant_isolation(api_harness: Harness) -> None:
    out = api_scenarios.tenant_isolation(api_harness)
    assert out["b_requests"] >= 15
    assert out["b_unexpected"] == 0, out.notes
    assert out["leaks"] == 0
    assert out["a_replay_ok"] == 1
    assert out.ok, out.failed


def test_hostile_input(api_harness: Harness) -> None:
    out = api_scenarios.hostile_input(api_harness)
    assert out["5xx"] == 0, out.notes
    assert out["clear_4xx"] == out["requests"], out.notes
    assert out["records_written"] == 0
    assert out["idempotency_written"] == 0
    assert out["objects_written"] == 0
    assert out["messages_queued"] == 0
    assert out["model_calls"] == 0
    assert out.ok, out.failed


def test_limits(api_harness: Harness) -> None:
    out = api_scenarios.limits(api_harness)
    assert out["output_chars_returned"] == 1_000_000
    assert out["output_chars_reread"] == 1_000_000
    assert out["output_offloaded_bytes"] == 1_000_000
    assert out["input_chars_reread"] == out["input_chars_sent"]
    assert out["input_offloaded_bytes"] > 900_000
    assert out["deadline_status"] == 504
    assert out["deadline_error"] == "deadline-exceeded"
    assert out["deadline_retryable"] is True
    assert out["stream_started"] == 1
    assert out["record_written_before_deadline_ms"] > 0
    assert out["dlq_messages"] == 1
    assert out.ok, out.failed
