"""The operator's tenant and key commands (``agw tenants``, ``agw keys``), on a TenantsTable.

Run with the operator's credentials, never by a function. A key's plaintext exists only in
the return value of :func:`create_tenant`, :func:`create_key` and :func:`rotate_key`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from agents.errors import BadRequest, NotFound
from agents.tenants.keys import ParsedKey, generate_key, hash_secret, new_tenant_id
from agents.tenants.records import KeyRecord, TenantRecord, iso
from agents.tenants.table import TenantsTable

__all__ = [
    "DEFAULT_GRACE_S",
    "IssuedKey",
    "create_key",
    "create_tenant",
    "list_keys",
    "list_tenants",
    "require_tenant",
    "revoke_key",
    "rotate_key",
    "set_budget",
    "set_tenant_status",
]

#: How long a rotated key keeps working (24 h).
DEFAULT_GRACE_S = 86_400


@dataclass(frozen=True)
class IssuedKey:
    """A key just created: its record and its value (shown once)."""

    record: KeyRecord
    key: ParsedKey

    def __repr__(self) -> str:
        return f"IssuedKey(key_id={self.record.key_id!r}, key=<hidden>)"


def _now() -> datetime:
    return datetime.now(UTC)


def require_tenant(table: TenantsTable, tenant_id: str) -> TenantRecord:
    found = table.get_tenant(tenant_id, consistent=True)
    if found is None:
        raise NotFound(f"no tenant {tenant_id!r}")
    return found


def _put_new(table: TenantsTable, item: dict[str, Any], what: str) -> None:
    """Write ``item`` unless its id exists (then ``BadRequest``: "<what> exists already")."""
    try:
        table.client.put_item(
            TableName=table.name, Item=item, ConditionExpression="attribute_not_exists(id)"
        )
    except table.client.exceptions.ConditionalCheckFailedException:
        raise BadRequest(f"{what} exists already") from None


def create_key(
    table: TenantsTable,
    pepper: bytes,
    tenant_id: str,
    *,
    expires_at: datetime | None = None,
    key: ParsedKey | None = None,
) -> IssuedKey:
    """A new active key for ``tenant_id`` (``key``: a given value, e.g. ``agw dev --api-key``)."""
    require_tenant(table, tenant_id)
    key = key or generate_key()
    record = KeyRecord(
        key_id=key.key_id,
        tenant_id=tenant_id,
        key_hash=hash_secret(pepper, key),
        status="active",
        created_at=iso(_now()),
        expires_at=iso(expires_at) if expires_at else None,
    )
    _put_new(table, record.to_item(), f"key id {key.key_id}")
    return IssuedKey(record, key)


def create_tenant(
    table: TenantsTable,
    pepper: bytes,
    name: str,
    *,
    plan: str = "default",
    tenant_id: str | None = None,
    key: ParsedKey | None = None,
) -> tuple[TenantRecord, IssuedKey]:
    """A new active tenant and its first key."""
    if not name.strip():
        raise BadRequest("a tenant needs a name")
    record = TenantRecord(
        tenant_id=tenant_id or new_tenant_id(),
        name=name.strip(),
        plan=plan,
        status="active",
        created_at=iso(_now()),
    )
    _put_new(table, record.to_item(), f"tenant {record.tenant_id}")
    return record, create_key(table, pepper, record.tenant_id, key=key)


def list_tenants(table: TenantsTable) -> list[TenantRecord]:
    items: list[dict[str, Any]] = []
    for page in table.client.get_paginator("scan").paginate(
        TableName=table.name,
        FilterExpression="#kind = :tenant",
        ExpressionAttributeNames={"#kind": "kind"},
        ExpressionAttributeValues={":tenant": {"S": "tenant"}},
    ):
        items.extend(page.get("Items", []))
    return sorted((TenantRecord.from_item(i) for i in items), key=lambda t: t.created_at)


def _update(table: TenantsTable, item_id: str, expression: str, **values: Any) -> None:
    names = {f"#{name}": name for name in values}
    given = {f":{name}": value for name, value in values.items() if value is not None}
    request: dict[str, Any] = {
        "TableName": table.name,
        "Key": {"id": {"S": item_id}},
        "UpdateExpression": expression,
        "ConditionExpression": "attribute_exists(id)",
        "ExpressionAttributeNames": names,
    }
    if given:
        request["ExpressionAttributeValues"] = given
    table.client.update_item(**request)


def set_tenant_status(table: TenantsTable, tenant_id: str, status: str) -> TenantRecord:
    """``active`` or ``disabled`` (a disabled tenant's keys stop within the cache TTL)."""
    require_tenant(table, tenant_id)
    _update(table, tenant_id, "SET #status = :status", status={"S": status})
    return require_tenant(table, tenant_id)


def set_budget(
    table: TenantsTable, tenant_id: str, *, daily: float | None, monthly: float | None
) -> TenantRecord:
    """Set (a number) or clear (``None``) the daily and monthly caps in USD."""
    require_tenant(table, tenant_id)
    for name, value in (("budget_daily_usd", daily), ("budget_monthly_usd", monthly)):
        if value is not None and value < 0:
            raise BadRequest(f"{name} must be >= 0")
        if value is None:
            _update(table, tenant_id, f"REMOVE #{name}", **{name: None})
        else:
            _update(table, tenant_id, f"SET #{name} = :{name}", **{name: {"N": repr(value)}})
    return require_tenant(table, tenant_id)


def list_keys(table: TenantsTable, tenant_id: str) -> list[KeyRecord]:
    require_tenant(table, tenant_id)
    items: list[dict[str, Any]] = []
    for page in table.client.get_paginator("query").paginate(
        TableName=table.name,
        IndexName="by-tenant",
        KeyConditionExpression="tenant = :tenant",
        ExpressionAttributeValues={":tenant": {"S": tenant_id}},
    ):
        items.extend(page.get("Items", []))
    return [KeyRecord.from_item(i) for i in items if i.get("kind", {}).get("S") == "key"]


def _tenant_key(table: TenantsTable, tenant_id: str, key_id: str) -> KeyRecord:
    found = table.get_key(key_id, consistent=True)
    if found is None or found.tenant_id != tenant_id:
        raise NotFound(f"tenant {tenant_id!r} has no key {key_id!r}")
    return found


def revoke_key(table: TenantsTable, tenant_id: str, key_id: str) -> KeyRecord:
    """Revoke now (it stops working once the authorizer cache TTL has passed)."""
    _tenant_key(table, tenant_id, key_id)
    _update(table, key_id, "SET #status = :status", status={"S": "revoked"})
    return _tenant_key(table, tenant_id, key_id)


def rotate_key(
    table: TenantsTable,
    pepper: bytes,
    tenant_id: str,
    key_id: str,
    *,
    grace_s: int = DEFAULT_GRACE_S,
) -> tuple[IssuedKey, KeyRecord]:
    """A new key; the old one expires ``grace_s`` from now (never later than it would)."""
    old = _tenant_key(table, tenant_id, key_id)
    if old.status != "active":
        raise BadRequest(f"key {key_id} is revoked; create a new key instead")
    issued = create_key(table, pepper, tenant_id)
    expiry = _now() + timedelta(seconds=max(0, grace_s))
    if old.expires_at is None or old.expires_at > iso(expiry):
        _update(table, key_id, "SET #expires_at = :expires_at", expires_at={"S": iso(expiry)})
    return issued, _tenant_key(table, tenant_id, key_id)
