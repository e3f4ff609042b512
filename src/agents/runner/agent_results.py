"""The tool loop's value types: the budgets of a run, one turn of its transcript, its result."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agents.runner.model_runner import RunResult
from agents.types import Usage

__all__ = ["BUDGET_STOP_REASONS", "AgentRunResult", "RunBudgets", "TurnRecord"]

#: Stop reasons of a run a budget ended (its work so far is kept).
BUDGET_STOP_REASONS = frozenset(
    {"max_turns", "max_tool_calls", "max_cost", "deadline", "max_run_seconds"}
)


class RunBudgets(BaseModel):
    """Per-invocation limits (``max_turns``: request, else frontmatter, else ``MAX_TURNS``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_turns: int = Field(ge=1)
    max_tool_calls: int | None = Field(default=None, ge=0)
    max_cost_usd: float | None = Field(default=None, ge=0)


class TurnRecord(BaseModel):
    """One model call of the transcript: the assistant's blocks and the client calls answered."""

    model_config = ConfigDict(extra="forbid")

    turn: int
    assistant: list[dict[str, Any]]
    #: ``{"id", "name", "input", "result" (truncated), "is_error"}`` per client call.
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    stop_reason: str | None = None


class AgentRunResult(RunResult):
    """A tool loop's result: the run's figures summed over every turn, and the transcript."""

    turns: int = 0
    tool_calls: dict[str, int] = Field(default_factory=dict)
    tools_unavailable: list[str] = Field(default_factory=list)
    transcript: list[TurnRecord] = Field(default_factory=list)
    #: ``hand-off`` / ``approval`` (``agents.runner.run_state``): the run did not finish here.
    paused: str | None = None
    #: With ``paused = "approval"``: the ``tool_use`` blocks waiting for a decision.
    pending: list[dict[str, Any]] = Field(default_factory=list)
