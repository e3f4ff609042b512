"""Routes about the API itself: liveness and the OpenAPI document."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from agents.api_models import API_TITLE, API_VERSION, Health
from agents.container import PerContainerMap
from handlers.api_results import JSON
from handlers.openapi_responses import COMMON_ERRORS
from handlers.routes import new_router

__all__ = ["openapi_document", "router"]

router = new_router()


@router.get(
    "/health",
    summary="Liveness",
    description="Answers without touching AWS or the model.",
    tags=["meta"],
    responses={200: {"description": "Up."}, 422: COMMON_ERRORS[422], 500: COMMON_ERRORS[500]},
)
def health() -> Health:
    return Health()


@router.get("/openapi.json", include_in_schema=False)
def openapi_json() -> Response[str]:
    resolver = router.api_resolver
    assert isinstance(resolver, APIGatewayRestResolver)  # set by include_router
    return Response(status_code=200, content_type=JSON, body=openapi_document(resolver))


def _generate(resolver: APIGatewayRestResolver) -> str:
    from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

    return resolver.get_openapi_json_schema(
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


_documents: PerContainerMap[APIGatewayRestResolver, str] = PerContainerMap(_generate)


def openapi_document(resolver: APIGatewayRestResolver) -> str:
    """The OpenAPI document of ``resolver``'s routes and models (once per container)."""
    return _documents.get(resolver)
