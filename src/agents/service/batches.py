"""Batch use cases: submit many inputs for one agent (one queued invocation each), read
a batch's progress."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from agents.api_models import BatchItemRef, BatchRequest, BatchSubmitted, BatchView, StatusCounts
from agents.economy.requests import check_economy
from agents.errors import (
    Conflict,
    GatewayError,
    IdempotencyKeyReused,
    PayloadTooLarge,
    ServiceUnavailable,
    ValidationFailed,
)
from agents.observability import logger
from agents.problems import Failure
from agents.records import (
    BatchRecord,
    InvocationMode,
    InvocationRecord,
    Processing,
    derived_invocation_id,
    new_batch_id,
)
from agents.service.core import ServiceCore, pinned_version_id
from agents.types import InvocationStatus
from agents.webhooks.destinations import check_webhook

if TYPE_CHECKING:
    from agents.definitions import AgentDefinition

__all__ = ["BatchUseCases"]

#: Threads writing a batch's records.
BATCH_WRITE_THREADS = 8


class BatchUseCases(ServiceCore):
    """``POST /batches`` and ``GET /batches/{id}``."""

    def submit_batch(
        self, tenant: str, request: BatchRequest, *, idempotency_key: str | None = None
    ) -> BatchSubmitted:
        """One QUEUED invocation per item, queued with SendMessageBatch; see docs/api.md.

        The batch id is derived from the ``Idempotency-Key`` (else from the items' keys when
        every item has one, else random), and each item's id from the batch id and the item's
        key (else its index): a re-submission finds the records already written and
        (re)queues those still QUEUED, so an interrupted submission resumes.
        """
        settings = self.settings
        count = len(request.items)
        if count > settings.batch_max_items:
            raise PayloadTooLarge(
                f"a batch holds at most {settings.batch_max_items} items; this one has {count}",
                limit=settings.batch_max_items,
            )
        definition = self._load(request.agent, request.version)
        economy = request.processing is Processing.ECONOMY
        if economy:
            check_economy(definition)
        self._check_items(definition, request)
        from agents.tool_runs import check_tenant_budget

        check_tenant_budget(tenant)
        check_webhook(request.webhook, settings)
        keys = [item.idempotency_key for item in request.items]
        if idempotency_key:
            batch_id, deterministic = f"bat_{_digest('key', tenant, idempotency_key)}", True
        elif all(keys):
            batch_id = f"bat_{_digest('items', tenant, definition.name, *map(str, keys))}"
            deterministic = True
        else:
            batch_id, deterministic = new_batch_id(), False
        batch = self._create_batch(
            BatchRecord.new(
                id=batch_id,
                tenant=tenant,
                agent=definition.name,
                item_count=count,
                agent_version=request.version,
                processing=request.processing,
                metadata=dict(request.metadata),
                webhook=request.webhook,
            )
        )
        logger.append_keys(batch_id=batch.id)
        pin = pinned_version_id(definition)
        records = [
            InvocationRecord.new(
                tenant=tenant,
                agent=definition.name,
                input=item.input,
                mode=InvocationMode.BATCH,
                id=derived_invocation_id("batch", batch.id, item.idempotency_key or f"#{index}"),
                context=item.context,
                invocation_context=item.invocation_context,
                max_tokens=request.max_tokens,
                metadata=dict(item.metadata),
                idempotency_key=item.idempotency_key,
                batch_id=batch.id,
                agent_version=request.version,
                agent_version_id=pin,
                processing=request.processing,
            )
            for index, item in enumerate(request.items)
        ]
        stored = self._create_all(records)
        to_queue = [r.id for r in stored if r.status is InvocationStatus.QUEUED]
        unsent = self._send_all(to_queue, processing=request.processing)
        if unsent:
            if not deterministic:
                self._fail_unqueued(unsent)
            raise ServiceUnavailable(
                f"{len(unsent)} of {count} items could not be queued"
                + (
                    "; submit the same request again (same Idempotency-Key) to resume"
                    if deterministic
                    else "; they are FAILED and in the dead-letter queue"
                ),
                batch_id=batch.id,
            )
        statuses = {r.id: r.status for r in stored}
        counts = StatusCounts()
        for status in statuses.values():
            setattr(counts, status.value, getattr(counts, status.value) + 1)
        return BatchSubmitted(
            **self._batch_view(batch, counts).model_dump(),
            items=[
                BatchItemRef(
                    index=index,
                    invocation_id=record.id,
                    idempotency_key=record.idempotency_key,
                    status=statuses[record.id],
                )
                for index, record in enumerate(records)
            ],
        )

    def get_batch(self, tenant: str, batch_id: str) -> BatchView:
        batch = self.store.get_batch(batch_id, tenant)
        counts = StatusCounts.from_counts(self.store.batch_counts(batch.id))
        return self._batch_view(batch, counts)

    # --- internals ---------------------------------------------------------------

    def _check_items(self, definition: AgentDefinition, request: BatchRequest) -> None:
        problems: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(request.items):
            key = item.idempotency_key
            if key is not None:
                if key in seen:
                    problems.append(
                        {
                            "index": index,
                            "type": "validation-error",
                            "detail": f"idempotency_key {key!r} repeats item {seen[key]}",
                        }
                    )
                    continue
                seen[key] = index
            try:
                self._preflight(definition, item.input, item.context, request.max_tokens)
            except GatewayError as exc:
                failure = Failure.from_exception(exc)
                problems.append(
                    {"index": index, "type": failure.error_type, "detail": failure.detail}
                    | {k: v for k, v in failure.extra.items() if k in {"problems", "field"}}
                )
        if problems:
            raise ValidationFailed(
                f"{len(problems)} of {len(request.items)} items are invalid; nothing was queued",
                items=problems[:100],
            )

    def _create_batch(self, batch: BatchRecord) -> BatchRecord:
        try:
            return self.store.create_batch(batch)
        except Conflict:
            existing = self.store.get_batch(batch.id, batch.tenant)
            if (
                existing.agent != batch.agent
                or existing.item_count != batch.item_count
                or existing.processing is not batch.processing
            ):
                raise IdempotencyKeyReused(
                    f"batch {batch.id} was submitted with another agent, item count or "
                    "processing under the same key(s)"
                ) from None
            return existing

    def _create_all(self, records: list[InvocationRecord]) -> list[InvocationRecord]:
        store = self.store

        def create(record: InvocationRecord) -> InvocationRecord:
            stored, _ = store.create_or_get(record)
            if stored.batch_id != record.batch_id:
                raise Conflict(f"invocation id {record.id} is taken", invocation_id=record.id)
            return stored

        if len(records) == 1:
            return [create(records[0])]
        with ThreadPoolExecutor(max_workers=min(BATCH_WRITE_THREADS, len(records))) as pool:
            return list(pool.map(create, records))

    def _batch_view(self, batch: BatchRecord, counts: StatusCounts) -> BatchView:
        base = f"/invocations?batch_id={batch.id}"
        return BatchView(
            id=batch.id,
            agent=batch.agent,
            agent_version=batch.agent_version,
            item_count=batch.item_count,
            processing=batch.processing,
            counts=counts,
            done=counts.terminal >= batch.item_count,
            metadata=batch.metadata,
            webhook=batch.webhook,
            created_at=batch.created_at,
            links={
                "self": f"/batches/{batch.id}",
                "results": base,
                "failed": f"{base}&status=FAILED",
            },
        )


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
