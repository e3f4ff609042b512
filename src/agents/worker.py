"""The queue worker's core: one SQS message in, one decision (acknowledge or retry) out.

Free of Lambda event shapes: ``handlers.worker`` turns each SQS record into a
:class:`QueueMessage` and calls :func:`process_message`. The body is parsed by
:mod:`agents.worker_messages`; the executor runs the invocation and its outcome's
``should_retry`` is the retry decision (decision 13.90). Poison messages and dead
letters that must stay dead go to the DLQ. docs/operations.md ("The invocation
queue") describes every case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit

from agents.dead_letter_messages import DlqMessage
from agents.errors import (
    Conflict,
    GatewayError,
    IdempotencyKeyReused,
    InvocationNotFound,
    MalformedMessage,
)
from agents.executor import OutcomeStatus
from agents.observability import count_failure, log_keys, logger, metrics
from agents.records import InvocationMode, InvocationRecord, Processing
from agents.types import InvocationStatus
from agents.worker_messages import RawJob, job_invocation_id, parse_body

if TYPE_CHECKING:
    from agents.config import Settings
    from agents.executor import ExecutionOutcome
    from agents.registry import AgentRegistry
    from agents.runner import Deadline, Runner
    from agents.store import InvocationStore

__all__ = ["MessageResult", "QueueMessage", "process_message"]


# --- the message as the core sees it ------------------------------------------------------


@dataclass(frozen=True)
class QueueMessage:
    """One received SQS message (built by the handler from the event's record)."""

    message_id: str
    body: str
    #: ``ApproximateReceiveCount`` (1 on the first delivery).
    receive_count: int = 1
    #: SQS system attributes (``SentTimestamp``, ``DeadLetterQueueSourceArn`` ...).
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MessageResult:
    """What became of one message. ``retry``: report it as a batch item failure."""

    message_id: str
    retry: bool
    #: An ``OutcomeStatus`` value (``handed-off`` and ``waiting`` acknowledge the message: the
    #: run goes on from its checkpoint), or ``poison`` / ``returned-to-dlq`` / ``stale`` /
    #: ``error`` / ``handed-off`` (also: an economy item, given to the submitter).
    status: str
    invocation_id: str | None = None
    error_type: str | None = None
    final_attempt: bool = False


# --- processing -------------------------------------------------------------------------------


def process_message(
    message: QueueMessage,
    *,
    deadline: Deadline,
    owner: str,
    settings: Settings | None = None,
    store: InvocationStore | None = None,
    registry: AgentRegistry | None = None,
    runner: Runner | None = None,
    min_start_seconds: float | None = None,
    lease_seconds: float | None = None,
) -> MessageResult:
    """Process one queue message (see the module docs); never raises."""
    from agents.config import get_settings

    settings = settings or get_settings()
    final = message.receive_count >= settings.max_receive_count
    with log_keys(message_id=message.message_id, receive_count=message.receive_count):
        try:
            return _process(
                message,
                final=final,
                deadline=deadline,
                owner=owner,
                settings=settings,
                store=store,
                registry=registry,
                runner=runner,
                min_start_seconds=min_start_seconds,
                lease_seconds=lease_seconds,
            )
        except GatewayError as exc:
            # A store / SQS call failed (``ServiceUnavailable``) or another failure outside a
            # run: nothing was decided, so the message comes back.
            logger.warning(
                "message not processed; it will be redelivered",
                extra={"error_type": exc.error_type, "error": exc.detail},
            )
            count_failure(exc.error_type)
            return MessageResult(
                message.message_id, True, "error", error_type=exc.error_type, final_attempt=final
            )
        except Exception:  # noqa: BLE001 - one bad record must not fail its batch
            logger.exception("unexpected error processing a queue message")
            count_failure("internal-error")
            return MessageResult(
                message.message_id, True, "error", error_type="internal-error", final_attempt=final
            )


def _process(
    message: QueueMessage,
    *,
    final: bool,
    deadline: Deadline,
    owner: str,
    settings: Settings,
    store: InvocationStore | None,
    registry: AgentRegistry | None,
    runner: Runner | None,
    min_start_seconds: float | None,
    lease_seconds: float | None,
) -> MessageResult:
    from agents.executor import MIN_RUN_SECONDS, execute

    if store is None:
        from agents.store import get_store

        store = get_store()
    if min_start_seconds is None:
        min_start_seconds = settings.deadline_margin_ms / 1000 + MIN_RUN_SECONDS
    if not final and deadline.remaining_s() < min_start_seconds:
        # Cannot start in time: back to the queue with no write at all (never half-run).
        metrics.add_metric(name="NotStartedNoTime", unit=MetricUnit.Count, value=1)
        return MessageResult(message.message_id, True, "no-time", final_attempt=final)

    try:
        parsed = parse_body(message.body, settings)
    except MalformedMessage as exc:
        return _poison(message, exc, final=final)

    returned: DlqMessage | None = None
    continuation = False
    if isinstance(parsed, DlqMessage):
        if parsed.kind == "poison" or not parsed.invocation_id:
            return _return_to_dlq(message, parsed, final=final)
        returned = parsed
        invocation_id = parsed.invocation_id
    elif isinstance(parsed, RawJob):
        job_record = _record_for_job(store, parsed, message)
        if isinstance(job_record, MalformedMessage | IdempotencyKeyReused):
            return _poison(message, job_record, final=final)
        invocation_id = job_record.id
        if job_record.processing is Processing.ECONOMY:
            return _hand_off(message, invocation_id, settings, final=final)
    else:
        invocation_id = parsed.invocation_id
        continuation = parsed.continuation
        if parsed.processing is Processing.ECONOMY:
            return _hand_off(message, invocation_id, settings, final=final)

    outcome = execute(
        invocation_id,
        deadline=deadline,
        owner=owner,
        final_attempt=final,
        min_start_seconds=min_start_seconds,
        lease_seconds=lease_seconds,
        store=store,
        registry=registry,
        runner=runner,
        continuation=continuation,
    )
    return _decide(message, invocation_id, outcome, returned, store, final=final)


def _record_for_job(
    store: InvocationStore, job: RawJob, message: QueueMessage
) -> InvocationRecord | MalformedMessage | IdempotencyKeyReused:
    """The job's record: created now, or the one a previous delivery created."""
    invocation_id = job_invocation_id(job, message.message_id)
    record = InvocationRecord.new(
        id=invocation_id,
        tenant=job.effective_tenant,
        agent=job.agent,
        input=job.input,
        mode=InvocationMode.QUEUE,
        context=job.context,
        invocation_context=job.invocation_context,
        max_tokens=job.max_tokens,
        metadata=dict(job.metadata),
        idempotency_key=job.idempotency_key,
        processing=job.processing,
    )
    try:
        stored, created = store.create_or_get(record)
    except Conflict:
        return MalformedMessage(
            f"invocation id {invocation_id} belongs to another tenant", invocation_id=invocation_id
        )
    except GatewayError as exc:
        if exc.retryable:
            raise
        return MalformedMessage(f"the job cannot be stored: {exc.detail}", cause=exc.error_type)
    if not created and (
        stored.agent != job.agent or (stored.input is not None and stored.input != job.input)
    ):
        return IdempotencyKeyReused(
            f"idempotency key {job.idempotency_key!r} was used for another job "
            f"(invocation {invocation_id})",
            invocation_id=invocation_id,
        )
    if created:
        logger.info("raw job stored", extra={"invocation_id": invocation_id})
    return stored


def _decide(
    message: QueueMessage,
    invocation_id: str,
    outcome: ExecutionOutcome,
    returned: DlqMessage | None,
    store: InvocationStore,
    *,
    final: bool,
) -> MessageResult:
    status = outcome.status
    error_type = outcome.error.type if outcome.error else None
    if status is OutcomeStatus.NOT_FOUND:
        exc = InvocationNotFound(
            f"invocation {invocation_id} does not exist", invocation_id=invocation_id
        )
        return _poison(message, exc, final=final)
    record = outcome.record
    if (
        returned is not None
        and status is OutcomeStatus.ALREADY_TERMINAL
        and record is not None
        and record.status is InvocationStatus.FAILED
        and record.finished_at == returned.failed_at
        and not outcome.should_retry
    ):
        # A move task brought back the dead letter of a failure nobody requeued: put it back.
        return _return_to_dlq(message, returned, final=final, invocation_id=invocation_id)
    retry = outcome.should_retry  # the executor decides; the worker only obeys
    log = logger.warning if retry else logger.info
    log(
        "queue message processed",
        extra={
            "invocation_id": invocation_id,
            "outcome": status.value,
            "retry": retry,
            "final_attempt": final,
            **({"error_type": error_type} if error_type else {}),
        },
    )
    return MessageResult(
        message.message_id,
        retry,
        status.value,
        invocation_id=invocation_id,
        error_type=error_type,
        final_attempt=final,
    )


def _hand_off(
    message: QueueMessage, invocation_id: str, settings: Settings, *, final: bool
) -> MessageResult:
    """An economy item is not run here: the economy submitter takes it (docs/batches.md)."""
    from agents.economy.queue import EconomyQueue

    EconomyQueue(settings).hand_off([invocation_id])
    logger.info("economy item handed to the submitter", extra={"invocation_id": invocation_id})
    return MessageResult(
        message.message_id, False, "handed-off", invocation_id=invocation_id, final_attempt=final
    )


def _poison(message: QueueMessage, exc: GatewayError, *, final: bool) -> MessageResult:
    """Dead-letter a message that can never run (``kind = poison``); acknowledge it."""
    from agents.dead_letter_messages import send_poison

    send_poison(message.body, exc.detail, message_id=message.message_id, error_type=exc.error_type)
    metrics.add_metric(name="PoisonMessages", unit=MetricUnit.Count, value=1)
    count_failure(exc.error_type)
    logger.warning(
        "poison message sent to the DLQ",
        extra={"error_type": exc.error_type, "reason": exc.detail[:500]},
    )
    invocation_id = exc.extra.get("invocation_id")
    return MessageResult(
        message.message_id,
        False,
        "poison",
        invocation_id=invocation_id if isinstance(invocation_id, str) else None,
        error_type=exc.error_type,
        final_attempt=final,
    )


def _return_to_dlq(
    message: QueueMessage,
    dead_letter: DlqMessage,
    *,
    final: bool,
    invocation_id: str | None = None,
) -> MessageResult:
    """A DLQ message that a move task brought back but that must stay dead: resend it as is."""
    from agents.dead_letter_messages import send_to_dlq

    send_to_dlq(dead_letter)
    logger.warning(
        "dead letter returned to the DLQ (not requeued for a redrive)",
        extra={"kind": dead_letter.kind, "error_type": dead_letter.error_type},
    )
    return MessageResult(
        message.message_id,
        False,
        "returned-to-dlq",
        invocation_id=invocation_id or dead_letter.invocation_id,
        error_type=dead_letter.error_type,
        final_attempt=final,
    )
