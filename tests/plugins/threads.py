"""Run one function on several threads at once (the tests' concurrency checks)."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_in_threads(target: Callable[[], object], count: int, *, timeout_s: float = 30) -> None:
    """Start ``count`` threads running ``target``, then join each (``timeout_s`` apiece)."""
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout_s)
