"""The model runner: one code path from an agent definition to a model answer, used by
the API (inline) and the worker (queued). The request, the deadline arithmetic, the
repair turn and the error classes: ``docs/runner.md``."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from agents.config import Settings, get_settings
from agents.container import PerContainer
from agents.errors import DeadlineExceeded, GatewayError, ModelError
from agents.observability import logger
from agents.pricing import estimate_cost
from agents.prompting import build_repair_turn
from agents.runner.classification import BudgetExhausted, classify_model_error
from agents.runner.deadline import Deadline
from agents.runner.model_call import CallOutcome, run_bounded, stream_message
from agents.runner.request import build_system_blocks, build_user_turn, checked_max_tokens
from agents.runner.time_budget import MIN_ATTEMPT_S, AttemptGuard, plan_max_retries
from agents.types import ContractResult, Timings, Usage

if TYPE_CHECKING:
    import anthropic

    from agents.definitions import AgentDefinition
    from agents.runner.agent_results import AgentRunResult, RunBudgets, TurnRecord
    from agents.runner.client_tools import ClientToolbox, ToolPlanLike
    from agents.runner.run_state import RunControls

__all__ = ["INCOMPLETE_STOP_REASONS", "RunResult", "Runner", "get_runner"]

#: Stop reasons that mean the output was cut short.
INCOMPLETE_STOP_REASONS = frozenset({"max_tokens", "model_context_window_exceeded", "pause_turn"})


class RunResult(BaseModel):
    """What one run produced (a repair turn, when sent, is included in every figure)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    output: str
    model: str
    stop_reason: str | None
    incomplete: bool = False
    contract: ContractResult | None = None
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0
    #: HTTP attempts to the Messages API, SDK retries and the repair turn included.
    attempts: int = 0
    #: Model calls (1, or 2 with a repair turn).
    model_calls: int = 1
    repaired: bool = False
    timings: Timings = Field(default_factory=Timings)
    request_ids: list[str] = Field(default_factory=list)


class Runner:
    """Runs agent definitions against the Messages API (one per container: :func:`get_runner`)."""

    def __init__(self, settings: Settings | None = None, *, base_url: str | None = None) -> None:
        """``settings``: fixed settings (default: the container's, read per run).
        ``base_url``: the Messages API root (default: ``ANTHROPIC_BASE_URL``, read by the SDK)."""
        self._settings = settings
        self._base_url = base_url
        self._client: anthropic.Anthropic | None = None
        self._lock = threading.Lock()
        self._refetch_key = False

    @property
    def settings(self) -> Settings:
        return self._settings if self._settings is not None else get_settings()

    # -- the client --

    def client(self) -> anthropic.Anthropic:
        """The container's SDK client (created on first use; the base URL comes from
        ``ANTHROPIC_BASE_URL`` through the SDK)."""
        found = self._client
        if found is not None:
            return found
        with self._lock:
            if self._client is None:
                import anthropic

                from agents.secrets import anthropic_api_key

                key = anthropic_api_key(self.settings, force_fetch=self._refetch_key)
                self._refetch_key = False
                self._client = anthropic.Anthropic(
                    api_key=key, base_url=self._base_url, max_retries=0
                )
            return self._client

    def warm(self) -> None:
        """Import the SDK and create the client now (e.g. during a Lambda's INIT phase)."""
        self.client()

    def forget_client(self, *, refetch_key: bool = False) -> None:
        with self._lock:
            client, self._client = self._client, None
            self._refetch_key = self._refetch_key or refetch_key
        if client is not None:
            client.close()

    # -- a run --

    def run(
        self,
        definition: AgentDefinition,
        input_text: str,
        *,
        context: Mapping[str, Any] | None = None,
        invocation_context: str | None = None,
        max_tokens: int | None = None,
        deadline: Deadline,
        metadata: Mapping[str, str] | None = None,
    ) -> RunResult:
        """Run ``definition`` on ``input_text`` (the whole flow: ``docs/runner.md``)."""
        started = time.monotonic()
        settings = self.settings
        from agents.model_aliases import resolve_model

        model = resolve_model(definition.model, settings)
        tokens = checked_max_tokens(max_tokens, settings)
        user_turn = build_user_turn(definition, input_text, context, settings)
        system = build_system_blocks(definition, input_text, invocation_context)
        budget = deadline.minus_ms(settings.deadline_margin_ms)
        if budget.remaining_s() < MIN_ATTEMPT_S:
            raise DeadlineExceeded(
                f"not enough time left to call the model ({deadline.remaining_ms()} ms left, "
                f"{settings.deadline_margin_ms} ms kept for the writes that follow)"
            )

        params: dict[str, Any] = {
            "model": model,
            "max_tokens": tokens,
            "system": system,
            "messages": [{"role": "user", "content": user_turn}],
        }
        guards: list[AttemptGuard] = []
        first = self.call_model(params, budget, guards)
        usage = first.usage
        if first.refusal is not None:
            raise first.refusal_error()
        output, stop_reason = first.text, first.stop_reason
        contract = self.check_contract(definition, output, input_text, invocation_context)
        repaired = False
        if contract is not None and not contract.valid and stop_reason == "end_turn":
            second = self._repair(
                definition, first, contract, params=params, budget=budget, guards=guards
            )
            if second is not None:
                usage = usage + second.usage
                if second.refusal is None:
                    output, stop_reason = second.text, second.stop_reason
                    contract = self.check_contract(
                        definition, output, input_text, invocation_context
                    )
                    repaired = True
        cost = estimate_cost(model, usage, settings)
        result = RunResult(
            output=output,
            model=model,
            stop_reason=stop_reason,
            incomplete=stop_reason in INCOMPLETE_STOP_REASONS,
            contract=contract,
            usage=usage,
            cost_usd=cost,
            attempts=sum(guard.attempts for guard in guards),
            model_calls=sum(1 for guard in guards if guard.attempts),
            repaired=repaired,
            timings=Timings(
                time_to_first_token_ms=first.first_token_ms,
                total_ms=round((time.monotonic() - started) * 1000, 1),
            ),
            request_ids=[rid for guard in guards for rid in guard.request_ids],
        )
        logger.info(
            "model run finished",
            extra={
                "agent": definition.name,
                "model": model,
                "stop_reason": stop_reason,
                "contract_valid": None if contract is None else contract.valid,
                "repaired": repaired,
                "attempts": result.attempts,
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cache_read_input_tokens": usage.cache_read_input_tokens,
                "cache_creation_input_tokens": usage.cache_creation_input_tokens,
                "cost_usd": cost,
                "total_ms": result.timings.total_ms,
                **({"metadata_keys": sorted(metadata)} if metadata else {}),
            },
        )
        return result

    def run_agent(
        self,
        definition: AgentDefinition,
        input_text: str,
        *,
        context: Mapping[str, Any] | None = None,
        invocation_context: str | None = None,
        max_tokens: int | None = None,
        deadline: Deadline,
        metadata: Mapping[str, str] | None = None,
        workspace: Any,
        plan: ToolPlanLike,
        budgets: RunBudgets,
        before_turn: Callable[[int], None] | None = None,
        after_turn: Callable[[TurnRecord, float], None] | None = None,
        toolbox: ClientToolbox | None = None,
        controls: RunControls | None = None,
    ) -> AgentRunResult:
        """Run ``definition`` as a tool loop over ``workspace`` with ``plan``'s tools
        (:class:`agents.runner.agent_loop.AgentLoop`; ``controls`` make it resumable)."""
        from agents.runner.agent_loop import AgentLoop

        loop = AgentLoop(
            self,
            definition,
            workspace=workspace,
            plan=plan,
            budgets=budgets,
            before_turn=before_turn,
            after_turn=after_turn,
            toolbox=toolbox,
            controls=controls,
        )
        return loop.run(
            input_text,
            context=context,
            invocation_context=invocation_context,
            max_tokens=max_tokens,
            deadline=deadline,
            metadata=metadata,
        )

    # -- the output contract and the repair turn --

    @staticmethod
    def check_contract(
        definition: AgentDefinition,
        output: str,
        prompt: str,
        invocation_context: str | None = None,
    ) -> ContractResult | None:
        if definition.output_contract is None:
            return None
        return definition.output_contract.check(output, prompt, invocation_context)

    def _repair(
        self,
        definition: AgentDefinition,
        first: CallOutcome,
        contract: ContractResult,
        *,
        params: dict[str, Any],
        budget: Deadline,
        guards: list[AttemptGuard],
    ) -> CallOutcome | None:
        """The one repair turn after ``first`` missed its contract; None when it failed
        (any error, the deadline included: the first answer is kept)."""
        repair_params = {
            **params,
            "messages": [
                *params["messages"],
                {"role": "assistant", "content": first.text},
                {
                    "role": "user",
                    "content": build_repair_turn(contract.missing, contract.verdict_error),
                },
            ],
        }
        try:
            return self.call_model(repair_params, budget, guards)
        except GatewayError as exc:
            logger.warning(
                "repair turn failed; keeping the first answer",
                extra={"error_type": exc.error_type, "agent": definition.name},
            )
            return None

    # -- one model call --

    def call_model(
        self, params: dict[str, Any], budget: Deadline, guards: list[AttemptGuard]
    ) -> CallOutcome:
        """One streamed call of ``params`` within ``budget`` (its guard appended to ``guards``);
        every failure classified (:func:`classify_model_error`)."""
        left = budget.remaining_s()
        guard = AttemptGuard(budget_end=budget.monotonic, max_retries=plan_max_retries(left))
        guards.append(guard)
        if left < MIN_ATTEMPT_S:
            raise classify_model_error(BudgetExhausted("no time left for a model call"))

        def work() -> CallOutcome:
            # Creating the client (first call: SDK import, key lookup) counts against the budget.
            client = self.client()
            call_client = client.with_options(
                max_retries=guard.max_retries,
                timeout=left,
                middleware=[*client.middleware, guard.handle],
            )
            return stream_message(call_client, params, guard)

        try:
            return run_bounded(work, guard)
        except Exception as exc:  # noqa: BLE001 (classified; unknown ones re-raised)
            error = classify_model_error(exc, budget_expired=guard.left_s() <= 0)
            if isinstance(error, ModelError) and error.extra.get("status") == 401:
                self.forget_client(refetch_key=True)
            raise error from None


# --- the container's runner -----------------------------------------------------------


def _forget_runner_client(runner: Runner) -> None:
    runner.forget_client()


#: The container's runner (its SDK client is created lazily, once).
get_runner: PerContainer[Runner] = PerContainer(Runner, on_clear=_forget_runner_client)
