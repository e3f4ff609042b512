"""The submitter: economy items from the economy queue into Anthropic Message Batches.

Per chunk (as few as the limits allow): the tracking item (the intent) is written, each
item is reserved for the submission (a conditional write, so at most one submission per
attempt), the hand-offs are deleted, then ``messages.batches.create`` is called with
``custom_id`` = invocation id, and the batch id is written on the tracking item and the
items. A crash after the create call is reconciled by the collector
(:mod:`agents.economy.reconcile`), by custom id. docs/batches.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agents.economy.queue import QueuedItem
from agents.economy.requests import BatchRequest, build_request, chunks
from agents.errors import GatewayError, InvocationNotFound
from agents.observability import logger
from agents.records import InvocationRecord, Processing, new_id, utc_now
from agents.store.economy import TrackingItem, tracking_id
from agents.types import ErrorInfo, InvocationStatus

if TYPE_CHECKING:
    from agents.economy.deps import EconomyDeps

__all__ = ["SubmitReport", "Submitter"]

#: Hand-offs one run takes from the queue at most.
MAX_RECEIVE_PER_RUN = 20_000


@dataclass
class SubmitReport:
    received: int = 0
    submitted: int = 0
    failed: int = 0
    skipped: int = 0
    batches: list[str] = field(default_factory=list)


class Submitter:
    """One run drains the economy queue and submits what it found."""

    def __init__(
        self, deps: EconomyDeps, *, after_create: Callable[[str], None] | None = None
    ) -> None:
        self.deps = deps
        #: Called with the new batch id right after the create call (crash tests).
        self.after_create = after_create

    def run_once(self, *, limit: int = MAX_RECEIVE_PER_RUN) -> SubmitReport:
        report = SubmitReport()
        received = self.deps.queue.receive(limit)
        report.received = len(received)
        if not received:
            return report
        handled: list[QueuedItem] = []
        requests: list[BatchRequest] = []
        by_id: dict[str, QueuedItem] = {}
        for item in received:
            request = self._request_for(item, report)
            if request is None or request.custom_id in by_id:
                handled.append(item)
            else:
                by_id[request.custom_id] = item
                requests.append(request)
        self.deps.queue.delete(handled)
        requests.sort(key=lambda r: (str(r.params["model"]), str(r.params["system"])))
        for chunk in chunks(
            requests,
            max_requests=self.deps.settings.economy_max_requests,
            max_bytes=self.deps.settings.economy_max_bytes,
        ):
            self._submit(chunk, [by_id[r.custom_id] for r in chunk], report)
        return report

    def _request_for(self, item: QueuedItem, report: SubmitReport) -> BatchRequest | None:
        """The item's request, or None when there is nothing to submit (it is dropped)."""
        if item.invocation_id is None:
            report.skipped += 1
            return None
        try:
            record = self.deps.store.get(item.invocation_id, hydrate=True)
        except InvocationNotFound:
            report.skipped += 1
            return None
        if (
            record.status is not InvocationStatus.QUEUED
            or record.processing is not Processing.ECONOMY
            or record.economy_submission is not None
        ):
            # Cancelled, done, or held by a submission (whose tracking item owns it).
            report.skipped += 1
            return None
        try:
            definition = self.deps.registry.get(
                record.agent, version=record.agent_version, version_id=record.agent_version_id
            )
            return build_request(definition, record, self.deps.settings)
        except GatewayError as exc:
            if exc.retryable:
                raise
            self._fail(record, exc)
            report.failed += 1
            return None

    def _fail(self, record: InvocationRecord, exc: GatewayError) -> None:
        info = ErrorInfo.model_validate(exc.to_dict())
        self.deps.store.fail(record.id, info, owner=None)

    def _submit(
        self, chunk: list[BatchRequest], items: list[QueuedItem], report: SubmitReport
    ) -> None:
        submission = new_id("esub")
        tracking = TrackingItem(
            id=tracking_id(submission),
            submission=submission,
            custom_ids=[r.custom_id for r in chunk],
            submitted_at=utc_now(),
        )
        self.deps.store.put_tracking(tracking)
        reserved = [
            r for r in chunk if self.deps.store.reserve(r.custom_id, submission) is not None
        ]
        # From here the tracking item owns the items: the hand-offs are done.
        self.deps.queue.delete(items)
        report.skipped += len(chunk) - len(reserved)
        if not reserved:
            self.deps.store.set_tracking_state(tracking.id, "void")
            return
        batch = self.deps.client().messages.batches.create(
            requests=[r.as_json() for r in reserved]  # type: ignore[misc]
        )
        if self.after_create is not None:
            self.after_create(batch.id)
        self.deps.store.set_tracking_state(tracking.id, "in_progress", anthropic_batch_id=batch.id)
        for request in reserved:
            self.deps.store.attach_batch(request.custom_id, submission, batch.id)
        report.submitted += len(reserved)
        report.batches.append(batch.id)
        logger.info(
            "economy batch submitted",
            extra={"anthropic_batch_id": batch.id, "requests": len(reserved)},
        )
