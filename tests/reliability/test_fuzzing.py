"""Reliability scenario 5: schemathesis against the running API's /openapi.json."""

from __future__ import annotations

import pytest

from bench.reliability.fuzz import FUZZ_METHODS, fuzz, leaks_in, method_probe
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
    # issue 12.4: every route, every method API Gateway does not route, every credential
    assert out["method_cases"] >= 9 * len(FUZZ_METHODS) * 4
    assert out["5xx"] == 0, out.notes
    assert out["errors_not_problem_json"] == 0, out.notes
    assert out["leaks"] == 0, out.notes
    assert out.ok, out.failed


@pytest.mark.parametrize("method", FUZZ_METHODS)
def test_unsupported_methods_on_the_running_api(api_harness: Harness, method: str) -> None:
    """The method fuzz in small: what schemathesis' generate phase never sends."""
    status, headers, body = method_probe(api_harness.api_url, method, "/health", KEY_A)
    assert status == 403, body
    assert headers["content-type"] == "application/problem+json"
    assert "<html" not in body.lower()
