"""The invocation store: DynamoDB records with conditional lifecycle writes, S3 offload, DLQ.

Lifecycle (every arrow is one conditional ``UpdateItem``; nothing leaves a terminal state
except ``requeue_failed``, the explicit DLQ redrive)::

    QUEUED --claim--> RUNNING --complete--> SUCCEEDED
      |  ^              |  |
      |  +---release----+  +--fail--> FAILED --requeue_failed--> QUEUED
      +--cancel--> CANCELLED
      +--fail----> FAILED

``claim`` also takes over a RUNNING record whose lease expired (a crashed runner).
See docs/architecture.md ("Store") for the fields, the lease, the offload and the
argument for "every FAILED invocation lands in the DLQ exactly once".
"""

from __future__ import annotations

import base64
import binascii
import builtins
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any

from agents.awserrors import translate_aws_errors
from agents.container import per_container
from agents.dlq import DlqMessage, send_to_dlq
from agents.errors import (
    BadRequest,
    BatchNotFound,
    ConfigurationError,
    Conflict,
    InvocationNotFound,
    NotCancellable,
    PayloadTooLarge,
)
from agents.observability import logger
from agents.records import (
    KIND_BATCH,
    KIND_INVOCATION,
    BatchRecord,
    InvocationRecord,
    batch_from_item,
    from_item,
    is_valid_id,
    iso_ms,
    item_size,
    to_attr,
    to_item,
    utc_now,
)
from agents.types import (
    ContractResult,
    ErrorInfo,
    InvocationStatus,
    Timings,
    Usage,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef
    from mypy_boto3_s3 import S3Client

__all__ = [
    "BY_BATCH_INDEX",
    "BY_TENANT_INDEX",
    "InvocationStore",
    "RedriveRefused",
    "get_store",
]

BY_TENANT_INDEX = "by-tenant"
BY_BATCH_INDEX = "by-batch"

#: Payload fields are offloaded above min(configured threshold, this): three payload
#: fields at this size plus metadata stay far below DynamoDB's 400 KB item limit.
MAX_INLINE_PAYLOAD_BYTES = 120_000
#: A record that still exceeds this after offloading is refused (metadata abuse).
MAX_ITEM_BYTES = 380_000
MAX_LIST_LIMIT = 200
#: Query pages read per ``list`` call before handing back a cursor (filters can skip items).
MAX_PAGES_PER_LIST = 10
#: ``batch_counts`` reads at most this many pages (1 MB each): bounded batches only.
MAX_COUNT_PAGES = 200
DLQ_CLAIM_STALE_SECONDS = 60.0

_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
_CONDITIONAL_FAILED = "ConditionalCheckFailedException"
#: Attributes left out of listings (payloads: read one invocation to get them).
_PAYLOAD_FIELDS = frozenset({"input", "output", "context"})


class RedriveRefused(Conflict):
    """A redrive of a non-retryable failure was asked for without ``force``."""

    error_type = "redrive-requires-force"
    title = "The failure is permanent; redrive needs --force"


class _Expr:
    """Builds an update/condition expression with every name and value aliased."""

    def __init__(self) -> None:
        self.sets: list[str] = []
        self.removes: list[str] = []
        self.names: dict[str, str] = {}
        self.values: dict[str, AttributeValueTypeDef] = {}

    def n(self, name: str) -> str:
        key = f"#{name}"
        self.names[key] = name
        return key

    def v(self, label: str, value: Any) -> str:
        key = f":{label}"
        self.values[key] = to_attr(value)
        return key

    def set(self, name: str, value: Any) -> _Expr:
        if value is None:
            return self.remove(name)
        self.sets.append(f"{self.n(name)} = {self.v('set_' + name, value)}")
        return self

    def set_raw(self, expression: str) -> _Expr:
        self.sets.append(expression)
        return self

    def remove(self, *names: str) -> _Expr:
        self.removes.extend(self.n(name) for name in names)
        return self

    def update_expression(self) -> str:
        parts = []
        if self.sets:
            parts.append("SET " + ", ".join(self.sets))
        if self.removes:
            parts.append("REMOVE " + ", ".join(dict.fromkeys(self.removes)))
        return " ".join(parts)


def _is_conditional_failure(exc: Exception) -> bool:
    from botocore.exceptions import ClientError

    return (
        isinstance(exc, ClientError)
        and exc.response.get("Error", {}).get("Code") == _CONDITIONAL_FAILED
    )


class InvocationStore:
    """Invocation and batch records in one DynamoDB table; large payloads in S3."""

    def __init__(
        self,
        table: str,
        *,
        payload_bucket: str,
        payload_prefix: str,
        dlq_url: str,
        offload_threshold_bytes: int,
        retention_days: int,
        dynamodb: DynamoDBClient | None = None,
        s3: S3Client | None = None,
    ) -> None:
        if not table:
            raise ConfigurationError("the invocations table is not configured (INVOCATIONS_TABLE)")
        self.table = table
        self.payload_bucket = payload_bucket
        self.payload_prefix = payload_prefix
        self.dlq_url = dlq_url
        self.offload_threshold_bytes = min(offload_threshold_bytes, MAX_INLINE_PAYLOAD_BYTES)
        self.retention_days = retention_days
        self._dynamodb = dynamodb
        self._s3 = s3

    # --- clients -------------------------------------------------------------------

    @property
    def dynamodb(self) -> DynamoDBClient:
        if self._dynamodb is not None:
            return self._dynamodb
        from agents import aws

        return aws.client("dynamodb")

    @property
    def s3(self) -> S3Client:
        if self._s3 is not None:
            return self._s3
        from agents import aws

        return aws.client("s3")

    # --- create / read ---------------------------------------------------------------

    def create(self, record: InvocationRecord) -> InvocationRecord:
        """Store a new QUEUED record (``attribute_not_exists(id)``); ``Conflict`` if the id exists.

        Input and context above the offload threshold go to S3 first. The returned
        record still holds them in memory (and their ``*_ref`` pointers).
        """
        if record.status is not InvocationStatus.QUEUED:
            raise ValueError(f"a new invocation must be QUEUED, not {record.status}")
        if not is_valid_id(record.id):
            raise ValueError(f"invalid invocation id {record.id!r}")
        if not record.tenant or not record.agent:
            raise ValueError("an invocation needs a tenant and an agent")
        stored = self._prepare_new(record)
        item = to_item(stored)
        size = item_size(item)
        if size > MAX_ITEM_BYTES:
            raise PayloadTooLarge(
                f"the invocation record would be {size} bytes after offloading payloads; "
                "reduce metadata"
            )
        try:
            with translate_aws_errors("dynamodb:PutItem"):
                self.dynamodb.put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(id)",
                )
        except Exception as exc:
            if _is_conditional_failure(exc):
                raise Conflict(
                    f"invocation {record.id} already exists", invocation_id=record.id
                ) from None
            raise
        return stored.model_copy(update={"input": record.input, "context": record.context})

    def create_or_get(self, record: InvocationRecord) -> tuple[InvocationRecord, bool]:
        """Create, or return the record already stored under this (deterministic) id.

        Returns ``(record, created)``. ``Conflict`` if the id belongs to another tenant.
        """
        try:
            return self.create(record), True
        except Conflict:
            try:
                existing = self.get(record.id, tenant=record.tenant, hydrate=False)
            except InvocationNotFound:
                raise Conflict(
                    f"invocation id {record.id} is taken", invocation_id=record.id
                ) from None
            return existing, False

    def get(
        self, invocation_id: str, *, tenant: str | None = None, hydrate: bool = True
    ) -> InvocationRecord:
        """One record (strongly consistent). Other tenant, unknown or malformed id -> 404.

        ``hydrate`` reads offloaded input/context/output back from S3 whole.
        """
        record = self._read(invocation_id)
        if record is None or (tenant is not None and record.tenant != tenant):
            raise InvocationNotFound(
                f"invocation {invocation_id} not found", invocation_id=invocation_id
            )
        return self.hydrate(record) if hydrate else record

    def hydrate(self, record: InvocationRecord) -> InvocationRecord:
        """Fill offloaded payloads from S3 (pointers are kept)."""
        update: dict[str, Any] = {}
        if record.input is None and record.input_ref:
            update["input"] = self._read_payload(record.input_ref)
        if record.output is None and record.output_ref:
            update["output"] = self._read_payload(record.output_ref)
        if record.context is None and record.context_ref:
            update["context"] = json.loads(self._read_payload(record.context_ref))
        return record.model_copy(update=update) if update else record

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
        return self._query(
            index=BY_TENANT_INDEX,
            key_name="tenant",
            key_value=tenant,
            scope=f"tenant\x1f{tenant}",
            filters={"agent": agent, "status": status},
            limit=limit,
            cursor=cursor,
            newest_first=True,
            payloads=payloads,
        )

    # --- lifecycle -------------------------------------------------------------------

    def claim(
        self, invocation_id: str, owner: str, *, lease_seconds: float, now: float | None = None
    ) -> InvocationRecord | None:
        """QUEUED -> RUNNING under ``owner``, or take over a RUNNING record whose lease expired.

        Increments ``attempts``. Returns the claimed record (not hydrated), or None when the
        record is not claimable (missing, terminal, or RUNNING under a live lease).
        """
        if not is_valid_id(invocation_id):
            return None
        now = utc_now() if now is None else now
        expr = _Expr()
        expr.set("status", InvocationStatus.RUNNING)
        expr.set("lease_owner", owner)
        expr.set("lease_expires_at", now + lease_seconds)
        expr.set("started_at", iso_ms(now))
        expr.set("updated_at", iso_ms(now))
        expr.set_raw(
            f"{expr.n('attempts')} = if_not_exists({expr.n('attempts')}, {expr.v('zero', 0)})"
            f" + {expr.v('one', 1)}"
        )
        status, lease = expr.n("status"), expr.n("lease_expires_at")
        condition = (
            f"{self._is_invocation(expr)} AND ({status} = {expr.v('queued', 'QUEUED')}"
            f" OR ({status} = {expr.v('running', 'RUNNING')} AND {lease} < {expr.v('now', now)}))"
        )
        item = self._update(invocation_id, expr, condition)
        return None if item is None else from_item(item)

    def complete(
        self,
        invocation_id: str,
        owner: str,
        *,
        output: str,
        model: str | None,
        stop_reason: str | None = None,
        incomplete: bool = False,
        repaired: bool = False,
        contract: ContractResult | None = None,
        usage: Usage | None = None,
        cost_usd: float = 0.0,
        timings: Timings | None = None,
        agent_version: str | None = None,
        agent_etag: str | None = None,
        agent_version_id: str | None = None,
        now: float | None = None,
    ) -> InvocationRecord:
        """RUNNING under ``owner`` -> SUCCEEDED. A lost lease raises ``Conflict``.

        Output above the offload threshold goes to S3 (``<id>/output.txt``) first.
        Returns the record with the output in memory.
        """
        now = utc_now() if now is None else now
        output_ref = None
        if len(output.encode()) > self.offload_threshold_bytes:
            output_ref = self._write_payload(invocation_id, "output.txt", output, "text/plain")
        expr = _Expr()
        expr.set("status", InvocationStatus.SUCCEEDED)
        if output_ref:
            expr.set("output_ref", output_ref).remove("output")
        else:
            expr.set("output", output).remove("output_ref")
        expr.set("model", model)
        expr.set("stop_reason", stop_reason)
        expr.set("incomplete", incomplete)
        expr.set("repaired", repaired)
        expr.set("contract", contract)
        expr.set("usage", usage or Usage())
        expr.set("cost_usd", float(cost_usd))
        expr.set("timings", timings)
        expr.set("agent_version", agent_version)
        expr.set("agent_etag", agent_etag)
        expr.set("agent_version_id", agent_version_id)
        expr.set("finished_at", iso_ms(now))
        expr.set("updated_at", iso_ms(now))
        expr.remove("lease_owner", "lease_expires_at", "error")
        item = self._update(invocation_id, expr, self._owned_by(expr, owner))
        if item is None:
            raise Conflict(
                f"invocation {invocation_id} is no longer held by this runner (lease lost)",
                invocation_id=invocation_id,
            )
        return from_item(item).model_copy(update={"output": output})

    def fail(
        self,
        invocation_id: str,
        error: ErrorInfo,
        *,
        owner: str | None,
        now: float | None = None,
    ) -> bool:
        """QUEUED, or RUNNING under ``owner``, -> FAILED; then one DLQ message.

        Returns True when this call made the transition (it then sent the DLQ message and
        set ``dlq_sent``), False when the record was not in a state it may fail (already
        terminal, another owner's lease, missing). If the DLQ send itself fails, the record
        stays FAILED with ``dlq_sent = false`` and the error propagates
        (``ServiceUnavailable``): :meth:`ensure_dlq_sent` finishes the job.
        """
        now = utc_now() if now is None else now
        expr = _Expr()
        expr.set("status", InvocationStatus.FAILED)
        expr.set("error", error)
        expr.set("finished_at", iso_ms(now))
        expr.set("updated_at", iso_ms(now))
        expr.set("dlq_sent", False)
        expr.set("dlq_claimed_at", now)
        expr.remove("lease_owner", "lease_expires_at")
        status = expr.n("status")
        allowed = f"{status} = {expr.v('queued', 'QUEUED')}"
        if owner is not None:
            allowed = (
                f"({allowed} OR ({status} = {expr.v('running', 'RUNNING')}"
                f" AND {expr.n('lease_owner')} = {expr.v('owner', owner)}))"
            )
        item = self._update(invocation_id, expr, f"{self._is_invocation(expr)} AND {allowed}")
        if item is None:
            return False
        record = from_item(item)
        logger.warning(
            "invocation failed",
            extra={
                "invocation_id": record.id,
                "error_type": error.type,
                "retryable": error.retryable,
                "attempts": record.attempts,
            },
        )
        self._send_dlq(record, now)
        return True

    def ensure_dlq_sent(
        self,
        invocation_id: str,
        *,
        stale_after_seconds: float = DLQ_CLAIM_STALE_SECONDS,
        now: float | None = None,
    ) -> bool:
        """Send the DLQ message of a FAILED record whose sender crashed or failed.

        Acts only when ``dlq_sent`` is false and the previous sender's claim is older than
        ``stale_after_seconds`` (so it never races a live ``fail`` between its two writes).
        Returns True when this call sent the message.
        """
        now = utc_now() if now is None else now
        expr = _Expr()
        expr.set("dlq_claimed_at", now)
        claimed = expr.n("dlq_claimed_at")
        condition = (
            f"{self._is_invocation(expr)} AND {expr.n('status')} = {expr.v('failed', 'FAILED')}"
            f" AND {expr.n('dlq_sent')} = {expr.v('false', False)}"
            f" AND (attribute_not_exists({claimed})"
            f" OR {claimed} < {expr.v('stale', now - stale_after_seconds)})"
        )
        item = self._update(invocation_id, expr, condition)
        if item is None:
            return False
        self._send_dlq(from_item(item), now)
        return True

    def release(
        self, invocation_id: str, owner: str, error: ErrorInfo, *, now: float | None = None
    ) -> InvocationRecord:
        """RUNNING under ``owner`` -> QUEUED after a transient failure (a redelivery may claim
        it at once). ``last_error`` records why. A lost lease raises ``Conflict``."""
        now = utc_now() if now is None else now
        expr = _Expr()
        expr.set("status", InvocationStatus.QUEUED)
        expr.set("last_error", error)
        expr.set("updated_at", iso_ms(now))
        expr.remove("lease_owner", "lease_expires_at")
        item = self._update(invocation_id, expr, self._owned_by(expr, owner))
        if item is None:
            raise Conflict(
                f"invocation {invocation_id} is no longer held by this runner (lease lost)",
                invocation_id=invocation_id,
            )
        return from_item(item)

    def cancel(
        self, invocation_id: str, tenant: str, *, now: float | None = None
    ) -> InvocationRecord:
        """QUEUED -> CANCELLED. RUNNING or terminal -> ``NotCancellable`` (409); another
        tenant's or an unknown id -> ``InvocationNotFound`` (404)."""
        now = utc_now() if now is None else now
        expr = _Expr()
        expr.set("status", InvocationStatus.CANCELLED)
        expr.set("finished_at", iso_ms(now))
        expr.set("updated_at", iso_ms(now))
        condition = (
            f"{self._is_invocation(expr)} AND {expr.n('tenant')} = {expr.v('tenant', tenant)}"
            f" AND {expr.n('status')} = {expr.v('queued', 'QUEUED')}"
        )
        item = self._update(invocation_id, expr, condition) if is_valid_id(invocation_id) else None
        if item is not None:
            return from_item(item)
        current = self.get(invocation_id, tenant=tenant, hydrate=False)
        raise NotCancellable(
            f"invocation {invocation_id} is {current.status.value}; only QUEUED invocations "
            "can be cancelled",
            invocation_id=invocation_id,
            status=current.status.value,
        )

    def requeue_failed(
        self, invocation_id: str, *, force: bool = False, now: float | None = None
    ) -> InvocationRecord:
        """FAILED -> QUEUED for a DLQ redrive (attempts kept; ``error`` becomes ``last_error``;
        ``dlq_sent`` reset so a new failure is dead-lettered again).

        Raises ``InvocationNotFound``, ``Conflict`` (not FAILED) or ``RedriveRefused`` (the
        error is not retryable and ``force`` is false). The caller then puts
        ``{"invocation_id": ...}`` on the invocation queue.
        """
        now = utc_now() if now is None else now
        current = self.get(invocation_id, hydrate=False)
        if current.status is not InvocationStatus.FAILED:
            raise Conflict(
                f"invocation {invocation_id} is {current.status.value}, not FAILED",
                invocation_id=invocation_id,
            )
        if current.error is not None and not current.error.retryable and not force:
            raise RedriveRefused(
                f"invocation {invocation_id} failed permanently ({current.error.type}: "
                f"{current.error.message}); redriving it needs force",
                invocation_id=invocation_id,
            )
        expr = _Expr()
        expr.set("status", InvocationStatus.QUEUED)
        expr.set("last_error", current.error)
        expr.set("dlq_sent", False)
        expr.set("updated_at", iso_ms(now))
        expr.remove("error", "finished_at", "lease_owner", "lease_expires_at", "dlq_claimed_at")
        condition = (
            f"{expr.n('status')} = {expr.v('failed', 'FAILED')}"
            f" AND {expr.n('updated_at')} = {expr.v('seen', current.updated_at)}"
        )
        item = self._update(invocation_id, expr, condition)
        if item is None:
            raise Conflict(
                f"invocation {invocation_id} changed during the redrive; try again",
                invocation_id=invocation_id,
            )
        return from_item(item)

    # --- batches ---------------------------------------------------------------------

    def create_batch(self, batch: BatchRecord) -> BatchRecord:
        """Store a batch record (same table, ``kind = batch``, owner in ``batch_tenant``)."""
        if not is_valid_id(batch.id):
            raise ValueError(f"invalid batch id {batch.id!r}")
        if batch.expires_at is None:
            batch = batch.model_copy(update={"expires_at": self._expires_at(utc_now())})
        try:
            with translate_aws_errors("dynamodb:PutItem"):
                self.dynamodb.put_item(
                    TableName=self.table,
                    Item=to_item(batch),
                    ConditionExpression="attribute_not_exists(id)",
                )
        except Exception as exc:
            if _is_conditional_failure(exc):
                raise Conflict(f"batch {batch.id} already exists") from None
            raise
        return batch

    def get_batch(self, batch_id: str, tenant: str) -> BatchRecord:
        """The batch, if it is the tenant's (else ``BatchNotFound``, 404)."""
        item = self._get_item(batch_id) if is_valid_id(batch_id) else None
        if item is None or item.get("kind", {}).get("S") != KIND_BATCH:
            raise BatchNotFound(f"batch {batch_id} not found")
        batch = batch_from_item(item)
        if batch.tenant != tenant:
            raise BatchNotFound(f"batch {batch_id} not found")
        return batch

    def batch_counts(self, batch_id: str) -> dict[InvocationStatus, int]:
        """Items of the batch by status (every status present, zeros included).

        A query on ``by-batch`` projecting ``status``: the counts are derived from the
        records themselves, so they cannot drift (index reads are eventually consistent:
        a transition shows up within about a second). Bounded by ``MAX_COUNT_PAGES``.
        """
        counts = dict.fromkeys(InvocationStatus, 0)
        start: dict[str, Any] | None = None
        for _ in range(MAX_COUNT_PAGES):
            params: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": BY_BATCH_INDEX,
                "KeyConditionExpression": "#b = :b",
                "ProjectionExpression": "#s",
                "ExpressionAttributeNames": {"#b": "batch_id", "#s": "status"},
                "ExpressionAttributeValues": {":b": {"S": batch_id}},
            }
            if start:
                params["ExclusiveStartKey"] = start
            with translate_aws_errors("dynamodb:Query"):
                page = self.dynamodb.query(**params)
            for item in page.get("Items", []):
                raw = item.get("status", {}).get("S")
                if raw is not None and raw in InvocationStatus.__members__:
                    counts[InvocationStatus(raw)] += 1
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        else:
            raise BadRequest(f"batch {batch_id} is too large to count")
        return counts

    def list_batch(
        self,
        batch_id: str,
        tenant: str,
        *,
        status: InvocationStatus | None = None,
        limit: int = 50,
        cursor: str | None = None,
        payloads: bool = False,
    ) -> tuple[builtins.list[InvocationRecord], str | None]:
        """The batch's invocations (oldest first), only the tenant's, paginated like ``list``."""
        return self._query(
            index=BY_BATCH_INDEX,
            key_name="batch_id",
            key_value=batch_id,
            scope=f"batch\x1f{batch_id}\x1f{tenant}",
            filters={"tenant": tenant, "status": status},
            limit=limit,
            cursor=cursor,
            newest_first=False,
            payloads=payloads,
        )

    # --- internals -------------------------------------------------------------------

    def _expires_at(self, now: float) -> int:
        return int(now) + self.retention_days * 86_400

    def _prepare_new(self, record: InvocationRecord) -> InvocationRecord:
        update: dict[str, Any] = {}
        if record.expires_at is None:
            update["expires_at"] = self._expires_at(utc_now())
        if record.input is not None and len(record.input.encode()) > self.offload_threshold_bytes:
            update["input_ref"] = self._write_payload(
                record.id, "input.txt", record.input, "text/plain"
            )
            update["input"] = None
        if record.context is not None:
            text = json.dumps(record.context, ensure_ascii=False, separators=(",", ":"))
            if len(text.encode()) > self.offload_threshold_bytes:
                update["context_ref"] = self._write_payload(
                    record.id, "context.json", text, "application/json"
                )
                update["context"] = None
        return record.model_copy(update=update) if update else record

    def _payload_key(self, invocation_id: str, name: str) -> str:
        if not is_valid_id(invocation_id):
            raise ValueError(f"invalid invocation id {invocation_id!r}")
        return f"{self.payload_prefix}{invocation_id}/{name}"

    def _write_payload(self, invocation_id: str, name: str, text: str, content_type: str) -> str:
        if not self.payload_bucket:
            raise ValueError("no payload bucket configured (PAYLOAD_BUCKET / AGENTS_BUCKET)")
        key = self._payload_key(invocation_id, name)
        with translate_aws_errors("s3:PutObject"):
            self.s3.put_object(
                Bucket=self.payload_bucket,
                Key=key,
                Body=text.encode(),
                ContentType=f"{content_type}; charset=utf-8",
            )
        return f"s3://{self.payload_bucket}/{key}"

    def _read_payload(self, ref: str) -> str:
        if not ref.startswith("s3://") or "/" not in ref[5:]:
            raise ValueError(f"bad payload pointer {ref!r}")
        bucket, key = ref[5:].split("/", 1)
        with translate_aws_errors("s3:GetObject"):
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"]
            try:
                return body.read().decode()
            finally:
                body.close()

    def _get_item(self, key: str) -> dict[str, Any] | None:
        with translate_aws_errors("dynamodb:GetItem"):
            response = self.dynamodb.get_item(
                TableName=self.table, Key={"id": {"S": key}}, ConsistentRead=True
            )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def _read(self, invocation_id: str) -> InvocationRecord | None:
        if not is_valid_id(invocation_id):
            return None
        item = self._get_item(invocation_id)
        if item is None or item.get("kind", {}).get("S", KIND_INVOCATION) != KIND_INVOCATION:
            return None
        return from_item(item)

    @staticmethod
    def _is_invocation(expr: _Expr) -> str:
        return (
            f"attribute_exists({expr.n('id')}) AND {expr.n('kind')} = "
            f"{expr.v('kind_inv', KIND_INVOCATION)}"
        )

    def _owned_by(self, expr: _Expr, owner: str) -> str:
        return (
            f"{self._is_invocation(expr)} AND {expr.n('status')} = "
            f"{expr.v('running', 'RUNNING')} AND {expr.n('lease_owner')} = "
            f"{expr.v('owner', owner)}"
        )

    def _update(self, key: str, expr: _Expr, condition: str) -> dict[str, Any] | None:
        """Conditional UpdateItem returning ALL_NEW, or None when the condition failed."""
        try:
            with translate_aws_errors("dynamodb:UpdateItem"):
                response = self.dynamodb.update_item(
                    TableName=self.table,
                    Key={"id": {"S": key}},
                    UpdateExpression=expr.update_expression(),
                    ConditionExpression=condition,
                    ExpressionAttributeNames=expr.names,
                    ExpressionAttributeValues=expr.values,
                    ReturnValues="ALL_NEW",
                )
        except Exception as exc:
            if _is_conditional_failure(exc):
                return None
            raise
        attributes: dict[str, Any] = response["Attributes"]
        return attributes

    def _send_dlq(self, record: InvocationRecord, now: float) -> None:
        """Send the record's DLQ message, then mark it sent (both after winning a claim)."""
        error = record.error or ErrorInfo(type="internal-error", message="unknown", retryable=False)
        message = DlqMessage(
            kind="invocation",
            invocation_id=record.id,
            tenant=record.tenant,
            agent=record.agent,
            batch_id=record.batch_id,
            error_type=error.type,
            message=error.message,
            retryable=error.retryable,
            attempts=record.attempts,
            failed_at=record.finished_at or iso_ms(now),
        )
        send_to_dlq(message, queue_url=self.dlq_url or None)
        expr = _Expr()
        expr.set("dlq_sent", True)
        expr.set("updated_at", iso_ms(utc_now()))
        # Only while still FAILED: a redrive that already happened must not be overwritten.
        self._update(record.id, expr, f"{expr.n('status')} = {expr.v('failed', 'FAILED')}")

    # --- listing ---------------------------------------------------------------------

    def _query(
        self,
        *,
        index: str,
        key_name: str,
        key_value: str,
        scope: str,
        filters: dict[str, Any],
        limit: int,
        cursor: str | None,
        newest_first: bool,
        payloads: bool,
    ) -> tuple[builtins.list[InvocationRecord], str | None]:
        limit = max(1, min(limit, MAX_LIST_LIMIT))
        expr = _Expr()
        key_condition = f"{expr.n(key_name)} = {expr.v('pk', key_value)}"
        clauses = [
            f"{expr.n(name)} = {expr.v('f_' + name, value)}"
            for name, value in filters.items()
            if value is not None
        ]
        params: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": key_condition,
            "ScanIndexForward": not newest_first,
            "Limit": limit if not clauses else min(max(limit * 4, 100), 1000),
        }
        if clauses:
            params["FilterExpression"] = " AND ".join(clauses)
        if not payloads:
            fields = [name for name in InvocationRecord.model_fields if name not in _PAYLOAD_FIELDS]
            params["ProjectionExpression"] = ", ".join(expr.n(name) for name in fields)
        params["ExpressionAttributeNames"] = expr.names
        params["ExpressionAttributeValues"] = expr.values
        start = _decode_cursor(cursor, scope, key_name, key_value) if cursor else None

        records: builtins.list[InvocationRecord] = []
        more = False
        for _ in range(MAX_PAGES_PER_LIST):
            if start:
                params["ExclusiveStartKey"] = start
            with translate_aws_errors("dynamodb:Query"):
                page = self.dynamodb.query(**params)
            items = page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            for position, item in enumerate(items):
                records.append(from_item(item))
                if len(records) == limit:
                    more = position < len(items) - 1 or bool(start)
                    break
            if len(records) == limit or not start:
                break
        if len(records) == limit:
            last = records[-1]
            next_cursor = _encode_cursor(scope, last.id, last.created_at) if more else None
        elif start:  # page budget spent with filters skipping items
            next_cursor = _encode_cursor(scope, start["id"]["S"], start["created_at"]["S"])
        else:
            next_cursor = None
        return records, next_cursor


# --- cursors ------------------------------------------------------------------------------


def _scope_tag(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:16]


def _encode_cursor(scope: str, last_id: str, created_at: str) -> str:
    """The partition key is never carried: it always comes from the (authenticated) caller."""
    payload = json.dumps({"v": 1, "s": _scope_tag(scope), "i": last_id, "c": created_at})
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, scope: str, key_name: str, key: str) -> dict[str, Any]:
    """The ExclusiveStartKey for ``cursor``; the partition key is the caller's, not the cursor's."""
    invalid = BadRequest("invalid pagination cursor", parameter="cursor")
    if len(cursor) > 1024:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid from None
    if not isinstance(data, dict) or data.get("v") != 1 or data.get("s") != _scope_tag(scope):
        raise invalid
    last_id, created_at = data.get("i"), data.get("c")
    if not isinstance(last_id, str) or not is_valid_id(last_id):
        raise invalid
    if not isinstance(created_at, str) or not _ISO_RE.match(created_at):
        raise invalid
    return {"id": {"S": last_id}, key_name: {"S": key}, "created_at": {"S": created_at}}


# --- container singleton -------------------------------------------------------------------


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
    )
