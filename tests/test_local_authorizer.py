"""KEYS mode locally: the API shim runs template.yaml's authorizer function as API Gateway does.

Real HTTP in, the real authorizer (TenantsTable and pepper in moto), the real API handler.
A wrong or missing key is answered by the gateway and never reaches the API function.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from agents import aws
from agents.tenants import lifecycle
from agents.tenants.keys import generate_key
from agents.tenants.table import TenantsTable
from local.stack import LocalStack

KEY_A = generate_key().value
KEY_B = generate_key().value
TTL_S = 1


@pytest.fixture(scope="module")
def keys_stack() -> Iterator[LocalStack]:
    stack = LocalStack(
        definitions=(),
        model=False,
        api_keys=[KEY_A, KEY_B],
        api_port=0,
        parameter_overrides={"AuthorizerCacheTtlSeconds": str(TTL_S)},
    )
    with stack:
        yield stack


def _client(stack: LocalStack, key: str | None) -> httpx.Client:
    headers = {"x-api-key": key} if key is not None else {}
    assert stack.api_url is not None
    return httpx.Client(base_url=stack.api_url, headers=headers, timeout=20)


def _api_calls(caplog: pytest.LogCaptureFixture) -> int:
    return sum(1 for r in caplog.records if "GET /invocations" in r.getMessage())


def test_each_key_is_its_own_tenant_and_reaches_the_api(keys_stack: LocalStack) -> None:
    assert keys_stack.env["AUTH_MODE"] == "KEYS"
    tenants = keys_stack.tenants
    assert set(tenants) == {KEY_A, KEY_B}
    assert len(set(tenants.values())) == 2
    with _client(keys_stack, KEY_A) as a:
        answer = a.get("/invocations")
    assert answer.status_code == 200, answer.text
    assert answer.json()["items"] == []


@pytest.mark.parametrize(
    "key",
    [None, "", "not-a-key", generate_key().value, KEY_A[:-5] + "xxxxx"],
    ids=["missing", "empty", "malformed", "unknown-id", "wrong-secret"],
)
def test_bad_keys_get_the_gateways_401_and_never_reach_the_api_function(
    keys_stack: LocalStack, key: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert keys_stack.api is not None
    reached: list[str] = []
    real = keys_stack.api.handler_for("ApiFunction")

    def spy(event: dict[str, Any], context: Any) -> Any:
        reached.append(event["path"])
        return real(event, context)

    monkeypatch.setitem(keys_stack.api._handlers, "ApiFunction", spy)
    with _client(keys_stack, key) as client:
        answer = client.get("/invocations")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "/problems/unauthorized"
    assert answer.headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert reached == []
    if key:
        assert key not in answer.text


def test_a_revoked_key_is_refused_once_the_cache_ttl_has_passed(keys_stack: LocalStack) -> None:
    table = TenantsTable(aws.client("dynamodb"), keys_stack.env["TENANTS_TABLE"])
    secret = aws.client("secretsmanager").get_secret_value(
        SecretId=keys_stack.env["TENANT_KEY_PEPPER_SECRET"]
    )
    pepper = str(secret["SecretString"]).encode()
    tenant = keys_stack.tenants[KEY_B]
    issued = lifecycle.create_key(table, pepper, tenant)
    assert keys_stack.api is not None
    assert keys_stack.api.gate is not None
    with _client(keys_stack, issued.key.value) as client:
        assert client.get("/invocations").status_code == 200
        calls = keys_stack.api.gate.calls
        assert client.get("/invocations").status_code == 200
        assert keys_stack.api.gate.calls == calls  # the cached policy
        lifecycle.revoke_key(table, tenant, issued.record.key_id)
        time.sleep(TTL_S + 0.2)
        refused = client.get("/invocations")
    assert refused.status_code == 401
    assert keys_stack.api.gate.calls == calls + 1


def test_a_disabled_tenant_gets_403_access_denied(keys_stack: LocalStack) -> None:
    table = TenantsTable(aws.client("dynamodb"), keys_stack.env["TENANTS_TABLE"])
    tenant = keys_stack.tenants[KEY_B]
    lifecycle.set_tenant_status(table, tenant, "disabled")
    try:
        time.sleep(TTL_S + 0.2)
        with _client(keys_stack, KEY_B) as client:
            answer = client.get("/invocations")
        assert answer.status_code == 403
        assert answer.json()["type"] == "/problems/unauthorized"
    finally:
        lifecycle.set_tenant_status(table, tenant, "active")
        time.sleep(TTL_S + 0.2)  # let the cached Deny expire for the next test


def test_forged_identity_headers_change_nothing(keys_stack: LocalStack) -> None:
    tenant_b = keys_stack.tenants[KEY_B]
    forged = {
        "x-tenant": tenant_b,
        "x-amzn-principal-id": tenant_b,
        "x-amzn-apigateway-api-id": "other",
        "x-amz-user-arn": "arn:aws:iam::123456789012:user/admin",
    }
    with _client(keys_stack, KEY_A) as a, _client(keys_stack, KEY_B) as b:
        mine = a.post("/agents/none/invocations", json={"input": "x"}, headers=forged)
        assert mine.status_code in {404, 422}, mine.text  # no such agent: nothing created
        listing = a.get("/invocations", headers=forged).json()["items"]
        assert listing == b.get("/invocations").json()["items"] == []


def test_no_key_or_hash_in_the_logs(
    keys_stack: LocalStack, caplog: pytest.LogCaptureFixture
) -> None:
    # INFO: the functions' log level (botocore's DEBUG wire logs are never on in AWS).
    with caplog.at_level(logging.INFO), _client(keys_stack, KEY_A) as a:
        time.sleep(TTL_S + 0.2)
        assert a.get("/invocations").status_code == 200
    secret = KEY_A.rsplit("_", 1)[1]
    assert secret not in caplog.text
    assert "hmac-sha256:" not in caplog.text
