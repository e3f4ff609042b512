"""What API Gateway decides itself: the methods it supports, its own error answers, key ids."""

from __future__ import annotations

import base64
import hashlib
import json
import re

from local.template import GatewayResponse

__all__ = [
    "API_GATEWAY_METHODS",
    "CONTEXT_VARIABLE",
    "GATEWAY_ERRORS",
    "api_key_id",
    "render_gateway_response",
]


def api_key_id(key: str) -> str:
    """A stable, API-Gateway-looking id (10 lowercase alphanumerics) for a key value."""
    digest = hashlib.sha256(key.encode()).digest()
    return base64.b32encode(digest).decode().lower()[:10]


#: The methods API Gateway REST APIs support (``ANY`` is these seven). Any other
#: token, TRACE and CONNECT included, is an unsupported method: 403
#: ``MISSING_AUTHENTICATION_TOKEN`` (decision 12.22). Methods are case-sensitive.
API_GATEWAY_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"})

#: Gateway response type -> (default status, default message, x-amzn-ErrorType).
GATEWAY_ERRORS: dict[str, tuple[int, str, str]] = {
    "MISSING_AUTHENTICATION_TOKEN": (
        403,
        "Missing Authentication Token",
        "MissingAuthenticationTokenException",
    ),
    "INVALID_API_KEY": (403, "Forbidden", "ForbiddenException"),
    "ACCESS_DENIED": (
        403,
        "User is not authorized to access this resource",
        "AccessDeniedException",
    ),
    "UNAUTHORIZED": (401, "Unauthorized", "UnauthorizedException"),
    "AUTHORIZER_FAILURE": (500, "Internal server error", "AuthorizerConfigurationException"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long", "RequestTooLongException"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out", "InternalServerErrorException"),
    "INTEGRATION_FAILURE": (502, "Internal server error", "InternalServerErrorException"),
}
#: ``$context.<name>`` in a gateway response template.
CONTEXT_VARIABLE = re.compile(r"\$context\.([A-Za-z][A-Za-z.]*[A-Za-z])")


def render_gateway_response(
    spec: GatewayResponse | None, kind: str, text: str, request_id: str, stage: str
) -> tuple[dict[str, str], str]:
    """A gateway response's headers and body (its template, else API Gateway's default)."""
    headers = {"Content-Type": "application/json"}
    body = json.dumps({"message": text})
    if spec is not None:
        headers.update(spec.headers)
        template = spec.templates.get("application/json") or next(
            iter(spec.templates.values()), None
        )
        if template is not None:
            values = {
                "requestId": request_id,
                "extendedRequestId": request_id,
                "stage": stage,
                "error.message": text,
                "error.messageString": json.dumps(text),
                "error.responseType": kind,
            }
            body = CONTEXT_VARIABLE.sub(lambda m: values.get(m.group(1), ""), template)
    return headers, body
