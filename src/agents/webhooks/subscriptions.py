"""Tenant webhook subscriptions, stored in the TenantsTable (decision 16.51).

One item per subscription: ``id`` (``whsub_…``), ``kind`` ``webhook-subscription``,
``tenant``, ``created_at`` (so the ``by-tenant`` index lists a tenant's subscriptions next
to its keys), ``url``, ``events`` (a list of event types), ``status`` ``active`` |
``disabled``, and when disabled ``disabled_reason`` / ``disabled_at``. The operator adds
and removes them (``agw webhooks``); the WebhookFunction reads a tenant's through the
index and disables one whose receiver answered 410 Gone.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Literal

from agents.awserrors import translate_aws_errors
from agents.errors import BadRequest, NotFound
from agents.webhooks.destinations import check_url
from agents.webhooks.messages import EVENT_TYPES

if TYPE_CHECKING:
    from agents.tenants.table import TenantsTable

__all__ = [
    "KIND",
    "MAX_SUBSCRIPTIONS",
    "Subscription",
    "add_subscription",
    "disable_subscription",
    "get_subscription",
    "list_subscriptions",
    "remove_subscription",
]

KIND: Final = "webhook-subscription"
#: Subscriptions one tenant may have (each event fans out to all of them).
MAX_SUBSCRIPTIONS: Final = 20
_MAX_TENANT_CHARS: Final = 256


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Subscription:
    subscription_id: str
    tenant: str
    url: str
    events: tuple[str, ...]
    status: Literal["active", "disabled"] = "active"
    created_at: str = ""
    disabled_reason: str | None = None
    disabled_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def wants(self, event_type: str) -> bool:
        return self.status == "active" and event_type in self.events

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Subscription:
        def s(name: str) -> str | None:
            value = item.get(name)
            return str(value["S"]) if isinstance(value, dict) and "S" in value else None

        events = tuple(str(e["S"]) for e in item.get("events", {}).get("L", []) if "S" in e)
        return cls(
            subscription_id=s("id") or "",
            tenant=s("tenant") or "",
            url=s("url") or "",
            events=events,
            status="active" if s("status") == "active" else "disabled",
            created_at=s("created_at") or "",
            disabled_reason=s("disabled_reason"),
            disabled_at=s("disabled_at"),
        )

    def to_item(self) -> dict[str, Any]:
        return {
            "id": {"S": self.subscription_id},
            "kind": {"S": KIND},
            "tenant": {"S": self.tenant},
            "url": {"S": self.url},
            "events": {"L": [{"S": e} for e in self.events]},
            "status": {"S": self.status},
            "created_at": {"S": self.created_at},
        }

    def public(self) -> dict[str, Any]:
        """What ``agw webhooks list`` prints."""
        return {
            "subscription_id": self.subscription_id,
            "tenant": self.tenant,
            "url": self.url,
            "events": list(self.events),
            "status": self.status,
            "created_at": self.created_at,
            "disabled_reason": self.disabled_reason,
            "disabled_at": self.disabled_at,
        }


def _check_events(events: list[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(events)) or EVENT_TYPES
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown:
        raise BadRequest(f"unknown event types {unknown}; known: {', '.join(EVENT_TYPES)}")
    return chosen


def list_subscriptions(table: TenantsTable, tenant: str) -> list[Subscription]:
    """The tenant's subscriptions (active and disabled), oldest first."""
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "TableName": table.name,
        "IndexName": "by-tenant",
        "KeyConditionExpression": "tenant = :tenant",
        "FilterExpression": "#kind = :kind",
        "ExpressionAttributeNames": {"#kind": "kind"},
        "ExpressionAttributeValues": {":tenant": {"S": tenant}, ":kind": {"S": KIND}},
    }
    for _ in range(20):  # a tenant's keys and subscriptions: a few pages at most
        with translate_aws_errors("TenantsTable Query"):
            page = table.client.query(**request)
        items.extend(page.get("Items", []))
        if not page.get("LastEvaluatedKey"):
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return [Subscription.from_item(i) for i in items]


def get_subscription(table: TenantsTable, subscription_id: str) -> Subscription | None:
    """One subscription by id (strongly consistent), None when there is none."""
    with translate_aws_errors("TenantsTable GetItem"):
        found = table.client.get_item(
            TableName=table.name, Key={"id": {"S": subscription_id}}, ConsistentRead=True
        )
    item = found.get("Item")
    if not item or item.get("kind", {}).get("S") != KIND:
        return None
    return Subscription.from_item(dict(item))


def add_subscription(
    table: TenantsTable,
    tenant: str,
    url: str,
    events: list[str],
    *,
    allow_local: bool = False,
    now: datetime | None = None,
) -> Subscription:
    """A new active subscription (the URL is checked like a request's ``webhook.url``)."""
    if not tenant or len(tenant) > _MAX_TENANT_CHARS:
        raise BadRequest(f"a tenant id is 1 to {_MAX_TENANT_CHARS} characters")
    check_url(url, allow_local=allow_local)
    chosen = _check_events(events)
    if len(list_subscriptions(table, tenant)) >= MAX_SUBSCRIPTIONS:
        raise BadRequest(f"tenant {tenant!r} has {MAX_SUBSCRIPTIONS} subscriptions already")
    subscription = Subscription(
        subscription_id="whsub_" + secrets.token_hex(10),
        tenant=tenant,
        url=url,
        events=chosen,
        created_at=_iso(now or datetime.now(UTC)),
    )
    with translate_aws_errors("TenantsTable PutItem"):
        table.client.put_item(
            TableName=table.name,
            Item=subscription.to_item(),
            ConditionExpression="attribute_not_exists(id)",
        )
    return subscription


def remove_subscription(table: TenantsTable, tenant: str, subscription_id: str) -> None:
    """Delete one of the tenant's subscriptions (``NotFound`` if it is not the tenant's)."""
    try:
        with translate_aws_errors("TenantsTable DeleteItem"):
            table.client.delete_item(
                TableName=table.name,
                Key={"id": {"S": subscription_id}},
                ConditionExpression="#kind = :kind AND tenant = :tenant",
                ExpressionAttributeNames={"#kind": "kind"},
                ExpressionAttributeValues={":kind": {"S": KIND}, ":tenant": {"S": tenant}},
            )
    except table.client.exceptions.ConditionalCheckFailedException:
        raise NotFound(f"tenant {tenant!r} has no subscription {subscription_id!r}") from None


def disable_subscription(
    table: TenantsTable, subscription_id: str, reason: str, *, now: datetime | None = None
) -> bool:
    """Mark an active subscription disabled (410 Gone); whether this call did it."""
    try:
        with translate_aws_errors("TenantsTable UpdateItem"):
            table.client.update_item(
                TableName=table.name,
                Key={"id": {"S": subscription_id}},
                UpdateExpression="SET #status = :disabled, disabled_reason = :reason, "
                "disabled_at = :at",
                ConditionExpression="#kind = :kind AND #status = :active",
                ExpressionAttributeNames={"#kind": "kind", "#status": "status"},
                ExpressionAttributeValues={
                    ":kind": {"S": KIND},
                    ":active": {"S": "active"},
                    ":disabled": {"S": "disabled"},
                    ":reason": {"S": reason[:200]},
                    ":at": {"S": _iso(now or datetime.now(UTC))},
                },
            )
    except table.client.exceptions.ConditionalCheckFailedException:
        return False
    return True
