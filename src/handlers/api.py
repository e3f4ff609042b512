"""API Gateway (REST API, proxy integration) -> :class:`agents.service.GatewayService`.

The resolver (Powertools, request validation on), one router per resource
(:mod:`handlers.routes`), the error handlers and the entry point; docs/api.md describes
every route and docs/architecture.md ("API handler") the cold-start rules.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from agents.errors import GatewayError
from agents.observability import logger, metrics
from agents.problems import Failure, problem_proxy_response
from handlers import _snapstart, error_handlers
from handlers.api_results import ProblemReply
from handlers.caller import request_id_of, tenant_of
from handlers.entry import lambda_entry
from handlers.prerouting import decoded_event, precheck
from handlers.routes import agents, batches, events, invocations, meta, workspaces

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["app", "handler", "openapi_document", "tenant_of"]

app = APIGatewayRestResolver(enable_validation=True)
# The order of the routes is the order of the OpenAPI document's paths.
for resource in (invocations, events, workspaces, batches, agents, meta):
    app.include_router(resource.router)

app.exception_handler(ProblemReply)(partial(error_handlers.on_problem_reply, app))
app.exception_handler(GatewayError)(partial(error_handlers.on_gateway_error, app))
app.exception_handler(RequestValidationError)(partial(error_handlers.on_validation_error, app))
app.exception_handler(RequestUnsupportedContentType)(partial(error_handlers.on_content_type, app))
app.exception_handler(NotFoundError)(partial(error_handlers.on_not_found, app))
app.exception_handler(Exception)(partial(error_handlers.on_unexpected, app))


def openapi_document() -> str:
    """The OpenAPI document, generated from the routes and models (once per container)."""
    return meta.openapi_document(app)


def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="ApiRequests", unit=MetricUnit.Count, value=1)
    request_id = request_id_of(event, context)
    response = precheck(event, request_id)
    if response is None:
        try:
            response = app.resolve(decoded_event(event), context)
        except Exception:  # noqa: BLE001 - a malformed event must still get a problem document
            logger.exception("unexpected error outside the routes")
            response = problem_proxy_response(
                Failure.from_exception(GatewayError("unexpected error")),
                instance=str(event.get("path") or ""),
                request_id=request_id,
            )
    logger.info(
        "request handled",
        extra={
            "method": event.get("httpMethod"),
            "resource": event.get("resource"),
            "status": response.get("statusCode"),
        },
    )
    return response


handler = lambda_entry(
    _handle, cold_start_metric=True, correlation_id_path=correlation_paths.API_GATEWAY_REST
)


# --- SnapStart ------------------------------------------------------------------------


def _before_snapshot() -> None:
    """Pay the heavy imports once, in the snapshot (no clients, no secrets)."""
    from aws_lambda_powertools.utilities import idempotency  # noqa: F401

    _snapstart.import_heavy()


_snapstart.install(before_snapshot=_before_snapshot)
