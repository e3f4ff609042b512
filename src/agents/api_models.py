"""Request and response models of the HTTP API (the OpenAPI document is generated from them).

Pydantic v2 models only; no Lambda event shapes. :mod:`agents.service` takes the request
models and returns the response models; :mod:`handlers.api` declares them on its routes so
Powertools validates requests and documents every schema in ``/openapi.json``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from agents.errors import InvalidIdempotencyKey
from agents.pending_actions import MAX_PENDING_ACTIONS, ActionDecision
from agents.records import InvocationMode, InvocationView, Processing
from agents.types import InvocationStatus
from agents.webhooks.messages import WebhookTarget
from agents.workspace.uploads import WORKSPACE_ID_PATTERN

__all__ = [
    "API_TITLE",
    "API_VERSION",
    "MAX_IDEMPOTENCY_KEY_LENGTH",
    "MAX_INVOCATION_CONTEXT_CHARS",
    "BatchItem",
    "BatchItemRef",
    "BatchRequest",
    "BatchSubmitted",
    "BatchView",
    "FieldError",
    "Health",
    "InvocationContext",
    "InvocationList",
    "InvocationMode",
    "InvocationView",
    "InvokeRequest",
    "Problem",
    "Processing",
    "StatusCounts",
    "Transcript",
    "check_metadata",
    "normalize_idempotency_key",
]

API_TITLE = "agent-gateway"
#: The API contract's version (``info.version`` of the OpenAPI document).
API_VERSION = "1.0.0"

MAX_IDEMPOTENCY_KEY_LENGTH = 255
#: Visible ASCII (0x21-0x7E), 1 to 255 characters.
IDEMPOTENCY_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}\Z")
MAX_METADATA_ENTRIES = 32
MAX_METADATA_KEY_CHARS = 128
MAX_METADATA_VALUE_CHARS = 1024
MAX_INVOCATION_CONTEXT_CHARS = 256
#: The largest ``max_turns`` a request may ask for.
MAX_TURNS_LIMIT = 200
#: Sanity bounds of the other numeric request fields (a number must fit a DynamoDB number;
#: the deployment's own ``MAX_TOKENS_LIMIT`` still applies when the run starts).
MAX_TOKENS_BOUND = 1_000_000
MAX_TOOL_CALLS_BOUND = 10_000
MAX_COST_USD_BOUND = 100_000.0

#: The caller's workflow (``ring:dev-refactor``): printable ASCII, no leading or trailing
#: space, 1 to 256 characters. Output sections may be required only in one context.
InvocationContext = Annotated[
    str,
    StringConstraints(
        min_length=1,
        max_length=MAX_INVOCATION_CONTEXT_CHARS,
        pattern=r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$",
    ),
]
_INVOCATION_CONTEXT_DOC = (
    "The caller's workflow, e.g. `ring:dev-refactor` (printable ASCII, at most "
    f"{MAX_INVOCATION_CONTEXT_CHARS} characters). Output sections whose `required_when` "
    "names an `invocation_context` are required only when it matches."
)


def normalize_idempotency_key(raw: str | None) -> str | None:
    """The ``Idempotency-Key`` header's key, or None when absent.

    Accepts a bare token or an RFC 8941 sf-string (``"..."``, as the IETF draft writes it);
    1-255 visible ASCII characters. Anything else: :class:`InvalidIdempotencyKey` (400).
    """
    if raw is None:
        return None
    value = raw.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if not value:
        raise InvalidIdempotencyKey("the Idempotency-Key header is empty")
    if len(value) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise InvalidIdempotencyKey(
            f"the Idempotency-Key is {len(value)} characters; the limit is "
            f"{MAX_IDEMPOTENCY_KEY_LENGTH}"
        )
    if not IDEMPOTENCY_KEY_RE.match(value):
        raise InvalidIdempotencyKey(
            "the Idempotency-Key must be visible ASCII characters (no spaces or control characters)"
        )
    return value


def check_metadata(value: dict[str, str]) -> dict[str, str]:
    """The metadata rule of every request and queue job (entries, key and value sizes)."""
    if len(value) > MAX_METADATA_ENTRIES:
        raise ValueError(f"at most {MAX_METADATA_ENTRIES} metadata entries")
    for key, item in value.items():
        if not 1 <= len(key) <= MAX_METADATA_KEY_CHARS:
            raise ValueError(f"metadata keys are 1 to {MAX_METADATA_KEY_CHARS} characters")
        if len(item) > MAX_METADATA_VALUE_CHARS:
            raise ValueError(f"metadata values are at most {MAX_METADATA_VALUE_CHARS} characters")
    return value


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


# --- requests --------------------------------------------------------------------------


class InvokeRequest(_Request):
    """Body of ``POST /agents/{name}/invocations``."""

    input: str = Field(min_length=1, description="The request text given to the agent.")
    context: dict[str, Any] | None = Field(
        default=None,
        description="Named inputs, checked against the agent's input contract "
        "(`input_schema.required_context` / `optional_context`).",
    )
    invocation_context: InvocationContext | None = Field(
        default=None, description=_INVOCATION_CONTEXT_DOC
    )
    max_tokens: int | None = Field(
        default=None,
        ge=1,
        le=MAX_TOKENS_BOUND,
        description="Upper bound of output tokens (default and maximum are deployment settings).",
    )
    metadata: dict[str, str] = Field(
        default_factory=dict,
        description=f"Caller labels kept on the record (at most {MAX_METADATA_ENTRIES} entries).",
    )
    version: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Pin the agent definition's frontmatter `version` (default: the latest).",
    )
    mode: Literal["sync", "async"] | None = Field(
        default=None,
        description="`async` queues the run (same as the `Prefer: respond-async` header).",
    )
    max_turns: int | None = Field(
        default=None,
        ge=1,
        le=MAX_TURNS_LIMIT,
        description="A tool run's model calls at most (default: the definition's `maxTurns`, "
        "else the deployment's `MAX_TURNS`). Reaching it ends the run with "
        "`stop_reason: max_turns`, the work so far kept.",
    )
    max_tool_calls: int | None = Field(
        default=None,
        ge=0,
        le=MAX_TOOL_CALLS_BOUND,
        description="A tool run's client tool calls at most (`stop_reason: max_tool_calls`).",
    )
    max_cost_usd: float | None = Field(
        default=None,
        gt=0,
        le=MAX_COST_USD_BOUND,
        allow_inf_nan=False,
        description="Stop a tool run once its estimated cost reaches this (`stop_reason: "
        "max_cost`).",
    )
    files: dict[str, str] | None = Field(
        default=None,
        description="Inline workspace: relative path -> UTF-8 text (within `MAX_REQUEST_BYTES` "
        "and the workspace limits). Not together with `workspace`.",
    )
    workspace: str | None = Field(
        default=None,
        pattern=WORKSPACE_ID_PATTERN,
        description="An uploaded workspace (`ws_...` from `POST /workspaces`). "
        "Not together with `files`.",
    )
    require_approval: list[str] | None = Field(
        default=None,
        max_length=32,
        description="Client tools whose calls wait for approval, on top of the definition's "
        "`approval` (`all-writes`: every tool that writes). It can only add.",
    )
    webhook: WebhookTarget | None = Field(
        default=None,
        description="Call this URL (Standard Webhooks, signed with the tenant's secret) when "
        "the invocation succeeds, fails, is cancelled or waits for approval.",
    )

    _metadata = field_validator("metadata")(check_metadata)

    @field_validator("require_approval")
    @classmethod
    def _approval(cls, value: list[str] | None) -> list[str] | None:
        from agents.approvals import unknown_approval_names

        unknown = unknown_approval_names(value or [])
        if unknown:
            raise ValueError(f"not client tools that can wait for approval: {unknown}")
        return value

    @model_validator(mode="after")
    def _one_workspace(self) -> InvokeRequest:
        if self.files is not None and self.workspace is not None:
            raise ValueError("give `files` or `workspace`, not both")
        return self


class Transcript(BaseModel):
    """``GET /invocations/{id}/transcript``: every turn of a tool run (empty for one call)."""

    invocation_id: str
    turns: list[dict[str, Any]] = Field(
        description="Per model call: `turn`, `assistant` (content blocks), `tool_calls` "
        "(`id`, `name`, `input`, `result` truncated, `is_error`), `usage`, `stop_reason`."
    )


class BatchItem(_Request):
    """One input of a batch."""

    input: str = Field(min_length=1)
    context: dict[str, Any] | None = None
    invocation_context: InvocationContext | None = Field(
        default=None, description=_INVOCATION_CONTEXT_DOC
    )
    metadata: dict[str, str] = Field(default_factory=dict)
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY_LENGTH,
        pattern=r"^[\x21-\x7e]+$",
        description="Unique within the batch; makes the item's invocation id deterministic.",
    )

    _metadata = field_validator("metadata")(check_metadata)


class BatchRequest(_Request):
    """Body of ``POST /batches``: many inputs for one agent."""

    agent: str = Field(min_length=1, max_length=128, description="The agent's name.")
    items: list[BatchItem] = Field(min_length=1, description="The inputs (bounded per deployment).")
    max_tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS_BOUND)
    version: str | None = Field(default=None, min_length=1, max_length=128)
    metadata: dict[str, str] = Field(default_factory=dict, description="Labels of the batch.")
    processing: Processing = Field(
        default=Processing.STANDARD,
        description="`economy`: run the items in an Anthropic Message Batch at half the price, "
        "within 24 h (agents that name no tools only; docs/batches.md).",
    )
    webhook: WebhookTarget | None = Field(
        default=None,
        description="Call this URL with `batch.completed` once every item has ended.",
    )

    _metadata = field_validator("metadata")(check_metadata)


# --- responses -------------------------------------------------------------------------


class InvocationList(BaseModel):
    """A page of the caller's invocations (payloads left out: read one invocation for them)."""

    items: list[InvocationView]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; absent on the last page."
    )
    next: str | None = Field(default=None, description="The next page's URL path, if any.")


class StatusCounts(BaseModel):
    QUEUED: int = 0
    RUNNING: int = 0
    SUCCEEDED: int = 0
    FAILED: int = 0
    CANCELLED: int = 0
    WAITING: int = 0

    @property
    def terminal(self) -> int:
        return self.SUCCEEDED + self.FAILED + self.CANCELLED

    @classmethod
    def from_counts(cls, counts: dict[InvocationStatus, int]) -> StatusCounts:
        return cls(**{status.value: counts.get(status, 0) for status in InvocationStatus})


class BatchView(BaseModel):
    """A batch and its progress (counts by status of its invocations)."""

    id: str
    agent: str
    agent_version: str | None = None
    item_count: int
    processing: Processing = Processing.STANDARD
    counts: StatusCounts
    done: bool = Field(description="True once every item is SUCCEEDED, FAILED or CANCELLED.")
    metadata: dict[str, str] = Field(default_factory=dict)
    webhook: WebhookTarget | None = None
    created_at: str
    links: dict[str, str] = Field(
        description="`self`; `results`: the batch's invocations (`GET /invocations?batch_id=`); "
        "`failed`: only its FAILED ones."
    )


class BatchItemRef(BaseModel):
    index: int
    invocation_id: str
    idempotency_key: str | None = None
    status: InvocationStatus


class BatchSubmitted(BatchView):
    """``POST /batches`` answer: the batch and the invocation id of each item, in order."""

    items: list[BatchItemRef] | None = Field(
        default=None, description="Item -> invocation id (omitted on a replay of a huge batch)."
    )


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    service: str = API_TITLE
    version: str = API_VERSION


class FieldError(BaseModel):
    """One request validation error."""

    loc: list[str | int]
    type: str
    msg: str


class Problem(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="`/problems/<error_type>`; the table is in docs/api.md.")
    title: str
    status: int
    detail: str
    instance: str | None = Field(default=None, description="The request path.")
    invocation_id: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class ActionsRequest(BaseModel):
    """Body of ``POST /invocations/{id}/actions``: one decision per pending action."""

    model_config = ConfigDict(extra="forbid")

    decisions: list[ActionDecision] = Field(
        min_length=1,
        max_length=MAX_PENDING_ACTIONS,
        description="`{id, decision: approve|deny, message?}` for every pending action.",
    )
