"""EventBridge Scheduler in ``agw dev``: a scheduled function's handler on a thread.

:class:`ScheduleThread` calls a handler every ``period_s`` seconds with a Lambda-like
context (the function's own timeout), as the deployed schedule would; a pass that raises
is logged and the next period tries again. The collector (``rate(2 minutes)``) and the
sweeper (``rate(5 minutes)``) run this way locally, with short periods (docs/local.md).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from local.runtime import Handler
    from local.template import FunctionSpec

__all__ = ["ScheduleThread"]

log = logging.getLogger(__name__)

#: Upper bound for waiting on a pass in flight at stop.
STOP_TIMEOUT_S = 5.0


class ScheduleThread:
    """``handler`` every ``period_s`` seconds on a daemon thread; ``start()``/``stop()``."""

    def __init__(
        self, handler: Handler, period_s: float, *, name: str, function: FunctionSpec | None = None
    ) -> None:
        if period_s <= 0:
            raise ValueError("a schedule's period must be positive")
        self.handler = handler
        self.period_s = period_s
        self.name = name
        self.function = function
        self.passes = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=STOP_TIMEOUT_S)

    def _context(self) -> object:
        from local.lambda_context import LambdaContext, context_for

        if self.function is not None:
            return context_for(self.function)
        return LambdaContext(
            function_name=f"agent-gateway-{self.name}",
            invoked_function_arn=f"arn:aws:lambda:local:000000000000:function:{self.name}",
            memory_limit_in_mb=1024,
            timeout_seconds=900,
        )

    def _loop(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                self.handler({"source": "agw-dev"}, self._context())
            except Exception:  # the next period tries again, as the schedule would
                self.failures += 1
                log.exception("%s pass failed", self.name)
            self.passes += 1
