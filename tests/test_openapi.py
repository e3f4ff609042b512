"""The OpenAPI document: generated from the code, committed as docs/openapi.json, valid,
and complete (every route, every problem response, the API key scheme); docs/api.md lists
every problem type."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from agents.problems import error_classes
from handlers.api import app, openapi_document

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "docs" / "openapi.json"
API_DOC = ROOT / "docs" / "api.md"

ROUTES = {
    ("post", "/agents/{name}/invocations"),
    ("get", "/invocations/{invocation_id}"),
    ("get", "/invocations"),
    ("post", "/invocations/{invocation_id}/cancel"),
    ("post", "/invocations/{invocation_id}/actions"),
    ("get", "/invocations/{invocation_id}/transcript"),
    ("get", "/invocations/{invocation_id}/events"),
    ("get", "/invocations/{invocation_id}/files/{path}"),
    ("get", "/invocations/{invocation_id}/workspace"),
    ("post", "/workspaces"),
    ("post", "/batches"),
    ("get", "/batches/{batch_id}"),
    ("get", "/agents"),
    ("get", "/agents/{name}"),
    ("get", "/health"),
}


def document() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(openapi_document())
    return parsed


def test_committed_document_is_current() -> None:
    assert COMMITTED.read_text() == openapi_document() + "\n", (
        "docs/openapi.json is stale: run `make openapi` and commit it"
    )


def test_document_is_valid_openapi() -> None:
    from openapi_spec_validator import validate

    validate(document())


def test_every_route_is_documented_and_served() -> None:
    paths = document()["paths"]
    documented = {(method, path) for path, ops in paths.items() for method in ops}
    assert documented == ROUTES
    served = {
        (route.method.lower(), re.sub(r"<(\w+)>", r"{\1}", route.openapi_path or ""))
        for route in [*app._static_routes, *app._dynamic_routes]
    }
    assert ROUTES | {("get", "/openapi.json")} <= served


def test_security_scheme_is_the_api_key_header() -> None:
    doc = document()
    assert doc["info"]["title"] == "agent-gateway"
    assert doc["components"]["securitySchemes"]["api_key"] == {
        "type": "apiKey",
        "in": "header",
        "name": "x-api-key",
        "description": "API Gateway API key.",
    }
    assert doc["security"] == [{"api_key": []}]


def test_errors_are_problem_documents_and_headers_are_parameters() -> None:
    doc = document()
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path, ops in doc["paths"].items():
        for method, operation in ops.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert response["content"] == {
                        "application/problem+json": {"schema": problem_ref}
                    }, (method, path, status)
    invoke = doc["paths"]["/agents/{name}/invocations"]["post"]
    headers = {p["name"].lower() for p in invoke["parameters"] if p["in"] == "header"}
    assert headers == {"prefer", "idempotency-key"}
    assert set(invoke["responses"]) >= {"200", "202", "400", "404", "409", "413", "415", "422"}
    body = invoke["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/InvokeRequest"}


def test_api_doc_lists_every_problem_type_with_its_status() -> None:
    text = API_DOC.read_text()
    rows = dict(re.findall(r"^\| `/problems/([a-z-]+)` \| (\d{3}) \|", text, re.MULTILINE))
    for error_type, cls in error_classes().items():
        assert rows.get(error_type) == str(cls.status), f"docs/api.md: {error_type}"
    for extra in ("not-found", "method-not-allowed", "throttled"):
        assert extra in rows
