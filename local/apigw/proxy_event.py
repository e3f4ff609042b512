"""The API Gateway REST proxy event (payload format 1.0) for one HTTP request."""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from local.template import ApiRoute

__all__ = ["ApiStage", "HttpRequest", "ProxyRequest", "build_proxy_event", "is_binary"]


@dataclass(frozen=True)
class ApiStage:
    """Where the API is deployed: what the event's ``requestContext`` names."""

    stage: str
    api_id: str
    account_id: str
    host: str
    port: int
    binary_media_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request as the shim's server read it (``body`` None: over the size limit)."""

    method: str
    target: str
    headers: Sequence[tuple[str, str]]
    body: bytes | None
    source_ip: str


@dataclass(frozen=True)
class ProxyRequest:
    """One HTTP request (its body within the limit), matched to its route, with the
    caller's API key."""

    http: HttpRequest
    route: ApiRoute
    path_parameters: Mapping[str, str]
    api_key: str | None
    api_key_id: str | None
    request_id: str


def is_binary(content_type: str, binary_media_types: Sequence[str]) -> bool:
    """Whether the API's ``BinaryMediaTypes`` make this body base64 in the event."""
    media = content_type.split(";", 1)[0].strip().lower()
    return bool(media) and any(
        fnmatch.fnmatchcase(media, pattern.lower()) for pattern in binary_media_types
    )


def build_proxy_event(request: ProxyRequest, stage: ApiStage) -> dict[str, Any]:
    """The proxy event API Gateway gives the Lambda function for ``request``."""
    http = request.http
    method, target, headers, body = http.method, http.target, http.headers, http.body or b""
    route, api_key, request_id = request.route, request.api_key, request.request_id
    source_ip, path_parameters = http.source_ip, request.path_parameters
    split = urlsplit(target)
    path = unquote(split.path) or "/"
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        single[name] = value
        multi.setdefault(name, []).append(value)
    forwarded = {
        "X-Forwarded-For": source_ip,
        "X-Forwarded-Port": str(stage.port),
        "X-Forwarded-Proto": "http",
    }
    for name, value in forwarded.items():
        if not any(h.lower() == name.lower() for h in single):
            single[name] = value
            multi[name] = [value]
    query = parse_qsl(split.query, keep_blank_values=True)
    query_single: dict[str, str] = {}
    query_multi: dict[str, list[str]] = {}
    for name, value in query:
        query_single[name] = value
        query_multi.setdefault(name, []).append(value)
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    if not body:
        body_text: str | None = None
        is_base64 = False
    elif is_binary(content_type, stage.binary_media_types):
        body_text, is_base64 = base64.b64encode(body).decode(), True
    else:
        try:
            body_text, is_base64 = body.decode("utf-8"), False
        except UnicodeDecodeError:
            body_text, is_base64 = base64.b64encode(body).decode(), True
    now = time.time()
    user_agent = next((v for k, v in headers if k.lower() == "user-agent"), None)
    identity: dict[str, Any] = {
        "accessKey": None,
        "accountId": None,
        "apiKey": api_key,
        "apiKeyId": request.api_key_id,
        "caller": None,
        "cognitoAuthenticationProvider": None,
        "cognitoAuthenticationType": None,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "principalOrgId": None,
        "sourceIp": source_ip,
        "user": None,
        "userAgent": user_agent,
        "userArn": None,
    }
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": method,
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": query_single or None,
        "multiValueQueryStringParameters": query_multi or None,
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": stage.account_id,
            "apiId": stage.api_id,
            "domainName": f"{stage.host}:{stage.port}",
            "domainPrefix": stage.host,
            "extendedRequestId": request_id,
            "httpMethod": method,
            "identity": identity,
            "path": f"/{stage.stage}{path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "resourceId": hashlib.sha256(route.path.encode()).hexdigest()[:6],
            "resourcePath": route.path,
            "stage": stage.stage,
        },
        "body": body_text,
        "isBase64Encoded": is_base64,
    }
