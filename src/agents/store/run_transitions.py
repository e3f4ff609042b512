"""The resumable-run transitions: checkpoint, hand-off, WAITING and back, and the sweeper's.

Each is one conditional write (docs/architecture.md, "Store" and "Resumable runs"):

* :meth:`save_checkpoint`: RUNNING under ``owner`` and ``checkpoint_turn`` = the previous one;
* :meth:`hand_off`: RUNNING under ``owner`` -> RUNNING with no owner and an expired lease,
  ``segments`` + 1, in the sweep index for ``HANDOFF_GRACE_SECONDS`` (a continuation claims it);
* :meth:`wait_for_approval`: RUNNING under ``owner`` -> WAITING with ``pending_actions``;
* :meth:`decide_actions`: WAITING (this tenant's, unchanged since read) -> QUEUED + ``decisions``;
* :meth:`mark_resent` / :meth:`fail_swept`: the sweeper's (``agents.sweeper``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from agents.errors import Conflict, DecisionsMismatch, NotWaiting
from agents.pending_actions import ActionDecision, PendingAction
from agents.record_items import from_item
from agents.records import InvocationRecord, iso_ms, utc_now
from agents.store.conditions import (
    SWEEP_ATTRIBUTES,
    SWEEP_SHARD,
    is_held_by,
    is_invocation,
    set_failed,
)
from agents.store.expressions import ExpressionBuilder
from agents.store.lifecycle import LifecycleTransitions
from agents.types import ErrorInfo, InvocationStatus, Usage

__all__ = ["ResumableTransitions", "check_decisions"]


def _stale(invocation_id: str, what: str) -> Conflict:
    return Conflict(
        f"invocation {invocation_id}: {what} (another runner owns it now)",
        invocation_id=invocation_id,
    )


def check_decisions(
    pending: Sequence[PendingAction], decisions: Sequence[ActionDecision], invocation_id: str
) -> None:
    """:class:`DecisionsMismatch` unless ``decisions`` name each pending id exactly once."""
    wanted = [action.id for action in pending]
    given = [decision.id for decision in decisions]
    if len(set(given)) != len(given) or set(given) != set(wanted):
        raise DecisionsMismatch(
            "decide every pending action exactly once: "
            f"pending {sorted(wanted)}, decided {sorted(given)}",
            invocation_id=invocation_id,
            pending=sorted(wanted),
        )


class ResumableTransitions(LifecycleTransitions):
    """The lifecycle plus the writes of checkpointed, handed-off and approved runs."""

    def _write_held(
        self,
        invocation_id: str,
        expr: ExpressionBuilder,
        owner: str,
        *,
        refused: str,
        also: str | None = None,
        announce: bool = True,
    ) -> InvocationRecord:
        """A write of the lease owner's, conditional on ``owner`` holding the run (and on
        ``also``): the new record (announced unless ``announce`` is False: a checkpoint is
        no transition); ``Conflict`` (``refused``) when it lost."""
        condition = is_held_by(expr, owner)
        if also is not None:
            condition = f"{condition} AND {also}"
        record = self._update_record(invocation_id, expr, condition)
        if record is None:
            raise _stale(invocation_id, refused)
        if announce:
            self._after_transition(record)
        return record

    def save_checkpoint(
        self,
        invocation_id: str,
        owner: str,
        *,
        turn: int,
        previous_turn: int | None,
        checkpoint_ref: str,
        usage: Usage,
        cost_usd: float,
        tool_calls: dict[str, int],
        lease_seconds: float | None = None,
        inline: bool = False,
        turn_closed: bool = True,
        now: float | None = None,
    ) -> InvocationRecord:
        """Record checkpoint ``turn``: conditional on the lease owner and on the previous
        ``checkpoint_turn`` (None: none yet). A stale owner or turn raises ``Conflict``.
        ``lease_seconds`` renews the lease (and an inline run's sweep time with it); a
        ``turn_closed`` checkpoint drops the ``decisions`` it no longer needs."""
        now = utc_now() if now is None else now
        expr = ExpressionBuilder()
        expr.set("checkpoint_turn", turn)
        expr.set("checkpoint_ref", checkpoint_ref)
        expr.set("turns", turn)
        expr.set("usage", usage)
        expr.set("cost_usd", float(cost_usd))
        expr.set("tool_calls", tool_calls)
        expr.set("updated_at", iso_ms(now))
        if turn_closed:
            expr.remove("decisions")
        if lease_seconds is not None:
            expr.set("lease_expires_at", now + lease_seconds)
            if inline:
                expr.set("sweep_at", now + lease_seconds)
        checkpoint = expr.attribute("checkpoint_turn")
        previous = (
            f"attribute_not_exists({checkpoint})"
            if previous_turn is None
            else f"{checkpoint} = {expr.value('previous_turn', previous_turn)}"
        )
        return self._write_held(
            invocation_id,
            expr,
            owner,
            refused=f"checkpoint {turn} refused",
            also=previous,
            announce=False,
        )

    def hand_off(
        self, invocation_id: str, owner: str, *, grace_seconds: float, now: float | None = None
    ) -> InvocationRecord:
        """RUNNING under ``owner`` -> RUNNING, no owner, lease expired now; ``segments`` + 1;
        in the sweep index at ``now + grace_seconds`` (the continuation may be lost)."""
        now = utc_now() if now is None else now
        expr = ExpressionBuilder()
        expr.set("lease_expires_at", now)
        expr.set("updated_at", iso_ms(now))
        expr.increment("segments", 1, start=1)
        expr.set("sweep_shard", SWEEP_SHARD).set("sweep_at", now + grace_seconds)
        expr.remove("lease_owner")
        return self._write_held(invocation_id, expr, owner, refused="hand-off refused")

    def wait_for_approval(
        self,
        invocation_id: str,
        owner: str,
        pending: Sequence[PendingAction],
        *,
        timeout_seconds: float,
        now: float | None = None,
    ) -> InvocationRecord:
        """RUNNING under ``owner`` -> WAITING with ``pending_actions``; no lease; in the sweep
        index at ``waiting_since + timeout_seconds``."""
        now = utc_now() if now is None else now
        expr = ExpressionBuilder()
        expr.set("status", InvocationStatus.WAITING)
        expr.set("pending_actions", [action.model_dump(mode="json") for action in pending])
        expr.set("waiting_since", iso_ms(now))
        expr.set("updated_at", iso_ms(now))
        expr.set("sweep_shard", SWEEP_SHARD).set("sweep_at", now + timeout_seconds)
        expr.remove("lease_owner", "lease_expires_at", "decisions")
        return self._write_held(invocation_id, expr, owner, refused="WAITING refused")

    def decide_actions(
        self,
        invocation_id: str,
        tenant: str,
        decisions: Sequence[ActionDecision],
        *,
        grace_seconds: float,
        now: float | None = None,
    ) -> InvocationRecord:
        """WAITING -> QUEUED with ``decisions`` (the caller then sends the continuation).

        404 for an unknown or another tenant's id, ``NotWaiting`` (409) for any other status,
        ``DecisionsMismatch`` (422) unless each pending id is decided once. The write is
        conditional on the WAITING state that was read (``waiting_since``)."""
        now = utc_now() if now is None else now
        current = self.get(invocation_id, tenant=tenant, hydrate=False)
        if current.status is not InvocationStatus.WAITING:
            raise _not_waiting(current)
        check_decisions(current.pending_actions or [], decisions, invocation_id)
        expr = ExpressionBuilder()
        expr.set("status", InvocationStatus.QUEUED)
        expr.set("decisions", [decision.model_dump(mode="json") for decision in decisions])
        expr.set("updated_at", iso_ms(now))
        expr.set("sweep_shard", SWEEP_SHARD).set("sweep_at", now + grace_seconds)
        expr.remove("pending_actions", "waiting_since")
        if current.run_started_at is not None and current.waiting_since:
            # The wait does not count against MAX_RUN_SECONDS (decision 15.14).
            waited = max(0.0, now - datetime.fromisoformat(current.waiting_since).timestamp())
            expr.set("run_started_at", current.run_started_at + waited)
        condition = (
            f"{is_invocation(expr)} AND {expr.attribute('tenant')} = {expr.value('tenant', tenant)}"
            f" AND {expr.attribute('status')} = {expr.value('waiting', InvocationStatus.WAITING)}"
            f" AND {expr.attribute('waiting_since')} = "
            f"{expr.value('seen', current.waiting_since or '')}"
        )
        decided = self._update_or_raise(
            invocation_id, expr, condition, tenant=tenant, refused=_not_waiting
        )
        self._after_transition(decided)
        return decided

    # --- the sweeper's ------------------------------------------------------------

    def mark_resent(
        self,
        invocation_id: str,
        *,
        seen_sweep_at: float,
        grace_seconds: float,
        new_segment: bool = False,
        now: float | None = None,
    ) -> InvocationRecord | None:
        """Move a due record's ``sweep_at`` to ``now + grace_seconds`` before the sweeper
        (re)sends its continuation: only if still QUEUED or RUNNING with an expired lease and
        not swept since (``sweep_at`` unchanged). None: someone else acted. ``new_segment``
        (a crashed run resumed from its checkpoint): ``segments`` + 1, as a hand-off does."""
        now = utc_now() if now is None else now
        expr = ExpressionBuilder()
        if new_segment:
            expr.increment("segments", 1, start=1)
        expr.set("sweep_at", now + grace_seconds)
        status, lease = expr.attribute("status"), expr.attribute("lease_expires_at")
        condition = (
            f"{is_invocation(expr)} AND {expr.attribute('sweep_at')} = "
            f"{expr.value('seen', seen_sweep_at)} AND ({status} = "
            f"{expr.value('queued', InvocationStatus.QUEUED)} OR ({status} = "
            f"{expr.value('running', InvocationStatus.RUNNING)} AND {lease} < "
            f"{expr.value('now', now)}))"
        )
        return self._update_record(invocation_id, expr, condition)

    def fail_swept(
        self,
        invocation_id: str,
        error: ErrorInfo,
        *,
        expect: Literal["abandoned", "waiting"],
        now: float | None = None,
    ) -> bool:
        """RUNNING with an expired lease (``abandoned``) or WAITING past its ``sweep_at``
        (``waiting``) -> FAILED, then its one DLQ message. False: the record moved on."""
        now = utc_now() if now is None else now
        expr = ExpressionBuilder()
        set_failed(expr, error, now)
        expr.remove("lease_owner", "lease_expires_at", "pending_actions", *SWEEP_ATTRIBUTES)
        status = expr.attribute("status")
        if expect == "abandoned":
            state = (
                f"{status} = {expr.value('running', InvocationStatus.RUNNING)} AND "
                f"{expr.attribute('lease_expires_at')} < {expr.value('now', now)}"
            )
        else:
            state = (
                f"{status} = {expr.value('waiting', InvocationStatus.WAITING)} AND "
                f"{expr.attribute('sweep_at')} <= {expr.value('now', now)}"
            )
        item = self._update(invocation_id, expr, f"{is_invocation(expr)} AND {state}")
        if item is None:
            return False
        failed = from_item(item)
        self._after_transition(failed)
        self._send_dlq(failed, now)
        return True


def _not_waiting(record: InvocationRecord) -> NotWaiting:
    return NotWaiting(
        f"invocation {record.id} is {record.status.value}; only WAITING invocations take decisions",
        invocation_id=record.id,
        status=record.status.value,
    )
