"""Polling a run that is not done yet: ``agw invoke`` after a 202 (issue 15).

:func:`poll_progress` polls ``GET /invocations/{id}`` with a growing interval (0.5 s doubling to
5 s) until the run is terminal or ``WAITING`` for a person's approval, and prints one
progress line each time its status, segment count or last checkpointed turn changes.
:func:`waiting_lines` is what a ``WAITING`` run shows: its pending actions and the
``agw invocations approve`` commands that resume it.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

from agw.client import TERMINAL_STATUSES, ClientError

if TYPE_CHECKING:
    from agw.client import AgwClient

__all__ = [
    "EXIT_WAITING",
    "FIRST_INTERVAL_S",
    "MAX_INTERVAL_S",
    "STOP_STATUSES",
    "poll_progress",
    "progress_line",
    "waiting_lines",
]

#: A run waits for approval: ``agw invoke`` exits with this (neither success nor failure).
EXIT_WAITING = 3
#: Where following stops: the run is done, or nothing happens until someone decides.
STOP_STATUSES = TERMINAL_STATUSES | {"WAITING"}
FIRST_INTERVAL_S = 0.5
MAX_INTERVAL_S = 5.0
_INPUT_CHARS = 100


def progress_line(invocation: Mapping[str, Any]) -> str:
    """``<id> RUNNING  segment 2  checkpoint turn 14`` (what changes while a run goes on)."""
    turn = invocation.get("checkpoint_turn")
    return (
        f"{invocation.get('id')} {invocation.get('status')}  "
        f"segment {invocation.get('segments') or 0}  "
        f"checkpoint turn {'-' if turn is None else turn}"
    )


def _state(invocation: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    return invocation.get("status"), invocation.get("segments"), invocation.get("checkpoint_turn")


def poll_progress(
    client: AgwClient,
    invocation_id: str,
    *,
    timeout_s: float,
    err: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Poll until the run is terminal or WAITING; a progress line on ``err`` per change.

    :class:`ClientError` after ``timeout_s`` (the run goes on; the message says how to look
    at it later)."""
    err = err or sys.stderr
    deadline = clock() + timeout_s
    interval = FIRST_INTERVAL_S
    last: tuple[Any, Any, Any] | None = None
    while True:
        current = client.get_invocation(invocation_id)
        state = _state(current)
        if state != last:
            print(progress_line(current), file=err, flush=True)
            last = state
            interval = FIRST_INTERVAL_S
        if current.get("status") in STOP_STATUSES:
            return current
        remaining = deadline - clock()
        if remaining <= 0:
            raise ClientError(
                f"invocation {invocation_id} still {current.get('status')} after "
                f"{timeout_s:g} s; it goes on: `agw invocations get {invocation_id}` later"
            )
        sleep(min(interval, remaining))
        interval = min(MAX_INTERVAL_S, interval * 2)


def _input_text(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= _INPUT_CHARS else text[: _INPUT_CHARS - 3] + "..."


def waiting_lines(invocation: Mapping[str, Any]) -> list[str]:
    """A WAITING run's pending actions, one per line, then the commands that decide them."""
    invocation_id = str(invocation.get("id"))
    pending = [a for a in invocation.get("pending_actions") or [] if isinstance(a, Mapping)]
    lines = [f"waiting for approval: {len(pending)} pending action(s)"]
    lines += [
        f"  {action.get('id')}  {action.get('tool')}  {_input_text(action.get('input'))}"
        for action in pending
    ]
    lines.append(f"approve all: agw invocations approve {invocation_id}")
    if pending:
        lines.append(
            f"deny one:    agw invocations approve {invocation_id} "
            f"--deny {pending[0].get('id')} --message 'why not'"
        )
    return lines
