"""Invocation and batch records: the shape stored in DynamoDB and the caller's view.

Both live in ``InvocationsTable``, told apart by ``kind`` (decision 4.1; a batch's owner is
``batch_tenant``, so it is in neither sparse index). The conversion to and from DynamoDB's
attribute values is :mod:`agents.record_items`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.pending_actions import ActionDecision, PendingAction
from agents.types import ContractResult, ErrorInfo, InvocationStatus, Timings, Usage
from agents.webhooks.messages import WebhookTarget

KIND_INVOCATION: Final = "invocation"
KIND_BATCH: Final = "batch"

#: Ids are safe as DynamoDB keys and as one S3 key segment (checked before any S3 key is built).
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,127}$")


class Processing(StrEnum):
    """How a batch item is run: a real-time call, or in a Message Batch at batch prices."""

    STANDARD = "standard"
    ECONOMY = "economy"


class InvocationMode(StrEnum):
    """How the invocation entered the system."""

    SYNC = "sync"  # POST /agents/{name}/invocations, run inline by the API
    ASYNC = "async"  # same route with Prefer: respond-async, run by the worker
    BATCH = "batch"  # one item of POST /batches, run by the worker
    QUEUE = "queue"  # a raw job a producer put on the queue directly


def utc_now() -> float:
    """Epoch seconds (the store takes ``now`` parameters in this unit)."""
    return time.time()


def iso_ms(epoch: float) -> str:
    """``2025-01-31T12:00:00.123Z``: fixed width, so strings sort like times."""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def is_valid_id(value: str) -> bool:
    return bool(_ID_RE.match(value))


def new_id(prefix: str) -> str:
    """A fresh id: ``<prefix>_`` + 12 hex digits of milliseconds + 16 random hex digits."""
    return f"{prefix}_{int(time.time() * 1000):012x}{secrets.token_hex(8)}"


def new_invocation_id() -> str:
    return new_id("inv")


def new_batch_id() -> str:
    return new_id("bat")


def derived_invocation_id(*parts: str) -> str:
    """A deterministic invocation id, scope first: ``derived_invocation_id("idem", tenant,
    key)``, ``derived_invocation_id("msg", sqs_message_id)`` (same job -> same id)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"inv_{digest[:32]}"


#: What a request, a batch item or a queue job gives its record under the same name.
RUN_FIELDS: Final = frozenset(
    {"context", "invocation_context", "max_tokens", "max_turns", "max_tool_calls", "max_cost_usd"}
    | {"files", "workspace", "metadata", "require_approval", "idempotency_key", "processing"}
    | {"webhook"}
)


def run_fields(source: BaseModel) -> dict[str, Any]:
    """The :data:`RUN_FIELDS` ``source`` has, for :meth:`InvocationRecord.new` (copies)."""
    return source.model_dump(include=set(RUN_FIELDS & type(source).model_fields.keys()))


class InvocationFields(BaseModel):
    """The fields an invocation shows its caller (the record adds its bookkeeping)."""

    id: str
    agent: str
    #: The agent definition that ran (written at completion). Before that, when set by the
    #: creator, a pin: frontmatter ``version`` / S3 object ``version_id`` to run.
    agent_version: str | None = None
    agent_etag: str | None = None
    model: str | None = None
    status: InvocationStatus = InvocationStatus.QUEUED
    mode: InvocationMode = InvocationMode.SYNC
    #: None when offloaded to S3 and not hydrated (``input_ref`` is then set).
    input: str | None = None
    context: dict[str, Any] | None = None
    #: The caller's workflow (``InvokeRequest.invocation_context``).
    invocation_context: str | None = None
    max_tokens: int | None = None
    #: The run's budgets as the request gave them (None: the definition's or the default).
    max_turns: int | None = None
    max_tool_calls: int | None = None
    max_cost_usd: float | None = None
    output: str | None = None
    stop_reason: str | None = None
    incomplete: bool = False
    repaired: bool = False
    contract: ContractResult | None = None
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0
    attempts: int = 0
    timings: Timings | None = None
    #: Model calls of a tool run (None: a single-call run).
    turns: int | None = None
    #: Tool calls of a tool run, by tool name (server tools included).
    tool_calls: dict[str, int] = Field(default_factory=dict)
    #: Tools the definition names that the run did not offer.
    tools_unavailable: list[str] = Field(default_factory=list)
    #: ``{path, change: added|modified|deleted, bytes}`` per file the run changed.
    files_changed: list[dict[str, Any]] = Field(default_factory=list)
    #: Unified diff against the input files (None when offloaded and not hydrated, or none).
    patch: str | None = None
    #: Where the run's transcript is stored (``GET /invocations/{id}/transcript`` reads it).
    transcript_ref: str | None = None
    #: The failure that ended the invocation (status FAILED only).
    error: ErrorInfo | None = None
    #: The last transient failure (release) or the failure before a redrive.
    last_error: ErrorInfo | None = None
    idempotency_key: str | None = None
    batch_id: str | None = None
    #: ``economy``: run in an Anthropic Message Batch (docs/batches.md).
    processing: Processing = Processing.STANDARD
    #: The Anthropic Message Batch the item was submitted in (economy only).
    economy_batch_id: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    #: Segments started (a continuation starts a new one; separate from ``attempts``).
    segments: int = 0
    #: The last checkpointed turn (None: no checkpoint yet).
    checkpoint_turn: int | None = None
    #: The tool calls waiting for a decision (status WAITING only).
    pending_actions: list[PendingAction] | None = None
    waiting_since: str | None = None
    #: The request's own callback (``webhook.url``); tenant subscriptions come on top.
    webhook: WebhookTarget | None = None
    created_at: str = ""
    updated_at: str = ""
    started_at: str | None = None
    finished_at: str | None = None


class InvocationRecord(InvocationFields):
    """One invocation as stored (see docs/architecture.md, "Store", for every field)."""

    model_config = ConfigDict(extra="ignore", validate_assignment=False)

    tenant: str
    agent_version_id: str | None = None
    input_ref: str | None = None
    context_ref: str | None = None
    output_ref: str | None = None
    patch_ref: str | None = None
    #: The request's workspace: inline files (``files_ref`` when offloaded) or an upload id.
    files: dict[str, str] | None = None
    files_ref: str | None = None
    workspace: str | None = None
    lease_owner: str | None = None
    #: Epoch seconds.
    lease_expires_at: float | None = None
    #: TTL attribute, epoch seconds.
    expires_at: int | None = None
    dlq_sent: bool = False
    #: Epoch seconds when a sender took the right to send the DLQ message.
    dlq_claimed_at: float | None = None
    #: The economy submission that holds the item (set before the batch is created).
    economy_submission: str | None = None
    #: The S3 key of the last checkpoint's manifest (``agents.checkpoints``).
    checkpoint_ref: str | None = None
    #: The decisions on ``pending_actions`` that resumed a WAITING run (until it runs them).
    decisions: list[ActionDecision] | None = None
    #: The tools this request adds to the definition's ``approval`` list.
    require_approval: list[str] | None = None
    #: Epoch seconds of the first claim (``MAX_RUN_SECONDS`` counts from it).
    run_started_at: float | None = None
    #: The sparse ``SweepIndex`` keys: set only while the sweeper may have to act.
    sweep_shard: str | None = None
    sweep_at: float | None = None
    #: Webhook events (JSON) whose send failed, until the sweeper sends them (16.65).
    webhook_unsent: list[str] | None = None
    kind: Literal["invocation"] = KIND_INVOCATION

    @classmethod
    def new(
        cls,
        *,
        tenant: str,
        agent: str,
        input: str,
        mode: InvocationMode = InvocationMode.SYNC,
        id: str | None = None,
        now: float | None = None,
        **fields: Any,
    ) -> InvocationRecord:
        """A QUEUED record with a fresh id and creation time (the store sets ``expires_at``)."""
        stamp = iso_ms(utc_now() if now is None else now)
        return cls(
            id=id or new_invocation_id(),
            tenant=tenant,
            agent=agent,
            input=input,
            mode=mode,
            status=InvocationStatus.QUEUED,
            created_at=stamp,
            updated_at=stamp,
            **fields,
        )

    @property
    def terminal(self) -> bool:
        return self.status.terminal

    def to_public(self, *, include_input: bool = False) -> InvocationView:
        """The caller-facing view: no lease, DLQ, S3 pointer or TTL bookkeeping.

        ``input`` and ``context`` are omitted unless asked for. ``output`` is whatever the
        record holds: read with ``store.get(..., hydrate=True)`` to have offloaded output.
        """
        data = self.model_dump(include=set(InvocationFields.model_fields))
        if not include_input:
            data["input"] = None
            data["context"] = None
        return InvocationView.model_validate(data)


class InvocationView(InvocationFields):
    """An invocation as the API returns it."""

    model_config = ConfigDict(extra="forbid")

    status: InvocationStatus
    mode: InvocationMode
    created_at: str
    updated_at: str


class ToolRunOutcome(BaseModel):
    """What a tool run adds to its record at completion (``store.complete(tool_run=...)``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: None: a single call (no tools offered).
    turns: int | None = None
    tool_calls: dict[str, int] = Field(default_factory=dict)
    tools_unavailable: list[str] = Field(default_factory=list)
    files_changed: list[dict[str, Any]] = Field(default_factory=list)
    patch: str | None = None
    #: Where a large patch was already written (``save_result``); ``patch`` is then None.
    patch_ref: str | None = None
    #: The turns (``TurnRecord`` dumps), stored in S3 and pointed to by ``transcript_ref``.
    transcript: list[dict[str, Any]] = Field(default_factory=list)


class BatchRecord(BaseModel):
    """A batch submission (its items are invocation records with ``batch_id`` set)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    tenant: str
    agent: str
    agent_version: str | None = None
    item_count: int
    processing: Processing = Processing.STANDARD
    metadata: dict[str, str] = Field(default_factory=dict)
    #: Called with ``batch.completed`` when the last item ends.
    webhook: WebhookTarget | None = None
    #: Ids of the items that have ended (the WebhookFunction adds them; decision 16.55).
    finished_items: list[str] | None = None
    #: Set once, by whoever recorded the last item: ``batch.completed`` was announced.
    completed_at: str | None = None
    created_at: str = ""
    updated_at: str = ""
    expires_at: int | None = None
    kind: Literal["batch"] = KIND_BATCH

    @classmethod
    def new(
        cls, *, tenant: str, agent: str, item_count: int, now: float | None = None, **fields: Any
    ) -> BatchRecord:
        stamp = iso_ms(utc_now() if now is None else now)
        return cls(
            id=fields.pop("id", None) or new_batch_id(),
            tenant=tenant,
            agent=agent,
            item_count=item_count,
            created_at=stamp,
            updated_at=stamp,
            **fields,
        )


# --- DynamoDB conversion (the one place) -----------------------------------------------
