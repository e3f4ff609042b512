"""Test-only crash points: ``SIGKILL`` this process at a named step of a run.

Inert unless ``AGW_CRASH_AT`` is set (never in a deployed stack: no template sets it).
``AGW_CRASH_AT=<point>@<n>`` kills the process the first time :func:`crash_point` is
reached with that point and number; ``AGW_CRASH_MARKER`` names a file created just before
the kill, and while it exists the crash point stays inert (so the restarted worker goes on).
Points: ``before-model-call`` / ``after-model-answer`` / ``after-tool-results`` /
``after-checkpoint`` and ``mid-upload`` (n = the turn; ``mid-upload`` fires after the turn's
own blob objects, before its turn object).
The reliability crash scenarios and ``tests/test_resume_crash.py`` drive them.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

__all__ = ["CRASH_POINTS", "crash_point"]

CRASH_POINTS = frozenset(
    {
        "before-model-call",
        "after-model-answer",
        "after-tool-results",
        "after-checkpoint",
        "mid-upload",
    }
)


def crash_point(point: str, number: int) -> None:
    """Kill this process with SIGKILL if ``AGW_CRASH_AT`` names ``point@number``."""
    wanted = os.environ.get("AGW_CRASH_AT")
    if not wanted or wanted != f"{point}@{number}":
        return
    marker = os.environ.get("AGW_CRASH_MARKER")
    if marker:
        path = Path(marker)
        if path.exists():
            return
        path.write_text(wanted)
    os.kill(os.getpid(), signal.SIGKILL)
