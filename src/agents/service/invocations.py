"""Invocation use cases: run an agent inline or queue it, read, list and cancel.

Every check a caller can fail runs before the record is written; after that, failures are
returned (:attr:`InvokeResult.failure`), so the answer carries the invocation's id and an
``Idempotency-Key`` replays it. Nothing here imports ``anthropic`` at import time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from agents.api_models import InvocationList, InvokeRequest, Transcript
from agents.errors import (
    Conflict,
    GatewayError,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    ServiceUnavailable,
)
from agents.names import validate_agent_name
from agents.observability import logger
from agents.problems import Failure, public_view
from agents.records import (
    InvocationMode,
    InvocationRecord,
    InvocationView,
    derived_invocation_id,
    new_invocation_id,
    run_fields,
)
from agents.service.core import API_RESPONSE_MARGIN_MS, ServiceCore, pinned_version_id
from agents.types import ErrorInfo, InvocationStatus
from agents.webhooks.destinations import check_webhook
from agents.workspace.inputs import check_request_workspace

if TYPE_CHECKING:
    from agents.executor import ExecutionOutcome
    from agents.runner import Deadline

__all__ = ["InvocationUseCases", "InvokeResult"]

#: A sync run's lease outlives its deadline by this much (a retry may take over after).
SYNC_LEASE_EXTRA_S = 5.0


@dataclass(frozen=True)
class InvokeResult:
    """What ``POST /agents/{name}/invocations`` did.

    ``accepted``: queued, or an inline run that handed off to the queue or waits for
    approval (202 with ``Location``). ``failure``: the run ended FAILED (or could not finish);
    ``invocation`` is then the record as it stands. ``wait_applied``: the seconds of a
    ``Prefer: wait`` the run honoured (``Preference-Applied``).
    """

    invocation: InvocationView
    accepted: bool = False
    failure: Failure | None = None
    wait_applied: int | None = None


class InvocationUseCases(ServiceCore):
    """``POST /agents/{name}/invocations`` and the ``/invocations`` routes."""

    def invoke(
        self,
        tenant: str,
        agent: str,
        request: InvokeRequest,
        *,
        asynchronous: bool,
        idempotency_key: str | None = None,
        remaining_ms: int | None = None,
        received_epoch_ms: int | None = None,
        owner: str | None = None,
        prefer_wait_s: float | None = None,
    ) -> InvokeResult:
        """Run ``agent`` inline (sync) or queue it (async). See the module docs.

        A sync tool run runs inline for at most ``prefer_wait_s`` (``Prefer: wait``; default
        and cap: the API deadline); one that cannot finish in time hands off to the queue
        and answers 202. A run without tools ignores ``prefer_wait_s`` (decision 15.31)."""
        definition = self._load(agent, request.version)
        self._preflight(definition, request.input, request.context, request.max_tokens)
        from agents.tool_runs import check_tenant_budget

        check_tenant_budget(tenant)
        check_request_workspace(tenant, request.files, request.workspace, self.settings)
        check_webhook(request.webhook, self.settings)
        mode = InvocationMode.ASYNC if asynchronous else InvocationMode.SYNC
        invocation_id = (
            derived_invocation_id("idem", tenant, idempotency_key)
            if idempotency_key
            else new_invocation_id()
        )
        record = InvocationRecord.new(
            tenant=tenant,
            agent=definition.name,
            input=request.input,
            mode=mode,
            id=invocation_id,
            idempotency_key=idempotency_key,
            agent_version=request.version,
            agent_version_id=pinned_version_id(definition),
            **run_fields(request),
        )
        stored, created = self.store.create_or_get(record)
        if not created and (stored.agent != record.agent or stored.mode is not mode):
            raise IdempotencyKeyReused(
                "this Idempotency-Key already names another request "
                f"({stored.mode.value} run of agent {stored.agent!r})",
                invocation_id=stored.id,
            )
        logger.append_keys(invocation_id=stored.id)
        if asynchronous:
            return self._queue_one(stored, created=created, keyed=idempotency_key is not None)
        deadline = self.api_deadline(remaining_ms=remaining_ms, received_epoch_ms=received_epoch_ms)
        tool_run = bool(definition.tools) or request.files is not None or request.workspace
        wait_applied = None
        if tool_run and prefer_wait_s is not None:
            from agents.runner import Deadline

            wait_applied = int(prefer_wait_s)
            if prefer_wait_s < deadline.remaining_s():
                wait_ms = prefer_wait_s * 1000 - API_RESPONSE_MARGIN_MS
                deadline = Deadline.after_ms(max(0.0, wait_ms))
        result = self._run_inline(
            stored, deadline, owner or f"api:{stored.id}", tool_run=bool(tool_run)
        )
        if wait_applied is not None:
            return replace(result, wait_applied=wait_applied)
        return result

    def api_deadline(
        self,
        *,
        remaining_ms: int | None = None,
        received_epoch_ms: int | None = None,
        now_ms: float | None = None,
    ) -> Deadline:
        """min(Lambda time left, API_TIMEOUT_MS since API Gateway received the request),
        minus :data:`API_RESPONSE_MARGIN_MS`.

        ``received_epoch_ms`` (``requestContext.requestTimeEpoch``) is used only when it is
        plausible (0 to API_TIMEOUT_MS ago): a replayed sample event carries a stale one.
        """
        from agents.runner import Deadline

        budget = float(self.settings.api_timeout_ms)
        now_ms = time.time() * 1000 if now_ms is None else now_ms
        if received_epoch_ms is not None:
            elapsed = now_ms - received_epoch_ms
            if 0 <= elapsed < budget:
                budget -= elapsed
        if remaining_ms is not None:
            budget = min(budget, float(remaining_ms))
        return Deadline.after_ms(max(0.0, budget - API_RESPONSE_MARGIN_MS))

    def get_invocation(
        self, tenant: str, invocation_id: str, *, include_input: bool = True
    ) -> InvocationView:
        record = self.store.get(invocation_id, tenant=tenant, hydrate=True)
        return public_view(record, include_input=include_input)

    def list_invocations(
        self,
        tenant: str,
        *,
        agent: str | None = None,
        status: InvocationStatus | None = None,
        batch_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> InvocationList:
        if agent is not None:
            validate_agent_name(agent)
        if batch_id is not None:
            batch = self.store.get_batch(batch_id, tenant)
            if agent is not None and agent != batch.agent:
                return InvocationList(items=[])
            records, next_cursor = self.store.list_batch(
                batch_id, tenant, status=status, limit=limit, cursor=cursor
            )
        else:
            records, next_cursor = self.store.list(
                tenant, agent=agent, status=status, limit=limit, cursor=cursor
            )
        next_link = None
        if next_cursor:
            query = {
                "agent": agent,
                "status": status.value if status else None,
                "batch_id": batch_id,
                "limit": str(limit),
                "cursor": next_cursor,
            }
            next_link = "/invocations?" + urlencode({k: v for k, v in query.items() if v})
        return InvocationList(
            items=[public_view(record) for record in records],
            next_cursor=next_cursor,
            next=next_link,
        )

    def transcript(self, tenant: str, invocation_id: str) -> Transcript:
        """Every turn of a tool run (none for a single call), read from S3."""
        record = self.store.get(invocation_id, tenant=tenant, hydrate=False)
        turns = (
            self.store.payloads.read_transcript(record.transcript_ref)
            if record.transcript_ref
            else []
        )
        return Transcript(invocation_id=record.id, turns=turns)

    def cancel(self, tenant: str, invocation_id: str) -> InvocationView:
        """QUEUED or WAITING -> CANCELLED (the worker then skips it; a WAITING run's pending
        actions are dropped); 409 ``not-cancellable`` otherwise."""
        return public_view(self.store.cancel(invocation_id, tenant))

    # --- internals ------------------------------------------------------------------

    def _queue_one(self, record: InvocationRecord, *, created: bool, keyed: bool) -> InvokeResult:
        if record.status is InvocationStatus.QUEUED:
            unsent = self._send_all([record.id])
            if unsent:
                if not keyed and created:
                    self._fail_unqueued(unsent)
                raise ServiceUnavailable(
                    "the invocation could not be queued", invocation_id=record.id
                )
        return InvokeResult(invocation=public_view(record), accepted=True)

    def _run_inline(
        self, record: InvocationRecord, deadline: Deadline, owner: str, *, tool_run: bool = False
    ) -> InvokeResult:
        if record.status.terminal:
            return self._result_of(self.store.hydrate(record))
        if record.status is InvocationStatus.WAITING:
            # A keyed retry of a run that waits for approval: nothing to run now.
            return InvokeResult(invocation=public_view(record), accepted=True)
        from agents.executor import execute

        outcome = execute(
            record.id,
            deadline=deadline,
            owner=owner,
            final_attempt=True,
            retry_on_transient=False,
            lease_seconds=max(deadline.remaining_s(), 0.0) + SYNC_LEASE_EXTRA_S,
            inline=True,
            # A tool run claims even with little time: it hands off instead of failing.
            min_start_seconds=0.0 if tool_run else None,
        )
        return self._outcome_result(record, outcome)

    def _outcome_result(self, record: InvocationRecord, outcome: ExecutionOutcome) -> InvokeResult:
        from agents.executor import OutcomeStatus

        current = outcome.record or record
        if outcome.status is OutcomeStatus.SUCCEEDED:
            return InvokeResult(invocation=public_view(current))
        if outcome.status in {OutcomeStatus.HANDED_OFF, OutcomeStatus.WAITING}:
            return InvokeResult(invocation=public_view(current), accepted=True)
        if outcome.status is OutcomeStatus.FAILED:
            failure = (
                Failure.from_exception(outcome.exception)
                if outcome.exception is not None
                else Failure.from_info(outcome.error or _unknown_error())
            )
            return InvokeResult(invocation=public_view(current), failure=failure)
        if outcome.status is OutcomeStatus.ALREADY_TERMINAL and outcome.record is not None:
            return self._result_of(self.store.hydrate(outcome.record))
        if outcome.status in {OutcomeStatus.RUNNING_ELSEWHERE, OutcomeStatus.LEASE_LOST}:
            return InvokeResult(
                invocation=public_view(current),
                failure=Failure.from_exception(
                    IdempotencyInProgress(
                        "this invocation is running in another request; retry later",
                        invocation_id=record.id,
                    )
                ),
            )
        exc = outcome.exception or GatewayError("the invocation did not run")
        return InvokeResult(invocation=public_view(current), failure=Failure.from_exception(exc))

    def _result_of(self, record: InvocationRecord) -> InvokeResult:
        """The answer for a record that is already terminal (a retry of a keyed request)."""
        view = public_view(record)
        if record.status is InvocationStatus.SUCCEEDED:
            return InvokeResult(invocation=view)
        if record.status is InvocationStatus.FAILED:
            return InvokeResult(
                invocation=view, failure=Failure.from_info(record.error or _unknown_error())
            )
        conflict = Conflict(f"invocation {record.id} was cancelled", invocation_id=record.id)
        return InvokeResult(invocation=view, failure=Failure.from_exception(conflict))


def _unknown_error() -> ErrorInfo:
    return ErrorInfo(type=GatewayError.error_type, message="unknown failure", retryable=False)
