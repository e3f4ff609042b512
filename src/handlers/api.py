"""API Gateway (REST API, proxy integration) -> :class:`agents.service.GatewayService`.

Thin: routing (Powertools ``APIGatewayRestResolver`` with request validation), the
caller's tenant, ``Idempotency-Key`` (Powertools idempotency on ``IDEMPOTENCY_TABLE``),
and mapping results and errors to JSON / RFC 9457 ``application/problem+json``. The logic
lives in ``agents.service``; docs/api.md describes every route.

Cold start: nothing here imports ``anthropic`` or ``boto3`` or builds a client at import.
The idempotency utility (which imports boto3) is built on the first request that carries an
``Idempotency-Key``; the runner (and so the SDK) only on a sync run; the X-Ray tracer only
when tracing is on (in Lambda, ``POWERTOOLS_TRACE_DISABLED`` unset).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit

from agents.api_models import (
    API_TITLE,
    API_VERSION,
    AgentList,
    AgentView,
    BatchRequest,
    BatchSubmitted,
    BatchView,
    Health,
    InvocationList,
    InvocationView,
    InvokeRequest,
    Problem,
    normalize_idempotency_key,
)
from agents.config import get_settings
from agents.container import PerContainerMap
from agents.errors import (
    PROBLEM_BASE,
    BadRequest,
    ConfigurationError,
    GatewayError,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
)
from agents.observability import count_failure, logger, metrics
from agents.problems import Failure
from agents.service import InvokeResult, get_service
from agents.types import InvocationStatus
from handlers import _snapstart

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = ["app", "handler", "openapi_document", "tenant_of"]

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
#: Seconds a caller should wait before retrying a 409 (key in use) or a 503.
RETRY_AFTER_S = 2
#: Stored idempotent answers larger than this keep a reference instead of the body.
MAX_STORED_BODY_BYTES = 256_000
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

app = APIGatewayRestResolver(enable_validation=True)


def _problem_response(description: str) -> OpenAPIResponse:
    response: OpenAPIResponse = {
        "description": description,
        "content": {PROBLEM_JSON: {"model": Problem}},
    }
    return response


_COMMON_ERRORS: dict[int, OpenAPIResponse] = {
    401: _problem_response("No caller identity on the request (`unauthorized`)."),
    422: _problem_response("Invalid parameter (`validation-error`, with `errors`)."),
    500: _problem_response(
        "Unexpected error (`internal-error`), or a fault of the deployment such as a missing "
        "API key secret (`configuration-error`); the body has the request id."
    ),
}
_BODY_ERRORS: dict[int, OpenAPIResponse] = {
    400: _problem_response(
        "Malformed JSON, an invalid `Idempotency-Key` or agent name (`bad-request`, "
        "`invalid-idempotency-key`, `invalid-agent-name`)."
    ),
    409: _problem_response(
        "The same `Idempotency-Key` is still in progress (`idempotency-key-in-use`, with "
        "`Retry-After`)."
    ),
    413: _problem_response("Body over the size limit or too many items (`payload-too-large`)."),
    415: _problem_response("The body is not `application/json` (`unsupported-media-type`)."),
    422: _problem_response(
        "Validation failed (`validation-error` with `errors`), input contract violated, "
        "invalid definition, or the `Idempotency-Key` was used with another body."
    ),
    503: _problem_response("A dependency is unavailable (`service-unavailable`, `Retry-After`)."),
}

R = TypeVar("R")


# --- the caller ----------------------------------------------------------------------


def tenant_of(event: Mapping[str, Any]) -> str:
    """The caller's tenant: the API key id, else the IAM user ARN, else the authorizer's
    principal id (the one place that decides; docs/api.md "Tenancy")."""
    context = event.get("requestContext") or {}
    identity = context.get("identity") or {}
    authorizer = context.get("authorizer") or {}
    for value in (
        identity.get("apiKeyId"),
        identity.get("userArn"),
        authorizer.get("principalId") if isinstance(authorizer, Mapping) else None,
    ):
        if isinstance(value, str) and value.strip():
            return value.strip()
    raise Unauthorized(
        "the request carries no caller identity (API key, IAM principal or authorizer principal)"
    )


def _tenant() -> str:
    tenant = tenant_of(app.current_event.raw_event)
    logger.append_keys(tenant=tenant)
    return tenant


def _request_id() -> str | None:
    context = app.current_event.raw_event.get("requestContext") or {}
    request_id = context.get("requestId")
    if isinstance(request_id, str) and request_id:
        return request_id
    lambda_context = getattr(app, "lambda_context", None)
    return getattr(lambda_context, "aws_request_id", None)


def _wants_async(prefer: str | None) -> bool:
    """RFC 7240: ``Prefer: respond-async`` (possibly among other preferences)."""
    if not prefer:
        return False
    tokens = (part.split(";", 1)[0].strip().lower() for part in prefer.split(","))
    return "respond-async" in tokens


# --- results and problems ------------------------------------------------------------


@dataclass(frozen=True)
class ApiResult:
    """One answer, as replayed for an ``Idempotency-Key``.

    A body that is an invocation or a large batch is stored as a reference
    (``ref_kind``/``ref_id``) and read again on a replay (a finished invocation never
    changes; outputs can be megabytes); everything else is stored whole.
    """

    status: int
    body: dict[str, Any] | None
    headers: dict[str, str] = field(default_factory=dict)
    problem: bool = False
    ref_kind: str | None = None
    ref_id: str | None = None
    replayed: bool = False

    def stored(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status, "headers": self.headers}
        if self.problem:
            data["problem"] = True
        body_size = len(json.dumps(self.body)) if self.body is not None else 0
        if self.ref_kind and (self.ref_kind == "invocation" or body_size > MAX_STORED_BODY_BYTES):
            data["ref"] = {"kind": self.ref_kind, "id": self.ref_id}
        else:
            data["body"] = self.body
        return data

    @classmethod
    def from_stored(cls, data: Mapping[str, Any]) -> ApiResult:
        ref = data.get("ref") or {}
        return cls(
            status=int(data["status"]),
            body=data.get("body"),
            headers=dict(data.get("headers") or {}),
            problem=bool(data.get("problem")),
            ref_kind=ref.get("kind"),
            ref_id=ref.get("id"),
        )


class _Reply(Exception):
    """Carries a finished problem response past response validation."""

    def __init__(self, response: Response[str]) -> None:
        super().__init__("reply")
        self.response = response


def problem_body(
    status: int,
    error_type: str,
    title: str,
    detail: str,
    *,
    instance: str | None,
    request_id: str | None,
    invocation_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    reserved = {"type", "title", "status", "detail", "instance", "request_id"}
    problem = Problem.model_validate(
        {k: v for k, v in extra.items() if k not in reserved}
        | {
            "type": PROBLEM_BASE + error_type,
            "title": title,
            "status": status,
            "detail": detail,
            "instance": instance,
            "invocation_id": invocation_id,
            "request_id": request_id,
        }
    )
    return problem.model_dump(mode="json", exclude_none=True)


def _failure_body(failure: Failure, invocation_id: str | None = None) -> dict[str, Any]:
    extra = dict(failure.extra)
    invocation_id = invocation_id or extra.pop("invocation_id", None)
    extra.pop("invocation_id", None)
    return problem_body(
        failure.status,
        failure.error_type,
        failure.title,
        failure.detail,
        instance=app.current_event.path,
        request_id=_request_id(),
        invocation_id=invocation_id,
        **extra,
    )


#: Problems a retry of the same request can cure shortly (they carry ``Retry-After``).
_RETRY_LATER = frozenset({IdempotencyInProgress.error_type, ServiceUnavailable.error_type})


def _retry_headers(failure: Failure) -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_S)} if failure.error_type in _RETRY_LATER else {}


def _problem(body: dict[str, Any], headers: Mapping[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=int(body["status"]),
        content_type=PROBLEM_JSON,
        body=json.dumps(body, ensure_ascii=False),
        headers=dict(headers or {}),
    )


def _failure_response(failure: Failure, invocation_id: str | None = None) -> Response[str]:
    return _problem(_failure_body(failure, invocation_id), _retry_headers(failure))


def _respond(result: ApiResult, tenant: str) -> Response[Any]:
    """Turn a (possibly replayed) result into the response; problems bypass validation."""
    headers = dict(result.headers)
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    body = result.body
    if body is None and result.ref_id:
        service = get_service()
        if result.ref_kind == "batch":
            body = service.get_batch(tenant, result.ref_id).model_dump(mode="json")
        else:
            view = service.get_invocation(tenant, result.ref_id, include_input=False)
            body = view.model_dump(mode="json")
    if result.problem:
        raise _Reply(_problem(body or {}, headers))
    return Response(status_code=result.status, content_type=JSON, body=body, headers=headers)


# --- idempotency (Powertools, built on first use) -----------------------------------


class _Idempotency:
    """The Powertools idempotent wrapper and its config, per idempotency table."""

    def __init__(self, table: str, retention_days: int) -> None:
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )
        from aws_lambda_powertools.utilities.idempotency.serialization.base import (
            BaseIdempotencySerializer,
        )

        from agents import aws

        class Serializer(BaseIdempotencySerializer):
            def to_dict(self, data: Any) -> dict[str, Any]:
                stored: dict[str, Any] = data.stored()
                return stored

            def from_dict(self, data: dict[str, Any]) -> Any:
                return ApiResult.from_stored(data)

        def mark_replayed(response: Any, idempotent_data: Any) -> Any:
            return replace(response, replayed=True) if isinstance(response, ApiResult) else response

        self.table = table
        self.config = IdempotencyConfig(
            event_key_jmespath="[tenant, key]",
            payload_validation_jmespath="fingerprint",
            raise_on_no_idempotency_key=True,
            # As long as the invocation record: the key names it for its whole life.
            expires_after_seconds=retention_days * 86_400,
            response_hook=mark_replayed,
        )
        persistence = DynamoDBPersistenceLayer(
            table_name=table, boto3_client=aws.client("dynamodb")
        )

        def perform(request: dict[str, Any], operation: Callable[[], ApiResult]) -> ApiResult:
            return operation()

        self.perform: Callable[..., ApiResult] = idempotent_function(
            perform,
            data_keyword_argument="request",
            persistence_store=persistence,
            config=self.config,
            output_serializer=Serializer(),
        )


_idempotency: PerContainerMap[tuple[str, int], _Idempotency] = PerContainerMap(
    lambda key: _Idempotency(*key)
)


def _idempotency_for(table: str, retention_days: int) -> _Idempotency:
    return _idempotency.get((table, retention_days))


def _fingerprint(*parts: Any) -> str:
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _once(
    tenant: str, key: str | None, fingerprint: str, operation: Callable[[], ApiResult]
) -> ApiResult:
    """Run ``operation`` once per (tenant, key); replays return the first result."""
    if key is None:
        return operation()
    settings = get_settings()
    if not settings.idempotency_table:
        raise ConfigurationError("Idempotency-Key is not configured (IDEMPOTENCY_TABLE)")
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyInconsistentStateError,
        IdempotencyPersistenceLayerError,
        IdempotencyValidationError,
    )

    idempotency = _idempotency_for(settings.idempotency_table, settings.retention_days)
    lambda_context = getattr(app, "lambda_context", None)
    if lambda_context is not None:
        # A run killed by the Lambda timeout must not block its key forever.
        idempotency.config.register_lambda_context(lambda_context)
    request = {"tenant": tenant, "key": key, "fingerprint": fingerprint}
    try:
        return idempotency.perform(request=request, operation=operation)
    except IdempotencyAlreadyInProgressError:
        raise IdempotencyInProgress(
            "a request with this Idempotency-Key is still in progress; retry later"
        ) from None
    except IdempotencyValidationError:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used with a different request (method, path or body)"
        ) from None
    except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError):
        logger.exception("idempotency store failure")
        raise ServiceUnavailable("the idempotency store is unavailable") from None


# --- routes ----------------------------------------------------------------------------


def _invoke_result(result: InvokeResult, *, async_preferred: bool) -> ApiResult:
    view = result.invocation
    if result.failure is not None:
        return ApiResult(
            status=result.failure.status,
            body=_failure_body(result.failure, view.id),
            headers=_retry_headers(result.failure),
            problem=True,
        )
    body = view.model_dump(mode="json")
    if result.accepted:
        headers = {"Location": f"/invocations/{view.id}"}
        if async_preferred:
            headers["Preference-Applied"] = "respond-async"
        return ApiResult(202, body, headers, ref_kind="invocation", ref_id=view.id)
    return ApiResult(200, body, ref_kind="invocation", ref_id=view.id)


@app.post(
    "/agents/<name>/invocations",
    summary="Run an agent",
    description="Sync by default (200 with the finished invocation, or a problem with its "
    "`invocation_id`: 502 model errors, 504 deadline). `Prefer: respond-async` or "
    '`"mode": "async"` queues it: 202 with `Location: /invocations/{id}`.',
    tags=["invocations"],
    responses={
        **_COMMON_ERRORS,
        **_BODY_ERRORS,
        200: {"description": "The invocation ran and SUCCEEDED."},
        202: {
            "description": "Queued (`Location` names the invocation).",
            "content": {JSON: {"model": InvocationView}},
        },
        404: _problem_response("No such agent (`agent-not-found`)."),
        502: _problem_response("The model failed (`model-error`, `model-unavailable`...)."),
        504: _problem_response("The run did not finish within the API deadline."),
    },
)
def invoke_agent(
    name: Annotated[str, Path(description="The agent's name.")],
    body: InvokeRequest,
    prefer: Annotated[
        str | None, Header(alias="Prefer", description="`respond-async` queues the run.")
    ] = None,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="1-255 visible ASCII characters."),
    ] = None,
) -> Response[InvocationView]:
    tenant = _tenant()
    key = normalize_idempotency_key(idempotency_key)
    agent = unquote(name)
    async_preferred = _wants_async(prefer)
    asynchronous = async_preferred or body.mode == "async"
    event = app.current_event.raw_event
    received = (event.get("requestContext") or {}).get("requestTimeEpoch")

    def run() -> ApiResult:
        lambda_context = getattr(app, "lambda_context", None)
        remaining = (
            lambda_context.get_remaining_time_in_millis() if lambda_context is not None else None
        )
        result = get_service().invoke(
            tenant,
            agent,
            body,
            asynchronous=asynchronous,
            idempotency_key=key,
            remaining_ms=remaining,
            received_epoch_ms=received if isinstance(received, int) else None,
            owner=f"api:{_request_id() or 'local'}",
        )
        return _invoke_result(result, async_preferred=async_preferred)

    fingerprint = _fingerprint("invoke", agent, asynchronous, body.model_dump(mode="json"))
    return _respond(_once(tenant, key, fingerprint, run), tenant)


@app.get(
    "/invocations/<invocation_id>",
    summary="Read one invocation",
    description="Status, input, output (whole, even when stored in S3), contract result, "
    "usage, cost, timings and error.",
    tags=["invocations"],
    responses={
        **_COMMON_ERRORS,
        200: {"description": "The invocation."},
        404: _problem_response("No such invocation for this caller (`invocation-not-found`)."),
    },
)
def get_invocation(invocation_id: Annotated[str, Path()]) -> InvocationView:
    return get_service().get_invocation(_tenant(), invocation_id)


@app.get(
    "/invocations",
    summary="List the caller's invocations",
    description="Newest first (oldest first within a batch); payloads left out.",
    tags=["invocations"],
    responses={
        **_COMMON_ERRORS,
        200: {"description": "A page of invocations."},
        400: _problem_response("Invalid cursor or agent name (`bad-request`)."),
        404: _problem_response("`batch_id` names no batch of this caller (`batch-not-found`)."),
        422: _problem_response("Invalid query parameter (`validation-error`)."),
    },
)
def list_invocations(
    agent: Annotated[str | None, Query(description="Only this agent.")] = None,
    status: Annotated[InvocationStatus | None, Query(description="Only this status.")] = None,
    batch_id: Annotated[str | None, Query(description="Only this batch's items.")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Page size.")] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the last page.")] = None,
) -> InvocationList:
    return get_service().list_invocations(
        _tenant(), agent=agent, status=status, batch_id=batch_id, limit=limit, cursor=cursor
    )


@app.post(
    "/invocations/<invocation_id>/cancel",
    summary="Cancel a queued invocation",
    description="QUEUED -> CANCELLED; the worker skips it. Anything else: 409.",
    tags=["invocations"],
    responses={
        **_COMMON_ERRORS,
        200: {"description": "The invocation, CANCELLED."},
        404: _problem_response("No such invocation for this caller."),
        409: _problem_response(
            "Not QUEUED (`not-cancellable`), or the `Idempotency-Key` is in progress."
        ),
    },
)
def cancel_invocation(
    invocation_id: Annotated[str, Path()],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response[InvocationView]:
    tenant = _tenant()
    key = normalize_idempotency_key(idempotency_key)

    def run() -> ApiResult:
        view = get_service().cancel(tenant, invocation_id)
        return ApiResult(200, view.model_dump(mode="json"), ref_kind="invocation", ref_id=view.id)

    return _respond(_once(tenant, key, _fingerprint("cancel", invocation_id), run), tenant)


@app.post(
    "/batches",
    summary="Submit a batch",
    description="One queued invocation per item (SendMessageBatch). 202 with the batch and "
    "each item's invocation id; `GET /batches/{id}` follows progress.",
    tags=["batches"],
    responses={
        **_COMMON_ERRORS,
        **_BODY_ERRORS,
        202: {"description": "Queued."},
        404: _problem_response("No such agent."),
    },
    status_code=202,
)
def submit_batch(
    body: BatchRequest,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="Makes the batch (and its ids) repeatable."),
    ] = None,
) -> Response[BatchSubmitted]:
    tenant = _tenant()
    key = normalize_idempotency_key(idempotency_key)

    def run() -> ApiResult:
        submitted = get_service().submit_batch(tenant, body, idempotency_key=key)
        return ApiResult(
            202,
            submitted.model_dump(mode="json"),
            {"Location": f"/batches/{submitted.id}"},
            ref_kind="batch",
            ref_id=submitted.id,
        )

    fingerprint = _fingerprint("batch", body.model_dump(mode="json"))
    return _respond(_once(tenant, key, fingerprint, run), tenant)


@app.get(
    "/batches/<batch_id>",
    summary="Batch progress",
    description="Counts by status; `done` once every item is terminal; `links.results` lists "
    "the items (`GET /invocations?batch_id=`).",
    tags=["batches"],
    responses={
        **_COMMON_ERRORS,
        200: {"description": "The batch."},
        404: _problem_response("No such batch for this caller (`batch-not-found`)."),
    },
)
def get_batch(batch_id: Annotated[str, Path()]) -> BatchView:
    return get_service().get_batch(_tenant(), batch_id)


@app.get(
    "/agents",
    summary="List agents",
    description="Every definition in the registry (metadata and contracts), and the ones "
    "that do not load.",
    tags=["agents"],
    responses={200: {"description": "The agents."}, **_COMMON_ERRORS},
)
def list_agents() -> AgentList:
    _tenant()
    return get_service().list_agents()


@app.get(
    "/agents/<name>",
    summary="Read one agent",
    tags=["agents"],
    responses={
        **_COMMON_ERRORS,
        200: {"description": "The agent's metadata and contracts."},
        400: _problem_response("Invalid agent name (`invalid-agent-name`)."),
        404: _problem_response("No such agent (`agent-not-found`)."),
        422: _problem_response("The definition does not load (`invalid-definition`)."),
    },
)
def get_agent(name: Annotated[str, Path()]) -> AgentView:
    _tenant()
    return get_service().get_agent(unquote(name))


@app.get(
    "/health",
    summary="Liveness",
    description="Answers without touching AWS or the model.",
    tags=["meta"],
    responses={200: {"description": "Up."}, 422: _COMMON_ERRORS[422], 500: _COMMON_ERRORS[500]},
)
def health() -> Health:
    return Health()


@app.get("/openapi.json", include_in_schema=False)
def openapi_json() -> Response[str]:
    return Response(status_code=200, content_type=JSON, body=openapi_document())


_openapi_cache: list[str] = []


def openapi_document() -> str:
    """The OpenAPI document, generated from the routes and models (cached)."""
    if _openapi_cache:
        return _openapi_cache[0]
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

    document = app.get_openapi_json_schema(
        title=API_TITLE,
        version=API_VERSION,
        description="Agent definitions (Markdown + YAML frontmatter) served as an HTTPS API. "
        "Errors are RFC 9457 `application/problem+json`; see docs/api.md.",
        security_schemes={
            "api_key": APIKey(
                name="x-api-key", in_=APIKeyIn.header, description="API Gateway API key."
            )
        },
        security=[{"api_key": []}],
    )
    _openapi_cache.append(document)
    return document


# --- errors ----------------------------------------------------------------------------


def _on_reply(exc: _Reply) -> Response[str]:
    return exc.response


def _on_gateway_error(exc: GatewayError) -> Response[str]:
    if isinstance(exc, ConfigurationError):
        count_failure(exc.error_type)  # outside a run; the executor counts the ones inside
    if exc.status >= 500:
        logger.error(
            "request failed",
            extra={"error_type": exc.error_type, "error": exc.detail},
            exc_info=exc.error_type == "internal-error",
        )
    else:
        logger.info("request rejected", extra={"error_type": exc.error_type, "status": exc.status})
    return _failure_response(Failure.from_exception(exc))


def _on_validation_error(exc: RequestValidationError) -> Response[str]:
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return _failure_response(
            Failure.from_exception(BadRequest("the request body is not valid JSON"))
        )
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
        instance=app.current_event.path,
        request_id=_request_id(),
        errors=field_errors,
    )
    return _problem(body)


def _on_content_type(exc: RequestUnsupportedContentType) -> Response[str]:
    return _failure_response(Failure.from_exception(_unsupported_media_type()))


def _on_not_found(exc: NotFoundError) -> Response[str]:
    event = app.current_event
    allowed = sorted(
        {
            route.method
            for route in [*app._static_routes, *app._dynamic_routes]
            if route.rule.match(event.path)
        }
    )
    if allowed:
        body = problem_body(
            405,
            "method-not-allowed",
            "Method not allowed",
            f"{event.http_method} is not allowed on {event.path}; use {', '.join(allowed)}",
            instance=event.path,
            request_id=_request_id(),
        )
        return _problem(body, {"Allow": ", ".join(allowed)})
    body = problem_body(
        404,
        "not-found",
        "Not found",
        f"no route {event.http_method} {event.path}",
        instance=event.path,
        request_id=_request_id(),
    )
    return _problem(body)


def _on_unexpected(exc: Exception) -> Response[str]:
    logger.exception("unexpected error")
    return _failure_response(Failure.from_exception(GatewayError("unexpected error")))


def _unsupported_media_type() -> UnsupportedMediaType:
    return UnsupportedMediaType(
        "send the body as JSON with the header Content-Type: application/json"
    )


app.exception_handler(_Reply)(_on_reply)
app.exception_handler(GatewayError)(_on_gateway_error)
app.exception_handler(RequestValidationError)(_on_validation_error)
app.exception_handler(RequestUnsupportedContentType)(_on_content_type)
app.not_found(_on_not_found)
app.exception_handler(Exception)(_on_unexpected)


# --- before routing ------------------------------------------------------------------


def _header(event: Mapping[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name and isinstance(value, str):
            return value
    for key, values in (event.get("multiValueHeaders") or {}).items():
        if key.lower() == name and values:
            return str(values[-1])
    return None


def _body_size(event: Mapping[str, Any]) -> int:
    body = event.get("body")
    if not isinstance(body, str):
        return 0
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4
    return len(body.encode())


def _is_json(content_type: str | None) -> bool:
    if content_type is None:
        return True  # Powertools (and most clients) treat an absent type as JSON
    media = content_type.split(";", 1)[0].strip().lower()
    return media == JSON or (media.startswith("application/") and media.endswith("+json"))


#: JSON nesting a body may have (objects and arrays): DynamoDB stores at most 32 levels.
MAX_JSON_DEPTH = 32
#: A JSON string literal (the unrolled-loop form: linear time on megabyte strings).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def _json_depth(text: str) -> int:
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


def _body_problem(event: Mapping[str, Any]) -> GatewayError | None:
    """A JSON body that cannot be parsed safely: not UTF-8, or nested too deeply (the
    parser and the serialiser would hit their recursion limits: a 500 otherwise)."""
    body = event.get("body")
    if not isinstance(body, str) or not body:
        return None
    try:
        text = (
            base64.b64decode(body, validate=True).decode() if event.get("isBase64Encoded") else body
        )
    except (ValueError, UnicodeDecodeError):
        return BadRequest("the request body is not valid UTF-8")
    if _json_depth(text) > MAX_JSON_DEPTH:
        return BadRequest(
            f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep", limit=MAX_JSON_DEPTH
        )
    return None


def _precheck(event: Mapping[str, Any], request_id: str | None) -> dict[str, Any] | None:
    """413 / 415 / 400 before routing (request validation would parse the body first)."""
    path = str(event.get("path") or "")
    limit = get_settings().max_request_bytes
    error: GatewayError | None = None
    body_method = str(event.get("httpMethod", "")).upper() in _BODY_METHODS
    if _body_size(event) > limit:
        error = PayloadTooLarge(f"the request body is over {limit} bytes", limit=limit)
    elif body_method and event.get("body") and not _is_json(_header(event, "content-type")):
        error = _unsupported_media_type()
    elif body_method:
        error = _body_problem(event)
    if error is None:
        return None
    failure = Failure.from_exception(error)
    body = problem_body(
        failure.status,
        failure.error_type,
        failure.title,
        failure.detail,
        instance=path,
        request_id=request_id,
        **failure.extra,
    )
    return {
        "statusCode": failure.status,
        "headers": {"Content-Type": PROBLEM_JSON},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def _decoded_event(event: dict[str, Any]) -> dict[str, Any]:
    """Base64 JSON bodies (binary media types) decoded, so validation reads them."""
    body = event.get("body")
    if event.get("isBase64Encoded") and isinstance(body, str):
        try:
            decoded = base64.b64decode(body, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return event
        return {**event, "body": decoded, "isBase64Encoded": False}
    return event


# --- the entry point -------------------------------------------------------------------


def _traced(function: Callable[..., R]) -> Callable[..., R]:
    """X-Ray tracing when it is on; otherwise the Tracer (and aws_xray_sdk) is never built.

    Powertools' own rule: off when ``POWERTOOLS_TRACE_DISABLED`` is truthy, outside Lambda,
    and under SAM local / Chalice.
    """
    from aws_lambda_powertools.shared import constants
    from aws_lambda_powertools.shared.functions import strtobool

    disabled = strtobool(os.getenv(constants.TRACER_DISABLED_ENV, "false"))
    in_lambda = bool(os.getenv(constants.LAMBDA_TASK_ROOT_ENV))
    emulated = bool(os.getenv(constants.SAM_LOCAL_ENV) or os.getenv(constants.CHALICE_LOCAL_ENV))
    if disabled or not in_lambda or emulated:
        return function
    from aws_lambda_powertools import Tracer

    tracer = Tracer()
    traced: Callable[..., R] = tracer.capture_lambda_handler(function)
    return traced


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False, clear_state=True
)
@metrics.log_metrics(capture_cold_start_metric=True)
def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    metrics.add_metric(name="ApiRequests", unit=MetricUnit.Count, value=1)
    request_id = (event.get("requestContext") or {}).get("requestId") or getattr(
        context, "aws_request_id", None
    )
    response = _precheck(event, request_id)
    if response is None:
        try:
            response = app.resolve(_decoded_event(event), context)
        except Exception:  # noqa: BLE001 - a malformed event must still get a problem document
            logger.exception("unexpected error outside the routes")
            failure = Failure.from_exception(GatewayError("unexpected error"))
            body = problem_body(
                500,
                failure.error_type,
                failure.title,
                failure.detail,
                instance=str(event.get("path") or ""),
                request_id=request_id,
            )
            response = {
                "statusCode": 500,
                "headers": {"Content-Type": PROBLEM_JSON},
                "body": json.dumps(body),
                "isBase64Encoded": False,
            }
    logger.info(
        "request handled",
        extra={
            "method": event.get("httpMethod"),
            "resource": event.get("resource"),
            "status": response.get("statusCode"),
        },
    )
    return response


handler = _traced(_handle)


# --- SnapStart ------------------------------------------------------------------------


def _after_restore() -> None:
    """Per-environment state must not be shared by environments restored from one snapshot."""
    _snapstart.reset_core()


def _before_snapshot() -> None:
    """Pay the heavy imports once, in the snapshot (no clients, no secrets)."""
    from aws_lambda_powertools.utilities import idempotency  # noqa: F401

    _snapstart.import_heavy()


_snapstart.install(after_restore=_after_restore, before_snapshot=_before_snapshot)
