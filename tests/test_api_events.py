"""Every ``events/api-*.json`` through ``handlers.api.handler`` answers the status that
``events/README.md`` documents (moto server over HTTP, the fake Messages API over HTTP)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.plugins.api import ApiResponse, ApiStack, call_handler, seed_batch, seed_invocation
from tests.plugins.events import EVENTS, documented_statuses

pytestmark = pytest.mark.integration

INVOCATION = "inv_0193a5f2c4e87b1d9e0f3a6b5c2d8e71"
QUEUED_INVOCATION = "inv_0193a5f2c4e87b1d9e0f3a6b5c2d8e72"
BATCH = "bat_0193a5f2d1c0e4b7a9f8e2d3c4b5a697"


def documented() -> dict[str, int]:
    return documented_statuses("api-")


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return event


def test_every_api_event_is_documented_and_every_row_has_a_file() -> None:
    files = {path.name for path in EVENTS.glob("api-*.json")}
    assert files, "no API events"
    assert files == set(documented()), "events/README.md and events/api-*.json differ"


def test_events_are_rest_api_v1_proxy_events_with_an_api_key_id() -> None:
    for name in documented():
        event = load(name)
        assert event["resource"] == "/{proxy+}", name
        assert event["httpMethod"] in {"GET", "POST", "DELETE"}, name
        assert event["requestContext"]["resourcePath"] == "/{proxy+}", name
        assert event["requestContext"]["stage"] == "v1", name
        assert event["requestContext"]["path"] == "/v1" + event["path"], name
        if name != "api-no-tenant.json":
            assert event["requestContext"]["identity"]["apiKeyId"] == "k7r2m9x4qa", name


def _seed(event: dict[str, Any]) -> None:
    """What the README's "needs" column names, for the ids the events refer to."""
    tenant = event["requestContext"]["identity"]["apiKeyId"] or "k7r2m9x4qa"
    seed_invocation(INVOCATION, tenant=tenant)
    seed_invocation(QUEUED_INVOCATION, tenant=tenant, status="QUEUED")
    seed_batch(BATCH, tenant=tenant)


#: The problem type of each event the README documents with a 4xx (docs/api.md's table).
PROBLEM_TYPES = {
    "api-get-agent-unknown.json": "agent-not-found",
    "api-invoke-missing-context.json": "input-contract-violation",
    "api-invoke-validation-error.json": "validation-error",
    "api-invoke-malformed-json.json": "bad-request",
    "api-invoke-wrong-content-type.json": "unsupported-media-type",
    "api-invoke-bad-idempotency-key.json": "invalid-idempotency-key",
    "api-invoke-unknown-agent.json": "agent-not-found",
    "api-get-invocation-unknown.json": "invocation-not-found",
    "api-unknown-route.json": "not-found",
    "api-wrong-method.json": "method-not-allowed",
    "api-no-tenant.json": "unauthorized",
}


def _check_success(name: str, body: Any, response: ApiResponse) -> None:
    """What each success event's answer is, beyond its status (the README's route column)."""
    if name == "api-health.json":
        assert body["status"] == "ok"
    elif name == "api-openapi.json":
        assert body["openapi"].startswith("3.")
        assert "/agents/{name}/invocations" in body["paths"]
    elif name == "api-list-agents.json":
        assert "code-reviewer-fast" in {agent["name"] for agent in body["items"]}
    elif name == "api-get-agent.json":
        assert body["name"] == "code-reviewer-fast"
        assert body["input_contract"] is not None
    elif name in {"api-invoke-sync.json", "api-invoke-idempotent.json"}:
        assert body["status"] == "SUCCEEDED"
        assert body["output"]
    elif name in {"api-invoke-async.json", "api-invoke-async-mode.json"}:
        assert body["status"] == "QUEUED"
        assert response.header("Location") == f"/invocations/{body['id']}"
    elif name == "api-get-invocation.json":
        assert body["id"] == INVOCATION
        assert body["status"] == "SUCCEEDED"
    elif name == "api-invocation-events.json":
        events = body["events"]
        assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
        statuses = [event["data"]["status"] for event in events if event["type"] == "status"]
        assert statuses == ["QUEUED", "RUNNING", "SUCCEEDED"]
        assert body["status"] == "SUCCEEDED"
    elif name == "api-list-invocations.json":
        assert body["items"], "the seeded invocation is listed"
        for item in body["items"]:
            assert item["agent"] == "code-reviewer-fast"
            assert item["status"] == "SUCCEEDED"
    elif name == "api-cancel.json":
        assert body["id"] == QUEUED_INVOCATION
        assert body["status"] == "CANCELLED"
    elif name == "api-batch-submit.json":
        assert body["item_count"] == 3
        assert len(body["items"]) == 3
        assert response.header("Location") == f"/batches/{body['id']}"
    elif name == "api-batch-get.json":
        assert body["id"] == BATCH
        assert body["item_count"] == 3
    elif name == "api-batch-list-results.json":
        assert len(body["items"]) == 3
        assert {item["batch_id"] for item in body["items"]} == {BATCH}
    else:
        raise AssertionError(f"{name}: no expectation for this success event")


def test_every_documented_client_error_has_its_problem_type() -> None:
    errors = {name for name, status in documented().items() if status >= 400}
    assert errors == set(PROBLEM_TYPES)


@pytest.mark.parametrize("name", sorted(documented()))
def test_event_answers_its_documented_status(
    name: str, api_stack: ApiStack, request: pytest.FixtureRequest
) -> None:
    event = load(name)
    if name == "api-invocation-events.json":
        request.getfixturevalue("event_table")  # the seeded record then writes its events
    _seed(event)
    response = call_handler(event)
    assert response.status == documented()[name], response.text[:2000]
    content_type = response.header("Content-Type") or ""
    if response.status >= 400:
        assert content_type == "application/problem+json"
        problem = response.json
        assert problem["status"] == response.status
        assert problem["type"] == f"/problems/{PROBLEM_TYPES[name]}", problem
        assert problem["instance"] == event["path"]
        assert problem["request_id"] == event["requestContext"]["requestId"]
        assert "Traceback" not in response.text
        if name == "api-wrong-method.json":
            assert "GET" in (response.header("Allow") or "")
        if name == "api-invoke-validation-error.json":
            assert problem["errors"], problem
    else:
        assert content_type == "application/json"
        _check_success(name, json.loads(response.text), response)


def test_idempotent_event_replays_its_first_answer(api_stack: ApiStack) -> None:
    event = load("api-invoke-idempotent.json")
    first = call_handler(event)
    replay = call_handler(event)
    assert first.status == replay.status == 200, replay.text[:2000]
    assert replay.header("Idempotent-Replayed") == "true"
    assert replay.json["id"] == first.json["id"]
