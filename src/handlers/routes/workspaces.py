"""Routes of the workspace resource: create an upload (a presigned PUT for an archive)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from agents.workspace.uploads import WorkspaceUpload, get_uploads
from handlers.api_results import JSON
from handlers.caller import current_tenant
from handlers.openapi_responses import COMMON_ERRORS
from handlers.routes import new_router

__all__ = ["router"]

router = new_router()


@router.post(
    "/workspaces",
    summary="Create a workspace upload",
    description="201 with a `ws_...` id and a presigned S3 PUT URL for a `.zip` or `.tar.gz` "
    "(at most `max_bytes`). Pass the id as `workspace` when invoking; the archive is checked "
    "when a run uses it (a clear 4xx, nothing written).",
    tags=["workspaces"],
    responses={**COMMON_ERRORS, 201: {"description": "The upload to make."}},
    status_code=201,
)
def create_workspace() -> Response[WorkspaceUpload]:
    upload = get_uploads().create(current_tenant(router))
    return Response(
        status_code=201,
        content_type=JSON,
        body=upload,
        headers={"Location": f"/workspaces/{upload.id}"},
    )
