"""``log_lines``: the JSON lines the agent-gateway logger writes during a test."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def log_lines() -> Iterator[list[dict[str, Any]]]:
    """Every JSON line the agent-gateway logger writes during the test."""
    from agents.observability import logger as agw_logger

    lines: list[dict[str, Any]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(self.format(record)))

    # Start from a clean logger: service-level tests append keys that, in Lambda,
    # the handlers' ``clear_state=True`` would drop at the next invocation.
    agw_logger.clear_state()
    agw_logger.thread_safe_clear_keys()
    handler = Collect()
    handler.setFormatter(agw_logger.registered_formatter)
    underlying = logging.getLogger(agw_logger.name)
    underlying.addHandler(handler)
    try:
        yield lines
    finally:
        underlying.removeHandler(handler)
