"""Routes of the agent resource: list the definitions, read one."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import unquote

from aws_lambda_powertools.event_handler.openapi.params import Path

from agents.agent_views import AgentList, AgentView
from agents.service import get_service
from handlers.caller import current_tenant
from handlers.openapi_responses import AGENT_NOT_FOUND, COMMON_ERRORS
from handlers.routes import new_router, route_responses

__all__ = ["router"]

router = new_router()


@router.get(
    "/agents",
    summary="List agents",
    description="Every definition in the registry (metadata and contracts), and the ones "
    "that do not load.",
    tags=["agents"],
    responses={200: {"description": "The agents."}, **COMMON_ERRORS},
)
def list_agents() -> AgentList:
    current_tenant(router)
    return get_service().list_agents()


@router.get(
    "/agents/<name>",
    summary="Read one agent",
    tags=["agents"],
    responses=route_responses(
        {200: "The agent's metadata and contracts."},
        {
            400: "Invalid agent name (`invalid-agent-name`).",
            404: AGENT_NOT_FOUND,
            422: "The definition does not load (`invalid-definition`).",
        },
    ),
)
def get_agent(name: Annotated[str, Path()]) -> AgentView:
    current_tenant(router)
    return get_service().get_agent(unquote(name))
