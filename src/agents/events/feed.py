"""``GET /invocations/{id}/events``: the caller's view of a log, with the long-poll bounded
by the caller's deadline (docs/api.md, "The event log").

The tenant rules are those of ``GET /invocations/{id}``: the record is read first (another
tenant's or an unknown id is 404), then the log. A record that is already terminal waits at
most ``TERMINAL_GRACE_S`` (its last events follow its final write by one call); a wait that
ends empty reads the status again, so a client that sees a terminal status and no events
knows the log is complete.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from agents.errors import ConfigurationError
from agents.events.emit import get_event_log
from agents.events.log import MAX_WAIT_SECONDS
from agents.events.model import RunEvent
from agents.types import InvocationStatus

if TYPE_CHECKING:
    from agents.events.log import EventLog
    from agents.store import InvocationStore

__all__ = ["DEFAULT_EVENT_LIMIT", "TERMINAL_GRACE_S", "EventPage", "read_feed"]

DEFAULT_EVENT_LIMIT = 100
#: How long a finished invocation's read waits for its last events.
TERMINAL_GRACE_S = 1.0
#: Seconds of the caller's deadline kept for answering after the wait.
ANSWER_MARGIN_S = 2.0


class EventPage(BaseModel):
    """A page of an invocation's events."""

    events: list[RunEvent] = Field(description="The events after `after`, in order.")
    next_after: int = Field(
        description="The `after` of the next request: the last event's `seq` (or `after`)."
    )
    status: InvocationStatus = Field(description="The invocation's status when answering.")


def read_feed(
    tenant: str,
    invocation_id: str,
    *,
    after: int = 0,
    wait_s: float = 0.0,
    limit: int = DEFAULT_EVENT_LIMIT,
    remaining_s: float | None = None,
    store: InvocationStore | None = None,
    log: EventLog | None = None,
) -> EventPage:
    """The events of ``tenant``'s invocation after ``after``, long-polling up to ``wait_s``
    (at most 20 s, and at most ``remaining_s`` minus a margin)."""
    if store is None:
        from agents.store import get_store

        store = get_store()
    record = store.get(invocation_id, tenant=tenant, hydrate=False)
    if log is None:
        log = get_event_log()
    if log is None:
        raise ConfigurationError("the event log is not configured (EVENTS_TABLE)")
    wait_s = max(0.0, min(wait_s, MAX_WAIT_SECONDS))
    if remaining_s is not None:
        wait_s = min(wait_s, max(0.0, remaining_s - ANSWER_MARGIN_S))
    status = record.status
    if status.terminal:
        wait_s = min(wait_s, TERMINAL_GRACE_S)
    events = log.wait(invocation_id, after=after, limit=limit, wait_s=wait_s)
    if not events and wait_s > 0 and not status.terminal:
        status = store.get(invocation_id, tenant=tenant, hydrate=False).status
    return EventPage(events=events, next_after=events[-1].seq if events else after, status=status)
