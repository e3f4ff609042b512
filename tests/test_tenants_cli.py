"""``agw tenants`` and ``agw keys`` against the TenantsTable in moto (target from the env)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents.tenants.authenticate import KeyRejected, authenticate
from agw.cli import main
from tests.plugins.tenants import TenantStack


def _agw(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    assert main([*argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def test_tenant_and_key_lifecycle_through_the_cli(
    tenant_stack: TenantStack, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGW_DEV_FILE", "/nonexistent/dev.json")
    table, pepper = tenant_stack.table, tenant_stack.pepper
    created = _agw(capsys, "tenants", "create", "acme", "--plan", "pro")
    tenant, first = created["tenant"], created["key"]
    assert authenticate(first, table=table, pepper=pepper).tenant == tenant
    assert [t["tenant"] for t in _agw(capsys, "tenants", "list")] == [tenant]

    rotated = _agw(capsys, "keys", "rotate", "--tenant", tenant, created["key_id"], "--grace", "0")
    with pytest.raises(KeyRejected, match="expired"):
        authenticate(first, table=table, pepper=pepper)
    second = rotated["new"]["key"]
    assert authenticate(second, table=table, pepper=pepper).tenant == tenant

    extra = _agw(capsys, "keys", "create", "--tenant", tenant)
    _agw(capsys, "keys", "revoke", "--tenant", tenant, extra["key_id"])
    with pytest.raises(KeyRejected, match="revoked"):
        authenticate(extra["key"], table=table, pepper=pepper)
    listed = _agw(capsys, "keys", "list", "--tenant", tenant)
    assert len(listed) == 3
    assert all("hash" not in json.dumps(k) and "key" not in k for k in listed)

    budget = _agw(capsys, "tenants", "set-budget", tenant, "--daily", "5", "--monthly", "50")
    assert (budget["budget_daily_usd"], budget["budget_monthly_usd"]) == (5.0, 50.0)
    shown = _agw(capsys, "tenants", "show", tenant)
    assert shown["spent_today_usd"] == 0.0
    assert len(shown["keys"]) == 3
    assert second not in json.dumps(shown)

    assert _agw(capsys, "tenants", "disable", tenant)["status"] == "disabled"
    with pytest.raises(KeyRejected, match="tenant-disabled"):
        authenticate(second, table=table, pepper=pepper)
    assert _agw(capsys, "tenants", "enable", tenant)["status"] == "active"


def test_unknown_tenant_is_a_one_line_error(
    tenant_stack: TenantStack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "list", "--tenant", "tnnope"]) == 1
    assert "no tenant 'tnnope'" in capsys.readouterr().err
