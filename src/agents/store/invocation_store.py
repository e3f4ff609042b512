"""``InvocationStore``: the lifecycle, batches and listings on one table; the container's store."""

from __future__ import annotations

import builtins

from agents.container import per_container
from agents.records import InvocationRecord
from agents.store.batches import BatchRecords
from agents.store.economy import EconomyRecords
from agents.store.listing import query_invocations, tenant_listing
from agents.store.run_transitions import ResumableTransitions
from agents.types import InvocationStatus


class InvocationStore(ResumableTransitions, BatchRecords, EconomyRecords):
    """Invocation and batch records in one DynamoDB table; large payloads in S3."""

    def list(
        self,
        tenant: str,
        *,
        agent: str | None = None,
        status: InvocationStatus | None = None,
        limit: int = 50,
        cursor: str | None = None,
        payloads: bool = False,
    ) -> tuple[builtins.list[InvocationRecord], str | None]:
        """The tenant's invocations, newest first, via the ``by-tenant`` index.

        Listings leave out input, context and output unless ``payloads`` (read one
        invocation for them). ``cursor`` is opaque, bound to the tenant; a cursor that
        was tampered with or belongs to another tenant -> ``BadRequest``.
        """
        if not tenant:
            raise ValueError("tenant is required")
        listing = tenant_listing(tenant, agent=agent, status=status)
        return query_invocations(
            self.dynamodb, self.table, listing, limit=limit, cursor=cursor, payloads=payloads
        )


@per_container
def get_store() -> InvocationStore:
    """The container's store, from settings."""
    from agents.config import get_settings

    settings = get_settings()
    return InvocationStore(
        settings.invocations_table,
        payload_bucket=settings.effective_payload_bucket,
        payload_prefix=settings.payload_prefix,
        dlq_url=settings.dlq_url,
        offload_threshold_bytes=settings.offload_threshold_bytes,
        retention_days=settings.retention_days,
        webhook_queue_url=settings.webhook_queue_url,
    )
