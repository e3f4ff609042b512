"""The model runner (``docs/runner.md``): :class:`Runner` and the container's
:func:`get_runner`, :class:`Deadline`, :func:`preflight` and :func:`classify_model_error`."""

from agents.runner.agent_results import AgentRunResult, RunBudgets, TurnRecord
from agents.runner.classification import classify_model_error
from agents.runner.deadline import Deadline
from agents.runner.model_runner import Runner, RunResult, get_runner
from agents.runner.request import RunInput, preflight
from agents.runner.run_state import ToolRunOptions
from agents.runner.time_budget import MAX_RETRIES_CAP, MIN_ATTEMPT_S, plan_max_retries

__all__ = [
    "MAX_RETRIES_CAP",
    "MIN_ATTEMPT_S",
    "AgentRunResult",
    "Deadline",
    "RunBudgets",
    "RunInput",
    "RunResult",
    "Runner",
    "ToolRunOptions",
    "TurnRecord",
    "classify_model_error",
    "get_runner",
    "plan_max_retries",
    "preflight",
]
