"""A tool run for the executor: its budgets, the tenant's spend cap around each turn, the tool
plan and workspace of a record, and the fields its result adds to the record.

The tenant's spend cap is ``agents.tenants.budget`` (no tenants table configured: no cap)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agents.records import ToolRunOutcome

if TYPE_CHECKING:
    from agents.config import Settings
    from agents.definitions import AgentDefinition
    from agents.records import InvocationRecord
    from agents.runner import AgentRunResult, RunBudgets, TurnRecord
    from agents.tools.plan import ToolPlan
    from agents.workspace import Workspace

__all__ = [
    "ToolRunSetup",
    "budgets_for",
    "check_tenant_budget",
    "prepare_tool_run",
    "tenant_turn_hooks",
    "tool_run_outcome",
]

#: Frontmatter keys naming a definition's turn limit (Claude Code writes ``maxTurns``).
_MAX_TURNS_KEYS = ("maxTurns", "max_turns")


def check_tenant_budget(tenant: str) -> None:
    """Raise ``BudgetExceeded`` (429) when ``tenant`` is over its spend cap (no cap: no-op)."""
    from agents.tenants.budget import check_budget

    check_budget(tenant)


def tenant_turn_hooks(
    tenant: str,
) -> tuple[Callable[[int], None], Callable[[TurnRecord, float], None]]:
    """``before_turn`` (the cap check) and ``after_turn`` (one atomic spend update). The
    update answers the tenant's item as it left it, and the next turn's check uses that
    item instead of reading it again; a check after a turn that wrote nothing reads."""
    from agents.tenants.budget import TenantItem, check_budget, record_spend

    latest: TenantItem | None = None

    def before_turn(turn: int) -> None:
        nonlocal latest
        known, latest = latest, None  # an item is used for one check only
        check_budget(tenant, known=known)

    def after_turn(record: TurnRecord, cost_usd: float) -> None:
        nonlocal latest
        latest = record_spend(tenant, cost_usd)

    return before_turn, after_turn


def _frontmatter_max_turns(definition: AgentDefinition) -> int | None:
    for key in _MAX_TURNS_KEYS:
        value = definition.extra.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
    return None


def budgets_for(
    record: InvocationRecord, definition: AgentDefinition, settings: Settings
) -> RunBudgets:
    """The request's budgets, else the definition's ``maxTurns``, else ``MAX_TURNS``."""
    from agents.runner import RunBudgets

    max_turns = record.max_turns or _frontmatter_max_turns(definition) or settings.max_turns
    return RunBudgets(
        max_turns=max_turns,
        max_tool_calls=record.max_tool_calls,
        max_cost_usd=record.max_cost_usd,
    )


@dataclass(frozen=True)
class ToolRunSetup:
    """The plan of a run and, when the request carried files, its workspace."""

    plan: ToolPlan
    workspace: Workspace | None
    offers_tools: bool


def prepare_tool_run(
    record: InvocationRecord, definition: AgentDefinition, settings: Settings
) -> ToolRunSetup | None:
    """The tool plan of ``definition`` for ``record`` and the workspace of its files (None:
    a single call, as before tools: no tools named and no files)."""
    if not definition.tools and record.files is None and record.workspace is None:
        return None
    from agents.tools.plan import plan_tools
    from agents.workspace.inputs import load_request_workspace

    workspace = load_request_workspace(record.tenant, record.files, record.workspace, settings)
    plan = plan_tools(definition, has_files=workspace is not None, settings=settings)
    return ToolRunSetup(plan=plan, workspace=workspace, offers_tools=plan.offers_tools)


def tool_run_outcome(
    result: AgentRunResult | None, setup: ToolRunSetup, *, store_bucket: str, invocation_id: str
) -> ToolRunOutcome:
    """The record fields of a run: the loop's figures (``result``; None for a single call
    that offered no tools) and the workspace's changes, saved to S3 when there are any."""
    from agents.workspace.results import save_result

    workspace = setup.workspace
    files_changed: list[dict[str, Any]] = []
    patch = patch_ref = None
    if workspace is not None:
        changes = workspace.changes()
        files_changed = [change.model_dump(mode="json") for change in changes]
        if changes:
            saved = save_result(store_bucket, invocation_id, workspace)
            patch, patch_ref = saved.patch or None, saved.patch_ref
    if result is None:
        return ToolRunOutcome(
            turns=None, tools_unavailable=list(setup.plan.unavailable), files_changed=files_changed
        )
    return ToolRunOutcome(
        turns=result.turns,
        tool_calls=result.tool_calls,
        tools_unavailable=result.tools_unavailable,
        files_changed=files_changed,
        patch=patch,
        patch_ref=patch_ref,
        transcript=[turn.model_dump(mode="json") for turn in result.transcript],
    )
