"""The live view of a run (``agw invoke --follow``, ``agw invocations follow ID``): its event
log, long-polled, one line per status, turn and tool call on stderr; the assistant's text
streamed on stdout when stdout is a terminal.

A dropped connection or a 5xx is retried with backoff from the last ``seq`` seen, so no event
is shown twice or lost. The view ends at the ``completed`` event, at a ``waiting`` event
(the run needs an approval), or at a terminal status with nothing more to read, and
returns the invocation as ``GET /invocations/{id}`` shows it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from agw.client import TERMINAL_STATUSES, ApiError, ClientError

if TYPE_CHECKING:
    from agw.client import AgwClient

__all__ = [
    "FollowResult",
    "event_line",
    "follow_invocation",
    "follow_run",
    "print_followed",
    "render_followed",
]

#: The long-poll of one request (the API's maximum).
WAIT_S = 20.0
#: Consecutive failed reads before the view gives up, and the first pause between them.
MAX_RETRIES = 6
FIRST_BACKOFF_S = 0.5


@dataclass
class FollowResult:
    invocation: dict[str, Any]
    #: The last seq shown (a later follow can start after it).
    last_seq: int = 0
    #: Whether the text went to stdout as it came (then the output is not printed again).
    streamed_text: bool = False
    reconnects: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)


def _tokens(usage: Any) -> str:
    if not isinstance(usage, Mapping):
        return "-"
    return f"{usage.get('input_tokens', 0)} in / {usage.get('output_tokens', 0)} out"


def event_line(event: Mapping[str, Any]) -> str | None:
    """The line an event shows in the live view (None: nothing to show)."""
    kind = event.get("type")
    data = event.get("data") or {}
    if kind == "status":
        status = data.get("status")
        if status == "RUNNING":
            return f"status RUNNING (attempt {data.get('attempts')})"
        error = data.get("error") or data.get("last_error")
        reason = f" ({error.get('type')})" if isinstance(error, Mapping) else ""
        return f"status {status}{reason}"
    if kind == "turn.finished":
        cost = float(data.get("cost_usd") or 0)
        return (
            f"turn {data.get('turn')} done: {data.get('stop_reason') or '-'}, "
            f"{data.get('tool_calls', 0)} tool call(s), tokens {_tokens(data.get('usage'))}, "
            f"${cost:.4f} so far"
        )
    if kind == "tool.result":
        target = data.get("target")
        outcome = "ok" if data.get("ok") else "error"
        size = data.get("size")
        return (
            f"  {data.get('tool')}{' ' + str(target) if target else ''}  {outcome}"
            f"{f' ({size} chars)' if size else ''}"
        )
    if kind == "waiting":
        actions = data.get("pending_actions") or []
        names = ", ".join(
            f"{a.get('tool')}{' ' + str(a['target']) if a.get('target') else ''} [{a.get('id')}]"
            for a in actions
            if isinstance(a, Mapping)
        )
        return f"waiting for approval: {names or 'nothing listed'}"
    return None


def follow_invocation(
    client: AgwClient,
    invocation_id: str,
    *,
    after: int = 0,
    timeout_s: float = 900.0,
    wait_s: float = WAIT_S,
    stream_text: bool | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    sleep: Any = time.sleep,
) -> FollowResult:
    """Show the run's events after ``after`` until it ends; the final invocation."""
    out = out or sys.stdout
    err = err or sys.stderr
    if stream_text is None:
        stream_text = out.isatty()
    result = FollowResult(invocation={}, last_seq=after)
    deadline = time.monotonic() + timeout_s
    failures = 0
    in_text = False
    while True:
        if time.monotonic() >= deadline:
            raise ClientError(
                f"invocation {invocation_id} still running after {timeout_s:g} s "
                f"(`agw invocations follow {invocation_id}` picks it up again)"
            )
        try:
            page = client.events(invocation_id, after=result.last_seq, wait_s=wait_s)
        except ClientError as exc:
            if isinstance(exc, ApiError) and exc.status < 500:
                raise
            failures += 1
            if failures > MAX_RETRIES:
                raise
            pause = FIRST_BACKOFF_S * 2 ** (failures - 1)
            print(f"(connection lost: {exc}; resuming after seq {result.last_seq})", file=err)
            sleep(pause)
            result.reconnects += 1
            continue
        failures = 0
        events = [e for e in page.get("events") or [] if isinstance(e, Mapping)]
        done = False
        for event in events:
            seq = int(event.get("seq") or 0)
            if seq <= result.last_seq:
                continue  # never shown twice
            result.last_seq = seq
            result.events.append(dict(event))
            if event.get("type") == "text" and stream_text:
                out.write(str((event.get("data") or {}).get("text") or ""))
                out.flush()
                result.streamed_text = in_text = True
                continue
            line = event_line(event)
            if line is not None:
                if in_text:
                    out.write("\n")
                    out.flush()
                    in_text = False
                print(line, file=err, flush=True)
            if event.get("type") in {"completed", "waiting"}:
                done = True  # the end, or a pause that needs a person (the summary says so)
        if done or (not events and page.get("status") in TERMINAL_STATUSES):
            if in_text:
                out.write("\n")
                out.flush()
            result.invocation = client.get_invocation(invocation_id)
            return result


def follow_run(
    client: AgwClient,
    invocation_id: str,
    *,
    as_json: bool = False,
    after: int = 0,
    timeout_s: float = 900.0,
) -> FollowResult:
    """:func:`follow_invocation` with the CLI's choices: long-polls that end before the
    client's timeout, no streamed text with ``--json``."""
    return follow_invocation(
        client,
        invocation_id,
        after=after,
        timeout_s=timeout_s,
        wait_s=min(WAIT_S, max(1.0, client.timeout_s - 5.0)),
        stream_text=False if as_json else None,
    )


def render_followed(invocation: Mapping[str, Any], *, streamed_text: bool) -> None:
    """The usual ending of a followed run: the summary, and the output unless it was
    streamed already."""
    from agw.client_cli import render_invocation, summary_lines

    if not streamed_text:
        render_invocation(invocation)
        return
    for line in summary_lines(invocation):
        print(line, file=sys.stderr)


def print_followed(followed: FollowResult, *, as_json: bool) -> int:
    """The ending of ``agw invocations follow``: :func:`render_followed`, or the invocation
    as JSON (and how to approve a WAITING run). Exit status 0 when it SUCCEEDED."""
    from agw.client_cli import print_json

    invocation = followed.invocation
    if as_json:
        print_json(invocation)
    else:
        render_followed(invocation, streamed_text=followed.streamed_text)
    if invocation.get("status") == "WAITING":
        print(
            f"waiting for approval: `agw invocations actions {invocation.get('id')}`",
            file=sys.stderr,
        )
    return 0 if invocation.get("status") == "SUCCEEDED" else 1
