"""Per-tenant spend caps: ``check_budget`` before model calls, ``record_spend`` after each turn.

Caps (USD, optional) are ``budget_daily_usd`` / ``budget_monthly_usd`` on the tenant's
record (``agw tenants set-budget``). Spend is counted per UTC day and month in attributes
named after the window (``spend_d_20250131``, ``spend_m_202501``): one atomic UpdateItem
``ADD`` per call, which also removes the previous window's counters and answers the item as
it left it (:class:`TenantItem`), so the next check of a run needs no read (decision 15.76).
No TenantsTable, no tenant record or no cap: both are no-ops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from agents.errors import BudgetExceeded
from agents.tenants.records import number_attribute
from agents.tenants.table import TenantsTable, tenants_table

__all__ = [
    "BudgetExceeded",
    "TenantItem",
    "check_budget",
    "record_spend",
    "seconds_to_reset",
    "spend_of",
]


@dataclass(frozen=True)
class TenantItem:
    """The tenant's item as one strongly consistent read or atomic update saw it (``item``
    None: there is no tenant record)."""

    item: dict[str, Any] | None


def _day(moment: datetime) -> str:
    return "spend_d_" + moment.strftime("%Y%m%d")


def _month(moment: datetime) -> str:
    return "spend_m_" + moment.strftime("%Y%m")


def _next_month(moment: datetime) -> datetime:
    first = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first + timedelta(days=32)).replace(day=1)


def seconds_to_reset(window: str, moment: datetime) -> int:
    """Whole seconds (at least 1) until the ``daily`` or ``monthly`` window resets."""
    if window == "daily":
        reset = moment.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    else:
        reset = _next_month(moment)
    return max(1, int((reset - moment).total_seconds() + 0.999))


def spend_of(item: dict[str, Any], moment: datetime) -> tuple[float, float]:
    """(today's, this month's) spend in USD on a tenant item."""
    return (
        number_attribute(item, _day(moment)) or 0.0,
        number_attribute(item, _month(moment)) or 0.0,
    )


def check_budget(
    tenant: str,
    *,
    table: TenantsTable | None = None,
    now: datetime | None = None,
    known: TenantItem | None = None,
) -> None:
    """Raise :class:`BudgetExceeded` when the tenant's daily or monthly cap is reached.

    ``known``: the item as the run's last :func:`record_spend` left it, checked instead of
    reading the item again (None: read it)."""
    table = table or tenants_table()
    if table is None:
        return
    item = known.item if known is not None else table.raw_tenant_item(tenant)
    if item is None:
        return
    daily, monthly = (
        number_attribute(item, "budget_daily_usd"),
        number_attribute(item, "budget_monthly_usd"),
    )
    if daily is None and monthly is None:
        return
    moment = now or datetime.now(UTC)
    spent_day, spent_month = spend_of(item, moment)
    for window, cap, spent in (("monthly", monthly, spent_month), ("daily", daily, spent_day)):
        if cap is not None and spent >= cap:
            retry = seconds_to_reset(window, moment)
            raise BudgetExceeded(
                f"the tenant's {window} budget of {cap:.2f} USD is used up "
                f"({spent:.4f} USD spent); it resets in {retry} s",
                window=window,
                budget_usd=cap,
                spent_usd=round(spent, 6),
                retry_after_s=retry,
            )


def record_spend(
    tenant: str, usd: float, *, table: TenantsTable | None = None, now: datetime | None = None
) -> TenantItem | None:
    """Add ``usd`` to the tenant's day and month counters (one atomic UpdateItem); the item
    as the update left it (None: nothing was written, nothing is known)."""
    table = table or tenants_table()
    if table is None or usd <= 0:
        return None
    moment = now or datetime.now(UTC)
    yesterday, last_month = moment - timedelta(days=1), moment.replace(day=1) - timedelta(days=1)
    names = {
        "#d": _day(moment),
        "#m": _month(moment),
        "#pd": _day(yesterday),
        "#pm": _month(last_month),
        "#kind": "kind",
    }
    from agents.awserrors import translate_aws_errors

    client = table.client
    try:
        with translate_aws_errors("TenantsTable UpdateItem"):
            updated = client.update_item(
                TableName=table.name,
                Key={"id": {"S": tenant}},
                UpdateExpression="ADD #d :usd, #m :usd REMOVE #pd, #pm",
                ConditionExpression="attribute_exists(id) AND #kind = :tenant",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={
                    ":usd": {"N": format(usd, ".8f")},
                    ":tenant": {"S": "tenant"},
                },
                ReturnValues="ALL_NEW",
            )
    except client.exceptions.ConditionalCheckFailedException:
        # No tenant record (API_KEY or IAM mode): nothing to count against, as a read now
        # would find.
        return TenantItem(None)
    return TenantItem(dict(updated["Attributes"]))
