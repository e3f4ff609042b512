"""The economy writes: an item's submission guard, and the tracking item of each submission.

An economy item stays QUEUED (cancellable as any queued item) until its result is applied.

* :meth:`EconomyRecords.reserve` -- before the Message Batch is created, the item is taken
  by one submission (``economy_submission``, conditional on none holding it): at most one
  submission per attempt.
* :meth:`EconomyRecords.claim_result` -- QUEUED under that submission -> RUNNING, so a
  result is applied once (then ``complete`` / ``fail`` as for any run).
* :meth:`EconomyRecords.release_submission` -- the item is free again (resubmission).

A tracking item (``kind = "economy_batch"``, id ``ebt_<submission>``) is written before the
create call and lists the submission's custom ids; the ``economy-open`` item holds the set of
open tracking ids the collector polls. See docs/batches.md ("Exactly once").
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from agents.awserrors import translate_aws_errors
from agents.record_items import item_to_python, to_item
from agents.records import InvocationRecord, Processing, is_valid_id, iso_ms, utc_now
from agents.store.conditions import is_claimable, is_invocation, is_queued_or_held_by, set_running
from agents.store.expressions import ExpressionBuilder
from agents.store.table import StoreTable
from agents.types import ErrorInfo, InvocationStatus

__all__ = ["KIND_ECONOMY_BATCH", "OPEN_SET_ID", "EconomyRecords", "TrackingItem"]

KIND_ECONOMY_BATCH: Final = "economy_batch"
#: The item whose string set ``open`` lists the tracking ids still to collect.
OPEN_SET_ID: Final = "economy-open"

TrackingState = Literal["submitting", "in_progress", "collected", "void"]


class TrackingItem(BaseModel):
    """One submission: its custom ids (invocation ids) and, once created, its batch id."""

    model_config = ConfigDict(extra="ignore")

    id: str
    submission: str
    custom_ids: list[str]
    state: TrackingState = "submitting"
    anthropic_batch_id: str | None = None
    #: Epoch seconds of the intent (before the create call).
    submitted_at: float = 0.0
    created_at: str = ""
    expires_at: int | None = None
    kind: Literal["economy_batch"] = KIND_ECONOMY_BATCH


def tracking_id(submission: str) -> str:
    return f"ebt_{submission}"


class EconomyRecords(StoreTable):
    """The economy item transitions and the tracking items (mixed into the store)."""

    # --- items -------------------------------------------------------------------------

    def reserve(
        self, invocation_id: str, submission: str, *, now: float | None = None
    ) -> InvocationRecord | None:
        """QUEUED economy item with no submission -> held by ``submission`` (attempts + 1).
        None when another submission holds it or it is no longer QUEUED."""
        if not is_valid_id(invocation_id):
            return None
        now = utc_now() if now is None else now
        expr = ExpressionBuilder()
        expr.set("economy_submission", submission)
        expr.set("updated_at", iso_ms(now))
        expr.increment("attempts", 1, start=0)
        expr.remove("economy_batch_id")
        condition = (
            f"{is_invocation(expr)} AND {expr.attribute('status')} = "
            f"{expr.value('queued', InvocationStatus.QUEUED)} AND "
            f"{expr.attribute('processing')} = {expr.value('economy', Processing.ECONOMY)} AND "
            f"attribute_not_exists({expr.attribute('economy_submission')})"
        )
        return self._update_record(invocation_id, expr, condition)

    def attach_batch(self, invocation_id: str, submission: str, batch_id: str) -> bool:
        """Show the Message Batch id on an item ``submission`` holds."""
        expr = ExpressionBuilder()
        expr.set("economy_batch_id", batch_id)
        condition = (
            f"{is_invocation(expr)} AND {expr.attribute('economy_submission')} = "
            f"{expr.value('sub', submission)}"
        )
        return self._update(invocation_id, expr, condition) is not None

    def claim_result(
        self,
        invocation_id: str,
        submission: str,
        owner: str,
        *,
        lease_seconds: float,
        now: float | None = None,
    ) -> InvocationRecord | None:
        """QUEUED (or RUNNING under an expired lease) and held by ``submission`` -> RUNNING
        under ``owner``: the right to apply this submission's result (None: not ours)."""
        now = utc_now() if now is None else now
        expr = ExpressionBuilder()
        set_running(expr, owner, lease_seconds=lease_seconds, now=now)
        condition = (
            f"{is_invocation(expr)} AND {expr.attribute('economy_submission')} = "
            f"{expr.value('sub', submission)} AND {is_claimable(expr, now)}"
        )
        claimed = self._update_record(invocation_id, expr, condition)
        if claimed is not None:
            self._after_transition(claimed)
        return claimed

    def release_submission(
        self,
        invocation_id: str,
        submission: str,
        error: ErrorInfo | None,
        *,
        owner: str | None = None,
        now: float | None = None,
    ) -> bool:
        """The item (QUEUED, or RUNNING under ``owner``) is free for a new submission."""
        now = utc_now() if now is None else now
        expr = ExpressionBuilder()
        expr.set("status", InvocationStatus.QUEUED)
        if error is not None:
            expr.set("last_error", error)
        expr.set("updated_at", iso_ms(now))
        expr.remove("economy_submission", "economy_batch_id", "lease_owner", "lease_expires_at")
        condition = (
            f"{is_invocation(expr)} AND {expr.attribute('economy_submission')} = "
            f"{expr.value('sub', submission)} AND {is_queued_or_held_by(expr, owner)}"
        )
        released = self._update_record(invocation_id, expr, condition)
        if released is not None and owner is not None:
            self._after_transition(released)  # RUNNING -> QUEUED (a QUEUED item stays so)
        return released is not None

    # --- tracking items ----------------------------------------------------------------

    def put_tracking(self, tracking: TrackingItem) -> None:
        """Write a new tracking item and add it to the open set (before the create call)."""
        stamped = tracking.model_copy(
            update={
                "created_at": tracking.created_at or iso_ms(tracking.submitted_at),
                "expires_at": tracking.expires_at or self._expires_at(tracking.submitted_at),
            }
        )
        if self._put_new(to_item(stamped)) is not None:
            raise ValueError(f"tracking item {tracking.id} exists")
        self._open_set("ADD", tracking.id)

    def get_tracking(self, tracking_id_: str) -> TrackingItem | None:
        item = self._get_item(tracking_id_)
        if item is None:
            return None
        data = item_to_python(item)
        return TrackingItem.model_validate(data) if data.get("kind") == KIND_ECONOMY_BATCH else None

    def set_tracking_state(
        self, tracking_id_: str, state: TrackingState, *, anthropic_batch_id: str | None = None
    ) -> None:
        """Move a tracking item on; ``collected`` / ``void`` also leave the open set."""
        expr = ExpressionBuilder()
        expr.set("state", state)
        if anthropic_batch_id is not None:
            expr.set("anthropic_batch_id", anthropic_batch_id)
        condition = f"{expr.attribute('kind')} = {expr.value('kind_eb', KIND_ECONOMY_BATCH)}"
        self._update(tracking_id_, expr, condition)
        if state in {"collected", "void"}:
            self._open_set("DELETE", tracking_id_)

    def open_tracking(self) -> list[TrackingItem]:
        """Every tracking item still to collect (oldest first)."""
        item = self._get_item(OPEN_SET_ID)
        names = sorted(item_to_python(item).get("open", [])) if item else []
        found = [self.get_tracking(name) for name in names]
        return sorted((t for t in found if t is not None), key=lambda t: t.submitted_at)

    def _open_set(self, action: Literal["ADD", "DELETE"], tracking_id_: str) -> None:
        with translate_aws_errors("dynamodb:UpdateItem"):
            self.dynamodb.update_item(
                TableName=self.table,
                Key={"id": {"S": OPEN_SET_ID}},
                UpdateExpression=f"{action} #open :one SET #kind = :kind",
                ExpressionAttributeNames={"#open": "open", "#kind": "kind"},
                ExpressionAttributeValues={
                    ":one": {"SS": [tracking_id_]},
                    ":kind": {"S": "economy_open"},
                },
            )
