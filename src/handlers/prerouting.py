"""Checks before routing (request validation would parse the body first): body size 413,
content type 415, UTF-8 and nesting depth 400."""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from agents.errors import BadRequest, GatewayError, PayloadTooLarge, UnsupportedMediaType
from agents.problems import Failure, problem_proxy_response

__all__ = ["MAX_JSON_DEPTH", "decoded_event", "precheck", "unsupported_media_type"]

JSON = "application/json"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: JSON nesting a body may have (objects and arrays): DynamoDB stores at most 32 levels.
MAX_JSON_DEPTH = 32
#: A JSON string literal (the unrolled-loop form: linear time on megabyte strings).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def unsupported_media_type() -> UnsupportedMediaType:
    return UnsupportedMediaType(
        "send the body as JSON with the header Content-Type: application/json"
    )


def _content_type(event: APIGatewayProxyEvent) -> str | None:
    value = event.headers.get("content-type")
    if isinstance(value, str):
        return value
    values = {k.lower(): v for k, v in (event.multi_value_headers or {}).items()}
    found = values.get("content-type")
    return str(found[-1]) if found else None


def _body_size(event: APIGatewayProxyEvent) -> int:
    body = event.body
    if not isinstance(body, str):
        return 0
    if event.is_base64_encoded:
        return len(body) * 3 // 4
    return len(body.encode())


def _is_json(content_type: str | None) -> bool:
    if content_type is None:
        return True  # Powertools (and most clients) treat an absent type as JSON
    media = content_type.split(";", 1)[0].strip().lower()
    return media == JSON or (media.startswith("application/") and media.endswith("+json"))


def json_depth(text: str) -> int:
    """The deepest object/array nesting in ``text`` (brackets inside strings ignored)."""
    brackets = _NOT_BRACKETS.sub("", _JSON_STRING.sub("", text))
    depth = deepest = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _decoded_text(event: APIGatewayProxyEvent) -> str | None:
    """The body as text; None when it is not base64 of UTF-8."""
    try:
        return event.decoded_body
    except (ValueError, UnicodeDecodeError):
        return None


def _body_problem(event: APIGatewayProxyEvent) -> GatewayError | None:
    """A JSON body that cannot be parsed safely: not UTF-8, or nested too deeply (the
    parser and the serialiser would hit their recursion limits: a 500 otherwise)."""
    if not isinstance(event.body, str) or not event.body:
        return None
    text = _decoded_text(event)
    if text is None:
        return BadRequest("the request body is not valid UTF-8")
    if json_depth(text) > MAX_JSON_DEPTH:
        return BadRequest(
            f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep", limit=MAX_JSON_DEPTH
        )
    return None


def precheck(raw_event: dict[str, Any], request_id: str | None) -> dict[str, Any] | None:
    """The proxy response of a request refused before routing, else None."""
    event = APIGatewayProxyEvent(raw_event)
    # lazy: pydantic-settings stays off the cold import (decision 13.200)
    from agents.config import get_settings

    limit = get_settings().max_request_bytes
    error: GatewayError | None = None
    body_method = str(raw_event.get("httpMethod", "")).upper() in _BODY_METHODS
    if _body_size(event) > limit:
        error = PayloadTooLarge(f"the request body is over {limit} bytes", limit=limit)
    elif body_method and event.body and not _is_json(_content_type(event)):
        error = unsupported_media_type()
    elif body_method:
        error = _body_problem(event)
    if error is None:
        return None
    return problem_proxy_response(
        Failure.from_exception(error),
        instance=str(raw_event.get("path") or ""),
        request_id=request_id,
    )


def decoded_event(raw_event: dict[str, Any]) -> dict[str, Any]:
    """Base64 JSON bodies (binary media types) decoded, so validation reads them."""
    event = APIGatewayProxyEvent(raw_event)
    if event.is_base64_encoded and isinstance(event.body, str):
        text = _decoded_text(event)
        if text is None:
            return raw_event
        return {**raw_event, "body": text, "isBase64Encoded": False}
    return raw_event
