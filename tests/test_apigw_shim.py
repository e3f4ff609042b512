"""local.apigw: real HTTP in, API Gateway REST proxy events to an echo handler, responses out."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from local.apigw import MAX_PAYLOAD_BYTES, ApiGatewayShim, api_key_id
from local.aws_stack import PortInUseError
from local.template import Template
from tests.plugins.local_stack import FIXTURE_TEMPLATE, PROJECT_TEMPLATE
from tests.plugins.threads import run_in_threads

KEY_A = "key-a-0123456789"
KEY_B = "key-b-0123456789"


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The test double of the API handler: returns what it was given."""
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "X-Echo": "1"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps(
            {
                "event": event,
                "remaining_ms": context.get_remaining_time_in_millis(),
                "function_name": context.function_name,
                "memory": context.memory_limit_in_mb,
                "request_id": context.aws_request_id,
            }
        ),
        "isBase64Encoded": False,
    }


@pytest.fixture
def shim() -> Iterator[ApiGatewayShim]:
    template = Template.load(FIXTURE_TEMPLATE)
    server = ApiGatewayShim.from_template(
        template, ["ApiFunction"], handlers={"ApiFunction": echo}, api_keys=[KEY_A, KEY_B], port=0
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _event(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_event_shape(shim: ApiGatewayShim) -> None:
    response = httpx.post(
        f"{shim.url}/agents/code-reviewer/invocations?mode=async&tag=a&tag=b&empty=",
        headers=[("x-api-key", KEY_A), ("X-Multi", "1"), ("X-Multi", "2")],
        content=b'{"input": "hello \xc3\xa9"}',
        timeout=10,
    )
    answer = _event(response)
    event = answer["event"]
    assert event["resource"] == "/agents/{name}/invocations"
    assert event["path"] == "/agents/code-reviewer/invocations"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"name": "code-reviewer"}
    assert event["queryStringParameters"] == {"mode": "async", "tag": "b", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {
        "mode": ["async"],
        "tag": ["a", "b"],
        "empty": [""],
    }
    assert event["headers"]["X-Multi"] == "2"
    assert event["multiValueHeaders"]["X-Multi"] == ["1", "2"]
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["body"] == '{"input": "hello é"}'
    assert event["isBase64Encoded"] is False
    assert event["stageVariables"] is None
    context = event["requestContext"]
    assert context["identity"]["apiKeyId"] == api_key_id(KEY_A)
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["stage"] == "v1"
    assert context["resourcePath"] == "/agents/{name}/invocations"
    assert context["path"] == "/v1/agents/code-reviewer/invocations"
    assert context["httpMethod"] == "POST"
    assert abs(context["requestTimeEpoch"] - time.time() * 1000) < 60_000
    # one request id: the event's, the context's and the response header's
    assert context["requestId"] == answer["request_id"] == response.headers["x-amzn-RequestId"]
    # the Lambda-like context comes from the template's function (Timeout 29, 512 MB)
    assert 0 < answer["remaining_ms"] <= 29_000
    assert answer["memory"] == 512
    assert answer["function_name"].endswith("ApiFunction")
    # the proxy response is written back
    assert response.headers["X-Echo"] == "1"
    assert response.headers.get_list("Set-Cookie") == ["a=1", "b=2"]


def test_each_key_has_its_own_id(shim: ApiGatewayShim) -> None:
    a = _event(httpx.get(f"{shim.url}/invocations/i-1", headers={"x-api-key": KEY_A}))
    b = _event(httpx.get(f"{shim.url}/invocations/i-1", headers={"x-api-key": KEY_B}))
    ids = {
        a["event"]["requestContext"]["identity"]["apiKeyId"],
        b["event"]["requestContext"]["identity"]["apiKeyId"],
    }
    assert len(ids) == 2
    assert a["event"]["pathParameters"] == {"id": "i-1"}
    assert a["event"]["queryStringParameters"] is None
    assert a["event"]["body"] is None


def test_missing_or_unknown_key_is_403(shim: ApiGatewayShim) -> None:
    for headers in ({}, {"x-api-key": "nope"}):
        response = httpx.get(f"{shim.url}/invocations", headers=headers)
        assert response.status_code == 403
        assert response.json() == {"message": "Forbidden"}
        assert response.headers["x-amzn-ErrorType"] == "ForbiddenException"


def test_route_without_key_requirement(shim: ApiGatewayShim) -> None:
    event = _event(httpx.get(f"{shim.url}/health", headers={"x-api-key": "unknown"}))["event"]
    assert event["requestContext"]["identity"]["apiKeyId"] is None
    event = _event(httpx.get(f"{shim.url}/health", headers={"x-api-key": KEY_B}))["event"]
    assert event["requestContext"]["identity"]["apiKeyId"] == api_key_id(KEY_B)


def test_unknown_route_or_method(shim: ApiGatewayShim) -> None:
    for method, path in [("GET", "/nope"), ("DELETE", "/health"), ("GET", "/")]:
        response = httpx.request(method, f"{shim.url}{path}", headers={"x-api-key": KEY_A})
        assert response.status_code == 403, (method, path)
        assert response.json() == {"message": "Missing Authentication Token"}


def test_encoded_slash_stays_in_one_path_parameter(shim: ApiGatewayShim) -> None:
    event = _event(httpx.get(f"{shim.url}/invocations/a%2F..%2Fb", headers={"x-api-key": KEY_A}))[
        "event"
    ]
    assert event["resource"] == "/invocations/{id}"
    assert event["pathParameters"] == {"id": "a/../b"}


def test_greedy_path(shim: ApiGatewayShim) -> None:
    event = _event(
        httpx.put(f"{shim.url}/files/a/b.txt", headers={"x-api-key": KEY_A}, content=b"x")
    )["event"]
    assert event["pathParameters"] == {"proxy": "a/b.txt"}
    assert event["httpMethod"] == "PUT"


def test_binary_body_is_base64(shim: ApiGatewayShim) -> None:
    payload = bytes(range(256))
    event = _event(
        httpx.put(
            f"{shim.url}/files/blob",
            headers={"x-api-key": KEY_A, "Content-Type": "application/octet-stream"},
            content=payload,
        )
    )["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_payload_limit() -> None:
    assert MAX_PAYLOAD_BYTES == 10 * 1024 * 1024
    template = Template.load(FIXTURE_TEMPLATE)
    with ApiGatewayShim.from_template(
        template, handlers={"ApiFunction": echo}, api_keys=[KEY_A], port=0, max_payload_bytes=2048
    ) as shim:
        url = f"{shim.url}/agents/x/invocations"
        ok = httpx.post(url, headers={"x-api-key": KEY_A}, content=b"a" * 2048)
        assert ok.status_code == 200
        too_big = httpx.post(url, headers={"x-api-key": KEY_A}, content=b"a" * 2049)
        assert too_big.status_code == 413
        assert too_big.json() == {"message": "Request Too Long"}

        def chunks() -> Iterator[bytes]:
            for _ in range(3):
                yield b"b" * 1000

        chunked = httpx.post(url, headers={"x-api-key": KEY_A}, content=chunks())
        assert chunked.status_code == 413
        small = httpx.post(url, headers={"x-api-key": KEY_A}, content=iter([b"ab", b"cd"]))
        assert small.json()["event"]["body"] == "abcd"


def test_handler_errors_and_timeouts() -> None:
    release = threading.Event()

    def broken(event: dict[str, Any], context: Any) -> Any:
        mode = event["pathParameters"]["id"]
        if mode == "raise":
            raise RuntimeError("boom")
        if mode == "malformed":
            return {"body": "no status"}
        if mode == "slow":
            release.wait(10)
        return {"statusCode": 204}

    template = Template.load(FIXTURE_TEMPLATE)
    with ApiGatewayShim.from_template(
        template,
        handlers={"ApiFunction": broken},
        api_keys=[KEY_A],
        port=0,
        integration_timeout_ms=300,
    ) as shim:
        headers = {"x-api-key": KEY_A}
        for mode in ("raise", "malformed"):
            response = httpx.get(f"{shim.url}/invocations/{mode}", headers=headers)
            assert response.status_code == 502
            assert response.json() == {"message": "Internal server error"}
            assert "boom" not in response.text
        slow = httpx.get(f"{shim.url}/invocations/slow", headers=headers, timeout=10)
        release.set()
        assert slow.status_code == 504
        assert slow.json() == {"message": "Endpoint request timed out"}
        fine = httpx.get(f"{shim.url}/invocations/ok", headers=headers)
        assert fine.status_code == 204
        assert fine.content == b""


def test_requests_run_concurrently() -> None:
    barrier = threading.Barrier(4, timeout=10)

    def meet(event: dict[str, Any], context: Any) -> dict[str, Any]:
        barrier.wait()  # returns only when 4 requests are in the handler at once
        return {"statusCode": 200, "body": "met"}

    template = Template.load(FIXTURE_TEMPLATE)
    with ApiGatewayShim.from_template(
        template, handlers={"ApiFunction": meet}, api_keys=[KEY_A], port=0
    ) as shim:
        results: list[int] = []

        def call() -> None:
            response = httpx.get(
                f"{shim.url}/invocations", headers={"x-api-key": KEY_A}, timeout=20
            )
            results.append(response.status_code)

        run_in_threads(call, 4)
        assert results == [200, 200, 200, 200]


def test_project_template_routes_and_gateway_responses() -> None:
    # API_KEY mode: the shim checks x-api-key itself (KEYS mode: tests/test_local_authorizer.py)
    template = Template.load(PROJECT_TEMPLATE, parameter_overrides={"AuthMode": "API_KEY"})
    with ApiGatewayShim.from_template(
        template, handlers={"ApiFunction": echo}, api_keys={KEY_A: "tenant-a"}, port=0
    ) as shim:
        answer = _event(
            httpx.get(f"{shim.url}/agents/backend-engineer-python", headers={"x-api-key": KEY_A})
        )
        event = answer["event"]
        assert event["resource"] == "/{proxy+}"
        assert event["pathParameters"] == {"proxy": "agents/backend-engineer-python"}
        assert event["requestContext"]["identity"]["apiKeyId"] == "tenant-a"
        assert event["requestContext"]["stage"] == "v1"
        assert 0 < answer["remaining_ms"] <= 30_000  # ApiFunction's Timeout
        # API Gateway's own errors use the template's gateway responses
        denied = httpx.get(f"{shim.url}/agents", headers={"x-api-key": "wrong"})
        assert denied.status_code == 403
        assert denied.headers["content-type"] == "application/problem+json"
        problem = denied.json()
        assert problem["type"] == "/problems/unauthorized"
        assert problem["request_id"] == denied.headers["x-amzn-RequestId"]
        root = httpx.get(f"{shim.url}/", headers={"x-api-key": KEY_A})
        assert root.status_code == 403
        assert root.json()["detail"] == "Missing credentials, or no such route."
    iam = Template.load(PROJECT_TEMPLATE, parameter_overrides={"AuthMode": "IAM"})
    with pytest.raises(ValueError, match="IAM"):
        ApiGatewayShim.from_template(iam, handlers={"ApiFunction": echo}, port=0)


def test_gateway_response_templates_render_message() -> None:
    template = Template.load(PROJECT_TEMPLATE)
    shim = ApiGatewayShim.from_template(template, handlers={"ApiFunction": echo}, port=0)
    status, headers, body = shim.gateway_error("REQUEST_TOO_LARGE", "req-1")
    assert status == 413
    assert dict(headers)["Content-Type"] == "application/problem+json"
    assert json.loads(body) == {
        "type": "/problems/payload-too-large",
        "title": "Payload too large",
        "status": 413,
        "detail": "Request Too Long",
        "request_id": "req-1",
    }
    status, _, body = shim.gateway_error("INTEGRATION_FAILURE", "req-2")
    assert status == 502  # DEFAULT_5XX keeps API Gateway's status
    assert json.loads(body)["type"] == "/problems/service-unavailable"


def test_taken_port_is_a_clear_error(shim: ApiGatewayShim) -> None:
    port = int(shim.url.rsplit(":", 1)[1])
    other = ApiGatewayShim.from_template(
        Template.load(FIXTURE_TEMPLATE), handlers={"ApiFunction": echo}, port=port
    )
    with pytest.raises(PortInUseError, match="--port"):
        other.start()


def test_stop_frees_the_port() -> None:
    template = Template.load(FIXTURE_TEMPLATE)
    shim = ApiGatewayShim.from_template(template, handlers={"ApiFunction": echo}, port=0)
    url = shim.start()
    assert httpx.get(f"{url}/health").status_code == 200
    shim.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/health", timeout=2)


def _raw(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes (methods and request lines httpx will not send); parse the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(
    "method",
    ["TRACE", "CONNECT", "PROPFIND", "FOO", "get", "Post", "ANY", "x-amazon-apigateway-any-method"],
)
def test_unsupported_methods_are_answered_as_api_gateway_does(method: str) -> None:
    """Issue 12.4: not 501 + HTML. API Gateway REST answers a method outside its seven
    (an ``ANY`` method is those seven) with MISSING_AUTHENTICATION_TOKEN (decision 12.22)."""
    template = Template.load(PROJECT_TEMPLATE)
    called: list[str] = []

    def record(event: dict[str, Any], context: Any) -> Any:
        called.append(event["httpMethod"])
        return echo(event, context)

    with ApiGatewayShim.from_template(
        template, handlers={"ApiFunction": record}, api_keys={KEY_A: "tenant-a"}, port=0
    ) as shim:
        for path in ("/health", "/agents/x/invocations", "/invocations/inv_1/cancel", "/"):
            request = f"{method} {path} HTTP/1.1\r\nHost: x\r\nx-api-key: {KEY_A}\r\n"
            status, headers, body = _raw(
                shim.url, (request + "Content-Length: 0\r\nConnection: close\r\n\r\n").encode()
            )
            assert status == 403, (method, path, body)
            assert headers["content-type"] == "application/problem+json"
            problem = json.loads(body)
            assert problem["type"] == "/problems/unauthorized"
            assert problem["request_id"] == headers["x-amzn-requestid"]
    assert called == []  # API Gateway never calls the function for them


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),  # a bad request line
        (b"GET /health HTTP/9.9\r\n\r\n", 505),  # http.server: version not supported
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
        (b"GET /health HTTP/1.1\r\nX: " + b"a" * 70_000 + b"\r\n\r\n", 431),
        (
            b"GET /health HTTP/1.1\r\n" + b"".join(b"X%d: y\r\n" % i for i in range(120)) + b"\r\n",
            431,
        ),
    ],
)
def test_http_server_errors_are_problem_json_not_html(request_bytes: bytes, status: int) -> None:
    template = Template.load(PROJECT_TEMPLATE)
    with ApiGatewayShim.from_template(template, handlers={"ApiFunction": echo}, port=0) as shim:
        got, headers, body = _raw(shim.url, request_bytes)
    assert got == status, body
    assert headers["content-type"] == "application/problem+json"
    assert b"<html" not in body.lower()
    problem = json.loads(body)
    assert problem["type"] == (
        "/problems/bad-request" if status < 500 else "/problems/service-unavailable"
    )
    assert problem["detail"]
