"""The problem responses the OpenAPI document declares for the routes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents.api_models import Problem
from agents.problems import PROBLEM_JSON

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

__all__ = [
    "AGENT_NOT_FOUND",
    "BODY_ERRORS",
    "COMMON_ERRORS",
    "INVOCATION_NOT_FOUND",
    "problem_response",
]

#: The 404 of the routes that name an agent / a caller's invocation.
AGENT_NOT_FOUND = "No such agent (`agent-not-found`)."
INVOCATION_NOT_FOUND = "No such invocation for this caller (`invocation-not-found`)."


def problem_response(description: str) -> OpenAPIResponse:
    response: OpenAPIResponse = {
        "description": description,
        "content": {PROBLEM_JSON: {"model": Problem}},
    }
    return response


#: Every route's problems.
COMMON_ERRORS: dict[int, OpenAPIResponse] = {
    401: problem_response("No caller identity on the request (`unauthorized`)."),
    422: problem_response("Invalid parameter (`validation-error`, with `errors`)."),
    500: problem_response(
        "Unexpected error (`internal-error`), or a fault of the deployment such as a missing "
        "API key secret (`configuration-error`); the body has the request id."
    ),
}
#: The problems of a route that takes a JSON body (and an ``Idempotency-Key``).
BODY_ERRORS: dict[int, OpenAPIResponse] = {
    400: problem_response(
        "Malformed JSON, an invalid `Idempotency-Key` or agent name (`bad-request`, "
        "`invalid-idempotency-key`, `invalid-agent-name`)."
    ),
    409: problem_response(
        "The same `Idempotency-Key` is still in progress (`idempotency-key-in-use`, with "
        "`Retry-After`)."
    ),
    413: problem_response("Body over the size limit or too many items (`payload-too-large`)."),
    415: problem_response("The body is not `application/json` (`unsupported-media-type`)."),
    422: problem_response(
        "Validation failed (`validation-error` with `errors`), input contract violated, "
        "invalid definition, or the `Idempotency-Key` was used with another body."
    ),
    503: problem_response("A dependency is unavailable (`service-unavailable`, `Retry-After`)."),
}
