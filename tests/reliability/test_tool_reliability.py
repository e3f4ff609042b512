"""Reliability scenario 12, hostile tool inputs (docs/reliability.md): nothing outside the
workspace is opened or leaked, whatever paths the model asks the tools for."""

from __future__ import annotations

import pytest

from bench.reliability.harness import Harness
from bench.reliability.hostile_tools import OpenWatch, hostile_tools

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_hostile_tool_inputs(api_harness: Harness) -> None:
    out = hostile_tools(api_harness)
    assert out["status"] == 200, out.notes
    assert out["tool_calls"] >= 30
    assert out["reads_outside"] == 0, out.notes
    assert out["leaks"] == 0
    assert out["files_changed"] == 0
    assert out.ok, out.failed


def test_the_open_watch_sees_an_open_of_a_target(tmp_path: object) -> None:
    from pathlib import Path

    target = Path(str(tmp_path)) / "watched.txt"
    target.write_text("x")
    link = target.with_name("link")
    link.symlink_to(target)
    with OpenWatch.instance().watching({str(target)}) as watch:
        link.read_text()
        (target.parent / "other.txt").write_text("y")
    assert watch.opened == [str(link)]
    target.read_text()  # not watching any more
    assert watch.opened == [str(link)]
