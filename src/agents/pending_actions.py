"""Tool calls waiting for a person's decision (``WAITING``) and the decisions that resume them.

A run whose model calls a tool named in the definition's ``approval`` (or the request's
``require_approval``) stops in ``WAITING`` with one :class:`PendingAction` per such call;
``POST /invocations/{id}/actions`` answers each with an :class:`ActionDecision`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MAX_DECISION_MESSAGE_CHARS",
    "MAX_PENDING_ACTIONS",
    "ActionDecision",
    "PendingAction",
    "shown_input",
]

#: A denial's message goes back to the model as the tool's error; bounded.
MAX_DECISION_MESSAGE_CHARS = 4000
#: One model turn's tool calls (the Messages API bounds them far below this).
MAX_PENDING_ACTIONS = 64
#: A pending call's string inputs are shown up to this many characters on the record (a
#: Write's content can be megabytes; the whole call stays in the run's open checkpoint).
MAX_PENDING_STRING_CHARS = 1000


def shown_input(value: Any) -> Any:
    """``value`` (a tool input) with each string cut to :data:`MAX_PENDING_STRING_CHARS`."""
    if isinstance(value, str) and len(value) > MAX_PENDING_STRING_CHARS:
        more = len(value) - MAX_PENDING_STRING_CHARS
        return f"{value[:MAX_PENDING_STRING_CHARS]}... [{more} more characters]"
    if isinstance(value, dict):
        return {key: shown_input(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shown_input(item) for item in value]
    return value


class PendingAction(BaseModel):
    """One tool call the model made that waits for approval."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="The model's `tool_use` id.", min_length=1, max_length=128)
    tool: str = Field(description="The tool's name.", min_length=1, max_length=128)
    input: dict[str, Any] = Field(default_factory=dict, description="The call's input.")


class ActionDecision(BaseModel):
    """A person's answer to one pending action."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="A pending action's id.", min_length=1, max_length=128)
    decision: Literal["approve", "deny"]
    message: str | None = Field(
        default=None,
        max_length=MAX_DECISION_MESSAGE_CHARS,
        description="For a denial: what the model is told (its tool error).",
    )
