"""An invocation's event log: what a run did, in order, to follow it live (docs/api.md,
"The event log"; docs/architecture.md, "Event log").

``model`` (the event), ``drafts`` (events built from records and turns), ``log`` (the
DynamoDB log: gapless appends, reads, long-poll), ``emit`` (the container's log; writes
that never fail a run), ``transitions`` (status events of the lifecycle), ``run_recorder``
(turn events from the loop's hooks), ``feed`` (the API's read), ``sse`` (the
``text/event-stream`` rendering).
"""

from __future__ import annotations

from agents.events.emit import emit, get_event_log
from agents.events.log import MAX_WAIT_SECONDS, EventLog
from agents.events.model import EventDraft, EventType, RunEvent
from agents.events.run_recorder import RunEventRecorder
from agents.events.transitions import record_transition, record_waiting

__all__ = [
    "MAX_WAIT_SECONDS",
    "EventDraft",
    "EventLog",
    "EventType",
    "RunEvent",
    "RunEventRecorder",
    "emit",
    "get_event_log",
    "record_transition",
    "record_waiting",
]
