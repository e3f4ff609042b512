"""``InvocationStore``: the lifecycle, batches and listings on one table; the container's store."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING

from agents.container import per_container
from agents.records import InvocationRecord
from agents.store.batches import BatchRecords
from agents.store.economy import EconomyRecords
from agents.store.listing import query_invocations, tenant_listing
from agents.store.run_transitions import ResumableTransitions
from agents.types import InvocationStatus

if TYPE_CHECKING:
    from agents.definitions import AgentDefinition
    from agents.records import ToolRunOutcome
    from agents.runner import RunResult


class InvocationStore(ResumableTransitions, BatchRecords, EconomyRecords):
    """Invocation and batch records in one DynamoDB table; large payloads in S3."""

    def complete_run(
        self,
        invocation_id: str,
        owner: str,
        result: RunResult,
        definition: AgentDefinition,
        *,
        tool_run: ToolRunOutcome | None = None,
    ) -> InvocationRecord:
        """:meth:`complete` with a run's result and the definition that ran."""
        source = definition.source
        return self.complete(
            invocation_id,
            owner,
            output=result.output,
            model=result.model,
            stop_reason=result.stop_reason,
            incomplete=result.incomplete,
            repaired=result.repaired,
            contract=result.contract,
            usage=result.usage,
            cost_usd=result.cost_usd,
            timings=result.timings,
            agent_version=definition.version,
            agent_etag=source.etag if source else None,
            agent_version_id=source.version_id if source else None,
            tool_run=tool_run,
        )

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
