"""Reconciling a submission whose create call may or may not have happened, by custom id.

A tracking item still ``submitting`` after ``ECONOMY_RECONCILE_AFTER_SECONDS`` means the
submitter stopped between its intent and the batch id write. The Message Batches created
since the intent that no tracking item names are the candidates: once a candidate has
ended, its results say which custom ids it holds; one holding ours is adopted (the items
are not submitted again). While a candidate is still in progress nothing is decided. When
no candidate holds them, the create never happened: the items are freed and handed to the
next submission. docs/batches.md ("Exactly once").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from agents.errors import InvocationNotFound
from agents.observability import logger
from agents.records import utc_now

if TYPE_CHECKING:
    import anthropic

    from agents.config import Settings
    from agents.store import InvocationStore
    from agents.store.economy import TrackingItem

__all__ = ["CLOCK_SKEW_S", "reconcile"]

#: Allowance between our clock (the intent) and Anthropic's (``created_at``).
CLOCK_SKEW_S: Final = 5.0


def reconcile(
    tracking: TrackingItem,
    open_items: list[TrackingItem],
    *,
    store: InvocationStore,
    client: anthropic.Anthropic,
    settings: Settings,
    resubmit: Callable[[list[str]], None],
) -> TrackingItem | None:
    """The tracking item with its adopted batch, or None (undecided, or voided now)."""
    if utc_now() - tracking.submitted_at < settings.economy_reconcile_after_seconds:
        return None  # the submitter may still be in its create call
    known = {t.anthropic_batch_id for t in open_items if t.anthropic_batch_id}
    since = tracking.submitted_at - CLOCK_SKEW_S
    ours = set(tracking.custom_ids)
    undecided = False
    for batch in client.messages.batches.list(limit=100):
        if batch.created_at.timestamp() < since:
            break  # newest first: the rest are older than the intent
        if batch.id in known:
            continue
        if batch.processing_status != "ended":
            undecided = True
            continue
        if any(r.custom_id in ours for r in client.messages.batches.results(batch.id)):
            store.set_tracking_state(tracking.id, "in_progress", anthropic_batch_id=batch.id)
            logger.warning(
                "economy submission reconciled: its batch was created before a crash",
                extra={"anthropic_batch_id": batch.id, "tracking_id": tracking.id},
            )
            return tracking.model_copy(
                update={"state": "in_progress", "anthropic_batch_id": batch.id}
            )
    if undecided:
        return None
    freed = []
    for invocation_id in tracking.custom_ids:
        try:
            if store.release_submission(invocation_id, tracking.submission, None):
                freed.append(invocation_id)
        except InvocationNotFound:
            continue
    if freed:
        resubmit(freed)
    store.set_tracking_state(tracking.id, "void")
    logger.warning(
        "economy submission void: no batch holds its items; they are submitted again",
        extra={"tracking_id": tracking.id, "freed": len(freed)},
    )
    return None
