"""Reliability scenario 11, hostile workspaces, scaled down (docs/reliability.md)."""

from __future__ import annotations

import pytest

from bench.reliability.harness import Harness
from bench.reliability.hostile_workspaces import hostile_workspaces

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_hostile_workspaces(api_harness: Harness) -> None:
    out = hostile_workspaces(api_harness, many_files=3000)
    assert out["5xx"] == 0, out.notes
    assert out["clear_4xx"] == out["cases"], out.notes
    assert out["uploads"] == out["cases"] - 6
    assert out["records_written"] == 0
    assert out["objects_written"] == 0
    assert out["messages_queued"] == 0
    assert out["model_calls"] == 0
    assert out.ok, out.failed
