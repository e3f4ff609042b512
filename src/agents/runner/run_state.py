"""What a resumable tool loop adds to a run: its controls (checkpoint hook, approval, hand-off,
``MAX_RUN_SECONDS``), the state it resumes from, and the helpers of those decisions.

A run that stops to hand off or to wait returns an :class:`~agents.runner.AgentRunResult`
whose ``paused`` is :data:`HAND_OFF` or :data:`APPROVAL` (``docs/runner.md``, "Resumable runs").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from agents.checkpoints import CheckpointState
    from agents.pending_actions import ActionDecision

__all__ = [
    "APPROVAL",
    "HAND_OFF",
    "MAX_RUN_STOP",
    "PAUSE_REASONS",
    "RunControls",
    "denial_content",
    "expected_turn_seconds",
    "gated_calls",
]

#: ``paused``: the segment ends here and a continuation goes on from the checkpoint.
HAND_OFF: Final = "hand-off"
#: ``paused``: the turn's tool calls wait for a person's decision (status WAITING).
APPROVAL: Final = "approval"
PAUSE_REASONS: Final = frozenset({HAND_OFF, APPROVAL})
#: The stop reason of a run that reached ``MAX_RUN_SECONDS`` (a budget: its work is kept).
MAX_RUN_STOP: Final = "max_run_seconds"
#: The hand-off estimate looks at this many of the newest turns.
RECENT_TURNS: Final = 5


@dataclass
class RunControls:
    """How the executor drives a resumable loop (all optional: a plain loop without them)."""

    #: Called after every finished turn (and before WAITING) with the loop's state; it writes
    #: the checkpoint. An exception ends the run (a refused write: the lease is lost).
    on_checkpoint: Callable[[CheckpointState], None] | None = None
    #: The last checkpoint: the loop goes on from the turn after it.
    resume: CheckpointState | None = None
    #: Decisions on the resumed open turn's tool calls, by tool_use id.
    decisions: Mapping[str, ActionDecision] = field(default_factory=dict)
    #: Tool names whose calls need approval.
    approval: frozenset[str] = frozenset()
    #: True: before a turn that would not fit, stop with ``paused = "hand-off"``.
    can_hand_off: bool = False
    #: Kept free after a turn for its checkpoint and the hand-off writes.
    write_margin_ms: float = 1000.0
    #: Epoch seconds the run must stop by (``MAX_RUN_SECONDS`` from its first start).
    run_ends_at: float | None = None


def expected_turn_seconds(turn_seconds: Sequence[float]) -> float:
    """The time one more turn is expected to take: the longest of the newest few (0: none)."""
    recent = list(turn_seconds)[-RECENT_TURNS:]
    return max(recent) if recent else 0.0


def gated_calls(calls: Sequence[Mapping[str, Any]], approval: frozenset[str]) -> list[str]:
    """The ids of the calls that need approval."""
    return [str(call["id"]) for call in calls if str(call.get("name")) in approval]


def denial_content(decision: ActionDecision | None) -> str:
    """The ``is_error`` tool result of a denied call (the person's message, if any)."""
    reason = (decision.message if decision is not None else None) or "no reason given"
    return f"<tool_use_error>The user denied this tool call: {reason}</tool_use_error>"
