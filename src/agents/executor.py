"""The one code path that runs an invocation: claim, load the definition, run, record.

Used by the API (inline, sync requests) and by the SQS worker; the steps, the outcomes and
which of them are retried are the table "The execution path" in docs/architecture.md.
``ExecutionOutcome.should_retry`` is the one retry decision (decision 13.90).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit

from agents.errors import (
    Conflict,
    DeadlineExceeded,
    GatewayError,
    InvocationNotFound,
    ServiceUnavailable,
)
from agents.observability import count_failure, log_keys, logger, metrics, record_run_metrics
from agents.records import InvocationRecord, ToolRunOutcome
from agents.types import ErrorInfo, InvocationStatus

if TYPE_CHECKING:
    from agents.definitions import AgentDefinition
    from agents.registry import AgentRegistry
    from agents.runner import Deadline, Runner, RunResult
    from agents.store import InvocationStore

__all__ = ["ExecutionOutcome", "OutcomeStatus", "execute"]

#: Seconds of model time a run needs at least, on top of the deadline margin.
MIN_RUN_SECONDS = 3.0


class OutcomeStatus(StrEnum):
    SUCCEEDED = "succeeded"  # this call ran it and recorded SUCCEEDED
    FAILED = "failed"  # this call recorded FAILED (and sent the DLQ message)
    RETRY = "retry"  # transient failure: released to QUEUED (or not recorded); run again later
    NO_TIME = "no-time"  # not claimed: too little time left to start
    ALREADY_TERMINAL = "already-terminal"  # SUCCEEDED / FAILED / CANCELLED before we came
    RUNNING_ELSEWHERE = "running-elsewhere"  # another runner holds a live lease
    LEASE_LOST = "lease-lost"  # our lease expired and another runner took over (retry)
    NOT_FOUND = "not-found"  # no such invocation
    HANDED_OFF = "handed-off"  # checkpointed, lease released, continuation sent (ack the message)
    WAITING = "waiting"  # checkpointed, WAITING for decisions on its pending actions (ack)


@dataclass(frozen=True)
class ExecutionOutcome:
    status: OutcomeStatus
    #: The record after this call (not hydrated unless this call produced it); None if unknown.
    record: InvocationRecord | None
    #: The failure of this attempt, if any (as stored / sent to the DLQ).
    error: ErrorInfo | None = None
    #: True: the caller should have the work come back (SQS: report a batch item failure).
    should_retry: bool = False
    #: The exception behind ``error`` (its class carries the HTTP status for the API).
    exception: GatewayError | None = None


def execute(
    invocation_id: str,
    *,
    deadline: Deadline,
    owner: str,
    final_attempt: bool,
    retry_on_transient: bool = True,
    min_start_seconds: float | None = None,
    lease_seconds: float | None = None,
    store: InvocationStore | None = None,
    registry: AgentRegistry | None = None,
    runner: Runner | None = None,
    inline: bool = False,
    continuation: bool = False,
) -> ExecutionOutcome:
    """Run invocation ``invocation_id`` once, under ``owner``'s lease (see the module docs).

    ``inline``: the API runs it (the claim enters the sweep index); ``continuation``: the next
    segment of a checkpointed run (not counted in ``attempts``). A tool run resumes from its
    checkpoint and may end this segment early: ``HANDED_OFF`` or ``WAITING``."""
    from agents.config import get_settings

    settings = get_settings()
    if store is None:
        from agents.store import get_store

        store = get_store()
    if min_start_seconds is None:
        min_start_seconds = settings.deadline_margin_ms / 1000 + MIN_RUN_SECONDS
    gives_up = final_attempt or not retry_on_transient

    if deadline.remaining_s() < min_start_seconds:
        return _no_time(store, invocation_id, deadline, gives_up=gives_up)

    record = store.claim(
        invocation_id,
        owner,
        lease_seconds=settings.lease_seconds if lease_seconds is None else lease_seconds,
        inline=inline,
        continuation=continuation,
    )
    if record is None:
        return _not_claimed(store, invocation_id)

    with log_keys(
        invocation_id=record.id,
        tenant=record.tenant,
        agent=record.agent,
        mode=record.mode.value,
        batch_id=record.batch_id,
        attempt=record.attempts,
    ):
        metrics.add_metric(name="Invocations", unit=MetricUnit.Count, value=1)
        logger.info("invocation started")
        try:
            result, definition, tool_run = _run(
                record, store, registry, runner, deadline, owner=owner, inline=inline
            )
            from agents.runner import AgentRunResult

            if isinstance(result, AgentRunResult) and result.paused:
                from agents.resumable_runs import end_segment

                return end_segment(store, record, owner, result, settings)
        except GatewayError as exc:
            return _failed_attempt(store, record, owner, exc, gives_up=gives_up)
        except Exception as exc:  # noqa: BLE001 - the record must end FAILED, not stuck RUNNING
            logger.exception("unexpected error while running the invocation")
            internal = GatewayError(f"internal error while running the invocation ({exc!r})")
            return _failed_attempt(store, record, owner, internal, gives_up=gives_up)
        return _succeeded(store, record, owner, result, definition, tool_run=tool_run)


# --- steps ------------------------------------------------------------------------------


def _run(
    record: InvocationRecord,
    store: InvocationStore,
    registry: AgentRegistry | None,
    runner: Runner | None,
    deadline: Deadline,
    *,
    owner: str,
    inline: bool,
) -> tuple[RunResult, AgentDefinition, ToolRunOutcome | None]:
    from agents.config import get_settings
    from agents.events import RunEventRecorder
    from agents.tool_runs import (
        check_tenant_budget,
        prepare_tool_run,
        tenant_turn_hooks,
        tool_run_outcome,
    )

    if registry is None:
        from agents.registry import get_registry

        registry = get_registry()
    if runner is None:
        from agents.runner import get_runner

        runner = get_runner()
    record = store.hydrate(record)
    if get_settings().log_input:
        logger.info("invocation input", extra={"input": record.input, "context": record.context})
    definition = registry.get(
        record.agent, version=record.agent_version, version_id=record.agent_version_id
    )
    settings = get_settings()
    setup = prepare_tool_run(record, definition, settings)
    # The turns' events; a resumed run's totals go on from its checkpoint.
    resumed = record.checkpoint_turn is not None
    events = RunEventRecorder(
        record.id,
        expires_at=record.expires_at,
        usage=record.usage if resumed else None,
        cost_usd=record.cost_usd if resumed else 0.0,
        counted_turn=record.checkpoint_turn if record.decisions else None,
    )
    if setup is not None and setup.offers_tools:
        from agents.resumable_runs import run_tool_segment

        agent_result = run_tool_segment(
            record,
            definition,
            setup,
            store=store,
            runner=runner,
            deadline=deadline,
            owner=owner,
            inline=inline,
            events=events,
        )
        events.flush()  # the last turn's events (the loop raises only before a turn's are held)
        if agent_result.paused:
            return agent_result, definition, None
        outcome = tool_run_outcome(
            agent_result,
            setup,
            store_bucket=store.payload_bucket,
            invocation_id=record.id,
        )
        return agent_result, definition, outcome
    if not inline:  # inline: the API's admission checked the cap moments ago (13.255)
        check_tenant_budget(record.tenant)
    from agents.runner import RunInput

    result = runner.run_request(RunInput.from_record(record, definition, deadline))
    _, after_turn = events.compose(*tenant_turn_hooks(record.tenant))
    if after_turn is not None:
        from agents.runner import TurnRecord

        text = [{"type": "text", "text": result.output}]
        turn = TurnRecord(
            turn=1, assistant=text, usage=result.usage, stop_reason=result.stop_reason
        )
        after_turn(turn, result.cost_usd)
        events.flush()
    if setup is None:
        return result, definition, None
    outcome = tool_run_outcome(
        None, setup, store_bucket=store.payload_bucket, invocation_id=record.id
    )
    return result, definition, outcome


def _succeeded(
    store: InvocationStore,
    record: InvocationRecord,
    owner: str,
    result: RunResult,
    definition: AgentDefinition,
    *,
    tool_run: ToolRunOutcome | None = None,
) -> ExecutionOutcome:
    try:
        done = store.complete_run(record.id, owner, result, definition, tool_run=tool_run)
    except Conflict as exc:
        logger.warning("lease lost before the result was recorded; the new owner finishes it")
        return ExecutionOutcome(
            OutcomeStatus.LEASE_LOST, _peek(store, record.id), exception=exc, should_retry=True
        )
    except ServiceUnavailable as exc:
        # The model answered but the record could not be written. The lease stays ours
        # until it expires; a redelivery after that takes over and runs it again.
        logger.error("could not record the result", extra={"error_type": exc.error_type})
        count_failure(exc.error_type)
        return ExecutionOutcome(
            OutcomeStatus.RETRY, record, error=_info(exc), should_retry=True, exception=exc
        )
    record_run_metrics(result.usage, cost_usd=result.cost_usd, total_ms=result.timings.total_ms)
    logger.info(
        "invocation succeeded",
        extra={"model": result.model, "total_ms": result.timings.total_ms},
    )
    return ExecutionOutcome(OutcomeStatus.SUCCEEDED, done)


def _failed_attempt(
    store: InvocationStore,
    record: InvocationRecord,
    owner: str,
    exc: GatewayError,
    *,
    gives_up: bool,
) -> ExecutionOutcome:
    info = _info(exc)
    count_failure(exc.error_type)
    if exc.retryable and not gives_up:
        try:
            released = store.release(record.id, owner, info)
        except Conflict:
            return _lease_lost(store, record.id, info, exc)
        except ServiceUnavailable:
            released = record  # the lease expires and a redelivery takes over
        metrics.add_metric(name="Retries", unit=MetricUnit.Count, value=1)
        logger.warning(
            "transient failure; released for a retry",
            extra={"error_type": exc.error_type, "error": exc.detail},
        )
        return ExecutionOutcome(
            OutcomeStatus.RETRY, released, error=info, should_retry=True, exception=exc
        )
    try:
        won = store.fail(record.id, info, owner=owner)
    except ServiceUnavailable as store_exc:
        # Either the FAILED write or the DLQ send failed: come back and finish it
        # (a FAILED record with a pending DLQ message is completed by ``_not_claimed``).
        logger.error("could not record the failure", extra={"error_type": store_exc.error_type})
        return ExecutionOutcome(
            OutcomeStatus.RETRY,
            _peek(store, record.id),
            error=info,
            should_retry=True,
            exception=exc,
        )
    if not won:
        return _lease_lost(store, record.id, info, exc)
    metrics.add_metric(name="InvocationsFailed", unit=MetricUnit.Count, value=1)
    logger.warning(
        "invocation failed",
        extra={"error_type": exc.error_type, "retryable": exc.retryable, "error": exc.detail},
    )
    return ExecutionOutcome(
        OutcomeStatus.FAILED, _peek(store, record.id), error=info, exception=exc
    )


def _no_time(
    store: InvocationStore, invocation_id: str, deadline: Deadline, *, gives_up: bool
) -> ExecutionOutcome:
    exc = DeadlineExceeded(
        f"not enough time left to start the invocation ({deadline.remaining_ms()} ms left)"
    )
    info = _info(exc)
    metrics.add_metric(name="NotStartedNoTime", unit=MetricUnit.Count, value=1)
    if gives_up:
        # Nobody will try again: end it FAILED (from QUEUED only; never half-run).
        try:
            won = store.fail(invocation_id, info, owner=None)
        except ServiceUnavailable:
            return ExecutionOutcome(
                OutcomeStatus.RETRY, None, error=info, should_retry=True, exception=exc
            )
        if won:
            count_failure(exc.error_type)
            return ExecutionOutcome(
                OutcomeStatus.FAILED, _peek(store, invocation_id), error=info, exception=exc
            )
        return _not_claimed(store, invocation_id)
    return ExecutionOutcome(
        OutcomeStatus.NO_TIME, None, error=info, should_retry=True, exception=exc
    )


def _not_claimed(store: InvocationStore, invocation_id: str) -> ExecutionOutcome:
    try:
        current = store.get(invocation_id, hydrate=False)
    except InvocationNotFound as exc:
        return ExecutionOutcome(OutcomeStatus.NOT_FOUND, None, exception=exc)
    if current.status is InvocationStatus.FAILED and not current.dlq_sent:
        # Its sender crashed or SQS failed between the two writes: finish the job.
        try:
            sent = store.ensure_dlq_sent(invocation_id)
        except ServiceUnavailable:
            sent = False
        if not sent:
            # Still pending (a live sender, or its claim is not stale yet): come back later.
            return ExecutionOutcome(OutcomeStatus.ALREADY_TERMINAL, current, should_retry=True)
        current = _peek(store, invocation_id) or current
    metrics.add_metric(name="DuplicatesSkipped", unit=MetricUnit.Count, value=1)
    if current.status.terminal:
        return ExecutionOutcome(OutcomeStatus.ALREADY_TERMINAL, current)
    # RUNNING under a live lease (or QUEUED again after a release this instant): let the
    # message come back; by then it is terminal (ack) or its lease has expired (takeover).
    return ExecutionOutcome(OutcomeStatus.RUNNING_ELSEWHERE, current, should_retry=True)


# --- helpers ----------------------------------------------------------------------------


def _lease_lost(
    store: InvocationStore, invocation_id: str, info: ErrorInfo, exc: GatewayError
) -> ExecutionOutcome:
    """Another runner took over: the message comes back (decision 13.90) and is then
    acknowledged (terminal), retried again (live lease) or taken over (the new owner died)."""
    return ExecutionOutcome(
        OutcomeStatus.LEASE_LOST,
        _peek(store, invocation_id),
        error=info,
        should_retry=True,
        exception=exc,
    )


def _info(exc: GatewayError) -> ErrorInfo:
    return ErrorInfo.model_validate(exc.to_dict())


def _peek(store: InvocationStore, invocation_id: str) -> InvocationRecord | None:
    try:
        return store.get(invocation_id, hydrate=False)
    except (InvocationNotFound, ServiceUnavailable):
        return None
