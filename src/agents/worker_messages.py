"""Queue message schemas: what the worker accepts on the invocation queue.

Three shapes, told apart by keys (:data:`QueueBody`, a pydantic discriminated union):
an invocation reference (:class:`InvocationRef`), a dead letter brought back by a
message-move task (:class:`agents.dead_letter_messages.DlqMessage`), and a raw job from any
producer (:class:`RawJob`, with a deterministic id from :func:`job_invocation_id`).
docs/operations.md documents them.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

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
    MAX_TOKENS_BOUND,
    InvocationContext,
    check_metadata,
)
from agents.dead_letter_messages import DlqMessage
from agents.errors import GatewayError, MalformedMessage
from agents.names import validate_agent_name
from agents.records import Processing, derived_invocation_id, is_valid_id

if TYPE_CHECKING:
    from agents.config import Settings

__all__ = [
    "DEFAULT_JOB_TENANT",
    "InvocationRef",
    "MessageShape",
    "QueueBody",
    "RawJob",
    "job_invocation_id",
    "message_shape",
    "parse_body",
]

#: Tenant of a raw job that names none (its records are listed under this tenant).
DEFAULT_JOB_TENANT: Final = "queue"
#: Bounds of a raw job (the input itself is bounded by ``MAX_INPUT_CHARS``).
MAX_TENANT_CHARS: Final = 256
MAX_CONTEXT_BYTES: Final = 262_144
_TENANT_RE = re.compile(r"[\x21-\x7e]{1,256}\Z")


class InvocationRef(BaseModel):
    """``{"invocation_id": ...}``: run this stored invocation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    invocation_id: str = Field(min_length=3, max_length=128)
    #: ``economy``: hand the item to the economy submitter instead of running it.
    processing: Processing = Processing.STANDARD
    #: True: the next segment of a checkpointed run (a hand-off, decisions, the sweeper);
    #: its claim is not counted in ``attempts``.
    continuation: bool = False

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
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_BOUND)
    metadata: dict[str, str] = Field(default_factory=dict)
    idempotency_key: str | None = Field(
        default=None, min_length=1, max_length=MAX_IDEMPOTENCY_KEY_LENGTH
    )
    tenant: str | None = Field(default=None, min_length=1, max_length=MAX_TENANT_CHARS)
    processing: Processing = Field(default=Processing.STANDARD, strict=False)

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

    _metadata = field_validator("metadata")(check_metadata)

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
