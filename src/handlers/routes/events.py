"""``GET /invocations/{id}/events``: an invocation's event log, as JSON or as server-sent
events, long-polling with ``wait`` (docs/api.md, "The event log")."""

from __future__ import annotations

import math
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query

from agents.errors import InvalidEventCursor, InvalidWait
from agents.events.feed import DEFAULT_EVENT_LIMIT, EventPage, read_feed
from agents.events.log import MAX_READ_LIMIT, MAX_WAIT_SECONDS
from agents.events.sse import EVENT_STREAM, render_sse
from handlers.api_results import JSON
from handlers.caller import current_tenant
from handlers.openapi_responses import INVOCATION_NOT_FOUND
from handlers.routes import new_router, route_responses

__all__ = ["router"]

router = new_router()

#: A cursor is a seq: a whole number that fits DynamoDB's exact number range comfortably.
_MAX_CURSOR = 2**53


def parse_cursor(after: str | None, last_event_id: str | None) -> int:
    """``Last-Event-ID`` when present (an SSE reconnect), else ``after``, else 0."""
    for name, value in (("Last-Event-ID", last_event_id), ("after", after)):
        if value is None or (name == "Last-Event-ID" and not value.strip()):
            continue
        text = value.strip()
        if not text.isascii() or not text.isdigit() or int(text) > _MAX_CURSOR:
            raise InvalidEventCursor(
                f"{name} must be a whole number from 0 (an event's seq), got {value[:40]!r}"
            )
        return int(text)
    return 0


def parse_wait(wait: str | None, *, default: float) -> float:
    """``wait`` in seconds, 0 to 20 (``default`` when absent)."""
    if wait is None:
        return default
    try:
        seconds = float(wait)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_WAIT_SECONDS:
        raise InvalidWait(
            f"wait must be a number of seconds from 0 to {MAX_WAIT_SECONDS:g}, got {wait[:40]!r}"
        )
    return seconds


def wants_event_stream(accept: str | None) -> bool:
    """Whether ``Accept`` names ``text/event-stream`` (and not with q=0)."""
    for part in (accept or "").split(","):
        media, *params = (piece.strip().lower() for piece in part.split(";"))
        if media == EVENT_STREAM and not any(
            p.replace(" ", "") in {"q=0", "q=0.0"} for p in params
        ):
            return True
    return False


@router.get(
    "/invocations/<invocation_id>/events",
    summary="Follow an invocation: its event log",
    description="The events after `after` (status changes, turns, tool calls and results, "
    "text, waiting, completed), each with a `seq` that increases by one with no gaps. "
    "`wait` long-polls up to 20 s for the first new event. `Accept: text/event-stream` "
    "answers the same page as server-sent events (`id:` = `seq`); a reconnect's "
    "`Last-Event-ID` takes precedence over `after`. API Gateway buffers a response, so "
    "one SSE response is one page and the client reconnects for the next.",
    tags=["invocations"],
    responses=route_responses(
        {
            200: {
                "description": "A page of events (JSON, or SSE with `Accept: text/event-stream`).",
                "content": {
                    JSON: {"model": EventPage},
                    EVENT_STREAM: {"schema": {"type": "string"}},
                },
            }
        },
        {
            400: "`after` / `Last-Event-ID` is not a seq (`invalid-event-cursor`), or `wait` "
            "is not 0-20 seconds (`invalid-wait`).",
            404: INVOCATION_NOT_FOUND,
            422: "`limit` out of range (`validation-error`).",
        },
    ),
)
def get_events(
    invocation_id: Annotated[str, Path()],
    *,
    after: Annotated[
        str | None, Query(description="Answer the events with a `seq` above this (default 0).")
    ] = None,
    wait: Annotated[
        str | None,
        Query(
            description="Seconds (0-20) to wait for a first new event. Default 0 for JSON, "
            "20 for `text/event-stream`."
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_READ_LIMIT, description="At most this many events.")
    ] = DEFAULT_EVENT_LIMIT,
    accept: Annotated[
        str | None, Header(alias="Accept", description="`text/event-stream` for SSE.")
    ] = None,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID", description="An SSE reconnect's last `id` (wins over `after`)."
        ),
    ] = None,
) -> Response[Any]:
    stream = wants_event_stream(accept)
    cursor = parse_cursor(after, last_event_id)
    seconds = parse_wait(wait, default=MAX_WAIT_SECONDS if stream else 0.0)
    lambda_context = getattr(router, "lambda_context", None)
    remaining = (
        lambda_context.get_remaining_time_in_millis() / 1000 if lambda_context is not None else None
    )
    page = read_feed(
        current_tenant(router),
        invocation_id,
        after=cursor,
        wait_s=seconds,
        limit=limit,
        remaining_s=remaining,
    )
    headers = {"Cache-Control": "no-store"}
    if not stream:
        return Response(200, JSON, page.model_dump(mode="json"), headers=headers)
    final = page.status.terminal and (not page.events or page.events[-1].type.value == "completed")
    body = render_sse(page.events, final=final)
    return Response(200, EVENT_STREAM, body, headers=headers)
