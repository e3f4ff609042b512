"""Tenant keys, the authorizer and budgets, over HTTP to moto (the real TenantsTable shape)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agents.errors import BudgetExceeded, NotFound
from agents.tenants import lifecycle
from agents.tenants.authenticate import KeyRejected, authenticate
from agents.tenants.budget import check_budget, record_spend, seconds_to_reset
from agents.tenants.keys import generate_key, hash_secret, parse_key
from handlers import authorizer
from tests.plugins.tenants import PEPPER, TenantStack

ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/POST/agents/x/invocations"


def _event(key: str | None) -> dict[str, Any]:
    return {
        "type": "REQUEST",
        "methodArn": ARN,
        "headers": {"X-Api-Key": key} if key is not None else {},
    }


# --- the key format ---------------------------------------------------------------------


def test_a_generated_key_parses_back_and_its_secret_has_32_random_bytes() -> None:
    key = generate_key()
    assert key.value.startswith(f"agw_{key.key_id}_")
    assert len(key.secret) >= 43
    assert parse_key(key.value) == key
    assert key.secret not in repr(key)


@pytest.mark.parametrize(
    "value",
    ["", "agw_", "agw__x", "xyz_kaaaaaaaaaaaaaaaa_" + "a" * 43, "agw_kshort_" + "a" * 43,
     "agw_kaaaaaaaaaaaaaaaa_tooshort", "agw_kaaaaaaaaaaaaaaaa_" + "a" * 42 + "!"],
)  # fmt: skip
def test_malformed_keys_do_not_parse(value: str) -> None:
    assert parse_key(value) is None


def test_the_hash_binds_the_key_id_and_depends_on_the_pepper() -> None:
    key = generate_key()
    moved = parse_key(f"agw_{generate_key().key_id}_{key.secret}")
    assert moved is not None
    assert hash_secret(b"p" * 32, key) != hash_secret(b"p" * 32, moved)
    assert hash_secret(b"p" * 32, key) != hash_secret(b"q" * 32, key)


# --- lifecycle and authentication ---------------------------------------------------------


def test_create_stores_only_the_hash_and_the_key_authenticates(tenant_stack: TenantStack) -> None:
    tenant, issued = lifecycle.create_tenant(tenant_stack.table, tenant_stack.pepper, "acme")
    item = tenant_stack.table.client.get_item(
        TableName=tenant_stack.table.name, Key={"id": {"S": issued.record.key_id}}
    )["Item"]
    assert issued.key.secret not in str(item)
    assert item["key_hash"]["S"].startswith("hmac-sha256:")
    principal = authenticate(issued.key.value, table=tenant_stack.table, pepper=tenant_stack.pepper)
    assert (principal.tenant, principal.key_id, principal.tenant_name) == (
        tenant.tenant_id,
        issued.record.key_id,
        "acme",
    )
    assert tenant_stack.table.get_key(issued.record.key_id).last_used_at is not None  # type: ignore[union-attr]


def test_each_kind_of_bad_key_is_refused_with_its_reason(tenant_stack: TenantStack) -> None:
    table, pepper = tenant_stack.table, tenant_stack.pepper
    _, issued = lifecycle.create_tenant(table, pepper, "acme")
    wrong = f"agw_{issued.record.key_id}_{generate_key().secret}"
    unknown = generate_key().value
    for value, reason in (("nope", "malformed"), (None, "malformed"), (unknown, "unknown-key"),
                          (wrong, "wrong-secret")):  # fmt: skip
        with pytest.raises(KeyRejected) as refused:
            authenticate(value, table=table, pepper=pepper)
        assert refused.value.reason == reason
    with pytest.raises(KeyRejected, match="wrong-secret"):
        authenticate(issued.key.value, table=table, pepper=b"another-pepper-0123456789")


def test_revoke_disable_and_rotate(tenant_stack: TenantStack) -> None:
    table, pepper = tenant_stack.table, tenant_stack.pepper
    tenant, first = lifecycle.create_tenant(table, pepper, "acme")
    second = lifecycle.create_key(table, pepper, tenant.tenant_id)
    lifecycle.revoke_key(table, tenant.tenant_id, first.record.key_id)
    with pytest.raises(KeyRejected, match="revoked"):
        authenticate(first.key.value, table=table, pepper=pepper)
    authenticate(second.key.value, table=table, pepper=pepper)

    new, old = lifecycle.rotate_key(
        table, pepper, tenant.tenant_id, second.record.key_id, grace_s=60
    )
    assert old.expires_at is not None
    now = datetime.now(UTC)
    authenticate(second.key.value, table=table, pepper=pepper, now=now)  # within the grace
    with pytest.raises(KeyRejected, match="expired"):
        authenticate(second.key.value, table=table, pepper=pepper, now=now + timedelta(minutes=2))
    authenticate(new.key.value, table=table, pepper=pepper, now=now + timedelta(minutes=2))
    keys = {k.key_id: k.status for k in lifecycle.list_keys(table, tenant.tenant_id)}
    assert keys == {first.record.key_id: "revoked", second.record.key_id: "active",
                    new.record.key_id: "active"}  # fmt: skip

    lifecycle.set_tenant_status(table, tenant.tenant_id, "disabled")
    with pytest.raises(KeyRejected, match="tenant-disabled"):
        authenticate(new.key.value, table=table, pepper=pepper)
    lifecycle.set_tenant_status(table, tenant.tenant_id, "active")
    authenticate(new.key.value, table=table, pepper=pepper)
    assert [t.tenant_id for t in lifecycle.list_tenants(table)] == [tenant.tenant_id]
    with pytest.raises(NotFound):
        lifecycle.revoke_key(table, "tn-other", new.record.key_id)


def test_last_used_is_written_at_most_once_per_interval(tenant_stack: TenantStack) -> None:
    table = tenant_stack.table
    _, issued = lifecycle.create_tenant(table, tenant_stack.pepper, "acme")
    now = datetime.now(UTC)
    assert table.touch_key(issued.record.key_id, now, 300)
    assert not table.touch_key(issued.record.key_id, now + timedelta(seconds=10), 300)
    assert table.touch_key(issued.record.key_id, now + timedelta(seconds=301), 300)


# --- the authorizer handler -------------------------------------------------------------------


def test_the_authorizer_allows_a_valid_key_for_the_whole_stage(
    tenant_stack: TenantStack, caplog: pytest.LogCaptureFixture
) -> None:
    tenant, issued = lifecycle.create_tenant(
        tenant_stack.table, tenant_stack.pepper, "acme", plan="pro"
    )
    with caplog.at_level(logging.INFO):
        answer = authorizer.handler(_event(issued.key.value), None)
    assert answer["principalId"] == tenant.tenant_id
    assert answer["usageIdentifierKey"] == tenant.tenant_id
    assert answer["context"] == {"keyId": issued.record.key_id, "tenantName": "acme", "plan": "pro"}
    (statement,) = answer["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/*/*"
    assert issued.key.secret not in caplog.text
    assert PEPPER not in caplog.text


def test_the_authorizer_refuses_bad_keys_and_denies_disabled_tenants(
    tenant_stack: TenantStack, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant, issued = lifecycle.create_tenant(tenant_stack.table, tenant_stack.pepper, "acme")
    wrong = f"agw_{issued.record.key_id}_{generate_key().secret}"
    for value in (None, "garbage", generate_key().value, wrong):
        with pytest.raises(Exception, match=r"^Unauthorized$"):
            authorizer.handler(_event(value), None)
    lifecycle.set_tenant_status(tenant_stack.table, tenant.tenant_id, "disabled")
    answer = authorizer.handler(_event(issued.key.value), None)
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    logs = capsys.readouterr()
    for secret in (issued.key.secret, wrong.rsplit("_", 1)[1], issued.record.key_hash, PEPPER):
        assert secret not in logs.out + logs.err


# --- budgets ------------------------------------------------------------------------------------


def test_no_cap_no_record_no_table_are_no_ops(tenant_stack: TenantStack) -> None:
    tenant, _ = lifecycle.create_tenant(tenant_stack.table, tenant_stack.pepper, "acme")
    record_spend(tenant.tenant_id, 100.0)
    check_budget(tenant.tenant_id)  # no cap
    record_spend("unknown-tenant", 1.0)  # creates nothing
    check_budget("unknown-tenant")
    assert tenant_stack.table.get_tenant("unknown-tenant", consistent=True) is None


def test_a_tenant_over_its_daily_cap_is_refused_until_the_reset(tenant_stack: TenantStack) -> None:
    table = tenant_stack.table
    tenant, _ = lifecycle.create_tenant(table, tenant_stack.pepper, "acme")
    lifecycle.set_budget(table, tenant.tenant_id, daily=1.0, monthly=None)
    now = datetime(2026, 3, 31, 23, 59, 0, tzinfo=UTC)
    record_spend(tenant.tenant_id, 0.6, now=now)
    check_budget(tenant.tenant_id, now=now)
    record_spend(tenant.tenant_id, 0.4, now=now)
    with pytest.raises(BudgetExceeded) as exceeded:
        check_budget(tenant.tenant_id, now=now)
    assert exceeded.value.status == 429
    assert exceeded.value.extra["retry_after_s"] == 60
    assert exceeded.value.extra["window"] == "daily"
    tomorrow = now + timedelta(minutes=2)
    check_budget(tenant.tenant_id, now=tomorrow)  # a new day (and month)
    record_spend(tenant.tenant_id, 0.1, now=tomorrow)
    item = table.raw_tenant_item(tenant.tenant_id)
    assert item is not None
    assert "spend_d_20260331" not in item  # the previous window's counter is removed
    assert "spend_m_202603" not in item


def test_the_monthly_cap_counts_every_day_of_the_month(tenant_stack: TenantStack) -> None:
    table = tenant_stack.table
    tenant, _ = lifecycle.create_tenant(table, tenant_stack.pepper, "acme")
    lifecycle.set_budget(table, tenant.tenant_id, daily=None, monthly=2.0)
    day = datetime(2026, 2, 10, 12, tzinfo=UTC)
    for offset in range(4):
        record_spend(tenant.tenant_id, 0.5, now=day + timedelta(days=offset))
    with pytest.raises(BudgetExceeded) as exceeded:
        check_budget(tenant.tenant_id, now=day + timedelta(days=3))
    assert exceeded.value.extra["window"] == "monthly"
    assert exceeded.value.extra["retry_after_s"] == seconds_to_reset(
        "monthly", day + timedelta(days=3)
    )
    lifecycle.set_budget(table, tenant.tenant_id, daily=None, monthly=None)
    check_budget(tenant.tenant_id, now=day + timedelta(days=3))


def test_concurrent_spend_is_counted_exactly(tenant_stack: TenantStack) -> None:
    from concurrent.futures import ThreadPoolExecutor

    table = tenant_stack.table
    tenant, _ = lifecycle.create_tenant(table, tenant_stack.pepper, "acme")
    now = datetime.now(UTC)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: record_spend(tenant.tenant_id, 0.25, now=now), range(40)))
    item = table.raw_tenant_item(tenant.tenant_id)
    assert item is not None
    assert float(item["spend_d_" + now.strftime("%Y%m%d")]["N"]) == pytest.approx(10.0)
