"""Reads and writes of the TenantsTable that the functions make (authorizer, budgets).

The operator's writes (create, disable, revoke, rotate) are in the operator-only
``lifecycle`` module.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from agents.awserrors import translate_aws_errors
from agents.tenants.records import KeyRecord, TenantRecord, iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["TenantsTable", "tenants_table"]


class TenantsTable:
    """The table ``name`` through the low-level ``client`` (cheap to import, no resource layer)."""

    def __init__(self, client: DynamoDBClient, name: str) -> None:
        self.client = client
        self.name = name

    def _get(self, item_id: str, *, consistent: bool = False) -> dict[str, Any] | None:
        with translate_aws_errors("TenantsTable GetItem"):
            found = self.client.get_item(
                TableName=self.name, Key={"id": {"S": item_id}}, ConsistentRead=consistent
            )
        item = found.get("Item")
        return dict(item) if item else None

    def get_tenant(self, tenant_id: str, *, consistent: bool = False) -> TenantRecord | None:
        item = self._get(tenant_id, consistent=consistent)
        if item is None or item.get("kind", {}).get("S") != "tenant":
            return None
        return TenantRecord.from_item(item)

    def get_key(self, key_id: str, *, consistent: bool = False) -> KeyRecord | None:
        item = self._get(key_id, consistent=consistent)
        if item is None or item.get("kind", {}).get("S") != "key":
            return None
        return KeyRecord.from_item(item)

    def raw_tenant_item(self, tenant_id: str) -> dict[str, Any] | None:
        """The tenant's whole item (budget counters included), strongly consistent."""
        item = self._get(tenant_id, consistent=True)
        return item if item and item.get("kind", {}).get("S") == "tenant" else None

    def touch_key(self, key_id: str, now: datetime, interval_s: int) -> bool:
        """Set ``last_used_at`` unless it was set less than ``interval_s`` ago (one
        conditional write at most per interval); whether it wrote."""
        threshold = iso(now - timedelta(seconds=interval_s))
        try:
            with translate_aws_errors("TenantsTable UpdateItem"):
                self.client.update_item(
                    TableName=self.name,
                    Key={"id": {"S": key_id}},
                    UpdateExpression="SET last_used_at = :now",
                    ConditionExpression="attribute_exists(id) AND "
                    "(attribute_not_exists(last_used_at) OR last_used_at < :threshold)",
                    ExpressionAttributeValues={
                        ":now": {"S": iso(now)},
                        ":threshold": {"S": threshold},
                    },
                )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True


def tenants_table() -> TenantsTable | None:
    """The container's TenantsTable (``None`` when ``TENANTS_TABLE`` is not set)."""
    from agents import aws
    from agents.config import get_settings

    name = get_settings().tenants_table
    return TenantsTable(aws.client("dynamodb"), name) if name else None
