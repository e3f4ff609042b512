"""The queue worker's core: one SQS message in, one decision (acknowledge or retry) out.

Free of Lambda event shapes: ``handlers.worker`` turns each SQS record into a
:class:`QueueMessage` (body, message id, receive count, attributes) and calls
:func:`process_message`; the records of a batch run concurrently there.

Messages (``docs/operations.md`` documents both schemas), told apart by shape
(:data:`QueueBody`, a pydantic discriminated union):

* ``{"invocation_id": "inv_..."}`` (:class:`InvocationRef`): written by the API (async
  invocations, batches) and by ``agw dlq redrive``.
* A DLQ message (:class:`agents.dlq.DlqMessage`, recognised by ``schema_version`` +
  ``failed_at``) brought back by an SQS message-move task: an ``invocation`` message
  runs its (requeued) invocation; a message whose invocation was *not* requeued, and a
  ``poison`` message, are put back on the DLQ unchanged (so a move task can never lose
  a dead letter).
* A raw job from any producer (:class:`RawJob`): ``{"agent", "input", "context"?,
  "invocation_context"?,
  "max_tokens"?, "metadata"?, "idempotency_key"?, "tenant"?}``, extra fields forbidden.
  It becomes a record with a deterministic id (:func:`job_invocation_id`: tenant +
  idempotency key, else the SQS message id), created with ``store.create_or_get``, so a
  redelivery maps to the same invocation. Tenant defaults to :data:`DEFAULT_JOB_TENANT`.

Decisions (``MessageResult.retry``: True = report a batch item failure, SQS redelivers):

* ``agents.executor.execute`` runs the invocation (claim with a lease, registry, runner,
  complete / fail + DLQ / release), with ``final_attempt`` = ``ApproximateReceiveCount >=
  MAX_RECEIVE_COUNT``. The outcome's ``should_retry`` is the retry decision (decision 13.90):
  RETRY, NO_TIME, RUNNING_ELSEWHERE, LEASE_LOST retry; SUCCEEDED, FAILED, ALREADY_TERMINAL
  (incl. CANCELLED) are acknowledged. A record already terminal or
  RUNNING under a live lease makes no model call; an expired lease is taken over.
* Poison (malformed JSON, an invalid raw job, an unknown invocation id, an idempotency key
  reused for another job): ``dlq.send_poison`` with the reason, acknowledged. If that send
  fails, retry (the message comes back and is dead-lettered then).
* Too little time left to start: retry without any write (never half-run), except on the
  final attempt, where ``execute`` ends the QUEUED record FAILED (``deadline-exceeded``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from agents.api_models import (
    IDEMPOTENCY_KEY_RE,
    MAX_IDEMPOTENCY_KEY_LENGTH,
    MAX_METADATA_ENTRIES,
    MAX_METADATA_KEY_CHARS,
    MAX_METADATA_VALUE_CHARS,
    InvocationContext,
)
from agents.dlq import DlqMessage
from agents.errors import (
    Conflict,
    GatewayError,
    IdempotencyKeyReused,
    InvocationNotFound,
    MalformedMessage,
)
from agents.names import validate_agent_name
from agents.observability import count_failure, log_keys, logger, metrics
from agents.records import InvocationMode, InvocationRecord, derived_invocation_id, is_valid_id
from agents.types import InvocationStatus

if TYPE_CHECKING:
    from agents.config import Settings
    from agents.executor import ExecutionOutcome
    from agents.registry import AgentRegistry
    from agents.runner import Deadline, Runner
    from agents.store import InvocationStore

__all__ = [
    "DEFAULT_JOB_TENANT",
    "InvocationRef",
    "MessageResult",
    "QueueMessage",
    "RawJob",
    "job_invocation_id",
    "parse_body",
    "process_message",
]

#: Tenant of a raw job that names none (its records are listed under this tenant).
DEFAULT_JOB_TENANT: Final = "queue"
#: Bounds of a raw job (the input itself is bounded by ``MAX_INPUT_CHARS``).
MAX_TENANT_CHARS: Final = 256
MAX_CONTEXT_BYTES: Final = 262_144
_TENANT_RE = re.compile(r"[\x21-\x7e]{1,256}\Z")

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
    #: An ``OutcomeStatus`` value, or ``poison`` / ``returned-to-dlq`` / ``stale`` / ``error``.
    status: str
    invocation_id: str | None = None
    error_type: str | None = None
    final_attempt: bool = False


# --- message schemas -------------------------------------------------------------------


class InvocationRef(BaseModel):
    """``{"invocation_id": ...}``: run this stored invocation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    invocation_id: str = Field(min_length=3, max_length=128)

    @field_validator("invocation_id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not is_valid_id(value):
            raise ValueError("invocation_id must match [A-Za-z0-9][A-Za-z0-9_-]{2,127}")
        return value


class RawJob(BaseModel):
    """A job a producer put on the invocation queue directly (see docs/operations.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    agent: str = Field(min_length=1, max_length=128)
    input: str = Field(min_length=1)
    context: dict[str, Any] | None = None
    invocation_context: InvocationContext | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    metadata: dict[str, str] = Field(default_factory=dict)
    idempotency_key: str | None = Field(
        default=None, min_length=1, max_length=MAX_IDEMPOTENCY_KEY_LENGTH
    )
    tenant: str | None = Field(default=None, min_length=1, max_length=MAX_TENANT_CHARS)

    @field_validator("agent")
    @classmethod
    def _agent(cls, value: str) -> str:
        try:
            return validate_agent_name(value)
        except GatewayError as exc:
            raise ValueError(exc.detail) from None

    @field_validator("input")
    @classmethod
    def _input(cls, value: str, info: ValidationInfo) -> str:
        limit = (info.context or {}).get("max_input_chars")
        if isinstance(limit, int) and len(value) > limit:
            raise ValueError(f"input is {len(value)} characters; the limit is {limit}")
        return value

    @field_validator("context")
    @classmethod
    def _context(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
            if size > MAX_CONTEXT_BYTES:
                raise ValueError(
                    f"context is {size} bytes of JSON; the limit is {MAX_CONTEXT_BYTES}"
                )
        return value

    @field_validator("max_tokens")
    @classmethod
    def _max_tokens(cls, value: int | None, info: ValidationInfo) -> int | None:
        limit = (info.context or {}).get("max_tokens_limit")
        if value is not None and isinstance(limit, int) and value > limit:
            raise ValueError(f"max_tokens must be at most {limit}")
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_METADATA_ENTRIES:
            raise ValueError(f"at most {MAX_METADATA_ENTRIES} metadata entries")
        for key, item in value.items():
            if not 1 <= len(key) <= MAX_METADATA_KEY_CHARS:
                raise ValueError(f"metadata keys are 1 to {MAX_METADATA_KEY_CHARS} characters")
            if len(item) > MAX_METADATA_VALUE_CHARS:
                raise ValueError(
                    f"metadata values are at most {MAX_METADATA_VALUE_CHARS} characters"
                )
        return value

    @field_validator("idempotency_key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is not None and not IDEMPOTENCY_KEY_RE.match(value):
            raise ValueError("idempotency_key must be 1-255 visible ASCII characters")
        return value

    @field_validator("tenant")
    @classmethod
    def _tenant(cls, value: str | None) -> str | None:
        if value is not None and not _TENANT_RE.match(value):
            raise ValueError("tenant must be 1-256 visible ASCII characters")
        return value

    @property
    def effective_tenant(self) -> str:
        return self.tenant or DEFAULT_JOB_TENANT


def _shape(value: Any) -> str | None:
    """The discriminator: which message kind a decoded body is, by its keys."""
    if not isinstance(value, dict):
        return None
    if "schema_version" in value and "failed_at" in value:
        return "dlq"
    if "invocation_id" in value:
        return "ref"
    return "job"


QueueBody = Annotated[
    Annotated[InvocationRef, Tag("ref")]
    | Annotated[DlqMessage, Tag("dlq")]
    | Annotated[RawJob, Tag("job")],
    Discriminator(
        _shape,
        custom_error_type="message_shape",
        custom_error_message="the message is not a JSON object",
    ),
]
_BODY_ADAPTER: TypeAdapter[InvocationRef | DlqMessage | RawJob] = TypeAdapter(QueueBody)


def parse_body(body: str, settings: Settings | None = None) -> InvocationRef | DlqMessage | RawJob:
    """Decode and validate a message body; :class:`MalformedMessage` when it cannot be run."""
    if settings is None:
        from agents.config import get_settings

        settings = get_settings()
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise MalformedMessage(f"the message body is not JSON ({exc})") from None
    try:
        return _BODY_ADAPTER.validate_python(
            data,
            context={
                "max_input_chars": settings.max_input_chars,
                "max_tokens_limit": settings.max_tokens_limit,
            },
        )
    except ValidationError as exc:
        problems = [
            {
                "field": ".".join(str(part) for part in error["loc"][1:]) or "(body)",
                "message": error["msg"],
            }
            for error in exc.errors(include_url=False, include_input=False)[:20]
        ]
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:5])
        raise MalformedMessage(f"invalid queue message: {summary}", problems=problems) from None


def job_invocation_id(job: RawJob, message_id: str) -> str:
    """The raw job's invocation id: from tenant + idempotency key (the same id the API gives an
    async request with that key), else from the SQS message id (stable across redeliveries)."""
    if job.idempotency_key:
        return derived_invocation_id("idem", job.effective_tenant, job.idempotency_key)
    return derived_invocation_id("msg", message_id)


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
    else:
        invocation_id = parsed.invocation_id

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
    status = outcome.status.value
    error_type = outcome.error.type if outcome.error else None
    if status == "not-found":
        exc = InvocationNotFound(
            f"invocation {invocation_id} does not exist", invocation_id=invocation_id
        )
        return _poison(message, exc, final=final)
    record = outcome.record
    if (
        returned is not None
        and status == "already-terminal"
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
            "outcome": status,
            "retry": retry,
            "final_attempt": final,
            **({"error_type": error_type} if error_type else {}),
        },
    )
    return MessageResult(
        message.message_id,
        retry,
        status,
        invocation_id=invocation_id,
        error_type=error_type,
        final_attempt=final,
    )


def _poison(message: QueueMessage, exc: GatewayError, *, final: bool) -> MessageResult:
    """Dead-letter a message that can never run (``kind = poison``); acknowledge it."""
    from agents.dlq import send_poison

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
    from agents.dlq import send_to_dlq

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


#: Shape names, for documentation and the CLI.
MessageShape = Literal["ref", "dlq", "job"]


def message_shape(body: str) -> MessageShape | None:
    """Which kind a body is by its shape (None: not a JSON object), without validating it."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    shape = _shape(data)
    if shape == "ref":
        return "ref"
    if shape == "dlq":
        return "dlq"
    if shape == "job":
        return "job"
    return None
