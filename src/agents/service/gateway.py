"""The service the API handler calls: every use case over one set of dependencies."""

from __future__ import annotations

from agents.container import per_container
from agents.service.actions import ActionUseCases
from agents.service.agent_catalog import AgentCatalog
from agents.service.batches import BatchUseCases
from agents.service.invocations import InvocationUseCases

__all__ = ["GatewayService", "get_service"]


class GatewayService(InvocationUseCases, ActionUseCases, BatchUseCases, AgentCatalog):
    """The API's operations. Dependencies default to the container's singletons."""


@per_container
def get_service() -> GatewayService:
    """The container's service (its dependencies are the container's singletons)."""
    return GatewayService()
