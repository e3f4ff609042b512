"""A child process for the crash tests: runs one invocation inline, as the API does (``python
-m tests.resume_child INVOCATION_ID``), with the environment of its parent (moto, the fake
model, the stack's names) plus ``AGW_CRASH_AT`` / ``AGW_CRASH_MARKER`` (agents.crash_points),
so that it kills itself with SIGKILL at one step boundary."""

from __future__ import annotations

import sys


def main(invocation_id: str) -> int:
    from agents.executor import execute
    from agents.runner import Deadline

    outcome = execute(
        invocation_id,
        deadline=Deadline.after_ms(25_000),
        owner="api:crash-child",
        final_attempt=True,
        retry_on_transient=False,
        lease_seconds=2.0,
        inline=True,
    )
    print(outcome.status.value)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
