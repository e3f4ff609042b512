"""Every ``events/api-*.json`` through ``handlers.api.handler`` answers the status that
``events/README.md`` documents (moto server over HTTP, the fake Messages API over HTTP)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.plugins.api import ApiStack, call_handler, seed_batch, seed_invocation
from tests.plugins.events import EVENTS, documented_statuses

pytestmark = pytest.mark.integration


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
    seed_invocation("inv_0193a5f2c4e87b1d9e0f3a6b5c2d8e71", tenant=tenant)
    seed_invocation("inv_0193a5f2c4e87b1d9e0f3a6b5c2d8e72", tenant=tenant, status="QUEUED")
    seed_batch("bat_0193a5f2d1c0e4b7a9f8e2d3c4b5a697", tenant=tenant)


@pytest.mark.parametrize("name", sorted(documented()))
def test_event_answers_its_documented_status(name: str, api_stack: ApiStack) -> None:
    event = load(name)
    _seed(event)
    response = call_handler(event)
    assert response.status == documented()[name], response.text[:2000]
    content_type = response.header("Content-Type") or ""
    if response.status >= 400:
        assert content_type == "application/problem+json"
        problem = response.json
        assert problem["status"] == response.status
        assert problem["type"].startswith("/problems/")
        assert problem["instance"] == event["path"]
        assert "Traceback" not in response.text
    else:
        assert content_type == "application/json"
        json.loads(response.text)
