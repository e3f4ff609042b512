"""Tenant and key records as the TenantsTable stores them (one item each, ``id`` keyed).

A tenant item: ``id`` (``tn…``), ``kind`` ``tenant``, name, plan, status, created_at, budget
caps and the spend counters (:mod:`agents.tenants.budget`). A key item: ``id`` (the key id),
``kind`` ``key``, tenant, ``key_hash``, status, created_at, last_used_at, expires_at. Keys
are listed per tenant through the ``by-tenant`` index (tenant, created_at).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = ["KeyRecord", "TenantRecord", "iso", "number_attribute", "parse_iso"]

Status = Literal["active", "disabled"]
KeyStatus = Literal["active", "revoked"]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _string_attribute(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return str(value["S"]) if isinstance(value, dict) and "S" in value else None


def number_attribute(item: dict[str, Any], name: str) -> float | None:
    """The number in a DynamoDB item's attribute ``name`` (None when absent or not a number)."""
    value = item.get(name)
    return float(value["N"]) if isinstance(value, dict) and "N" in value else None


@dataclass(frozen=True)
class TenantRecord:
    tenant_id: str
    name: str
    plan: str
    status: Status
    created_at: str
    budget_daily_usd: float | None = None
    budget_monthly_usd: float | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> TenantRecord:
        status = _string_attribute(item, "status")
        return cls(
            tenant_id=_string_attribute(item, "id") or "",
            name=_string_attribute(item, "name") or "",
            plan=_string_attribute(item, "plan") or "",
            status="active" if status == "active" else "disabled",
            created_at=_string_attribute(item, "created_at") or "",
            budget_daily_usd=number_attribute(item, "budget_daily_usd"),
            budget_monthly_usd=number_attribute(item, "budget_monthly_usd"),
        )

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": {"S": self.tenant_id},
            "kind": {"S": "tenant"},
            "name": {"S": self.name},
            "plan": {"S": self.plan},
            "status": {"S": self.status},
            "created_at": {"S": self.created_at},
        }
        for name in ("budget_daily_usd", "budget_monthly_usd"):
            value = getattr(self, name)
            if value is not None:
                item[name] = {"N": repr(float(value))}
        return item

    def public(self) -> dict[str, Any]:
        """What ``agw tenants show`` prints (no spend internals)."""
        return {
            "tenant": self.tenant_id,
            "name": self.name,
            "plan": self.plan,
            "status": self.status,
            "created_at": self.created_at,
            "budget_daily_usd": self.budget_daily_usd,
            "budget_monthly_usd": self.budget_monthly_usd,
        }


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    tenant_id: str
    key_hash: str
    status: KeyStatus
    created_at: str
    last_used_at: str | None = None
    expires_at: str | None = None

    def __repr__(self) -> str:
        return f"KeyRecord(key_id={self.key_id!r}, tenant={self.tenant_id!r}, {self.status})"

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> KeyRecord:
        return cls(
            key_id=_string_attribute(item, "id") or "",
            tenant_id=_string_attribute(item, "tenant") or "",
            key_hash=_string_attribute(item, "key_hash") or "",
            status="active" if _string_attribute(item, "status") == "active" else "revoked",
            created_at=_string_attribute(item, "created_at") or "",
            last_used_at=_string_attribute(item, "last_used_at"),
            expires_at=_string_attribute(item, "expires_at"),
        )

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": {"S": self.key_id},
            "kind": {"S": "key"},
            "tenant": {"S": self.tenant_id},
            "key_hash": {"S": self.key_hash},
            "status": {"S": self.status},
            "created_at": {"S": self.created_at},
        }
        if self.expires_at:
            item["expires_at"] = {"S": self.expires_at}
        return item

    def usable_at(self, moment: datetime) -> bool:
        """Active and not past its expiry."""
        if self.status != "active":
            return False
        return self.expires_at is None or parse_iso(self.expires_at) > moment

    def public(self) -> dict[str, Any]:
        """What ``agw keys list`` prints: never the hash."""
        return {
            "key_id": self.key_id,
            "tenant": self.tenant_id,
            "status": self.status,
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
            "expires_at": self.expires_at,
        }
