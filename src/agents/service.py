"""The operations behind the HTTP API's routes (free of Lambda event shapes).

:class:`GatewayService` takes the typed request models of :mod:`agents.api_models`, the
caller's tenant and, for a sync run, the time left; it returns response models or raises
:class:`agents.errors.GatewayError` subclasses (their ``status`` is the HTTP status).

Every check a caller can fail runs before anything is written (agent name, definition,
model alias, ``max_tokens``, context names, input contract, sizes). After a record exists,
failures are returned, not raised (:class:`InvokeResult.failure`): the invocation is
FAILED and the answer carries its id, and an ``Idempotency-Key`` replays that answer.

Nothing here imports ``anthropic``: the sync path reaches it through
:func:`agents.executor.execute` -> the runner, imported when the run starts.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from agents.api_models import (
    IDEMPOTENCY_KEY_RE,
    MAX_IDEMPOTENCY_KEY_LENGTH,
    AgentList,
    AgentView,
    BatchItemRef,
    BatchRequest,
    BatchSubmitted,
    BatchView,
    InvalidAgent,
    InvocationList,
    InvokeRequest,
    StatusCounts,
)
from agents.config import Settings, get_settings
from agents.container import per_container
from agents.errors import (
    ConfigurationError,
    Conflict,
    DefinitionError,
    GatewayError,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    InvalidIdempotencyKey,
    PayloadTooLarge,
    ServiceUnavailable,
    ValidationFailed,
)
from agents.names import validate_agent_name
from agents.observability import logger
from agents.records import (
    BatchRecord,
    InvocationMode,
    InvocationRecord,
    InvocationView,
    derived_invocation_id,
    new_batch_id,
    new_invocation_id,
)
from agents.types import ErrorInfo, InvocationStatus

if TYPE_CHECKING:
    from agents.definitions import AgentDefinition
    from agents.executor import ExecutionOutcome
    from agents.registry import AgentRegistry
    from agents.runner import Deadline
    from agents.store import InvocationStore

__all__ = [
    "API_RESPONSE_MARGIN_MS",
    "Failure",
    "GatewayService",
    "InvokeResult",
    "error_classes",
    "get_service",
    "normalize_idempotency_key",
]

#: Kept free at the end of a sync run for the response to leave the function.
API_RESPONSE_MARGIN_MS = 500
#: A sync run's lease outlives its deadline by this much (a retry may take over after).
SYNC_LEASE_EXTRA_S = 5.0
#: SendMessageBatch: 10 entries per call; failed entries are retried this many rounds.
SQS_BATCH_SIZE = 10
SQS_SEND_ROUNDS = 4
#: Threads writing a batch's records.
BATCH_WRITE_THREADS = 8

#: Members of a problem document an error's extras must not overwrite (renamed current_*).
_PROBLEM_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "request_id"})
_GENERIC_INTERNAL = "An internal error occurred; the request id identifies it in the logs."
_GENERIC_UNAVAILABLE = "A dependency is temporarily unavailable; retry the request later."


# --- errors as callers see them ------------------------------------------------------


def _subclasses(cls: type[GatewayError]) -> Iterable[type[GatewayError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def error_classes() -> dict[str, type[GatewayError]]:
    """``error_type`` -> class, for every :class:`GatewayError` subclass imported so far
    (``agents.store`` adds ``redrive-requires-force``)."""
    import agents.store  # noqa: F401 - registers its error class

    found: dict[str, type[GatewayError]] = {GatewayError.error_type: GatewayError}
    for cls in _subclasses(GatewayError):
        found.setdefault(cls.error_type, cls)
    return found


def _public_extra(error_type: str, extra: dict[str, Any] | None) -> dict[str, Any]:
    """Caller-safe members: no S3 bucket/key (a definition's file is named by its file name)."""
    data = {
        (f"current_{key}" if key in _PROBLEM_MEMBERS else key): value
        for key, value in (extra or {}).items()
    }
    path = data.get("path")
    if isinstance(path, str):
        data["path"] = path.rsplit("/", 1)[-1]
    if error_type in {"internal-error", "service-unavailable"}:
        return {k: v for k, v in data.items() if k == "invocation_id"}
    return data


def _public_detail(error_type: str, detail: str) -> str:
    if error_type == "internal-error":
        return _GENERIC_INTERNAL
    if error_type == "service-unavailable":
        return _GENERIC_UNAVAILABLE
    return detail


@dataclass(frozen=True)
class Failure:
    """A failure as the API reports it (a problem document without request data)."""

    error_type: str
    title: str
    status: int
    detail: str
    retryable: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_exception(cls, exc: GatewayError) -> Failure:
        detail = exc.detail
        if isinstance(exc, DefinitionError) and exc.line is not None:
            detail = f"{exc.path.rsplit('/', 1)[-1] or 'definition'}:{exc.line}: {exc.detail}"
        return cls(
            error_type=exc.error_type,
            title=exc.title,
            status=exc.status,
            detail=_public_detail(exc.error_type, detail),
            retryable=exc.retryable,
            extra=_public_extra(exc.error_type, exc.extra),
        )

    @classmethod
    def from_info(cls, info: ErrorInfo) -> Failure:
        known = error_classes().get(info.type, GatewayError)
        return cls(
            error_type=info.type,
            title=known.title,
            status=known.status,
            detail=_public_detail(info.type, info.message),
            retryable=info.retryable,
            extra=_public_extra(info.type, dict(info.details or {})),
        )


def public_view(record: InvocationRecord, *, include_input: bool = False) -> InvocationView:
    """The caller's view of a record, with internal failure text replaced."""
    view = record.to_public(include_input=include_input)
    update: dict[str, Any] = {}
    for name in ("error", "last_error"):
        info: ErrorInfo | None = getattr(view, name)
        if info is not None:
            update[name] = ErrorInfo(
                type=info.type,
                message=_public_detail(info.type, info.message),
                retryable=info.retryable,
                details=_public_extra(info.type, dict(info.details or {})) or None,
            )
    return view.model_copy(update=update) if update else view


@dataclass(frozen=True)
class InvokeResult:
    """What ``POST /agents/{name}/invocations`` did.

    ``accepted``: queued (202). ``failure``: the run ended FAILED (or could not finish);
    ``invocation`` is then the record as it stands.
    """

    invocation: InvocationView
    accepted: bool = False
    failure: Failure | None = None


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


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


# --- the service ---------------------------------------------------------------------


class GatewayService:
    """The API's operations. Dependencies default to the container's singletons."""

    def __init__(
        self,
        *,
        settings: Settings | None = None,
        store: InvocationStore | None = None,
        registry: AgentRegistry | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._registry = registry

    @property
    def settings(self) -> Settings:
        return self._settings if self._settings is not None else get_settings()

    @property
    def store(self) -> InvocationStore:
        if self._store is not None:
            return self._store
        from agents.store import get_store

        return get_store()

    @property
    def registry(self) -> AgentRegistry:
        if self._registry is not None:
            return self._registry
        from agents.registry import get_registry

        return get_registry()

    # --- invocations ----------------------------------------------------------------

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
    ) -> InvokeResult:
        """Run ``agent`` inline (sync) or queue it (async). See the module docs."""
        definition = self._load(agent, request.version)
        self._preflight(definition, request.input, request.context, request.max_tokens)
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
            context=request.context,
            invocation_context=request.invocation_context,
            max_tokens=request.max_tokens,
            metadata=dict(request.metadata),
            idempotency_key=idempotency_key,
            agent_version=request.version,
            agent_version_id=_pinned_version_id(definition),
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
        return self._run_inline(stored, deadline, owner or f"api:{stored.id}")

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

    def cancel(self, tenant: str, invocation_id: str) -> InvocationView:
        """QUEUED -> CANCELLED (the worker then skips it); 409 ``not-cancellable`` otherwise."""
        return public_view(self.store.cancel(invocation_id, tenant))

    # --- batches --------------------------------------------------------------------

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
        self._check_items(definition, request)
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
                metadata=dict(request.metadata),
            )
        )
        logger.append_keys(batch_id=batch.id)
        pin = _pinned_version_id(definition)
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
            )
            for index, item in enumerate(request.items)
        ]
        stored = self._create_all(records)
        to_queue = [r.id for r in stored if r.status is InvocationStatus.QUEUED]
        unsent = self._send_all(to_queue)
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

    # --- agents ---------------------------------------------------------------------

    def list_agents(self) -> AgentList:
        definitions, errors = self.registry.scan()
        invalid = []
        for error in errors:
            path = str(error.extra.get("path", ""))
            name = path.rsplit("/", 1)[-1].removesuffix(".md") or "?"
            failure = Failure.from_exception(error)
            line = error.extra.get("line")
            hint = error.extra.get("hint")
            invalid.append(
                InvalidAgent(
                    name=name,
                    error_type=failure.error_type,
                    detail=error.detail if failure.status < 500 else failure.detail,
                    line=line if isinstance(line, int) else None,
                    hint=hint if isinstance(hint, str) else None,
                )
            )
        return AgentList(items=[self._agent_view(d) for d in definitions], invalid=invalid)

    def get_agent(self, name: str) -> AgentView:
        return self._agent_view(self._load(name, None))

    # --- internals ------------------------------------------------------------------

    def _load(self, name: str, version: str | None) -> AgentDefinition:
        validate_agent_name(name)
        logger.append_keys(agent=name)
        return self.registry.get(name, version=version)

    def _preflight(
        self,
        definition: AgentDefinition,
        input_text: str,
        context: dict[str, Any] | None,
        max_tokens: int | None,
    ) -> None:
        from agents.runner import preflight

        settings = self.settings
        if len(input_text) > settings.max_input_chars:
            raise PayloadTooLarge(
                f"input is {len(input_text)} characters; the limit is {settings.max_input_chars}",
                limit=settings.max_input_chars,
            )
        preflight(definition, input_text, context=context, max_tokens=max_tokens, settings=settings)

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
            if existing.agent != batch.agent or existing.item_count != batch.item_count:
                raise IdempotencyKeyReused(
                    f"batch {batch.id} was submitted with another agent or item count under "
                    "the same key(s)"
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

    def _fail_unqueued(self, invocation_ids: list[str]) -> None:
        info = ErrorInfo(
            type=ServiceUnavailable.error_type,
            message="the invocation could not be put on the queue",
            retryable=True,
        )
        for invocation_id in invocation_ids:
            try:
                self.store.fail(invocation_id, info, owner=None)
            except GatewayError:
                logger.exception("could not fail an unqueued invocation")

    def _send_all(self, invocation_ids: list[str]) -> list[str]:
        """SendMessageBatch ``{"invocation_id": id}`` in chunks of 10, retrying failed
        entries; returns the ids still unsent after :data:`SQS_SEND_ROUNDS` rounds."""
        if not invocation_ids:
            return []
        from agents import aws
        from agents.awserrors import translate_aws_errors

        url = self.settings.invocation_queue_url
        if not url:
            raise ConfigurationError(
                "the invocation queue is not configured (INVOCATION_QUEUE_URL)"
            )
        sqs = aws.client("sqs")
        pending = list(dict.fromkeys(invocation_ids))
        for round_no in range(SQS_SEND_ROUNDS):
            if round_no:
                time.sleep(0.1 * 2 ** (round_no - 1))
            failed: list[str] = []
            for start in range(0, len(pending), SQS_BATCH_SIZE):
                chunk = pending[start : start + SQS_BATCH_SIZE]
                entries: list[dict[str, Any]] = []
                for position, invocation_id in enumerate(chunk):
                    entry: dict[str, Any] = {
                        "Id": str(position),
                        "MessageBody": json.dumps({"invocation_id": invocation_id}),
                    }
                    if url.endswith(".fifo"):
                        entry["MessageGroupId"] = invocation_id
                        entry["MessageDeduplicationId"] = invocation_id
                    entries.append(entry)
                try:
                    with translate_aws_errors("sqs:SendMessageBatch"):
                        response = sqs.send_message_batch(QueueUrl=url, Entries=entries)  # type: ignore[arg-type]
                except ServiceUnavailable:
                    failed.extend(chunk)
                    continue
                for entry_failure in response.get("Failed", []):
                    failed.append(chunk[int(entry_failure["Id"])])
            if not failed:
                return []
            logger.warning("queue send failed for some entries", extra={"failed": len(failed)})
            pending = failed
        return pending

    def _run_inline(self, record: InvocationRecord, deadline: Deadline, owner: str) -> InvokeResult:
        if record.status.terminal:
            return self._result_of(self.store.hydrate(record))
        from agents.executor import execute

        outcome = execute(
            record.id,
            deadline=deadline,
            owner=owner,
            final_attempt=True,
            retry_on_transient=False,
            lease_seconds=max(deadline.remaining_s(), 0.0) + SYNC_LEASE_EXTRA_S,
        )
        return self._outcome_result(record, outcome)

    def _outcome_result(self, record: InvocationRecord, outcome: ExecutionOutcome) -> InvokeResult:
        from agents.executor import OutcomeStatus

        current = outcome.record or record
        if outcome.status is OutcomeStatus.SUCCEEDED:
            return InvokeResult(invocation=public_view(current))
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

    def _batch_view(self, batch: BatchRecord, counts: StatusCounts) -> BatchView:
        base = f"/invocations?batch_id={batch.id}"
        return BatchView(
            id=batch.id,
            agent=batch.agent,
            agent_version=batch.agent_version,
            item_count=batch.item_count,
            counts=counts,
            done=counts.terminal >= batch.item_count,
            metadata=batch.metadata,
            created_at=batch.created_at,
            links={
                "self": f"/batches/{batch.id}",
                "results": base,
                "failed": f"{base}&status=FAILED",
            },
        )

    def _agent_view(self, definition: AgentDefinition) -> AgentView:
        from agents.errors import UnknownModel
        from agents.model_aliases import resolve_model

        try:
            resolved: str | None = resolve_model(definition.model, self.settings)
        except UnknownModel:
            resolved = None
        source = definition.source
        return AgentView(
            name=definition.name,
            description=definition.description,
            model=definition.model,
            resolved_model=resolved,
            version=definition.version,
            tools=list(definition.tools),
            color=definition.color,
            last_updated=definition.last_updated.isoformat() if definition.last_updated else None,
            etag=definition.etag,
            version_id=_pinned_version_id(definition) if source else None,
            input_contract=definition.input_contract,
            output_contract=definition.output_contract,
        )


def _pinned_version_id(definition: AgentDefinition) -> str | None:
    """The S3 object version a run should use: the one the request was checked against."""
    source = definition.source
    if source is None or not source.version_id or source.version_id == "null":
        return None
    return source.version_id


def _unknown_error() -> ErrorInfo:
    return ErrorInfo(type="internal-error", message="unknown failure", retryable=False)


@per_container
def get_service() -> GatewayService:
    """The container's service (its dependencies are the container's singletons)."""
    return GatewayService()
