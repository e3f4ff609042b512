"""Routes of the invocation resource: run an agent, read, list and cancel invocations."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from pydantic import BaseModel, Field

from agents.api_models import (
    ActionsRequest,
    InvocationList,
    InvocationView,
    InvokeRequest,
    Transcript,
)
from agents.problems import retry_headers
from agents.service import InvokeResult, get_service
from agents.types import InvocationStatus
from handlers.api_results import JSON, ApiResult, problem_of
from handlers.caller import current_request_id, current_tenant, preferred_wait, wants_async
from handlers.idempotency import answer_once
from handlers.openapi_responses import AGENT_NOT_FOUND, INVOCATION_NOT_FOUND
from handlers.routes import new_router, route_responses

__all__ = ["router"]

router = new_router()


def _invoke_result(result: InvokeResult, *, async_preferred: bool) -> ApiResult:
    view = result.invocation
    if result.failure is not None:
        return ApiResult(
            status=result.failure.status,
            body=problem_of(router, result.failure, view.id),
            headers=retry_headers(result.failure),
            problem=True,
        )
    body = view.model_dump(mode="json")
    applied = [] if result.wait_applied is None else [f"wait={result.wait_applied}"]
    if result.accepted:
        headers = {"Location": f"/invocations/{view.id}"}
        if async_preferred:
            applied.insert(0, "respond-async")
        if applied:
            headers["Preference-Applied"] = ", ".join(applied)
        return ApiResult(202, body, headers, ref_kind="invocation", ref_id=view.id)
    headers = {"Preference-Applied": ", ".join(applied)} if applied else {}
    return ApiResult(200, body, headers, ref_kind="invocation", ref_id=view.id)


@router.post(
    "/agents/<name>/invocations",
    summary="Run an agent",
    description="Sync by default (200 with the finished invocation, or a problem with its "
    "`invocation_id`: 502 model errors, 504 deadline). `Prefer: respond-async` or "
    '`"mode": "async"` queues it: 202 with `Location: /invocations/{id}`. A tool run runs '
    "inline for at most `Prefer: wait=N` seconds (default and cap: the API deadline); one "
    "that cannot finish by then goes on on the queue: 202 with `Location` and the state so "
    "far (also for a run that waits for approval).",
    tags=["invocations"],
    responses=route_responses(
        {
            200: "The invocation ran and SUCCEEDED.",
            202: {
                "description": "Queued, handed off to the queue, or WAITING "
                "(`Location` names the invocation).",
                "content": {JSON: {"model": InvocationView}},
            },
        },
        {
            404: AGENT_NOT_FOUND,
            502: "The model failed (`model-error`, `model-unavailable`...).",
            504: "The run did not finish within the API deadline.",
        },
        takes_body=True,
    ),
)
def invoke_agent(
    name: Annotated[str, Path(description="The agent's name.")],
    body: InvokeRequest,
    prefer: Annotated[
        str | None,
        Header(
            alias="Prefer",
            description="`respond-async` queues the run; `wait=N` bounds a tool run's inline time.",
        ),
    ] = None,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="1-255 visible ASCII characters."),
    ] = None,
) -> Response[InvocationView]:
    tenant = current_tenant(router)
    agent = unquote(name)
    async_preferred = wants_async(prefer)
    wait = preferred_wait(prefer)
    asynchronous = async_preferred or body.mode == "async"
    received = (router.current_event.raw_event.get("requestContext") or {}).get("requestTimeEpoch")

    def run(key: str | None) -> ApiResult:
        lambda_context = getattr(router, "lambda_context", None)
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
            owner=f"api:{current_request_id(router) or 'local'}",
            prefer_wait_s=None if wait is None else float(wait),
        )
        return _invoke_result(result, async_preferred=async_preferred)

    fingerprint: tuple[Any, ...] = ("invoke", agent, asynchronous, body.model_dump(mode="json"))
    return answer_once(router, tenant, idempotency_key, fingerprint, run)


@router.get(
    "/invocations/<invocation_id>",
    summary="Read one invocation",
    description="Status, input, output (whole, even when stored in S3), contract result, "
    "usage, cost, timings and error.",
    tags=["invocations"],
    responses=route_responses(
        {200: "The invocation."},
        {404: INVOCATION_NOT_FOUND},
    ),
)
def get_invocation(invocation_id: Annotated[str, Path()]) -> InvocationView:
    return get_service().get_invocation(current_tenant(router), invocation_id)


@router.get(
    "/invocations/<invocation_id>/transcript",
    summary="Read a tool run's transcript",
    description="Every turn: the assistant's content blocks and each tool call with its input "
    "and result (truncated where huge). A single-call run has no turns.",
    tags=["invocations"],
    responses=route_responses(
        {200: "The transcript."},
        {404: INVOCATION_NOT_FOUND},
    ),
)
def get_transcript(invocation_id: Annotated[str, Path()]) -> Transcript:
    return get_service().transcript(current_tenant(router), invocation_id)


@router.get(
    "/invocations",
    summary="List the caller's invocations",
    description="Newest first (oldest first within a batch); payloads left out.",
    tags=["invocations"],
    responses=route_responses(
        {200: "A page of invocations."},
        {
            400: "Invalid cursor or agent name (`bad-request`).",
            404: "`batch_id` names no batch of this caller (`batch-not-found`).",
            422: "Invalid query parameter (`validation-error`).",
        },
    ),
)
def list_invocations(
    agent: Annotated[str | None, Query(description="Only this agent.")] = None,
    status: Annotated[InvocationStatus | None, Query(description="Only this status.")] = None,
    batch_id: Annotated[str | None, Query(description="Only this batch's items.")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="Page size.")] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the last page.")] = None,
) -> InvocationList:
    return get_service().list_invocations(
        current_tenant(router),
        agent=agent,
        status=status,
        batch_id=batch_id,
        limit=limit,
        cursor=cursor,
    )


@router.post(
    "/invocations/<invocation_id>/cancel",
    summary="Cancel a queued or waiting invocation",
    description="QUEUED or WAITING -> CANCELLED; the worker skips it, and a WAITING run's "
    "pending actions are dropped. Anything else: 409.",
    tags=["invocations"],
    responses=route_responses(
        {200: "The invocation, CANCELLED."},
        {
            404: "No such invocation for this caller.",
            409: "Not QUEUED or WAITING (`not-cancellable`), or the `Idempotency-Key` is "
            "in progress.",
        },
    ),
)
def cancel_invocation(
    invocation_id: Annotated[str, Path()],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response[InvocationView]:
    tenant = current_tenant(router)

    def run(key: str | None) -> ApiResult:
        view = get_service().cancel(tenant, invocation_id)
        return ApiResult(200, view.model_dump(mode="json"), ref_kind="invocation", ref_id=view.id)

    return answer_once(router, tenant, idempotency_key, ("cancel", invocation_id), run)


@router.post(
    "/invocations/<invocation_id>/actions",
    summary="Approve or deny a waiting run's tool calls",
    description="For an invocation in `WAITING`: one decision per `pending_actions` entry. "
    "Approved calls run, denied ones go back to the model as tool errors carrying `message`; "
    "the run goes on on the queue (QUEUED). Idempotent under `Idempotency-Key`.",
    tags=["invocations"],
    responses=route_responses(
        {200: "The invocation, QUEUED again with the decisions."},
        {
            404: "No such invocation for this caller.",
            409: "Not WAITING (`not-waiting`), or the `Idempotency-Key` is in progress.",
            422: "The decisions do not match the pending actions (`decisions-mismatch`).",
        },
        takes_body=True,
    ),
)
def decide_actions(
    invocation_id: Annotated[str, Path()],
    body: ActionsRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response[InvocationView]:
    tenant = current_tenant(router)

    def run(key: str | None) -> ApiResult:
        view = get_service().decide_actions(tenant, invocation_id, body.decisions)
        return ApiResult(200, view.model_dump(mode="json"), ref_kind="invocation", ref_id=view.id)

    fingerprint = ("actions", invocation_id, body.model_dump(mode="json"))
    return answer_once(router, tenant, idempotency_key, fingerprint, run)


# --- the run's workspace (issue #14 W) --------------------------------------------------


class WorkspaceLink(BaseModel):
    """``GET /invocations/{id}/workspace``: where to download the result."""

    url: str = Field(description="Presigned S3 GET of the whole workspace as a zip.")
    expires_in: int = Field(description="Seconds the URL stays valid.")


def _result_location(invocation_id: str) -> tuple[str, str]:
    """The tenant's invocation must exist (404 otherwise): its payload bucket and prefix."""
    get_service().get_invocation(current_tenant(router), invocation_id, include_input=False)
    from agents.config import get_settings  # not on the cold path (decision 13.200)

    settings = get_settings()
    return settings.effective_payload_bucket, settings.payload_prefix


@router.get(
    "/invocations/<invocation_id>/files/<path>",
    summary="One file the run changed",
    description="The current content of an added or modified file (`files_changed`). "
    "`path` is the file's workspace path, URL-encoded (`src%2Fapp.py`). Text as "
    "`text/plain; charset=utf-8`, anything else as `application/octet-stream`.",
    tags=["invocations"],
    responses=route_responses(
        {200: "The file's bytes."},
        {404: "No such invocation for this caller, or no such changed file."},
    ),
)
def get_result_file(
    invocation_id: Annotated[str, Path()],
    path: Annotated[str, Path(description="The workspace path, URL-encoded.")],
) -> Response[bytes]:
    from agents.workspace.diff import is_binary_content
    from agents.workspace.limits import WorkspaceLimits
    from agents.workspace.results import read_result_file

    bucket, prefix = _result_location(invocation_id)
    from agents.config import get_settings

    limits = WorkspaceLimits.from_settings(get_settings())
    data = read_result_file(bucket, invocation_id, unquote(path), limits, prefix=prefix)
    if is_binary_content(data):
        return Response(200, "application/octet-stream", data)
    return Response(200, "text/plain; charset=utf-8", data.decode())  # type: ignore[arg-type]


@router.get(
    "/invocations/<invocation_id>/workspace",
    summary="The run's whole workspace",
    description="A presigned URL of the workspace after the run, as a zip.",
    tags=["invocations"],
    responses=route_responses(
        {200: "The download URL."},
        {404: "No such invocation for this caller, or it ran without files."},
    ),
)
def get_result_workspace(invocation_id: Annotated[str, Path()]) -> WorkspaceLink:
    from agents.workspace.results import RESULT_URL_EXPIRES_S, presigned_result_zip

    bucket, prefix = _result_location(invocation_id)
    url = presigned_result_zip(bucket, invocation_id, prefix=prefix)
    return WorkspaceLink(url=url, expires_in=RESULT_URL_EXPIRES_S)
