"""The tool loop: one streamed call per turn, client tool calls answered, ``pause_turn``
continued, the budgets (turns, tool calls, cost, the deadline) ending the run cleanly, and the
output contract checked on the final answer (``docs/runner.md``, "The tool loop").

With :class:`~agents.runner.run_state.RunControls` the loop is resumable: it checkpoints after
every finished turn, resumes from a checkpoint, hands off before a turn that would not fit,
and pauses for approval (``docs/runner.md``, "Resumable runs")."""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING, Any

from agents.crash_points import crash_point
from agents.errors import DeadlineExceeded, GatewayError
from agents.observability import logger
from agents.pricing import estimate_cost
from agents.prompting import build_repair_turn
from agents.runner.agent_results import BUDGET_STOP_REASONS, AgentRunResult, TurnRecord
from agents.runner.client_tools import (
    workspace_toolbox,
)
from agents.runner.loop_state import ResumableLoopState
from agents.runner.model_runner import INCOMPLETE_STOP_REASONS
from agents.runner.request import build_system_blocks, build_user_turn, checked_max_tokens
from agents.runner.run_state import (
    APPROVAL,
    HAND_OFF,
    MAX_RUN_STOP,
    PAUSE_REASONS,
    ToolRunOptions,
    expected_turn_seconds,
)
from agents.runner.time_budget import MIN_ATTEMPT_S, AttemptGuard
from agents.types import ContractResult, Timings, Usage

if TYPE_CHECKING:
    from agents.definitions import AgentDefinition
    from agents.runner.deadline import Deadline
    from agents.runner.model_call import CallOutcome
    from agents.runner.model_runner import Runner
    from agents.runner.request import RunInput

__all__ = ["TRANSCRIPT_RESULT_CHARS", "AgentLoop", "with_moving_breakpoint"]

#: A tool result is kept in the transcript up to this many characters.
TRANSCRIPT_RESULT_CHARS = 4000
#: Content block types a cache breakpoint may sit on.
_CACHEABLE = frozenset({"text", "tool_use", "tool_result", "image", "document"})
#: Blocks of the model calling a tool that runs elsewhere (counted by their ``name``).
_SERVER_CALLS = frozenset({"server_tool_use", "mcp_tool_use"})
#: Stop reasons after which the loop calls the model again.
_CONTINUE = frozenset({"tool_use", "pause_turn"})


def with_moving_breakpoint(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of ``messages`` with one cache breakpoint, on the newest cacheable block."""
    marked = copy.deepcopy(messages)
    for message in reversed(marked):
        for block in reversed(message["content"]):
            if block.get("type") in _CACHEABLE:
                block["cache_control"] = {"type": "ephemeral"}
                return marked
    return marked


def _text(content: list[dict[str, Any]]) -> str:
    return "".join(block.get("text", "") for block in content if block.get("type") == "text")


class AgentLoop(ResumableLoopState):
    """One tool-loop run (build it, then :meth:`run` once)."""

    def __init__(self, runner: Runner, definition: AgentDefinition, tools: ToolRunOptions) -> None:
        self.runner = runner
        self.definition = definition
        self.plan = tools.plan
        self.budgets = tools.budgets
        self.before_turn = tools.before_turn
        self.after_turn = tools.after_turn
        self.toolbox = tools.toolbox or workspace_toolbox(tools.workspace, tools.plan)
        self.settings = runner.settings
        self.model = ""
        self.guards: list[AttemptGuard] = []
        self.usage = Usage()
        self.counts: dict[str, int] = {}
        self.transcript: list[TurnRecord] = []
        self.client_calls = 0
        self.init_state(tools.controls)

    def run(self, request: RunInput) -> AgentRunResult:
        from agents.model_aliases import resolve_model

        input_text, invocation_context = request.input_text, request.invocation_context
        deadline, metadata = request.deadline, request.metadata

        started = time.monotonic()
        definition, settings = self.definition, self.settings
        self.model = resolve_model(definition.model, settings)
        user_turn = build_user_turn(definition, input_text, request.context, settings)
        tool_defs = self.plan.tool_definitions()
        base: dict[str, Any] = {
            "model": self.model,
            "max_tokens": checked_max_tokens(request.max_tokens, settings),
            "system": build_system_blocks(
                definition,
                input_text,
                invocation_context,
                tool_names=[str(tool["name"]) for tool in tool_defs if tool.get("name")],
            ),
        }
        if tool_defs:
            tools = copy.deepcopy(tool_defs)
            tools[-1]["cache_control"] = {"type": "ephemeral"}
            base["tools"] = tools
        if self.plan.mcp_servers:
            base["mcp_servers"] = self.plan.mcp_servers
        if self.plan.betas:
            base["betas"] = list(self.plan.betas)
        budget = deadline.minus_ms(settings.deadline_margin_ms)
        resume = self.controls.resume
        if budget.remaining_s() < MIN_ATTEMPT_S and not self.controls.can_hand_off:
            raise DeadlineExceeded(
                f"not enough time left to call the model ({deadline.remaining_ms()} ms left, "
                f"{settings.deadline_margin_ms} ms kept for the writes that follow)"
            )
        if resume is not None:
            self._restore(resume)
        else:
            self.messages = [{"role": "user", "content": [{"type": "text", "text": user_turn}]}]
        messages = self.messages
        stop_reason: str | None
        if resume is not None and resume.final_stop is not None:
            output, stop_reason = resume.output, resume.final_stop
        elif budget.remaining_s() < MIN_ATTEMPT_S:
            output, stop_reason = self.output, HAND_OFF
        else:
            output, stop_reason = self._loop(base, messages, budget)
        first_token_ms = self.first_token_ms
        contract = None
        if stop_reason not in PAUSE_REASONS:
            contract = self.runner.check_contract(
                definition, output, input_text, invocation_context
            )
        repaired = False
        if contract is not None and not contract.valid and stop_reason == "end_turn":
            repair = self._repair(base, messages, contract, budget)
            repair_text = "" if repair is None else _text(repair.content)
            if repair is not None and repair.refusal is None and repair_text:
                output, stop_reason, repaired = repair_text, repair.stop_reason, True
                contract = self.runner.check_contract(
                    definition, output, input_text, invocation_context
                )
        cost = estimate_cost(self.model, self.usage, settings)
        earlier_attempts, earlier_calls, earlier_ids = self.earlier
        result = AgentRunResult(
            output=output,
            model=self.model,
            stop_reason=stop_reason,
            incomplete=stop_reason in INCOMPLETE_STOP_REASONS | BUDGET_STOP_REASONS,
            contract=contract,
            usage=self.usage,
            cost_usd=cost,
            attempts=earlier_attempts + sum(guard.attempts for guard in self.guards),
            model_calls=earlier_calls + sum(1 for guard in self.guards if guard.attempts),
            repaired=repaired,
            timings=Timings(
                time_to_first_token_ms=first_token_ms,
                total_ms=round((time.monotonic() - started) * 1000, 1),
            ),
            request_ids=earlier_ids + [rid for guard in self.guards for rid in guard.request_ids],
            turns=len(self.transcript),
            tool_calls=dict(self.counts),
            tools_unavailable=list(self.plan.unavailable),
            transcript=self.transcript,
            paused=stop_reason if stop_reason in PAUSE_REASONS else None,
            pending=self.pending,
        )
        logger.info(
            "agent loop finished",
            extra={
                "agent": definition.name,
                "model": self.model,
                "stop_reason": stop_reason,
                "turns": result.turns,
                "tool_calls": self.counts,
                "contract_valid": None if contract is None else contract.valid,
                "cost_usd": cost,
                "total_ms": result.timings.total_ms,
                **({"metadata_keys": sorted(metadata)} if metadata else {}),
            },
        )
        return result

    # -- the turns --

    def _loop(
        self, base: dict[str, Any], messages: list[dict[str, Any]], budget: Deadline
    ) -> tuple[str, str | None]:
        """Turns until a final answer, a budget or a pause: (output so far, stop reason)."""
        while True:
            if self.open_turn is not None:
                calls, record = self.open_turn
                if self._waits(calls, record):
                    return self.output, APPROVAL
                self.open_turn = None
                messages.append({"role": "user", "content": self._answer(calls, record, budget)})
                self._finish_turn(record)
                continue
            turn = len(self.transcript) + 1
            halt = self._budget_stop(turn, budget)
            if halt is not None:
                return self.output, halt
            started = time.monotonic()
            crash_point("before-model-call", turn)
            try:
                outcome = self._call(base, messages, budget)
            except DeadlineExceeded:
                if self.controls.can_hand_off:
                    return self.output, HAND_OFF
                if turn == 1:
                    raise
                return self.output, "deadline"
            crash_point("after-model-answer", turn)
            if self.first_token_ms is None:
                self.first_token_ms = outcome.first_token_ms
            self.output = _text(outcome.content) or self.output
            record = TurnRecord(
                turn=turn,
                assistant=outcome.content,
                usage=outcome.usage,
                stop_reason=outcome.stop_reason,
            )
            messages.append({"role": "assistant", "content": outcome.content})
            for block in outcome.content:
                if block.get("type") in _SERVER_CALLS:
                    self._count(str(block.get("name") or block["type"]))
            calls = [block for block in outcome.content if block.get("type") == "tool_use"]
            stop = outcome.stop_reason
            if stop == "tool_use" and calls:
                limit = self.budgets.max_tool_calls
                if limit is not None and self.client_calls + len(calls) > limit:
                    self._finish_turn(record, final_stop="max_tool_calls")
                    return self.output, "max_tool_calls"
                if self._waits(calls, record):
                    return self.output, APPROVAL
                messages.append({"role": "user", "content": self._answer(calls, record, budget)})
                crash_point("after-tool-results", turn)
            final = None if stop in _CONTINUE and not (stop == "tool_use" and not calls) else stop
            self.turn_seconds.append(round(time.monotonic() - started, 3))
            self._finish_turn(record, final_stop=final)
            if final is not None or stop not in _CONTINUE:
                return self.output, stop

    def _budget_stop(self, turn: int, budget: Deadline) -> str | None:
        """The budget that forbids model call ``turn`` (a tenant cap raises before turn 1),
        or a hand-off when one more turn would not fit in this segment."""
        if turn == 1:
            if self.before_turn is not None:
                self.before_turn(turn)
            return None
        if turn > self.budgets.max_turns:
            return "max_turns"
        cap = self.budgets.max_cost_usd
        if cap is not None and estimate_cost(self.model, self.usage, self.settings) >= cap:
            return "max_cost"
        controls = self.controls
        if controls.run_ends_at is not None and time.time() >= controls.run_ends_at:
            return MAX_RUN_STOP
        if controls.can_hand_off and self.segment_turns >= 1:
            needed = expected_turn_seconds(self.turn_seconds) + controls.write_margin_ms / 1000
            if budget.remaining_s() < max(needed, MIN_ATTEMPT_S):
                return HAND_OFF
        if budget.remaining_s() < MIN_ATTEMPT_S:
            return HAND_OFF if controls.can_hand_off else "deadline"
        if self.before_turn is not None:
            try:
                self.before_turn(turn)
            except GatewayError as exc:
                logger.warning(
                    "tenant budget reached; the run stops", extra={"error_type": exc.error_type}
                )
                return "max_cost"
        return None

    def _call(
        self, base: dict[str, Any], messages: list[dict[str, Any]], budget: Deadline
    ) -> CallOutcome:
        params = {**base, "messages": with_moving_breakpoint(messages)}
        outcome = self.runner.call_model(params, budget, self.guards)
        self.usage = self.usage + outcome.usage
        if outcome.refusal is not None:
            raise outcome.refusal_error()
        return outcome

    def _answer(
        self, calls: list[dict[str, Any]], record: TurnRecord, budget: Deadline
    ) -> list[dict[str, Any]]:
        """Run the turn's client calls; their ``tool_result`` blocks, in the calls' order."""
        results = self._results(calls, budget)
        self.client_calls += len(calls)
        answers: list[dict[str, Any]] = []
        for call, result in zip(calls, results, strict=True):
            self._count(str(call["name"]))
            answer: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": call["id"],
                "content": result.content,
            }
            if result.is_error:
                answer["is_error"] = True
            answers.append(answer)
            record.tool_calls.append(
                {
                    "id": call["id"],
                    "name": call["name"],
                    "input": call.get("input") or {},
                    "result": result.content[:TRANSCRIPT_RESULT_CHARS],
                    "is_error": result.is_error,
                }
            )
        return answers

    def _count(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def _finish_turn(
        self, record: TurnRecord, *, final_stop: str | None = None, checkpoint: bool = True
    ) -> None:
        self.transcript.append(record)
        self.segment_turns += 1
        if self.after_turn is not None:
            self.after_turn(record, estimate_cost(self.model, record.usage, self.settings))
        if checkpoint:
            self._checkpoint(final_stop=final_stop)

    def _repair(
        self,
        base: dict[str, Any],
        messages: list[dict[str, Any]],
        contract: ContractResult,
        budget: Deadline,
    ) -> CallOutcome | None:
        """The one repair turn after a final answer missed its contract (None: it failed)."""
        repair_turn = build_repair_turn(contract.missing, contract.verdict_error)
        asked = [*messages, {"role": "user", "content": [{"type": "text", "text": repair_turn}]}]
        try:
            outcome = self._call(base, asked, budget)
        except GatewayError as exc:
            logger.warning(
                "repair turn failed; keeping the final answer",
                extra={"error_type": exc.error_type, "agent": self.definition.name},
            )
            return None
        self._finish_turn(
            TurnRecord(
                turn=len(self.transcript) + 1,
                assistant=outcome.content,
                usage=outcome.usage,
                stop_reason=outcome.stop_reason,
            ),
            # Not checkpointed (15.1): the last checkpoint is the final answer's, so a new
            # owner after a crash here re-checks the contract and asks for the repair again.
            checkpoint=False,
        )
        return outcome
