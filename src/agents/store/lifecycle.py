"""The lifecycle transitions: each one conditional write (see docs/architecture.md, "Store").

::

    QUEUED --claim--> RUNNING --complete--> SUCCEEDED
      |  ^              |  |
      |  +---release----+  +--fail--> FAILED --requeue_failed--> QUEUED
      +--cancel--> CANCELLED (also from WAITING)
      +--fail----> FAILED

    RUNNING --hand_off--> RUNNING (no owner, lease expired; a continuation claims it)
    RUNNING --wait_for_approval--> WAITING --decide_actions--> QUEUED
    RUNNING (lease expired) / WAITING (timed out) --sweeper: fail_swept--> FAILED

The resumable-run transitions (hand-off to fail_swept) are ``agents.store.run_transitions``.
"""

from __future__ import annotations

from typing import Any

from agents.dead_letter_messages import DlqMessage, send_to_dlq
from agents.errors import Conflict, NotCancellable, PayloadTooLarge, RedriveRefused
from agents.observability import logger
from agents.record_items import from_item, item_size, to_item
from agents.records import InvocationRecord, ToolRunOutcome, is_valid_id, iso_ms, utc_now
from agents.store.conditions import (
    SWEEP_ATTRIBUTES,
    SWEEP_SHARD,
    is_claimable,
    is_held_by,
    is_invocation,
    is_queued_or_held_by,
    mark_run_start,
    set_failed,
    set_running,
)
from agents.store.expressions import ExpressionBuilder
from agents.store.table import (
    Refusal,
    StoreTable,
    invocation_not_found,
    visible_invocation,
)
from agents.types import ContractResult, ErrorInfo, InvocationStatus, Timings, Usage

#: A record that still exceeds this after offloading is refused (metadata abuse).
MAX_ITEM_BYTES = 380_000
DLQ_CLAIM_STALE_SECONDS = 60.0


def _lease_lost(invocation_id: str) -> Conflict:
    return Conflict(
        f"invocation {invocation_id} is no longer held by this runner (lease lost)",
        invocation_id=invocation_id,
    )


class LifecycleTransitions(StoreTable):
    """create, claim, complete, release, fail (+ its DLQ message), cancel, requeue_failed."""

    def create(self, record: InvocationRecord) -> InvocationRecord:
        """Store a new QUEUED record (``attribute_not_exists(id)``); ``Conflict`` if the id exists.

        Input and context above the offload threshold go to S3 first. The returned
        record still holds them in memory (and their ``*_ref`` pointers).
        """
        created, refusal = self._insert(record)
        if refusal is not None:
            raise Conflict(f"invocation {record.id} already exists", invocation_id=record.id)
        self._after_transition(created, created=True)
        return created

    def create_or_get(self, record: InvocationRecord) -> tuple[InvocationRecord, bool]:
        """Create, or return the record already stored under this (deterministic) id.

        Returns ``(record, created)``. ``Conflict`` if the id belongs to another tenant.
        The existing record comes with the refused write (no second read).
        """
        created, refusal = self._insert(record)
        if refusal is None:
            self._after_transition(created, created=True)
            return created, True
        existing = visible_invocation(refusal.current, record.tenant)
        if existing is None:
            raise Conflict(f"invocation id {record.id} is taken", invocation_id=record.id)
        return existing, False

    def claim(
        self,
        invocation_id: str,
        owner: str,
        *,
        lease_seconds: float,
        now: float | None = None,
        inline: bool = False,
        continuation: bool = False,
    ) -> InvocationRecord | None:
        """QUEUED -> RUNNING under ``owner``, or take over a RUNNING record whose lease expired.

        Increments ``attempts`` (not for a ``continuation``: a new segment is no retry).
        Returns the claimed record (not hydrated), or None when the record is not claimable
        (missing, terminal, WAITING, or RUNNING under a live lease). An ``inline`` (API) claim
        puts the record in the sweep index until its lease ends; a queue-driven one takes it out.
        """
        if not is_valid_id(invocation_id):
            return None
        now = utc_now() if now is None else now
        expr = ExpressionBuilder()
        set_running(expr, owner, lease_seconds=lease_seconds, now=now)
        attempts = expr.attribute("attempts")
        step = 0 if continuation else 1
        expr.set_clause(
            f"{attempts} = if_not_exists({attempts}, {expr.value('zero', 0)})"
            f" + {expr.value('one', step)}"
        )
        mark_run_start(expr, now)
        if inline:
            expr.set("sweep_shard", SWEEP_SHARD).set("sweep_at", now + lease_seconds)
        else:
            expr.remove("sweep_shard", "sweep_at")
        condition = f"{is_invocation(expr)} AND {is_claimable(expr, now)}"
        item = self._update(invocation_id, expr, condition)
        if item is None:
            return None
        claimed = from_item(item)
        self._after_transition(claimed)
        return claimed

    def complete(
        self,
        invocation_id: str,
        owner: str,
        *,
        output: str,
        model: str | None,
        stop_reason: str | None = None,
        incomplete: bool = False,
        repaired: bool = False,
        contract: ContractResult | None = None,
        usage: Usage | None = None,
        cost_usd: float = 0.0,
        timings: Timings | None = None,
        agent_version: str | None = None,
        agent_etag: str | None = None,
        agent_version_id: str | None = None,
        tool_run: ToolRunOutcome | None = None,
        now: float | None = None,
    ) -> InvocationRecord:
        """RUNNING under ``owner`` -> SUCCEEDED. A lost lease raises ``Conflict``.

        Output above the offload threshold goes to S3 (``<id>/output.txt``) first; so does a
        large patch (``patch.diff``), and a tool run's transcript always (``transcript.json``).
        Returns the record with the output and patch in memory.
        """
        now = utc_now() if now is None else now
        output_ref = self.payloads.offload_output(invocation_id, output)
        tool_fields = self.payloads.tool_run_fields(invocation_id, tool_run) if tool_run else {}
        expr = ExpressionBuilder()
        expr.set("status", InvocationStatus.SUCCEEDED)
        if output_ref:
            expr.set("output_ref", output_ref).remove("output")
        else:
            expr.set("output", output).remove("output_ref")
        expr.set("model", model)
        expr.set("stop_reason", stop_reason)
        expr.set("incomplete", incomplete)
        expr.set("repaired", repaired)
        expr.set("contract", contract)
        expr.set("usage", usage or Usage())
        expr.set("cost_usd", float(cost_usd))
        expr.set("timings", timings)
        expr.set("agent_version", agent_version)
        expr.set("agent_etag", agent_etag)
        expr.set("agent_version_id", agent_version_id)
        for name, value in tool_fields.items():
            expr.set(name, value)
        expr.set("finished_at", iso_ms(now))
        expr.set("updated_at", iso_ms(now))
        expr.remove("lease_owner", "lease_expires_at", "error", *SWEEP_ATTRIBUTES)
        item = self._update(invocation_id, expr, is_held_by(expr, owner))
        if item is None:
            raise _lease_lost(invocation_id)
        memory: dict[str, Any] = {"output": output}
        if tool_run is not None:
            memory["patch"] = tool_run.patch
        done = from_item(item).model_copy(update=memory)
        self._after_transition(done)
        return done

    def fail(
        self,
        invocation_id: str,
        error: ErrorInfo,
        *,
        owner: str | None,
        now: float | None = None,
    ) -> bool:
        """QUEUED, or RUNNING under ``owner``, -> FAILED; then one DLQ message.

        Returns True when this call made the transition (it then sent the DLQ message and
        set ``dlq_sent``), False when the record was not in a state it may fail (already
        terminal, another owner's lease, missing). If the DLQ send itself fails, the record
        stays FAILED with ``dlq_sent = false`` and the error propagates
        (``ServiceUnavailable``): :meth:`ensure_dlq_sent` finishes the job.
        """
        now = utc_now() if now is None else now
        expr = ExpressionBuilder()
        set_failed(expr, error, now)
        expr.remove("lease_owner", "lease_expires_at", *SWEEP_ATTRIBUTES)
        allowed = is_queued_or_held_by(expr, owner)
        item = self._update(invocation_id, expr, f"{is_invocation(expr)} AND {allowed}")
        if item is None:
            return False
        record = from_item(item)
        logger.warning(
            "invocation failed",
            extra={
                "invocation_id": record.id,
                "error_type": error.type,
                "retryable": error.retryable,
                "attempts": record.attempts,
            },
        )
        self._after_transition(record)
        self._send_dlq(record, now)
        return True

    def ensure_dlq_sent(
        self,
        invocation_id: str,
        *,
        stale_after_seconds: float = DLQ_CLAIM_STALE_SECONDS,
        now: float | None = None,
    ) -> bool:
        """Send the DLQ message of a FAILED record whose sender crashed or failed.

        Acts only when ``dlq_sent`` is false and the previous sender's claim is older than
        ``stale_after_seconds`` (so it never races a live ``fail`` between its two writes).
        Returns True when this call sent the message.
        """
        now = utc_now() if now is None else now
        expr = ExpressionBuilder()
        expr.set("dlq_claimed_at", now)
        claimed = expr.attribute("dlq_claimed_at")
        condition = (
            f"{is_invocation(expr)} AND {expr.attribute('status')} = "
            f"{expr.value('failed', InvocationStatus.FAILED)}"
            f" AND {expr.attribute('dlq_sent')} = {expr.value('false', False)}"
            f" AND (attribute_not_exists({claimed})"
            f" OR {claimed} < {expr.value('stale', now - stale_after_seconds)})"
        )
        item = self._update(invocation_id, expr, condition)
        if item is None:
            return False
        self._send_dlq(from_item(item), now)
        return True

    def release(
        self, invocation_id: str, owner: str, error: ErrorInfo, *, now: float | None = None
    ) -> InvocationRecord:
        """RUNNING under ``owner`` -> QUEUED after a transient failure (a redelivery may claim
        it at once). ``last_error`` records why. A lost lease raises ``Conflict``."""
        now = utc_now() if now is None else now
        expr = ExpressionBuilder()
        expr.set("status", InvocationStatus.QUEUED)
        expr.set("last_error", error)
        expr.set("updated_at", iso_ms(now))
        expr.remove("lease_owner", "lease_expires_at", *SWEEP_ATTRIBUTES)
        item = self._update(invocation_id, expr, is_held_by(expr, owner))
        if item is None:
            raise _lease_lost(invocation_id)
        released = from_item(item)
        self._after_transition(released)
        return released

    def cancel(
        self, invocation_id: str, tenant: str, *, now: float | None = None
    ) -> InvocationRecord:
        """QUEUED or WAITING -> CANCELLED; else ``NotCancellable`` (409), or 404 (not theirs)."""
        if not is_valid_id(invocation_id):
            raise invocation_not_found(invocation_id)
        now = utc_now() if now is None else now
        expr = ExpressionBuilder()
        expr.set("status", InvocationStatus.CANCELLED)
        expr.set("finished_at", iso_ms(now))
        expr.set("updated_at", iso_ms(now))
        expr.remove("pending_actions", "waiting_since", *SWEEP_ATTRIBUTES)
        queued, waiting = InvocationStatus.QUEUED, InvocationStatus.WAITING
        condition = (
            f"{is_invocation(expr)} AND {expr.attribute('tenant')} = {expr.value('tenant', tenant)}"
            f" AND {expr.attribute('status')} IN ({expr.value('queued', queued)}, "
            f"{expr.value('waiting', waiting)})"
        )
        result = self._update_or_refusal(invocation_id, expr, condition)
        if not isinstance(result, Refusal):
            cancelled = from_item(result)
            self._after_transition(cancelled)
            return cancelled
        current = visible_invocation(result.current, tenant)
        if current is None:
            raise invocation_not_found(invocation_id)
        raise NotCancellable(
            f"invocation {invocation_id} is {current.status.value}; only QUEUED and WAITING "
            "invocations can be cancelled",
            invocation_id=invocation_id,
            status=current.status.value,
        )

    def requeue_failed(
        self, invocation_id: str, *, force: bool = False, now: float | None = None
    ) -> InvocationRecord:
        """FAILED -> QUEUED for a DLQ redrive (attempts kept; ``error`` becomes ``last_error``;
        ``dlq_sent`` reset so a new failure is dead-lettered again).

        Raises ``InvocationNotFound``, ``Conflict`` (not FAILED) or ``RedriveRefused`` (the
        error is not retryable and ``force`` is false). The caller then puts
        ``{"invocation_id": ...}`` on the invocation queue.
        """
        now = utc_now() if now is None else now
        current = self.get(invocation_id, hydrate=False)
        if current.status is not InvocationStatus.FAILED:
            raise Conflict(
                f"invocation {invocation_id} is {current.status.value}, not FAILED",
                invocation_id=invocation_id,
            )
        if current.error is not None and not current.error.retryable and not force:
            raise RedriveRefused(
                f"invocation {invocation_id} failed permanently ({current.error.type}: "
                f"{current.error.message}); redriving it needs force",
                invocation_id=invocation_id,
            )
        expr = ExpressionBuilder()
        expr.set("status", InvocationStatus.QUEUED)
        expr.set("last_error", current.error)
        expr.set("dlq_sent", False)
        expr.set("updated_at", iso_ms(now))
        expr.remove("error", "finished_at", "lease_owner", "lease_expires_at", "dlq_claimed_at")
        condition = (
            f"{expr.attribute('status')} = {expr.value('failed', InvocationStatus.FAILED)}"
            f" AND {expr.attribute('updated_at')} = {expr.value('seen', current.updated_at)}"
        )
        item = self._update(invocation_id, expr, condition)
        if item is None:
            raise Conflict(
                f"invocation {invocation_id} changed during the redrive; try again",
                invocation_id=invocation_id,
            )
        requeued = from_item(item)
        self._after_transition(requeued)
        return requeued

    # --- internals -------------------------------------------------------------------

    def _insert(self, record: InvocationRecord) -> tuple[InvocationRecord, Refusal | None]:
        """Validate, offload and put a new record: ``(record, None)`` when written (payloads
        still in memory), ``(record, refusal)`` when the id was taken."""
        if record.status is not InvocationStatus.QUEUED:
            raise ValueError(f"a new invocation must be QUEUED, not {record.status}")
        if not is_valid_id(record.id):
            raise ValueError(f"invalid invocation id {record.id!r}")
        if not record.tenant or not record.agent:
            raise ValueError("an invocation needs a tenant and an agent")
        stored = record
        if stored.expires_at is None:
            stored = stored.model_copy(update={"expires_at": self._expires_at(utc_now())})
        stored = self.payloads.offload_new(stored)
        item = to_item(stored)
        item.pop("segments", None)  # absent until the first claim starts segment 1
        size = item_size(item)
        if size > MAX_ITEM_BYTES:
            raise PayloadTooLarge(
                f"the invocation record would be {size} bytes after offloading payloads; "
                "reduce metadata"
            )
        refusal = self._put_new(item)
        return stored.model_copy(update={"input": record.input, "context": record.context}), refusal

    def _send_dlq(self, record: InvocationRecord, now: float) -> None:
        """Send the record's DLQ message, then mark it sent (both after winning a claim)."""
        error = record.error or ErrorInfo(type="internal-error", message="unknown", retryable=False)
        message = DlqMessage(
            kind="invocation",
            invocation_id=record.id,
            tenant=record.tenant,
            agent=record.agent,
            batch_id=record.batch_id,
            error_type=error.type,
            message=error.message,
            retryable=error.retryable,
            attempts=record.attempts,
            failed_at=record.finished_at or iso_ms(now),
        )
        send_to_dlq(message, queue_url=self.dlq_url or None)
        expr = ExpressionBuilder()
        expr.set("dlq_sent", True)
        expr.set("updated_at", iso_ms(utc_now()))
        # Only while still FAILED: a redrive that already happened must not be overwritten.
        condition = f"{expr.attribute('status')} = {expr.value('failed', InvocationStatus.FAILED)}"
        self._update(record.id, expr, condition)
