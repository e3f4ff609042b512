"""Paginated invocation listings on the ``by-tenant`` and ``by-batch`` indexes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agents.awserrors import translate_aws_errors
from agents.record_items import from_item
from agents.records import InvocationRecord
from agents.store.cursors import decode_cursor, encode_cursor
from agents.store.expressions import ExpressionBuilder
from agents.types import InvocationStatus

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BY_TENANT_INDEX = "by-tenant"
BY_BATCH_INDEX = "by-batch"
MAX_LIST_LIMIT = 200
#: Query pages read per listing before handing back a cursor (filters can skip items).
MAX_PAGES_PER_LIST = 10
#: Attributes left out of listings (payloads: read one invocation to get them).
PAYLOAD_FIELDS = frozenset({"input", "output", "context", "files", "patch"})


@dataclass(frozen=True, slots=True)
class InvocationListing:
    """Which invocations a listing reads: one index partition, equality filters, an order."""

    index: str
    key_name: str
    key_value: str
    #: What a cursor is bound to (a cursor issued for another scope is rejected).
    scope: str
    filters: dict[str, Any]
    newest_first: bool


def tenant_listing(
    tenant: str, *, agent: str | None, status: InvocationStatus | None
) -> InvocationListing:
    """The tenant's invocations, newest first."""
    filters = {"agent": agent, "status": status}
    return InvocationListing(
        BY_TENANT_INDEX, "tenant", tenant, f"tenant\x1f{tenant}", filters, True
    )


def batch_listing(
    batch_id: str, *, tenant: str, status: InvocationStatus | None
) -> InvocationListing:
    """A batch's invocations that are the tenant's, oldest first."""
    scope = f"batch\x1f{batch_id}\x1f{tenant}"
    filters = {"tenant": tenant, "status": status}
    return InvocationListing(BY_BATCH_INDEX, "batch_id", batch_id, scope, filters, False)


def query_invocations(
    dynamodb: DynamoDBClient,
    table: str,
    listing: InvocationListing,
    *,
    limit: int,
    cursor: str | None,
    payloads: bool,
) -> tuple[list[InvocationRecord], str | None]:
    """One page of ``listing`` (at most ``limit`` records) and the cursor of the next."""
    limit = max(1, min(limit, MAX_LIST_LIMIT))
    expr = ExpressionBuilder()
    key_condition = f"{expr.attribute(listing.key_name)} = {expr.value('pk', listing.key_value)}"
    clauses = [
        f"{expr.attribute(name)} = {expr.value('f_' + name, value)}"
        for name, value in listing.filters.items()
        if value is not None
    ]
    params: dict[str, Any] = {
        "TableName": table,
        "IndexName": listing.index,
        "KeyConditionExpression": key_condition,
        "ScanIndexForward": not listing.newest_first,
        "Limit": limit if not clauses else min(max(limit * 4, 100), 1000),
    }
    if clauses:
        params["FilterExpression"] = " AND ".join(clauses)
    if not payloads:
        fields = [name for name in InvocationRecord.model_fields if name not in PAYLOAD_FIELDS]
        params["ProjectionExpression"] = ", ".join(expr.attribute(name) for name in fields)
    params["ExpressionAttributeNames"] = expr.attribute_names
    params["ExpressionAttributeValues"] = expr.attribute_values
    start = (
        decode_cursor(cursor, listing.scope, listing.key_name, listing.key_value)
        if cursor
        else None
    )

    records: list[InvocationRecord] = []
    more = False
    for _ in range(MAX_PAGES_PER_LIST):
        if start:
            params["ExclusiveStartKey"] = start
        with translate_aws_errors("dynamodb:Query"):
            page = dynamodb.query(**params)
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
        next_cursor = encode_cursor(listing.scope, last.id, last.created_at) if more else None
    elif start:  # page budget spent with filters skipping items
        next_cursor = encode_cursor(listing.scope, start["id"]["S"], start["created_at"]["S"])
    else:
        next_cursor = None
    return records, next_cursor
