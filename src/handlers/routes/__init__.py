"""The API's routes, one Powertools ``Router`` per resource, and their OpenAPI responses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Router

from handlers.openapi_responses import BODY_ERRORS, COMMON_ERRORS, problem_response

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

__all__ = ["new_router", "route_responses"]


def new_router() -> Router:
    """A Powertools router (its constructor is not annotated)."""
    return Router()  # type: ignore[no-untyped-call]


def route_responses(
    answers: Mapping[int, str | OpenAPIResponse],
    problems: Mapping[int, str] | None = None,
    *,
    takes_body: bool = False,
) -> dict[int, OpenAPIResponse]:
    """A route's ``responses=``: every route's problems (and a JSON body's with
    ``takes_body``), then its answers (a description or a whole response) and its own
    problems by status (a description each)."""
    table: dict[int, OpenAPIResponse] = {**COMMON_ERRORS, **(BODY_ERRORS if takes_body else {})}
    for status, answer in answers.items():
        table[status] = {"description": answer} if isinstance(answer, str) else answer
    for status, description in (problems or {}).items():
        table[status] = problem_response(description)
    return table
