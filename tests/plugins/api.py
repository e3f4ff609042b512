"""The API handler's fixtures: the idempotency table in moto, the whole API stack, and a
client that sends API Gateway REST (v1) proxy events to ``handlers.api.handler``.

``api_stack`` = ``invocation_tables`` + ``agents_bucket`` + ``fake_model`` + the idempotency
table (``IDEMPOTENCY_TABLE``), with every container singleton reset. ``api`` is an
:class:`ApiClient` for tenant ``TENANT_A``.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest

from agents import aws, container
from local.aws_resources import create_table
from local.lambda_context import LambdaContext
from local.template import TableSpec
from tests.plugins.model import FakeModel
from tests.plugins.stack import InvocationStack

TENANT_A = "k7r2m9x4qa"
TENANT_B = "p3n8w1z6tb"
IDEMPOTENCY_TABLE = "agw-idempotency"


def reset_api_state() -> None:

    container.reset()


@dataclass(frozen=True)
class ApiStack:
    stack: InvocationStack
    agents_bucket: str
    model: FakeModel
    idempotency_table: str


@pytest.fixture
def api_stack(
    invocation_tables: InvocationStack,
    agents_bucket: str,
    fake_model: FakeModel,
    template_tables: dict[str, TableSpec],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ApiStack]:
    table = template_tables["IdempotencyTable"]
    create_table(aws.client("dynamodb"), table, table_name=IDEMPOTENCY_TABLE)
    monkeypatch.setenv("IDEMPOTENCY_TABLE", IDEMPOTENCY_TABLE)
    reset_api_state()
    try:
        yield ApiStack(invocation_tables, agents_bucket, fake_model, IDEMPOTENCY_TABLE)
    finally:
        reset_api_state()


def lambda_context(timeout_seconds: float = 30.0) -> LambdaContext:
    return LambdaContext(
        function_name="agent-gateway-ApiFunction",
        invoked_function_arn=(
            "arn:aws:lambda:us-east-1:123456789012:function:agent-gateway-ApiFunction:live"
        ),
        memory_limit_in_mb=512,
        timeout_seconds=timeout_seconds,
    )


def rest_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw_body: str | None = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    api_key_id: str | None = TENANT_A,
    user_arn: str | None = None,
    principal_id: str | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """An API Gateway REST API (payload v1) proxy event, as the greedy ``/{proxy+}`` route
    of template.yaml sends it."""
    all_headers = {
        "Accept": "application/json",
        "Host": "abc123defg.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "curl/8.5.0",
        "X-Forwarded-For": "203.0.113.10",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        "x-api-key": "agw-test-SECRET-API-KEY-VALUE-0123456789",
    }
    text = raw_body
    if body is not None:
        text = json.dumps(body, ensure_ascii=False)
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    if base64_body and text is not None:
        text = base64.b64encode(text.encode()).decode()
    request_id = str(uuid.uuid4())
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": {"loggingRole": "preconfigured"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123defg",
            "domainName": "abc123defg.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123defg",
            "extendedRequestId": "Xk3hYFmKoAMFkzQ=",
            "httpMethod": method,
            "identity": {
                "accessKey": None,
                "accountId": None,
                "apiKey": None,
                "apiKeyId": api_key_id,
                "caller": None,
                "sourceIp": "203.0.113.10",
                "user": None,
                "userAgent": "curl/8.5.0",
                "userArn": user_arn,
            },
            **({"authorizer": {"principalId": principal_id}} if principal_id else {}),
            "path": f"/v1{path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "requestTimeEpoch": int(time.time() * 1000),
            "resourceId": "x1y2z3",
            "resourcePath": "/{proxy+}",
            "stage": "v1",
        },
        "body": text,
        "isBase64Encoded": base64_body,
    }


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    text: str
    raw: dict[str, Any]

    @property
    def json(self) -> Any:
        return json.loads(self.text)

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


def call_handler(event: Mapping[str, Any], *, timeout_seconds: float = 30.0) -> ApiResponse:
    from handlers.api import handler

    raw = handler(dict(event), lambda_context(timeout_seconds))
    headers: dict[str, str] = {k: str(v) for k, v in (raw.get("headers") or {}).items()}
    for key, values in (raw.get("multiValueHeaders") or {}).items():
        if values:
            headers.setdefault(key, str(values[-1]))
    body = raw.get("body") or ""
    if raw.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    return ApiResponse(int(raw["statusCode"]), headers, body, raw)


class ApiClient:
    """Sends proxy events for one tenant to ``handlers.api.handler`` (in-process)."""

    def __init__(self, tenant: str | None = TENANT_A) -> None:
        self.tenant = tenant

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        timeout_seconds: float = 30.0,
        **event_args: Any,
    ) -> ApiResponse:
        event = rest_event(
            method,
            path,
            body=body,
            headers=headers,
            query=query,
            api_key_id=self.tenant,
            **event_args,
        )
        return call_handler(event, timeout_seconds=timeout_seconds)

    def get(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> ApiResponse:
        return self.request("POST", path, body=body, **kwargs)


@pytest.fixture
def api(api_stack: ApiStack) -> ApiClient:
    return ApiClient(TENANT_A)


def query_string(params: Mapping[str, str]) -> str:
    return urlencode(params)


# --- seeding records (the store's own lifecycle calls, over HTTP to moto) ---------------


def seed_invocation(
    invocation_id: str,
    *,
    tenant: str = TENANT_A,
    agent: str = "code-reviewer-fast",
    status: str = "SUCCEEDED",
    output: str = "## VERDICT: PASS\n\n## Summary\n\nok\n\n## Issues\n\nnone\n",
    input_text: str = "def add(a, b):\n    return a + b\n",
    batch_id: str | None = None,
) -> Any:
    """A record in ``status`` (QUEUED, SUCCEEDED or FAILED), through the store's transitions."""
    from agents.records import InvocationMode, InvocationRecord
    from agents.store import get_store
    from agents.types import ErrorInfo, Usage

    store = get_store()
    record = store.create(
        InvocationRecord.new(
            id=invocation_id,
            tenant=tenant,
            agent=agent,
            input=input_text,
            context={"language": "python"},
            mode=InvocationMode.BATCH if batch_id else InvocationMode.ASYNC,
            batch_id=batch_id,
        )
    )
    if status == "QUEUED":
        return record
    claimed = store.claim(invocation_id, "seed", lease_seconds=60)
    assert claimed is not None
    if status == "SUCCEEDED":
        return store.complete(
            invocation_id,
            "seed",
            output=output,
            model="claude-haiku-5-5",
            stop_reason="end_turn",
            usage=Usage(input_tokens=10, output_tokens=20),
        )
    if status == "FAILED":
        store.fail(
            invocation_id,
            ErrorInfo(type="model-error", message="seeded failure", retryable=False),
            owner="seed",
        )
        return store.get(invocation_id)
    raise ValueError(status)


def seed_batch(
    batch_id: str, *, tenant: str = TENANT_A, agent: str = "code-reviewer-fast", items: int = 3
) -> list[str]:
    """A batch of ``items`` invocations: the first SUCCEEDED, the rest QUEUED."""
    from agents.records import BatchRecord, derived_invocation_id
    from agents.store import get_store

    get_store().create_batch(
        BatchRecord.new(id=batch_id, tenant=tenant, agent=agent, item_count=items)
    )
    ids = [derived_invocation_id("batch", batch_id, f"#{index}") for index in range(items)]
    for index, invocation_id in enumerate(ids):
        seed_invocation(
            invocation_id,
            tenant=tenant,
            agent=agent,
            status="SUCCEEDED" if index == 0 else "QUEUED",
            batch_id=batch_id,
        )
    return ids
