"""The operations behind the HTTP API's routes (free of Lambda event shapes).

:class:`GatewayService` combines the invocation use cases (:mod:`.invocations`), the batch
use cases (:mod:`.batches`) and the agent catalog (:mod:`.agent_catalog`); docs/architecture.md
("Service") describes the rules they share.
"""

from __future__ import annotations

from agents.service.core import API_RESPONSE_MARGIN_MS
from agents.service.gateway import GatewayService, get_service
from agents.service.invocations import InvokeResult

__all__ = [
    "API_RESPONSE_MARGIN_MS",
    "GatewayService",
    "InvokeResult",
    "get_service",
]
