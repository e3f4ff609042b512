"""A page of events as ``text/event-stream`` (the WHATWG HTML "server-sent events" format).

Each event is ``id: <seq>``, ``event: <type>``, ``data: <the event as JSON>`` and a blank
line; the stream starts with ``retry:`` (how soon to reconnect). API Gateway buffers the
response, so one response is one long-poll's page and the client's reconnect (with
``Last-Event-ID`` = the last ``id``) asks for the next (decision 16.12).
"""

from __future__ import annotations

import json

from agents.events.model import RunEvent

__all__ = ["EVENT_STREAM", "RETRY_MS", "render_sse"]

EVENT_STREAM = "text/event-stream"
#: What an ``EventSource`` waits before it reconnects for the next page.
RETRY_MS = 250
#: Sent after the last event of a finished invocation: nothing more will come.
END_COMMENT = ": end of log\n\n"


def render_sse(events: list[RunEvent], *, retry_ms: int = RETRY_MS, final: bool = False) -> str:
    """The events as SSE frames (``final``: the log is complete; clients may stop)."""
    parts = [f"retry: {retry_ms}\n\n"]
    for event in events:
        payload = json.dumps(event.model_dump(mode="json"), separators=(",", ":"))
        parts.append(f"id: {event.seq}\nevent: {event.type.value}\ndata: {payload}\n\n")
    if final:
        parts.append(END_COMMENT)
    return "".join(parts)
