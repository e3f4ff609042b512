"""One event of an invocation's log: its sequence number, type, time and data (docs/api.md,
"The event log").

``seq`` starts at 1 and increases by one with no gaps (:mod:`agents.events.log`); ``data`` is
a small JSON object whose shape depends on ``type`` (:mod:`agents.events.drafts` builds it).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EventDraft", "EventType", "RunEvent"]


class EventType(StrEnum):
    STATUS = "status"  # a lifecycle transition: {"status", ...}
    TURN_STARTED = "turn.started"  # before a model call: {"turn"}
    TURN_FINISHED = "turn.finished"  # after it: {"turn", "stop_reason", "usage", "cost_usd"...}
    TOOL_CALLED = "tool.called"  # {"turn", "id", "tool", "target", "input_keys", "input_bytes"}
    TOOL_RESULT = "tool.result"  # {"turn", "id", "tool", "ok", "size"}
    TEXT = "text"  # the assistant's text of a turn, ~1 KB per event: {"turn", "part", "text"}
    WAITING = "waiting"  # paused for approval: {"pending_actions": [...]}
    COMPLETED = "completed"  # terminal: the final summary


class EventDraft(BaseModel):
    """An event before the log numbered it."""

    model_config = ConfigDict(frozen=True)

    type: EventType
    data: dict[str, Any] = Field(default_factory=dict)


class RunEvent(BaseModel):
    """An event as stored and served."""

    model_config = ConfigDict(frozen=True)

    seq: int = Field(ge=1, description="1, 2, 3, ... with no gaps, per invocation.")
    type: EventType
    at: str = Field(description="When it was written (ISO 8601, UTC, milliseconds).")
    data: dict[str, Any] = Field(default_factory=dict)
