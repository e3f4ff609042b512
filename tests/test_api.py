"""handlers.api end to end: API Gateway REST proxy events in, proxy responses out; moto
server over HTTP, the real SDK over HTTP to the fake Messages API."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from agents import aws, container
from agents.store import get_store
from agents.types import InvocationStatus
from handlers.caller import tenant_of
from tests.plugins.api import (
    IDEMPOTENCY_TABLE,
    TENANT_A,
    TENANT_B,
    ApiClient,
    ApiResponse,
    ApiStack,
    call_handler,
    rest_event,
    seed_invocation,
)
from tests.plugins.children import checkout_environment, python_output
from tests.plugins.stack import drain_queue

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[1]
AGENT = "code-reviewer-fast"
PATH = f"/agents/{AGENT}/invocations"
SECRET_INPUT = "TOP-SECRET-INPUT-MARKER def add(a, b): return a - b"
BODY: dict[str, Any] = {
    "input": "def add(a, b):\n    return a - b\n",
    "context": {"language": "go"},
}
#: What a problem document must never contain.
INTERNALS = ("Traceback", 'File "', "/work/", "site-packages", ".py", "botocore", "pydantic")


def assert_problem(response: ApiResponse, status: int, error_type: str) -> dict[str, Any]:
    assert response.status == status, response.text
    assert response.header("Content-Type") == "application/problem+json"
    problem: dict[str, Any] = response.json
    assert problem["type"] == f"/problems/{error_type}", problem
    assert problem["status"] == status
    assert problem["title"]
    assert problem["detail"]
    assert problem["request_id"]
    for marker in INTERNALS:
        assert marker not in response.text, (marker, response.text)
    return problem


def dlq(stack: ApiStack) -> list[dict[str, Any]]:
    return [json.loads(body) for body in drain_queue(stack.stack.dlq_url, rounds=2)]


# --- sync and async ---------------------------------------------------------------------


def test_sync_invocation_answers_200_with_the_finished_invocation(api: ApiClient) -> None:
    response = api.post(PATH, BODY)
    assert response.status == 200, response.text
    assert response.header("Content-Type") == "application/json"
    body = response.json
    assert body["status"] == "SUCCEEDED"
    assert body["mode"] == "sync"
    assert body["output"].startswith("> Offline model")
    assert body["contract"]["valid"] is True
    assert body["usage"]["output_tokens"] > 0
    assert body["cost_usd"] > 0
    assert response.header("Idempotent-Replayed") is None
    again = api.get(f"/invocations/{body['id']}")
    assert again.status == 200
    assert again.json["output"] == body["output"]
    assert again.json["input"] == BODY["input"]


@pytest.mark.parametrize(
    ("headers", "extra", "preference_applied"),
    [
        ({"Prefer": "respond-async"}, {}, "respond-async"),
        ({"Prefer": "wait=5, respond-async"}, {}, "respond-async"),
        ({}, {"mode": "async"}, None),
    ],
)
def test_async_invocation_answers_202_and_queues_it(
    api: ApiClient,
    api_stack: ApiStack,
    headers: dict[str, str],
    extra: dict[str, Any],
    preference_applied: str | None,
) -> None:
    response = api.post(PATH, {**BODY, **extra}, headers=headers)
    assert response.status == 202, response.text
    body = response.json
    assert body["status"] == "QUEUED"
    assert body["mode"] == "async"
    assert response.header("Location") == f"/invocations/{body['id']}"
    assert response.header("Preference-Applied") == preference_applied
    record = get_store().get(body["id"], tenant=TENANT_A)
    assert record.status is InvocationStatus.QUEUED
    bodies = [json.loads(b) for b in drain_queue(api_stack.stack.queue_url, rounds=2)]
    assert bodies == [{"invocation_id": body["id"]}]
    assert api_stack.model.stats()["calls"] == 0


def test_cancel_a_queued_invocation(api: ApiClient) -> None:
    queued = api.post(PATH, {**BODY, "mode": "async"}).json
    cancelled = api.post(f"/invocations/{queued['id']}/cancel")
    assert cancelled.status == 200
    assert cancelled.json["status"] == "CANCELLED"
    again = api.post(f"/invocations/{queued['id']}/cancel")
    problem = assert_problem(again, 409, "not-cancellable")
    assert problem["invocation_id"] == queued["id"]
    assert problem["current_status"] == "CANCELLED"
    assert again.header("Retry-After") is None


def test_list_paginates_with_a_next_link(api: ApiClient) -> None:
    for n in range(3):
        seed_invocation(f"inv_page{n:04d}")
        time.sleep(0.002)
    first = api.get("/invocations", query={"limit": "2"})
    assert first.status == 200
    assert [i["id"] for i in first.json["items"]] == ["inv_page0002", "inv_page0001"]
    next_path, _, query = first.json["next"].partition("?")
    params = dict(part.split("=", 1) for part in query.split("&"))
    second = api.get(next_path, query=params)
    assert [i["id"] for i in second.json["items"]] == ["inv_page0000"]
    assert "next" not in second.json or second.json["next"] is None
    wrong = api.get("/invocations", query={"status": "DONE"})
    assert_problem(wrong, 422, "validation-error")
    tampered = api.get("/invocations", query={"cursor": "bm90LWEtY3Vyc29y"})
    assert_problem(tampered, 400, "bad-request")


def test_batch_submit_then_progress(api: ApiClient, api_stack: ApiStack) -> None:
    items = [{"input": f"snippet {n}", "context": {"language": "go"}} for n in range(12)]
    response = api.post("/batches", {"agent": AGENT, "items": items})
    assert response.status == 202, response.text
    submitted = response.json
    assert response.header("Location") == f"/batches/{submitted['id']}"
    assert len(submitted["items"]) == 12
    assert submitted["counts"]["QUEUED"] == 12
    progress = api.get(f"/batches/{submitted['id']}")
    assert progress.status == 200
    assert progress.json["counts"]["QUEUED"] == 12
    assert progress.json["done"] is False
    results = api.get("/invocations", query={"batch_id": submitted["id"], "limit": "200"})
    assert len(results.json["items"]) == 12
    assert len(drain_queue(api_stack.stack.queue_url, rounds=2)) == 12
    assert_problem(ApiClient(TENANT_B).get(f"/batches/{submitted['id']}"), 404, "batch-not-found")


def test_invocation_context_is_kept_on_invocations_and_batch_items(
    api: ApiClient, api_stack: ApiStack
) -> None:
    one = api.post(PATH, {**BODY, "invocation_context": "ring:dev-refactor", "mode": "async"})
    assert one.status == 202, one.text
    assert one.json["invocation_context"] == "ring:dev-refactor"
    items = [
        {"input": "a", "context": {"language": "go"}, "invocation_context": "ring:dev-cycle"},
        {"input": "b", "context": {"language": "go"}},
    ]
    batch = api.post("/batches", {"agent": AGENT, "items": items}).json
    first, second = (get_store().get(i["invocation_id"]) for i in batch["items"])
    assert first.invocation_context == "ring:dev-cycle"
    assert second.invocation_context is None
    for bad in ("", " padded", "tab\there", "x" * 257, "caf\u00e9"):
        response = api.post(PATH, {**BODY, "invocation_context": bad})
        assert_problem(response, 422, "validation-error")
    drain_queue(api_stack.stack.queue_url, rounds=1)


@pytest.mark.parametrize(
    "field",
    [
        {"max_tokens": 10**200},
        {"max_tool_calls": 10**30},
        {"max_cost_usd": 1e300},
        {"max_cost_usd": "Infinity"},
    ],
)
def test_numbers_too_large_for_a_record_are_422_not_500(
    api: ApiClient, field: dict[str, Any]
) -> None:
    # Found by the fuzzer: a number beyond DynamoDB's range failed the record write (500).
    assert_problem(api.post(PATH, {**BODY, **field}), 422, "validation-error")


def test_batch_limits_are_413_and_422(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_MAX_ITEMS", "2")
    container.reset()
    items = [{"input": "x", "context": {"language": "go"}}] * 3
    problem = assert_problem(
        api.post("/batches", {"agent": AGENT, "items": items}), 413, "payload-too-large"
    )
    assert "at most 2 items" in problem["detail"]
    empty = api.post("/batches", {"agent": AGENT, "items": []})
    assert_problem(empty, 422, "validation-error")
    invalid = api.post("/batches", {"agent": AGENT, "items": [{"input": "x"}]})
    problem = assert_problem(invalid, 422, "validation-error")
    assert problem["items"][0]["type"] == "input-contract-violation"


# --- idempotency ------------------------------------------------------------------------


def test_idempotent_replay_returns_the_first_result_with_the_header(
    api: ApiClient, api_stack: ApiStack
) -> None:
    headers = {"Idempotency-Key": "replay-1"}
    first = api.post(PATH, BODY, headers=headers)
    assert first.status == 200
    assert first.header("Idempotent-Replayed") is None
    calls = api_stack.model.stats()["calls"]
    replay = api.post(PATH, BODY, headers=headers)
    assert replay.status == 200
    assert replay.header("Idempotent-Replayed") == "true"
    assert replay.json == first.json
    assert api_stack.model.stats()["calls"] == calls
    # the same key for another tenant is another request
    other = ApiClient(TENANT_B).post(PATH, BODY, headers=headers)
    assert other.status == 200
    assert other.json["id"] != first.json["id"]
    assert other.header("Idempotent-Replayed") is None


def test_async_replay_keeps_202_and_location(api: ApiClient, api_stack: ApiStack) -> None:
    headers = {"Idempotency-Key": '"async-1"', "Prefer": "respond-async"}
    first = api.post(PATH, BODY, headers=headers)
    replay = api.post(PATH, BODY, headers=headers)
    assert (first.status, replay.status) == (202, 202)
    assert replay.header("Location") == first.header("Location")
    assert replay.header("Idempotent-Replayed") == "true"
    assert len(drain_queue(api_stack.stack.queue_url, rounds=2)) == 1


def test_same_key_while_the_first_runs_is_409_with_retry_after(
    api: ApiClient, api_stack: ApiStack
) -> None:
    api_stack.model.fault(latency_s=2.5, count=1)
    headers = {"Idempotency-Key": "slow-1"}
    results: dict[str, ApiResponse] = {}

    def first() -> None:
        results["first"] = api.post(PATH, BODY, headers=headers)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while api_stack.model.stats()["calls"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        concurrent = api.post(PATH, BODY, headers=headers)
    finally:
        thread.join(timeout=30)
    problem = assert_problem(concurrent, 409, "idempotency-key-in-use")
    assert concurrent.header("Retry-After") == "2"
    assert "in progress" in problem["detail"]
    assert results["first"].status == 200
    replay = api.post(PATH, BODY, headers=headers)
    assert replay.status == 200
    assert replay.header("Idempotent-Replayed") == "true"
    assert replay.json["id"] == results["first"].json["id"]


def test_same_key_with_another_body_or_route_is_422(api: ApiClient) -> None:
    headers = {"Idempotency-Key": "reuse-1"}
    assert api.post(PATH, BODY, headers=headers).status == 200
    other_body = api.post(PATH, {**BODY, "input": "something else"}, headers=headers)
    assert_problem(other_body, 422, "idempotency-key-reused")
    other_mode = api.post(PATH, BODY, headers={**headers, "Prefer": "respond-async"})
    assert_problem(other_mode, 422, "idempotency-key-reused")
    other_route = api.post(
        "/batches", {"agent": AGENT, "items": [BODY]}, headers={"Idempotency-Key": "reuse-1"}
    )
    assert_problem(other_route, 422, "idempotency-key-reused")


@pytest.mark.parametrize("key", ["k" * 256, "two words", "", "caf\u00e9"])
def test_malformed_idempotency_key_is_400(api: ApiClient, key: str) -> None:
    response = api.post(PATH, BODY, headers={"Idempotency-Key": key})
    assert_problem(response, 400, "invalid-idempotency-key")
    assert get_store().list(TENANT_A)[0] == []


def test_rejected_request_does_not_burn_its_key(api: ApiClient) -> None:
    headers = {"Idempotency-Key": "fix-and-retry"}
    assert_problem(api.post(PATH, {"input": "x"}, headers=headers), 422, "input-contract-violation")
    fixed = api.post(PATH, BODY, headers=headers)
    assert fixed.status == 200
    assert fixed.header("Idempotent-Replayed") is None


def test_failed_sync_run_is_replayed_and_dead_lettered_exactly_once(
    api: ApiClient, api_stack: ApiStack
) -> None:
    api_stack.model.fault(status=400, count=5, message="prompt is too long")
    headers = {"Idempotency-Key": "fails-1"}
    response = api.post(PATH, BODY, headers=headers)
    problem = assert_problem(response, 502, "model-error")
    invocation_id = problem["invocation_id"]
    record = get_store().get(invocation_id, tenant=TENANT_A)
    assert record.status is InvocationStatus.FAILED
    assert record.error is not None
    replay = api.post(PATH, BODY, headers=headers)
    assert replay.status == 502
    assert replay.header("Idempotent-Replayed") == "true"
    assert replay.json["invocation_id"] == invocation_id
    messages = dlq(api_stack)
    assert [m["invocation_id"] for m in messages] == [invocation_id]
    assert messages[0]["error_type"] == "model-error"


def test_deadline_is_504_with_the_invocation_id(api: ApiClient, api_stack: ApiStack) -> None:
    response = api.post(PATH, BODY, timeout_seconds=3)
    problem = assert_problem(response, 504, "deadline-exceeded")
    record = get_store().get(problem["invocation_id"], tenant=TENANT_A)
    assert record.status is InvocationStatus.FAILED
    assert [m["invocation_id"] for m in dlq(api_stack)] == [record.id]


# --- tenancy ------------------------------------------------------------------------------


def test_a_tenant_never_sees_another_tenants_invocations(api: ApiClient) -> None:
    mine = api.post(PATH, {**BODY, "mode": "async"}).json
    other = ApiClient(TENANT_B)
    assert_problem(other.get(f"/invocations/{mine['id']}"), 404, "invocation-not-found")
    assert_problem(other.post(f"/invocations/{mine['id']}/cancel"), 404, "invocation-not-found")
    assert other.get("/invocations").json["items"] == []
    assert [i["id"] for i in api.get("/invocations").json["items"]] == [mine["id"]]


def test_tenant_comes_from_iam_or_the_authorizer_and_is_required(
    api_stack: ApiStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = "arn:aws:iam::123456789012:user/ci-bot"
    monkeypatch.setenv("AUTH_MODE", "IAM")
    container.reset()
    by_iam = call_handler(rest_event("POST", PATH, body=BODY, api_key_id=None, user_arn=arn))
    assert by_iam.status == 200
    assert get_store().get(by_iam.json["id"]).tenant == arn
    monkeypatch.setenv("AUTH_MODE", "KEYS")
    container.reset()
    by_authorizer = call_handler(
        rest_event("GET", "/invocations", api_key_id=None, principal_id="user-42")
    )
    assert by_authorizer.status == 200
    assert by_authorizer.json["items"] == []
    nobody = call_handler(rest_event("GET", "/invocations", api_key_id=None))
    assert_problem(nobody, 401, "unauthorized")


@pytest.mark.parametrize("mode", ["KEYS", "COGNITO", "IAM", "API_KEY"])
def test_only_the_modes_own_identity_counts_and_headers_never_do(mode: str) -> None:
    event = rest_event(
        "GET",
        "/invocations",
        api_key_id="apikey-id",
        user_arn="arn:aws:iam::123456789012:user/x",
        principal_id="tn-authorizer",
        headers={"x-tenant": "tn-forged", "x-amzn-principal": "tn-forged"},
    )
    event["requestContext"]["authorizer"]["claims"] = {"custom:tenant": "tn-claim"}
    expected = {
        "KEYS": "tn-authorizer",
        "COGNITO": "tn-claim",
        "IAM": "arn:aws:iam::123456789012:user/x",
        "API_KEY": "apikey-id",
    }
    assert tenant_of(event, mode) == expected[mode]


def test_a_cognito_token_without_the_tenant_claim_is_a_403_problem(
    api_stack: ApiStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH_MODE", "COGNITO")
    container.reset()
    event = rest_event("GET", "/invocations", api_key_id=None, principal_id="sub-1")
    event["requestContext"]["authorizer"]["claims"] = {"sub": "sub-1", "email": "a@b.c"}
    assert_problem(call_handler(event), 403, "forbidden")
    event["requestContext"]["authorizer"]["claims"]["custom:tenant"] = "tn-acme"
    assert call_handler(event).status == 200


# --- payloads -----------------------------------------------------------------------------


def test_one_megabyte_output_round_trips_through_the_api(
    api: ApiClient, api_stack: ApiStack
) -> None:
    output = "".join(f"line {n:07d} — ✓\n" for n in range(60_000))
    assert len(output.encode()) > 1_000_000
    seed_invocation("inv_onemegabyte01", output=output)
    record = get_store().get("inv_onemegabyte01", hydrate=False)
    assert record.output is None
    assert record.output_ref
    response = api.get("/invocations/inv_onemegabyte01")
    assert response.status == 200
    assert response.json["output"] == output
    assert len(response.raw["body"].encode()) > 1_000_000


def test_large_input_is_offloaded_and_read_back_whole(api: ApiClient) -> None:
    big = "x = 1  # " + "é" * 200_000
    queued = api.post(PATH, {**BODY, "input": big, "mode": "async"})
    assert queued.status == 202, queued.text
    record = get_store().get(queued.json["id"], hydrate=False)
    assert record.input is None
    assert record.input_ref
    assert api.get(f"/invocations/{queued.json['id']}").json["input"] == big


# --- malformed requests -------------------------------------------------------------------


def test_malformed_json_is_400(api: ApiClient) -> None:
    response = api.request(
        "POST", PATH, raw_body='{"input": "x",', headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400, "bad-request")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_wrong_content_type_is_415(api: ApiClient, content_type: str) -> None:
    response = api.request(
        "POST", PATH, raw_body=json.dumps(BODY), headers={"Content-Type": content_type}
    )
    assert_problem(response, 415, "unsupported-media-type")


def test_json_with_charset_and_base64_bodies_are_accepted(api: ApiClient) -> None:
    charset = api.request(
        "POST",
        PATH,
        raw_body=json.dumps({**BODY, "mode": "async"}),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert charset.status == 202, charset.text
    encoded = api.request("POST", PATH, body={**BODY, "mode": "async"}, base64_body=True)
    assert encoded.status == 202, encoded.text


def test_oversized_body_is_413(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_REQUEST_BYTES", "2048")
    container.reset()
    response = api.post(PATH, {**BODY, "input": "y" * 3000})
    problem = assert_problem(response, 413, "payload-too-large")
    assert problem["limit"] == 2048
    assert get_store().list(TENANT_A)[0] == []


def test_validation_errors_are_422_with_field_errors(api: ApiClient) -> None:
    response = api.post(PATH, {"input": "", "max_tokens": "many", "colour": "blue"})
    problem = assert_problem(response, 422, "validation-error")
    locations = {tuple(error["loc"]) for error in problem["errors"]}
    assert locations == {("body", "input"), ("body", "max_tokens"), ("body", "colour")}
    assert all(set(error) == {"loc", "type", "msg"} for error in problem["errors"])
    missing_body = api.request("POST", PATH, headers={"Content-Type": "application/json"})
    assert_problem(missing_body, 422, "validation-error")
    too_many_tokens = api.post(PATH, {**BODY, "max_tokens": 10**7})
    assert_problem(too_many_tokens, 422, "validation-error")


def test_agent_name_checks(api: ApiClient) -> None:
    assert_problem(api.get("/agents/Not..Valid"), 400, "invalid-agent-name")
    assert_problem(api.get("/agents/ring%3Acode-reviewer"), 404, "agent-not-found")
    assert_problem(api.post("/agents/nobody/invocations", BODY), 404, "agent-not-found")
    agent = api.get(f"/agents/{AGENT}").json
    assert agent["input_contract"]["required_context"][0]["name"] == "language"
    assert agent["output_contract"]["verdict_values"] == ["PASS", "FAIL", "NEEDS_DISCUSSION"]
    assert agent["etag"]
    assert agent["version_id"]
    text = json.dumps(agent)
    assert "agents-test-bucket" not in text
    assert "You review one change" not in text


def test_unknown_route_is_404_and_wrong_method_405(api: ApiClient) -> None:
    assert_problem(api.get("/nothing/here"), 404, "not-found")
    response = api.request("PUT", f"/agents/{AGENT}/invocations", body=BODY)
    assert_problem(response, 405, "method-not-allowed")
    assert response.header("Allow") == "POST"


def test_unexpected_errors_are_500_without_internals(
    api: ApiClient, log_lines: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise KeyError("internal-detail-marker")

    monkeypatch.setattr(type(get_store()), "get", broken)
    response = api.get("/invocations/inv_whatever0001")
    problem = assert_problem(response, 500, "internal-error")
    assert "internal-detail-marker" not in response.text
    (logged,) = [line for line in log_lines if line["message"] == "unexpected error"]
    assert "internal-detail-marker" in logged["exception"]  # the stack trace: logs only
    assert logged["correlation_id"] == problem["request_id"]


def test_a_missing_table_of_ours_is_a_configuration_error(
    api: ApiClient, api_stack: ApiStack, log_lines: list[dict[str, Any]]
) -> None:
    aws.client("dynamodb").delete_table(TableName=api_stack.stack.table)
    response = api.get("/invocations/inv_whatever0001")
    problem = assert_problem(response, 500, "configuration-error")
    assert "dynamodb:GetItem" in problem["detail"]
    assert "ResourceNotFoundException" in problem["detail"]
    assert api_stack.stack.table not in response.text
    (logged,) = [line for line in log_lines if line["message"] == "request failed"]
    assert logged["error_type"] == "configuration-error"


def test_a_missing_api_key_secret_is_a_configuration_error_not_a_model_error(
    api: ApiClient,
    api_stack: ApiStack,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = "agent-gateway/no-such-secret"
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY_SECRET", secret)
    container.reset()
    capsys.readouterr()
    response = api.post(PATH, BODY)
    problem = assert_problem(response, 500, "configuration-error")
    assert secret in problem["detail"]
    assert "Model request rejected" not in response.text
    record = get_store().get(problem["invocation_id"], tenant=TENANT_A)
    assert record.status is InvocationStatus.FAILED
    assert record.error is not None
    assert record.error.type == "configuration-error"
    assert record.error.retryable is False
    messages = dlq(api_stack)
    assert [m["invocation_id"] for m in messages] == [record.id]
    assert messages[0]["error_type"] == "configuration-error"
    assert api_stack.model.stats()["calls"] == 0
    # Counted: one Failures metric with ErrorType=configuration-error (EMF on stdout).
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert any(
        (item.get("ErrorType") == "configuration-error" and item.get("Failures") == [1.0])
        or (item.get("ErrorType") == "configuration-error" and item.get("Failures") == 1)
        for item in emitted
    ), emitted


# --- observability ------------------------------------------------------------------------


def test_logs_carry_keys_but_never_the_api_key_or_the_input(
    api: ApiClient, log_lines: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    response = api.post(PATH, {**BODY, "input": SECRET_INPUT})
    assert response.status == 200
    stdout = capsys.readouterr().out
    logged = json.dumps(log_lines) + stdout
    assert "SECRET-API-KEY-VALUE" not in logged
    assert "TOP-SECRET-INPUT-MARKER" not in logged
    handled = [line for line in log_lines if line["message"] == "request handled"]
    assert handled
    assert handled[-1]["tenant"] == TENANT_A
    assert handled[-1]["invocation_id"] == response.json["id"]
    assert handled[-1]["agent"] == AGENT
    assert handled[-1]["correlation_id"]
    assert handled[-1]["function_request_id"]
    started = [line for line in log_lines if line["message"] == "invocation started"]
    assert started
    assert started[0]["tenant"] == TENANT_A
    metrics = [json.loads(line) for line in stdout.splitlines() if line.startswith('{"_aws"')]
    names = {m["Name"] for doc in metrics for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"ApiRequests", "Invocations", "InvocationsSucceeded", "OutputTokens"} <= names


# --- cold start ---------------------------------------------------------------------------


def _python(code: str, env: dict[str, str] | None = None) -> str:
    stdout = python_output(["-c", code], env=checkout_environment(env))
    return stdout.strip().splitlines()[-1]


def test_importing_the_handler_imports_no_sdk_and_builds_no_client() -> None:
    code = (
        "import json, sys\n"
        "import handlers.api\n"
        "from agents import aws\n"
        # the runner (and its model client) is built on the first model call, not on import
        "heavy = ['anthropic', 'boto3', 'aws_xray_sdk', 'httpx2', 'agents.runner']\n"
        "print(json.dumps({'loaded': [m for m in heavy if m in sys.modules],"
        " 'clients': len(aws.CLIENTS.values())}))"
    )
    report = json.loads(_python(code))
    assert report == {"loaded": [], "clients": 0}


@pytest.fixture
def subprocess_env(api_stack: ApiStack, moto_server: str) -> dict[str, str]:
    keys = [
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "INVOCATIONS_TABLE",
        "PAYLOAD_BUCKET",
        "DLQ_URL",
        "INVOCATION_QUEUE_URL",
        "AGENTS_BUCKET",
        "AGENTS_PREFIX",
        "IDEMPOTENCY_TABLE",
    ]
    env = {key: os.environ[key] for key in keys if key in os.environ}
    assert env["IDEMPOTENCY_TABLE"] == IDEMPOTENCY_TABLE
    return env


def test_async_submissions_and_reads_never_import_anthropic(
    subprocess_env: dict[str, str],
) -> None:
    seed_invocation("inv_readonly0001")
    code = (
        "import json, sys\n"
        "from handlers.api import handler\n"
        "from tests.plugins.api import rest_event, lambda_context\n"
        "statuses = []\n"
        "body = {'input': 'x', 'context': {'language': 'go'}}\n"
        f"for event in [rest_event('POST', '{PATH}', body=body,"
        " headers={'Prefer': 'respond-async', 'Idempotency-Key': 'sub-1'}),"
        " rest_event('GET', '/invocations/inv_readonly0001'),"
        " rest_event('GET', '/invocations'), rest_event('GET', '/agents'),"
        " rest_event('POST', '/batches', body={'agent': 'code-reviewer-fast', 'items': [body]})]:\n"
        "    statuses.append(handler(event, lambda_context())['statusCode'])\n"
        "print(json.dumps({'statuses': statuses, 'anthropic': 'anthropic' in sys.modules}))"
    )
    report = json.loads(_python(code, subprocess_env))
    assert report == {"statuses": [202, 200, 200, 200, 202], "anthropic": False}
