"""Reliability scenario 5: schemathesis against the running API's /openapi.json."""

from __future__ import annotations

import pytest

from bench.reliability.fuzz import fuzz, leaks_in
from bench.reliability.harness import KEY_A, Harness

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_leak_detector_finds_what_it_looks_for() -> None:
    assert leaks_in('Traceback (most recent call last):\n  File "/var/task/x.py", line 3, in f')
    assert leaks_in(f"key={KEY_A}")
    assert not leaks_in('{"type": "/problems/not-found", "title": "Not found", "status": 404}')


def test_fuzzing(api_harness: Harness) -> None:
    out = fuzz(api_harness, cases=500)
    assert out["cases"] >= 500
    assert out["operations_hit"] == out["operations"] >= 9
    assert min(out["with_key_a"], out["with_key_b"], out["unknown_key"], out["no_key"]) > 0
    assert out["5xx"] == 0, out.notes
    assert out["errors_not_problem_json"] == 0, out.notes
    assert out["leaks"] == 0, out.notes
    assert out.ok, out.failed
