"""Reliability scenario 7: canary keys and input never in logs or responses."""

from __future__ import annotations

import pytest

from bench.reliability.secrets import secrets_hygiene

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_secrets_and_data_hygiene() -> None:
    out = secrets_hygiene()
    assert out.checks["the child ran the whole workload"], out.notes
    assert out["responses"] >= 20
    assert out["powertools_json_lines"] > 20
    assert out["secret_in_logs"] == 0, out.notes
    assert out["secret_in_responses"] == 0
    assert out["input_in_logs_LOG_INPUT_off"] == 0
    assert out["input_in_logs_LOG_INPUT_on"] > 0  # the capture does see logged input
    assert out["model_saw_canary_key"] == 1
    assert out["traceback_or_path_in_responses"] == 0
    assert out.ok, out.failed
