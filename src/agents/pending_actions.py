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
]

#: A denial's message goes back to the model as the tool's error; bounded.
MAX_DECISION_MESSAGE_CHARS = 4000
#: One model turn's tool calls (the Messages API bounds them far below this).
MAX_PENDING_ACTIONS = 64


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
