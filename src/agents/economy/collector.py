"""The collector: polls the open Message Batches, applies the results of those that ended.

One pass (:meth:`Collector.run_once`), on a schedule (EventBridge Scheduler; a thread in
``agw dev``): each open tracking item is reconciled (still ``submitting``: the submitter
may have crashed after the create call), polled, and when its batch has ended, its results
are streamed and each applied once (:mod:`agents.economy.results`). A batch still in
progress whose items are all cancelled is cancelled at Anthropic. The age of the oldest
batch in progress is the ``EconomyOldestBatchAgeSeconds`` metric (alarm above 24 h).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agents.economy.reconcile import reconcile
from agents.economy.results import ResultApplier
from agents.errors import InvocationNotFound
from agents.observability import logger
from agents.records import utc_now
from agents.types import InvocationStatus

if TYPE_CHECKING:
    from agents.economy.deps import EconomyDeps
    from agents.store.economy import TrackingItem

__all__ = ["CollectReport", "Collector"]


@dataclass
class CollectReport:
    open_batches: int = 0
    collected_batches: int = 0
    cancelled_batches: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    oldest_in_progress_s: float = 0.0


class Collector:
    def __init__(self, deps: EconomyDeps) -> None:
        self.deps = deps
        self.applier = ResultApplier(
            store=deps.store,
            registry=deps.registry,
            client=deps.client,
            settings=deps.settings,
            resubmit=deps.queue.hand_off,
        )

    def run_once(self) -> CollectReport:
        report = CollectReport()
        open_items = self.deps.store.open_tracking()
        report.open_batches = len(open_items)
        now = utc_now()
        for item in open_items:
            tracking = item
            if tracking.state == "submitting":
                adopted = reconcile(
                    tracking,
                    open_items,
                    store=self.deps.store,
                    client=self.deps.client(),
                    settings=self.deps.settings,
                    resubmit=self.deps.queue.hand_off,
                )
                if adopted is None:
                    continue
                tracking = adopted
            if tracking.anthropic_batch_id is None:
                continue
            self._poll(tracking, report, now)
        return report

    def _poll(self, tracking: TrackingItem, report: CollectReport, now: float) -> None:
        batch_id = tracking.anthropic_batch_id
        assert batch_id is not None
        batches = self.deps.client().messages.batches
        batch = batches.retrieve(batch_id)
        if batch.processing_status != "ended":
            report.oldest_in_progress_s = max(
                report.oldest_in_progress_s, now - tracking.submitted_at
            )
            if batch.cancel_initiated_at is None and self._all_cancelled(tracking):
                batches.cancel(batch_id)
                report.cancelled_batches += 1
                logger.info("economy batch cancelled", extra={"anthropic_batch_id": batch_id})
            return
        for response in batches.results(batch_id):
            report.outcomes[self.applier.apply(tracking, response)] += 1
        self.deps.store.set_tracking_state(tracking.id, "collected")
        report.collected_batches += 1
        logger.info(
            "economy batch collected",
            extra={"anthropic_batch_id": batch_id, "outcomes": dict(report.outcomes)},
        )

    def _all_cancelled(self, tracking: TrackingItem) -> bool:
        """True when no item of the batch is still waiting for its result from it."""
        for invocation_id in tracking.custom_ids:
            try:
                record = self.deps.store.get(invocation_id, hydrate=False)
            except InvocationNotFound:
                continue
            if record.economy_submission == tracking.submission and (
                record.status is not InvocationStatus.CANCELLED
            ):
                return False
        return True
