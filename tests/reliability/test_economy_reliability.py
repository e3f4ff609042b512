"""Reliability scenarios 12 and 13: economy batches under faults, and the submitter killed
(``kill -9``, a real child process) in its create call (docs/batches.md)."""

from __future__ import annotations

import pytest

from bench.reliability import economy_scenarios
from bench.reliability.harness import Harness

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_economy_faults_end_every_item_and_bill_none_twice(harness: Harness) -> None:
    out = economy_scenarios.economy_faults(harness, items=60)
    assert out["not_terminal"] == 0
    assert out["FAILED"] > 0
    assert out["FAILED"] == out["dlq_messages"]
    assert out["dlq_duplicates"] == 0
    assert out["SUCCEEDED"] + out["FAILED"] == 60
    assert out["billed_once"] == out["SUCCEEDED"]
    assert out.ok, (out.failed, out.figures)


def test_economy_crash_submits_each_custom_id_once(harness: Harness) -> None:
    out = economy_scenarios.economy_crash(harness, items=20)
    assert out["killed_in_create"] == 1
    assert out["batches"] == 1
    assert out["in_exactly_one_batch"] == 20
    assert out["SUCCEEDED"] == 20
    assert out["billed_once"] == 20
    assert out["dlq_messages"] == 0
    assert out.ok, (out.failed, out.figures, out.notes)
