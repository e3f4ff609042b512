"""Routes of the batch resource: submit a batch, read its progress."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Path

from agents.api_models import BatchRequest, BatchSubmitted, BatchView
from agents.service import get_service
from handlers.api_results import ApiResult
from handlers.caller import current_tenant
from handlers.idempotency import answer_once
from handlers.routes import new_router, route_responses

__all__ = ["router"]

router = new_router()


@router.post(
    "/batches",
    summary="Submit a batch",
    description="One queued invocation per item (SendMessageBatch). 202 with the batch and "
    "each item's invocation id; `GET /batches/{id}` follows progress.",
    tags=["batches"],
    responses=route_responses({202: "Queued."}, {404: "No such agent."}, takes_body=True),
    status_code=202,
)
def submit_batch(
    body: BatchRequest,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="Makes the batch (and its ids) repeatable."),
    ] = None,
) -> Response[BatchSubmitted]:
    tenant = current_tenant(router)

    def run(key: str | None) -> ApiResult:
        submitted = get_service().submit_batch(tenant, body, idempotency_key=key)
        return ApiResult(
            202,
            submitted.model_dump(mode="json"),
            {"Location": f"/batches/{submitted.id}"},
            ref_kind="batch",
            ref_id=submitted.id,
        )

    return answer_once(
        router, tenant, idempotency_key, ("batch", body.model_dump(mode="json")), run
    )


@router.get(
    "/batches/<batch_id>",
    summary="Batch progress",
    description="Counts by status; `done` once every item is terminal; `links.results` lists "
    "the items (`GET /invocations?batch_id=`).",
    tags=["batches"],
    responses=route_responses(
        {200: "The batch."}, {404: "No such batch for this caller (`batch-not-found`)."}
    ),
)
def get_batch(batch_id: Annotated[str, Path()]) -> BatchView:
    return get_service().get_batch(current_tenant(router), batch_id)
