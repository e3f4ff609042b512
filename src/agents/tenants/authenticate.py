"""The authorizer's decision: a presented key -> the tenant it belongs to, or a refusal.

Refusal reasons are for the logs (never the key): ``malformed``, ``unknown-key``,
``wrong-secret``, ``revoked``, ``expired``, ``tenant-disabled``. Callers get one answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from agents.tenants.keys import ParsedKey, parse_key, secret_matches
from agents.tenants.table import TenantsTable

__all__ = ["KeyRejected", "Principal", "authenticate"]

#: Compared against when the key id is unknown, so both paths do the same work.
_DUMMY_HASH = "hmac-sha256:" + "0" * 64


@dataclass(frozen=True)
class Principal:
    """Who a valid key speaks for (the authorizer's ``principalId`` and context)."""

    tenant: str
    key_id: str
    tenant_name: str
    plan: str


class KeyRejected(Exception):
    """The key opens nothing (``reason`` for the logs; the key is never in it)."""

    def __init__(self, reason: str, key_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.key_id = key_id


def authenticate(
    value: str | None,
    *,
    table: TenantsTable,
    pepper: bytes,
    now: datetime | None = None,
    touch_interval_s: int = 300,
) -> Principal:
    """The principal of a valid key; :class:`KeyRejected` otherwise."""
    moment = now or datetime.now(UTC)
    key: ParsedKey | None = parse_key(value.strip() if value else value)
    if key is None:
        raise KeyRejected("malformed")
    record = table.get_key(key.key_id)
    matches = secret_matches(pepper, key, record.key_hash if record else _DUMMY_HASH)
    if record is None:
        raise KeyRejected("unknown-key", key.key_id)
    if not matches:
        raise KeyRejected("wrong-secret", key.key_id)
    if record.status != "active":
        raise KeyRejected("revoked", key.key_id)
    if not record.usable_at(moment):
        raise KeyRejected("expired", key.key_id)
    tenant = table.get_tenant(record.tenant_id)
    if tenant is None or tenant.status != "active":
        raise KeyRejected("tenant-disabled", key.key_id)
    table.touch_key(key.key_id, moment, touch_interval_s)
    return Principal(
        tenant=tenant.tenant_id, key_id=key.key_id, tenant_name=tenant.name, plan=tenant.plan
    )
