"""Invocation-item conditions and the RUNNING update, shared by the lifecycle and economy writes."""

from __future__ import annotations

from typing import Final

from agents.records import KIND_INVOCATION, iso_ms
from agents.store.expressions import ExpressionBuilder
from agents.types import InvocationStatus

#: The one partition of the sparse ``SweepIndex`` (decision 15.20).
SWEEP_SHARD: Final = "due"
#: Present only while the sweeper may have to act on the record.
SWEEP_ATTRIBUTES: Final = ("sweep_shard", "sweep_at")


def is_invocation(expr: ExpressionBuilder) -> str:
    """Condition: the item exists and is an invocation (never a batch)."""
    return (
        f"attribute_exists({expr.attribute('id')}) AND {expr.attribute('kind')} = "
        f"{expr.value('kind_inv', KIND_INVOCATION)}"
    )


def is_held_by(expr: ExpressionBuilder, owner: str) -> str:
    """Condition: a RUNNING invocation under ``owner``'s lease."""
    return (
        f"{is_invocation(expr)} AND {expr.attribute('status')} = "
        f"{expr.value('running', InvocationStatus.RUNNING)} AND {expr.attribute('lease_owner')} = "
        f"{expr.value('owner', owner)}"
    )


def set_running(expr: ExpressionBuilder, owner: str, *, lease_seconds: float, now: float) -> None:
    """Updates: RUNNING under ``owner``'s lease of ``lease_seconds`` from ``now``."""
    expr.set("status", InvocationStatus.RUNNING)
    expr.set("lease_owner", owner)
    expr.set("lease_expires_at", now + lease_seconds)
    expr.set("started_at", iso_ms(now))
    expr.set("updated_at", iso_ms(now))


def is_claimable(expr: ExpressionBuilder, now: float) -> str:
    """Condition (no kind check): QUEUED, or RUNNING under a lease expired at ``now``."""
    status, lease = expr.attribute("status"), expr.attribute("lease_expires_at")
    return (
        f"({status} = {expr.value('queued', InvocationStatus.QUEUED)}"
        f" OR ({status} = {expr.value('running', InvocationStatus.RUNNING)}"
        f" AND {lease} < {expr.value('now', now)}))"
    )


def is_queued_or_held_by(expr: ExpressionBuilder, owner: str | None) -> str:
    """Condition (no kind check): QUEUED, or (``owner`` given) RUNNING under its lease."""
    status = expr.attribute("status")
    allowed = f"{status} = {expr.value('queued', InvocationStatus.QUEUED)}"
    if owner is None:
        return allowed
    return (
        f"({allowed} OR ({status} = {expr.value('running', InvocationStatus.RUNNING)}"
        f" AND {expr.attribute('lease_owner')} = {expr.value('owner', owner)}))"
    )


def mark_run_start(expr: ExpressionBuilder, now: float) -> None:
    """Updates: ``run_started_at`` (``MAX_RUN_SECONDS`` counts from it) and ``segments`` (1),
    both only the first time a run starts."""
    for name, value in (("run_started_at", now), ("segments", 1)):
        attribute = expr.attribute(name)
        expr.set_clause(
            f"{attribute} = if_not_exists({attribute}, {expr.value('first_' + name, value)})"
        )
