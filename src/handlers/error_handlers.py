"""What the API answers for each error a route raises (wired in :mod:`handlers.api`)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from agents.errors import BadRequest, ConfigurationError, GatewayError
from agents.observability import count_failure, logger
from agents.problems import Failure, problem_body
from handlers.api_results import ProblemReply, failure_response, problem_response
from handlers.caller import current_request_id
from handlers.prerouting import unsupported_media_type

__all__ = [
    "on_content_type",
    "on_gateway_error",
    "on_not_found",
    "on_problem_reply",
    "on_unexpected",
    "on_validation_error",
]


def on_problem_reply(resolver: APIGatewayRestResolver, exc: ProblemReply) -> Response[str]:
    return exc.response


def on_gateway_error(resolver: APIGatewayRestResolver, exc: GatewayError) -> Response[str]:
    if isinstance(exc, ConfigurationError):
        count_failure(exc.error_type)  # outside a run; the executor counts the ones inside
    if exc.status >= 500:
        logger.error(
            "request failed",
            extra={"error_type": exc.error_type, "error": exc.detail},
            exc_info=exc.error_type == GatewayError.error_type,
        )
    else:
        logger.info("request rejected", extra={"error_type": exc.error_type, "status": exc.status})
    return failure_response(resolver, Failure.from_exception(exc))


def on_validation_error(
    resolver: APIGatewayRestResolver, exc: RequestValidationError
) -> Response[str]:
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        bad_json = BadRequest("the request body is not valid JSON")
        return failure_response(resolver, Failure.from_exception(bad_json))
    field_errors = [
        {
            "loc": [part for part in error.get("loc", ()) if isinstance(part, (str, int))],
            "type": str(error.get("type", "invalid")),
            "msg": str(error.get("msg", "invalid value")),
        }
        for error in errors
    ]
    body = problem_body(
        422,
        "validation-error",
        "Request validation failed",
        f"{len(field_errors)} field(s) failed validation; see errors",
        instance=resolver.current_event.path,
        request_id=current_request_id(resolver),
        errors=field_errors,
    )
    return problem_response(body)


def on_content_type(
    resolver: APIGatewayRestResolver, exc: RequestUnsupportedContentType
) -> Response[str]:
    return failure_response(resolver, Failure.from_exception(unsupported_media_type()))


def on_not_found(resolver: APIGatewayRestResolver, exc: NotFoundError) -> Response[str]:
    """405 with ``Allow`` when another method has the path, else 404."""
    event = resolver.current_event
    allowed = sorted(
        {
            route.method
            for route in [*resolver._static_routes, *resolver._dynamic_routes]
            if route.rule.match(event.path)
        }
    )
    request_id = current_request_id(resolver)
    if allowed:
        body = problem_body(
            405,
            "method-not-allowed",
            "Method not allowed",
            f"{event.http_method} is not allowed on {event.path}; use {', '.join(allowed)}",
            instance=event.path,
            request_id=request_id,
        )
        return problem_response(body, {"Allow": ", ".join(allowed)})
    body = problem_body(
        404,
        "not-found",
        "Not found",
        f"no route {event.http_method} {event.path}",
        instance=event.path,
        request_id=request_id,
    )
    return problem_response(body)


def on_unexpected(resolver: APIGatewayRestResolver, exc: Exception) -> Response[str]:
    logger.exception("unexpected error")
    return failure_response(resolver, Failure.from_exception(GatewayError("unexpected error")))
