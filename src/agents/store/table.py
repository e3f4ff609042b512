"""The store's table and bucket: settings, clients, keyed reads and conditional writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agents.awserrors import translate_aws_errors
from agents.errors import ConfigurationError, InvocationNotFound
from agents.record_items import from_item
from agents.records import KIND_INVOCATION, InvocationRecord, is_valid_id
from agents.store.payloads import PayloadOffload

if TYPE_CHECKING:
    from collections.abc import Callable

    from botocore.exceptions import ClientError
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

    from agents.store.expressions import ExpressionBuilder

#: A DynamoDB item in the low-level client's attribute-value form.
Item = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Refusal:
    """A conditional write whose condition failed; ``current`` is the item as it stood
    (``ReturnValuesOnConditionCheckFailure = ALL_OLD``), None when there is no item."""

    current: Item | None

    @classmethod
    def of(cls, exc: ClientError) -> Refusal:
        """The refusal a ``ConditionalCheckFailedException`` describes."""
        item = exc.response.get("Item")
        return cls(current=item if isinstance(item, dict) else None)


def invocation_not_found(invocation_id: str) -> InvocationNotFound:
    return InvocationNotFound(f"invocation {invocation_id} not found", invocation_id=invocation_id)


def visible_invocation(item: Item | None, tenant: str | None) -> InvocationRecord | None:
    """The invocation in ``item`` if it is one and (given a tenant) the tenant's, else None."""
    if item is None or item.get("kind", {}).get("S", KIND_INVOCATION) != KIND_INVOCATION:
        return None
    record = from_item(item)
    return None if tenant is not None and record.tenant != tenant else record


class StoreTable:
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
        webhook_queue_url: str = "",
    ) -> None:
        if not table:
            raise ConfigurationError("the invocations table is not configured (INVOCATIONS_TABLE)")
        self.table = table
        self.dlq_url = dlq_url
        #: Where terminal transitions announce themselves ("": no webhooks).
        self.webhook_queue_url = webhook_queue_url
        self.retention_days = retention_days
        self.payloads = PayloadOffload(
            bucket=payload_bucket,
            prefix=payload_prefix,
            threshold_bytes=offload_threshold_bytes,
            s3=s3,
        )
        self._dynamodb = dynamodb

    @property
    def payload_bucket(self) -> str:
        return self.payloads.bucket

    @property
    def payload_prefix(self) -> str:
        return self.payloads.prefix

    @property
    def offload_threshold_bytes(self) -> int:
        return self.payloads.threshold_bytes

    @property
    def dynamodb(self) -> DynamoDBClient:
        if self._dynamodb is not None:
            return self._dynamodb
        from agents import aws

        return aws.client("dynamodb")

    @property
    def s3(self) -> S3Client:
        return self.payloads.s3

    # --- reads -----------------------------------------------------------------------

    def get(
        self, invocation_id: str, *, tenant: str | None = None, hydrate: bool = True
    ) -> InvocationRecord:
        """One record (strongly consistent). Other tenant, unknown or malformed id -> 404.

        ``hydrate`` reads offloaded input/context/output back from S3 whole.
        """
        item = self._get_item(invocation_id) if is_valid_id(invocation_id) else None
        record = visible_invocation(item, tenant)
        if record is None:
            raise invocation_not_found(invocation_id)
        return self.hydrate(record) if hydrate else record

    def hydrate(self, record: InvocationRecord) -> InvocationRecord:
        """Fill offloaded payloads from S3 (pointers are kept)."""
        return self.payloads.hydrate(record)

    def _expires_at(self, now: float) -> int:
        return int(now) + self.retention_days * 86_400

    def _get_item(self, key: str) -> Item | None:
        with translate_aws_errors("dynamodb:GetItem"):
            response = self.dynamodb.get_item(
                TableName=self.table, Key={"id": {"S": key}}, ConsistentRead=True
            )
        item: Item | None = response.get("Item")
        return item

    # --- conditional writes ----------------------------------------------------------

    def _put_new(self, item: Item) -> Refusal | None:
        """PutItem under ``attribute_not_exists(id)``: None when written, else the refusal
        carrying the item that holds the id."""
        dynamodb = self.dynamodb
        try:
            with translate_aws_errors("dynamodb:PutItem"):
                dynamodb.put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(id)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except dynamodb.exceptions.ConditionalCheckFailedException as exc:
            return Refusal.of(exc)
        return None

    def _update(self, key: str, expr: ExpressionBuilder, condition: str) -> Item | None:
        """Conditional UpdateItem: the new item (ALL_NEW), or None when the condition failed."""
        result = self._update_item(key, expr, condition, return_current=False)
        return None if isinstance(result, Refusal) else result

    def _after_transition(self, record: InvocationRecord, *, created: bool = False) -> None:
        """After a successful transition: its events (``status``; ``waiting`` for WAITING,
        ``completed`` when terminal) in one write, then its webhook event (terminal or
        WAITING; only when someone listens), held on the record for the sweeper when its
        send fails. Never raises (decisions 16.8, 16.53, 16.65)."""
        from agents.events.transitions import record_transition
        from agents.store.webhook_outbox import hold_unsent_event
        from agents.webhooks.notifier import count_lost_event, notify_transition

        record_transition(record, created=created)
        unsent = notify_transition(record, self.webhook_queue_url)
        if unsent is not None and not hold_unsent_event(self, record, unsent):
            count_lost_event()

    def _update_record(
        self, key: str, expr: ExpressionBuilder, condition: str
    ) -> InvocationRecord | None:
        """:meth:`_update` of an invocation: the new record, or None when the condition failed."""
        item = self._update(key, expr, condition)
        return None if item is None else from_item(item)

    def _update_or_raise(
        self,
        key: str,
        expr: ExpressionBuilder,
        condition: str,
        *,
        tenant: str,
        refused: Callable[[InvocationRecord], Exception],
    ) -> InvocationRecord:
        """Conditional UpdateItem of the tenant's invocation: the new record; when the
        condition failed, ``refused(current)`` raised (``InvocationNotFound``: not the tenant's)."""
        result = self._update_or_refusal(key, expr, condition)
        if not isinstance(result, Refusal):
            return from_item(result)
        current = visible_invocation(result.current, tenant)
        if current is None:
            raise invocation_not_found(key)
        raise refused(current)

    def _update_or_refusal(
        self, key: str, expr: ExpressionBuilder, condition: str
    ) -> Item | Refusal:
        """Conditional UpdateItem: the new item, or the refusal with the item as it stood."""
        return self._update_item(key, expr, condition, return_current=True)

    def _update_item(
        self, key: str, expr: ExpressionBuilder, condition: str, *, return_current: bool
    ) -> Item | Refusal:
        dynamodb = self.dynamodb
        on_failure: dict[str, Any] = (
            {"ReturnValuesOnConditionCheckFailure": "ALL_OLD"} if return_current else {}
        )
        try:
            with translate_aws_errors("dynamodb:UpdateItem"):
                response = dynamodb.update_item(
                    TableName=self.table,
                    Key={"id": {"S": key}},
                    UpdateExpression=expr.update_expression(),
                    ConditionExpression=condition,
                    ExpressionAttributeNames=expr.attribute_names,
                    ExpressionAttributeValues=expr.attribute_values,
                    ReturnValues="ALL_NEW",
                    **on_failure,
                )
        except dynamodb.exceptions.ConditionalCheckFailedException as exc:
            return Refusal.of(exc)
        attributes: Item = response["Attributes"]
        return attributes
