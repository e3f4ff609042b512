"""local.schedules: a scheduled function's handler on a thread (agw dev's EventBridge)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from local.schedules import ScheduleThread


def test_the_handler_runs_every_period_with_a_context_and_survives_a_failure() -> None:
    calls: list[tuple[dict[str, Any], int]] = []
    two = threading.Event()

    def handler(event: dict[str, Any], context: Any) -> None:
        calls.append((event, context.get_remaining_time_in_millis()))
        if len(calls) == 1:
            raise RuntimeError("a failed pass")
        two.set()

    thread = ScheduleThread(handler, 0.05, name="sweeper")
    started = time.monotonic()
    thread.start()
    try:
        assert two.wait(5)
    finally:
        thread.stop()
    assert time.monotonic() - started >= 0.1  # the first pass waits one period
    assert thread.failures == 1
    assert thread.passes >= 2
    assert calls[0][0] == {"source": "agw-dev"}
    assert calls[0][1] > 0
    count = len(calls)
    time.sleep(0.15)
    assert len(calls) == count  # stopped means stopped


def test_a_period_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        ScheduleThread(lambda e, c: None, 0, name="x")
