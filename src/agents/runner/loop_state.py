"""The resumable part of the tool loop's state: checkpoints out, a checkpoint back in, and
the tool calls of a turn that waits for approval (``docs/runner.md``, "Resumable runs")."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from agents.pricing import estimate_cost
from agents.runner.agent_results import TurnRecord
from agents.runner.client_tools import ToolCallResult, run_tool_calls
from agents.runner.run_state import RunControls, denial_content, gated_calls

if TYPE_CHECKING:
    from agents.checkpoints import CheckpointState
    from agents.config import Settings
    from agents.runner.client_tools import ClientToolbox
    from agents.runner.deadline import Deadline
    from agents.runner.time_budget import AttemptGuard
    from agents.types import Usage

__all__ = ["MAX_KEPT_REQUEST_IDS", "ResumableLoopState"]

#: Request ids and turn times a checkpoint keeps (the newest).
MAX_KEPT_REQUEST_IDS = 200
MAX_KEPT_TURN_TIMES = 20


class ResumableLoopState:
    """The mutable state of one loop run that a checkpoint saves and a resume restores."""

    model: str
    settings: Settings
    usage: Usage
    counts: dict[str, int]
    transcript: list[TurnRecord]
    client_calls: int
    guards: list[AttemptGuard]
    toolbox: ClientToolbox

    def init_state(self, controls: RunControls) -> None:
        self.controls = controls
        self.messages: list[dict[str, Any]] = []
        self.output = ""
        self.first_token_ms: float | None = None
        self.turn_seconds: list[float] = []
        #: Turns finished by this segment.
        self.segment_turns = 0
        #: A resumed turn whose tool calls waited for approval: (calls, its record so far).
        self.open_turn: tuple[list[dict[str, Any]], TurnRecord] | None = None
        self.pending: list[dict[str, Any]] = []
        #: Attempts, model calls and request ids of the segments before this one.
        self.earlier: tuple[int, int, list[str]] = (0, 0, [])

    def _waits(self, calls: list[dict[str, Any]], record: TurnRecord) -> bool:
        """True when calls of this turn need a decision nobody has given yet: the turn is
        checkpointed open and the run pauses (its calls become ``pending``)."""
        gated = gated_calls(calls, self.controls.approval)
        if not gated or all(call_id in self.controls.decisions for call_id in gated):
            return False
        self.pending = [call for call in calls if str(call["id"]) in gated]
        self._checkpoint(open_calls=calls, open_record=record)
        return True

    def _checkpoint(
        self,
        *,
        final_stop: str | None = None,
        open_calls: list[dict[str, Any]] | None = None,
        open_record: TurnRecord | None = None,
    ) -> None:
        """Hand the state after this turn to the checkpoint hook (if the run has one)."""
        if self.controls.on_checkpoint is None:
            return
        from agents.checkpoints import CheckpointState

        attempts, model_calls, request_ids = self.earlier
        self.controls.on_checkpoint(
            CheckpointState(
                turn=len(self.transcript) + (1 if open_calls is not None else 0),
                messages=self.messages,
                transcript=[turn.model_dump(mode="json") for turn in self.transcript],
                usage=self.usage,
                cost_usd=estimate_cost(self.model, self.usage, self.settings),
                tool_calls=dict(self.counts),
                client_calls=self.client_calls,
                attempts=attempts + sum(guard.attempts for guard in self.guards),
                model_calls=model_calls + sum(1 for guard in self.guards if guard.attempts),
                request_ids=(
                    request_ids + [rid for guard in self.guards for rid in guard.request_ids]
                )[-MAX_KEPT_REQUEST_IDS:],
                turn_seconds=self.turn_seconds[-MAX_KEPT_TURN_TIMES:],
                output=self.output,
                first_token_ms=self.first_token_ms,
                final_stop=final_stop,
                open_calls=open_calls,
                open_record=None if open_record is None else open_record.model_dump(mode="json"),
            )
        )

    def _restore(self, state: CheckpointState) -> None:
        """Go on from checkpoint ``state``: its conversation, transcript and counters."""
        self.messages = copy.deepcopy(state.messages)
        self.transcript = [TurnRecord.model_validate(turn) for turn in state.transcript]
        self.usage = state.usage
        self.counts = dict(state.tool_calls)
        self.client_calls = state.client_calls
        self.turn_seconds = list(state.turn_seconds)
        self.output = state.output
        self.first_token_ms = state.first_token_ms
        self.earlier = (state.attempts, state.model_calls, list(state.request_ids))
        if state.open_calls is not None and state.open_record is not None:
            self.open_turn = (
                list(state.open_calls),
                TurnRecord.model_validate(state.open_record),
            )

    def _results(self, calls: list[dict[str, Any]], budget: Deadline) -> list[ToolCallResult]:
        """The calls' results in order: a denied call answers its denial, the rest run."""
        decisions = self.controls.decisions
        gated = set(gated_calls(calls, self.controls.approval))
        denied = {
            str(call["id"])
            for call in calls
            if str(call["id"]) in gated and decisions[str(call["id"])].decision == "deny"
        }
        runnable = [call for call in calls if str(call["id"]) not in denied]
        ran = iter(run_tool_calls(self.toolbox, runnable, timeout_s=budget.remaining_s()))
        return [
            ToolCallResult(denial_content(decisions.get(str(call["id"]))), True)
            if str(call["id"]) in denied
            else next(ran)
            for call in calls
        ]
